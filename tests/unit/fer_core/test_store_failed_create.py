"""A store creation that fails (a full disk, Ctrl-C while the key is derived, a folder the disk cannot hold) leaves
none of the folders it made: `unveil family init` and the app's first run left the empty data folder, and the folders
above it, behind. A folder that was there before stays, and so does one that something else was put in meanwhile."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from fer_core.store import FULL_MESSAGE, FamilyStore, StoreFullError
from fer_core.store import _crypto as crypto_module  # noqa: PLC2701 (faults planted inside the store)
from fer_core.store import _store as store_module  # noqa: PLC2701
from tests.support import privacy_harness as h
from tests.support.privacy_harness import run_cli as run
from unveil.cli import family as family_cli


def _full_disk(monkeypatch, before=lambda: None) -> None:
    """SQLite's first page of the new unveil.db finds no room (SQLITE_FULL, as max_page_count gives it here), after
    `before` ran."""
    connect = store_module._connect

    def full(path, timeout):
        before()
        conn = connect(path, timeout)
        conn.execute("PRAGMA max_page_count = 1")
        return conn

    monkeypatch.setattr(store_module, "_connect", full)


def _tree(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


def test_family_init_on_a_full_disk_leaves_no_folder_and_no_key_file_and_the_retry_works(tmp_path, monkeypatch, capsys):
    (tmp_path / "home").mkdir()
    (tmp_path / "keys").mkdir()
    data_dir = tmp_path / "home" / ".local" / "share" / "unveil"
    key_file = tmp_path / "keys" / "unveil.key"
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    monkeypatch.setattr(family_cli, "ScryptParams", lambda: h.FAST_SCRYPT)
    connect = store_module._connect
    _full_disk(monkeypatch)
    code, out, err = run(capsys, "family", "init", "--data-dir", str(data_dir), "--key-file", str(key_file))
    assert (code, out, err) == (1, "", f"error: {FULL_MESSAGE.format(data_dir=data_dir)}\n")
    assert _tree(tmp_path) == ["home", "keys"]
    monkeypatch.setattr(store_module, "_connect", connect)  # room again
    code, out, err = run(capsys, "family", "init", "--data-dir", str(data_dir), "--key-file", str(key_file))
    assert (code, err) == (0, "")
    with h.open_store(data_dir) as store:
        assert store.verify_audit().ok


def test_an_interrupted_creation_leaves_no_folder(tmp_path, monkeypatch):
    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(crypto_module, "passphrase_kek", interrupted)  # Ctrl-C while the key is derived
    with pytest.raises(KeyboardInterrupt):
        h.new_store(tmp_path / "a" / "b" / "unveil")
    assert _tree(tmp_path) == []


def test_a_folder_that_was_there_before_stays_even_empty(tmp_path, monkeypatch):
    (tmp_path / "unveil").mkdir()
    _full_disk(monkeypatch)
    with pytest.raises(StoreFullError):
        h.new_store(tmp_path / "unveil")
    assert _tree(tmp_path) == ["unveil"]


def test_a_folder_that_something_was_put_in_meanwhile_stays_with_the_folders_above_it(tmp_path, monkeypatch):
    share = tmp_path / "home" / "share"
    _full_disk(monkeypatch, before=lambda: (share / "notes.txt").write_text("another program's file"))
    with pytest.raises(StoreFullError):
        h.new_store(share / "unveil")
    assert _tree(tmp_path) == ["home", "home/share", "home/share/notes.txt"]
    assert (share / "notes.txt").read_text() == "another program's file"


def test_a_folder_the_full_disk_cannot_hold_removes_the_folders_made_above_it(tmp_path, monkeypatch):
    mkdir = Path.mkdir

    def no_room_for_the_last(self, *args, **kwargs):
        if self.name == "unveil":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", no_room_for_the_last)
    data_dir = tmp_path / "home" / "share" / "unveil"
    with pytest.raises(StoreFullError) as err:
        h.new_store(data_dir)
    assert str(err.value) == FULL_MESSAGE.format(data_dir=data_dir)
    assert _tree(tmp_path) == []
    with pytest.raises(FileNotFoundError):
        FamilyStore(data_dir)
