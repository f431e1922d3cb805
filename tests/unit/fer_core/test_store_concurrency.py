"""Two sessions enrolling at the same time (processes, and threads with their own connections):
every enrolment lands whole, none is lost, the audit chain verifies."""
from __future__ import annotations

import sqlite3
import threading

import pytest

from fer_core.store import KEYS_FILE, FamilyStore, StoreBusyError
from governance import erasure
from tests.support import privacy_harness as h


def test_two_processes_enrolling_at_once_lose_nothing(tmp_path):
    assert h.concurrent_enrolment(tmp_path, per_process=8, processes=2) == [0, 0]
    opened, half_done, chain_ok = h.check_consistency(tmp_path)
    assert (opened, half_done, chain_ok) == (True, [], True)
    with h.open_store(tmp_path) as store:
        names = sorted(p.name for p in store.people())
        assert names == sorted(f"Worker{k} {i}" for k in range(2) for i in range(8))
        assert [e.event for e in store.audit_entries()].count("enrol") == 16


def test_two_sessions_in_threads_lose_nothing(tmp_path):
    h.new_store(tmp_path).close()
    errors = []

    def session(prefix: str) -> None:
        try:
            with FamilyStore(tmp_path) as store:
                store.unlock(h.PASSPHRASE)
                for i in range(6):
                    h.enrol(store, f"{prefix} {i}")
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(p,)) for p in ("Left", "Right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert h.check_consistency(tmp_path) == (True, [], True)
    with h.open_store(tmp_path) as store:
        assert len(store.people()) == 12


def test_keys_db_held_by_another_program_is_a_busy_store_and_nothing_changes(tmp_path):
    """keys.db's write lock held elsewhere for longer than the busy timeout (another session's scrub waiting on
    its readers, a program outside Unveil): an erasure or a rotation is refused with StoreBusyError, not a
    bare sqlite3 error, and changes nothing; once the lock is gone both go through."""
    with h.new_store(tmp_path) as store:
        ana = h.enrol(store, "Ana Lima")
    holder = sqlite3.connect(tmp_path / KEYS_FILE, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with FamilyStore(tmp_path, busy_timeout=0.1) as store:
            store.unlock(h.PASSPHRASE)
            with pytest.raises(StoreBusyError):
                erasure.purge_person(store, ana)
            with pytest.raises(StoreBusyError):
                store.rotate_master_key(h.PASSPHRASE + " rotated", scrypt=h.FAST_SCRYPT)
            assert store.is_unlocked and store.person_ids() == [ana]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert h.check_consistency(tmp_path) == (True, [], True)
    with h.open_store(tmp_path) as store:  # the old passphrase still opens it: the rotation never happened
        assert erasure.purge_person(store, ana).records["person"] == 1
        store.rotate_master_key(h.PASSPHRASE + " rotated", scrypt=h.FAST_SCRYPT)
        assert store.person_ids() == []
