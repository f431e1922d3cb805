"""The app's first run where the data folder cannot be made (a read-only home, a file in the way): the Family page says
why, as the store says it (fer_core.store.CANNOT_CREATE_MESSAGE), instead of "unexpected error"."""
from __future__ import annotations

import errno
import os

from streamlit.testing.v1 import AppTest

from fer_core.store import CANNOT_CREATE_MESSAGE
from tests.support import privacy_harness as h
from tests.support.paths import REPO


def test_the_apps_first_run_says_why_no_store_was_made(tmp_path, monkeypatch, app_models_dir):
    """The Family page's first run where the data folder cannot be made showed "unexpected error (NotADirectoryError)"
    and sent the household to the server log; it now says what the store said, and where to choose another folder."""
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    data_dir = tmp_path / "notes.txt" / "unveil"
    monkeypatch.setenv("UNVEIL_DATA_DIR", str(data_dir))
    monkeypatch.setenv("UNVEIL_MODELS_DIR", str(app_models_dir))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.switch_page("unveil/app/pages/family.py")
    at.run()
    at.text_input(key="create_passphrase").input(h.PASSPHRASE)
    at.text_input(key="create_passphrase_again").input(h.PASSPHRASE)
    at.button[0].click().run()
    assert not at.exception
    said = CANNOT_CREATE_MESSAGE.format(data_dir=data_dir, detail=os.strerror(errno.ENOTDIR))
    assert [e.value for e in at.error] == [f"Creating the store: {said}"]


def test_the_apps_first_run_on_a_full_disk_leaves_no_folder_and_the_next_try_makes_the_store(tmp_path, monkeypatch,
                                                                                            app_models_dir):
    """A store the full disk refused left the data folder it made, and those above it, behind (`family init` too)."""
    from fer_core.store import FULL_MESSAGE
    from fer_core.store import _store as store_module  # noqa: PLC2701 (the fault planted inside the store)

    (tmp_path / "home").mkdir()
    data_dir = tmp_path / "home" / ".local" / "share" / "unveil"
    monkeypatch.setenv("UNVEIL_DATA_DIR", str(data_dir))
    monkeypatch.setenv("UNVEIL_MODELS_DIR", str(app_models_dir))
    connect = store_module._connect

    def full(path, timeout):  # SQLite's first page of the new unveil.db finds no room (SQLITE_FULL)
        conn = connect(path, timeout)
        conn.execute("PRAGMA max_page_count = 1")
        return conn

    monkeypatch.setattr(store_module, "_connect", full)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.switch_page("unveil/app/pages/family.py")
    at.run()
    at.text_input(key="create_passphrase").input(h.PASSPHRASE)
    at.text_input(key="create_passphrase_again").input(h.PASSPHRASE)
    at.button[0].click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [f"Creating the store: {FULL_MESSAGE.format(data_dir=data_dir)}"]
    assert list((tmp_path / "home").iterdir()) == []

    monkeypatch.setattr(store_module, "_connect", connect)  # room again
    at.text_input(key="create_passphrase").input(h.PASSPHRASE)
    at.text_input(key="create_passphrase_again").input(h.PASSPHRASE)
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert {"keys.db", "unveil.db"} <= {p.name for p in data_dir.iterdir()}  # open: with SQLite's -wal and -shm
