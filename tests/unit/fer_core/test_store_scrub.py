"""An erasure whose scrub cannot finish (another session reading keys.db, a full disk) still hands
back its receipt, says the scrub is pending, keeps a note in the store, and the next open finishes
it: the destroyed key then is gone from the files."""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3

import numpy as np
import pytest

from fer_core.store import (
    DATA_FILE,
    FULL_MESSAGE,
    KEYS_FILE,
    READ_ONLY_MESSAGE,
    FamilyStore,
    StoreFullError,
    StoreReadOnlyError,
)
from fer_core.store import _store as store_module  # noqa: PLC2701 (faults planted inside the store)
from governance import erasure
from tests.support import privacy_harness as h
from unveil.cli import main


def _on_disk(data_dir, blob: bytes) -> bool:
    return any(blob in path.read_bytes() for path in data_dir.glob(f"{KEYS_FILE}*") if path.is_file())


@pytest.fixture
def store_dir(tmp_path):
    with h.new_store(tmp_path, busy_timeout=0.2) as store:
        h.enrol(store, "Halle Berry")
        h.enrol(store, "Hamid Karzai")
    return tmp_path


def test_a_reader_on_keys_db_delays_the_scrub_until_the_next_open(store_dir):
    store = FamilyStore(store_dir, busy_timeout=0.2)
    store.unlock(h.PASSPHRASE)
    victim = store.find_person("Halle Berry").id
    wrapped = h.query(store_dir / KEYS_FILE, "SELECT wrapped FROM data_keys WHERE owner = ?", (victim,))[0][0]
    reader = sqlite3.connect(store_dir / KEYS_FILE, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM data_keys").fetchone()  # another session's open read
    receipt = erasure.purge_person(store, victim)
    assert not receipt.storage_scrubbed and store.scrub_pending
    assert _on_disk(store_dir, wrapped)  # the key's old page is still in keys.db
    assert not store.scrub()  # retrying while the reader stays does not pretend otherwise
    store.close()
    reader.execute("COMMIT")
    reader.close()
    with FamilyStore(store_dir) as reopened:  # the next open finishes the scrub
        assert not reopened.scrub_pending
    assert not _on_disk(store_dir, wrapped)
    assert h.query(store_dir / DATA_FILE, "SELECT COUNT(*) FROM meta WHERE key = 'scrub_pending'") == [(0,)]


class _FullDisk:
    """A connection whose VACUUM fails as SQLite does when the disk is full."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, *args):
        if sql == "VACUUM":
            raise sqlite3.OperationalError("database or disk is full")
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self._conn, name)


def test_a_full_disk_after_the_purge_still_returns_the_receipt(store_dir):
    with h.open_store(store_dir) as store:
        victim = store.find_person("Hamid Karzai").id
        real = store._keys
        store._keys = _FullDisk(real)
        receipt = erasure.purge_person(store, victim)
        store._keys = real
        assert not receipt.storage_scrubbed and store.scrub_pending
        assert erasure.receipt_is_logged(store, receipt)
        assert victim not in store.person_ids()
    with FamilyStore(store_dir) as reopened:
        assert not reopened.scrub_pending


def test_the_cli_prints_the_receipt_and_says_the_scrub_is_pending(store_dir, monkeypatch, capsys):
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    monkeypatch.setattr(store_module.FamilyStore, "scrub", lambda self: False)
    assert main(["family", "purge", "Halle Berry", "--yes", "--data-dir", str(store_dir)]) == 0
    out, err = capsys.readouterr()
    receipt = json.loads(out)
    assert receipt["storage_scrubbed"] is False
    assert err == erasure.SCRUB_PENDING_NOTE.format(seq=receipt["audit_seq"]) + "\n"


def test_a_read_only_store_is_not_called_corrupt(store_dir, monkeypatch):
    # Running as root, permissions cannot make the folder read-only, so SQLite's refusal is simulated.
    def refuse(path, timeout):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(store_module, "_connect", refuse)
    with pytest.raises(StoreReadOnlyError) as err:
        FamilyStore(store_dir)
    assert str(err.value) == READ_ONLY_MESSAGE.format(data_dir=store_dir, detail="attempt to write a readonly database")
    assert "restore" not in str(err.value).replace("needs no restore", "")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write to any folder")
def test_a_read_only_folder_is_reported_as_such(store_dir):
    with contextlib.ExitStack() as stack:
        for path in (store_dir, *store_dir.iterdir()):
            mode = path.stat().st_mode
            stack.callback(path.chmod, mode)
            path.chmod(mode & ~0o222)
        with pytest.raises(StoreReadOnlyError):
            FamilyStore(store_dir)


def test_a_write_that_fills_the_disk_is_a_typed_error_that_changes_nothing(store_dir):
    # SQLite reports a full disk as it reports a page limit reached (SQLITE_FULL): the write is rolled
    # back and the caller gets StoreFullError, not a bare sqlite3 error.
    with h.open_store(store_dir) as store:
        before = store.counts()
        conn = store._conn()
        conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
        pid = store.find_person("Halle Berry").id
        with pytest.raises(StoreFullError) as err:
            store.add_embeddings(pid, np.ones((4000, 128), np.float32))
        assert str(err.value) == FULL_MESSAGE.format(data_dir=store_dir)
        assert store.counts() == before
        assert store.check() == []
