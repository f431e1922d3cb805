"""The store on a disk that fills up (an SD card, a small laptop disk): each write the disk refuses is a typed
error whose message says so, and what it says was (not) changed is what happened. Faults are planted where SQLite
or the OS would raise them, so these run anywhere; scripts that filled a real tmpfs found each case."""
from __future__ import annotations

import contextlib
import errno
import sqlite3
import tempfile

import pytest

from fer_core.store import (
    FULL_MESSAGE,
    KEY_FILE_NOT_WRITTEN,
    KEYS_FILE,
    ROTATION_UNFINISHED_MESSAGE,
    FamilyStore,
    KeyFileError,
    RotationUnfinishedError,
    StoreFullError,
    StoreLockedError,
    WrongPassphraseError,
    create_key_file,
)
from fer_core.store import _crypto as crypto_module  # noqa: PLC2701 (faults planted inside the store)
from fer_core.store import _store as store_module  # noqa: PLC2701
from governance import erasure
from tests.support import privacy_harness as h

NEW_PASSPHRASE = "a new and longer passphrase"


def _no_space(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_store_made_on_a_full_disk_is_store_full_and_leaves_nothing(tmp_path, monkeypatch):
    # SQLite's first page of the new unveil.db finds no room (SQLITE_FULL, as max_page_count gives it here).
    connect = store_module._connect

    def full(path, timeout):
        conn = connect(path, timeout)
        conn.execute("PRAGMA max_page_count = 1")
        return conn

    monkeypatch.setattr(store_module, "_connect", full)
    with pytest.raises(StoreFullError) as err:
        h.new_store(tmp_path / "store")
    assert str(err.value) == FULL_MESSAGE.format(data_dir=tmp_path / "store")
    assert list(tmp_path.iterdir()) == []  # not even the folder made for it
    monkeypatch.undo()
    h.new_store(tmp_path / "store").close()  # room again: made in the same folder


def test_a_store_folder_that_the_full_disk_cannot_hold_is_store_full_not_a_permission_problem(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "mkdtemp", _no_space)
    with pytest.raises(StoreFullError) as err:
        h.new_store(tmp_path)
    assert str(err.value) == FULL_MESSAGE.format(data_dir=tmp_path)


def test_a_store_opened_on_a_full_disk_is_store_full_not_damaged(tmp_path, monkeypatch):
    # Opening makes unveil.db-shm (32 KiB): with no room for it SQLite raises "disk I/O error" named
    # SQLITE_IOERR_SHMSIZE (seen on a full tmpfs with up to 40 KB free), and the store was said to be damaged:
    # "restore it from a backup", which would throw away everything since that backup.
    h.new_store(tmp_path).close()

    def no_room_for_shm(path, timeout):
        exc = sqlite3.OperationalError("disk I/O error")
        exc.sqlite_errorname = "SQLITE_IOERR_SHMSIZE"
        raise exc

    monkeypatch.setattr(store_module, "_connect", no_room_for_shm)
    with pytest.raises(StoreFullError) as err:
        FamilyStore(tmp_path)
    assert str(err.value) == FULL_MESSAGE.format(data_dir=tmp_path)


def test_an_erasure_whose_keys_db_note_finds_the_disk_full_is_store_full_and_erases_nothing(tmp_path, monkeypatch):
    # The note that the member's key is to be destroyed is committed to keys.db before unveil.db: on a full disk
    # that commit failed, and the purge raised a bare sqlite3.OperationalError ("database or disk is full").
    with h.new_store(tmp_path) as store:
        person_id = h.enrol(store, "Ann")
        before = store.counts()

        @contextlib.contextmanager
        def keys_commit_full():
            keys = store._keys_conn()
            keys.execute("BEGIN IMMEDIATE")
            try:
                yield keys
            finally:
                keys.execute("ROLLBACK")
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(store, "_keys_transaction", keys_commit_full)
        with pytest.raises(StoreFullError) as err:
            erasure.purge_person(store, person_id)
        assert str(err.value) == FULL_MESSAGE.format(data_dir=tmp_path)
        monkeypatch.undo()
        assert store.counts() == before
        assert store.person(person_id).name == "Ann"
        assert store.check() == [] and store.verify_audit().ok


def test_a_rotation_that_committed_but_could_not_rewrap_keys_db_says_the_new_passphrase_opens_the_store(tmp_path, monkeypatch):
    # It raised StoreFullError ("nothing was changed") while only the new passphrase opened the store.
    with h.new_store(tmp_path) as store:
        person_id = h.enrol(store, "Ann")
        before = store.counts()

        def full(_master_id):
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(store, "_finish_rewrap", full)
        with pytest.raises(RotationUnfinishedError) as err:
            store.rotate_master_key(NEW_PASSPHRASE, scrypt=h.FAST_SCRYPT)
        assert str(err.value) == ROTATION_UNFINISHED_MESSAGE.format(data_dir=tmp_path, detail="the disk is full")
        assert not store.is_unlocked
        with pytest.raises(StoreLockedError):
            store.person(person_id)
    with FamilyStore(tmp_path) as reopened:
        with pytest.raises(WrongPassphraseError):
            reopened.unlock(h.PASSPHRASE)
        reopened.unlock(NEW_PASSPHRASE)  # finishes the re-wrap
        assert reopened.find_person("Ann").name == "Ann"
        assert reopened.check() == [] and reopened.verify_audit().ok
        assert reopened.counts()["people"] == before["people"]


def test_a_key_file_the_full_disk_cannot_hold_is_a_key_file_error_and_is_not_left_behind(tmp_path, monkeypatch):
    # The empty file it left was then refused as "already exists" once there was room again.
    path = tmp_path / "unveil.key"
    monkeypatch.setattr(crypto_module.os, "fsync", _no_space)
    with pytest.raises(KeyFileError) as err:
        create_key_file(path)
    assert str(err.value) == KEY_FILE_NOT_WRITTEN.format(path=path, detail="No space left on device")
    assert not path.exists()
    monkeypatch.undo()
    assert create_key_file(path).stat().st_size == crypto_module.KEY_BYTES


def _staged_anchor(data_dir) -> list:
    return h.query(data_dir / KEYS_FILE, "SELECT value FROM meta WHERE key = 'audit_anchor_next'")


def test_erasing_everything_when_the_new_anchor_finds_the_disk_full_leaves_a_log_that_verifies(tmp_path, monkeypatch):
    # The new chain's anchor was written to keys.db only after unveil.db committed the erasure: on a full disk
    # (seen with 106-123 KB left on a tmpfs) keys.db kept naming entry 9 of the old chain, and `unveil audit verify`
    # said the log was cut, wiped or rolled back: tampering, after an erasure that had succeeded.
    with h.new_store(tmp_path) as store:
        for name in ("Ann", "Bob"):
            h.enrol(store, name)

        def full():
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(store, "_write_anchor", full)
        erasure.erase_everything(store)
        monkeypatch.undo()
        assert store.counts()["people"] == 0 and _staged_anchor(tmp_path) != []
        assert store.verify_audit().ok
    with h.open_store(tmp_path) as reopened:  # the staged anchor is moved in place
        assert reopened.verify_audit().ok and _staged_anchor(tmp_path) == []
        assert [e.event for e in reopened.audit_entries()] == ["erase_all"]


def test_erasing_everything_that_the_full_disk_refuses_keeps_the_old_log_and_its_anchor(tmp_path, monkeypatch):
    with h.new_store(tmp_path) as store:
        h.enrol(store, "Ann")
        before = store.counts()

        def full(_conn):
            raise StoreFullError(tmp_path)

        monkeypatch.setattr(store, "_commit", full)
        with pytest.raises(StoreFullError):
            erasure.erase_everything(store)
        monkeypatch.undo()
        assert store.counts() == before and store.verify_audit().ok
        assert _staged_anchor(tmp_path) == []
