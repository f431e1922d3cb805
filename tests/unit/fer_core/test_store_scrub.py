"""An erasure whose scrub cannot finish (another session reading keys.db, a full disk) still hands
back its receipt, says the scrub is pending, keeps a note in the store, and the next open finishes
it: the destroyed key then is gone from the files."""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from fer_core.store import (
    DATA_FILE,
    FULL_MESSAGE,
    KEYS_FILE,
    READ_ONLY_MESSAGE,
    WRITE_FAILED_MESSAGE,
    WRONG_PASSPHRASE_UNLOGGED,
    FamilyStore,
    StoreFullError,
    StoreReadOnlyError,
)
from fer_core.store import _store as store_module  # noqa: PLC2701 (faults planted inside the store)
from governance import erasure
from tests.support import privacy_harness as h
from tests.support.paths import REPO
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


_UNDER_A_FILE_SIZE_LIMIT = """
import json, resource, sys
import numpy as np
from fer_core.store import FamilyStore, StoreError
from governance import erasure
from tests.support import privacy_harness as h
data_dir, action, person, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = FamilyStore(data_dir)
if action != "wrong passphrase":
    store.unlock(h.PASSPHRASE)
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))  # writes past it fail with EFBIG (SIGXFSZ is ignored)
try:
    if action == "wrong passphrase":
        store.unlock("not the passphrase at all")
    elif action == "purge":
        receipt = erasure.purge_person(store, person)
        print(json.dumps({"receipt": receipt.to_dict(), "pending": store.scrub_pending}))
    else:
        store.add_embeddings(person, np.ones((2000, h.DIM), np.float32))
        print(json.dumps({"added": True}))
except StoreError as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
"""


def _under_a_file_size_limit(data_dir, action: str, person: str, limit: int) -> dict:
    """Run `action` in a process whose files cannot grow past `limit` bytes (RLIMIT_FSIZE): SQLite gets EFBIG,
    which it reports as a disk I/O error, not as a full disk."""
    done = subprocess.run([sys.executable, "-c", _UNDER_A_FILE_SIZE_LIMIT, str(data_dir), action, person, str(limit)],
                          cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def big_store_dir(tmp_path):
    """A store whose unveil.db is far over 512 KiB (a member with many embeddings), its WAL checkpointed."""
    with h.new_store(tmp_path) as store:
        big = h.enrol(store, "Halle Berry")
        store.add_embeddings(big, np.ones((3000, h.DIM), np.float32))
        h.enrol(store, "Hamid Karzai")
        assert store.scrub()
    assert (tmp_path / DATA_FILE).stat().st_size > 1024**2
    return tmp_path


def test_a_write_past_a_file_size_limit_is_a_typed_error_that_changes_nothing(big_store_dir):
    with h.open_store(big_store_dir) as store:
        before, pid = store.counts(), store.find_person("Hamid Karzai").id
    outcome = _under_a_file_size_limit(big_store_dir, "add", pid, 64 * 1024)
    assert outcome == {"error": "StoreWriteError",
                       "message": WRITE_FAILED_MESSAGE.format(data_dir=big_store_dir, detail="disk I/O error")}
    with h.open_store(big_store_dir) as store:
        assert store.counts() == before and store.check() == [] and store.verify_audit().ok


def test_an_erasure_whose_scrub_hits_a_file_size_limit_still_hands_back_its_receipt(big_store_dir):
    # The purge commits in the WAL, under the limit; the checkpoint that follows writes into unveil.db, past it.
    with h.open_store(big_store_dir) as store:
        victim = store.find_person("Hamid Karzai").id
        wrapped = h.query(big_store_dir / KEYS_FILE, "SELECT wrapped FROM data_keys WHERE owner = ?", (victim,))[0][0]
    outcome = _under_a_file_size_limit(big_store_dir, "purge", victim, 512 * 1024)
    assert outcome["pending"] is True and outcome["receipt"]["storage_scrubbed"] is False
    assert outcome["receipt"]["subject"] == victim and outcome["receipt"]["records"]["person"] == 1
    with h.open_store(big_store_dir) as store:  # the next open, without the limit, finishes the scrub
        assert victim not in store.person_ids() and not store.scrub_pending
        receipt = erasure.ErasureReceipt(**outcome["receipt"])
        assert erasure.receipt_is_logged(store, receipt)
    assert not _on_disk(big_store_dir, wrapped)


def test_an_erasure_whose_commit_hits_a_file_size_limit_is_a_typed_error_and_erases_nothing(big_store_dir):
    # governance's purge opens the transaction itself: its commit is typed by the store all the same.
    with h.open_store(big_store_dir) as store:
        before, victim = store.counts(), store.find_person("Hamid Karzai").id
    outcome = _under_a_file_size_limit(big_store_dir, "purge", victim, 16 * 1024)
    assert outcome == {"error": "StoreWriteError",
                       "message": WRITE_FAILED_MESSAGE.format(data_dir=big_store_dir, detail="disk I/O error")}
    with h.open_store(big_store_dir) as store:
        assert store.counts() == before and victim in store.person_ids()
        assert store.check() == [] and store.verify_audit().ok


def test_a_failed_unlock_that_cannot_be_logged_says_so(big_store_dir):
    outcome = _under_a_file_size_limit(big_store_dir, "wrong passphrase", "", 4096)
    assert outcome == {"error": "WrongPassphraseError", "message": WRONG_PASSPHRASE_UNLOGGED}
    with h.open_store(big_store_dir) as store:
        assert not [e for e in store.audit_entries() if e.event == "unlock_failed"] and store.check() == []
