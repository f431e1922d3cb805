"""A data folder whose path is too long for SQLite (it names a database by at most 504 bytes, links resolved): before,
`family init` there ended in SQLite's traceback ("unable to open database file"), and a store moved there was called
read-only ("give your user write access"). Now both say the path is too long, with its length and the limit
(StorePathTooLongError, PATH_TOO_LONG_MESSAGE), and nothing is made or changed. A folder just short enough takes a
new store and a restore, whose staging folder is the longest name the store opens in it."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from fer_core.store import (
    DATA_FILE,
    PATH_TOO_LONG_MESSAGE,
    RESTORE_STAGING_PREFIX,
    SQLITE_PATH_LIMIT,
    StorePathTooLongError,
)
from governance import backup, restoring
from tests.support import privacy_harness as h
from tests.support.privacy_harness import run_cli as run

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the limit is SQLite's Unix VFS's")
LONGEST_INNER = len(f"/{RESTORE_STAGING_PREFIX}xxxxxxxx/{DATA_FILE}")


def _folder(base: Path, length: int) -> Path:
    """A path of `length` bytes under `base` (resolved), in names of at most 200 bytes (NAME_MAX is 255)."""
    path = base.resolve()
    while len(os.fsencode(path)) < length - 201:
        path /= "d" * 200
    return path / ("e" * (length - len(os.fsencode(path)) - 1))


def test_sqlite_opens_a_database_by_a_path_of_the_limit_and_not_one_byte_more(tmp_path):
    for length, opens in ((SQLITE_PATH_LIMIT, True), (SQLITE_PATH_LIMIT + 1, False)):
        folder = _folder(tmp_path, length - len("/x.db"))
        folder.mkdir(parents=True)
        assert len(os.fsencode(folder / "x.db")) == length
        try:
            sqlite3.connect(folder / "x.db").execute("CREATE TABLE t (x)")
        except sqlite3.OperationalError as exc:
            assert (opens, str(exc)) == (False, "unable to open database file")
        else:
            assert opens


def test_no_store_is_made_in_a_folder_too_long_and_nothing_is_made(tmp_path):
    data = _folder(tmp_path, SQLITE_PATH_LIMIT - LONGEST_INNER + 1)
    with pytest.raises(StorePathTooLongError) as refused:
        h.new_store(data)
    assert str(refused.value) == PATH_TOO_LONG_MESSAGE.format(data_dir=data, length=SQLITE_PATH_LIMIT + 1,
                                                              limit=SQLITE_PATH_LIMIT)
    assert str(refused.value).startswith(f"the path of {data} is too long for SQLite, which keeps the store: the "
                                         f"store's files there are named by up to {SQLITE_PATH_LIMIT + 1} bytes")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_short_enough_takes_a_store_and_a_restore(tmp_path):
    data = _folder(tmp_path / "a", SQLITE_PATH_LIMIT - LONGEST_INNER)
    store = h.new_store(data)
    store.add_person("Alice")
    backup.back_up(store, tmp_path / "backup")
    store.close()
    assert [p.name for p in h.open_store(data).people()] == ["Alice"]
    again = _folder(tmp_path / "b", SQLITE_PATH_LIMIT - LONGEST_INNER)
    restoring.restore(again, tmp_path / "backup", passphrase=h.PASSPHRASE).store.close()
    assert [p.name for p in h.open_store(again).people()] == ["Alice"]
    with pytest.raises(StorePathTooLongError):
        restoring.restore(Path(f"{again}x"), tmp_path / "backup", passphrase=h.PASSPHRASE)
    assert not Path(f"{again}x").exists()


def test_a_store_moved_into_a_folder_too_long_is_not_called_read_only_and_is_left_as_it_is(tmp_path):
    h.new_store(tmp_path / "store").close()
    before = {p.name: p.read_bytes() for p in (tmp_path / "store").iterdir()}
    data = _folder(tmp_path / "long", SQLITE_PATH_LIMIT - len(f"/{DATA_FILE}") + 1)
    data.parent.mkdir(parents=True)
    (tmp_path / "store").rename(data)
    with pytest.raises(StorePathTooLongError) as refused:
        h.open_store(data)
    assert str(refused.value) == PATH_TOO_LONG_MESSAGE.format(data_dir=data, length=SQLITE_PATH_LIMIT + 1,
                                                              limit=SQLITE_PATH_LIMIT)
    assert {p.name: p.read_bytes() for p in data.iterdir()} == before


def test_family_init_in_a_folder_too_long_says_so_not_a_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    data = _folder(tmp_path, 600)
    length = len(os.fsencode(data)) + LONGEST_INNER
    assert run(capsys, "family", "init", "--data-dir", str(data)) == (
        1, "", "error: " + PATH_TOO_LONG_MESSAGE.format(data_dir=data, length=length, limit=SQLITE_PATH_LIMIT) + "\n")
    assert list(tmp_path.iterdir()) == []
