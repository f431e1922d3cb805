"""The retention sweep runs SQLite's integrity_check of unveil.db on a read snapshot, before it takes the write lock:
it reads the whole file, most of it the audit log (0.3-1.1 s of the lock's time at a million entries,
docs/reports/audit_log_growth.md). Inside the lock it is run again only when the file changed since (a commit by any
session, a raw write to it), so damage still stops the sweep before it erases anything. Statements are traced on the
sweeping session's connection, and a hook acts between the snapshot's check and the lock; no test depends on timing."""
from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable

import pytest

from fer_core.store import DATA_FILE, FamilyStore, StoreDamagedError
from governance import audit_log, retention
from tests.support import privacy_harness as h
from tests.support.store import flip_in_index, write_lock_held


@pytest.fixture
def two_sessions(tmp_path):
    """The sweeping session, with two members, and another session on the same folder (unveil watch beside the app)."""
    store = h.new_store(tmp_path)
    ids = [h.enrol(store, name) for name in ("Halle Berry", "Hamid Karzai")]
    other = h.open_store(tmp_path, busy_timeout=0.2)
    yield store, other, ids
    other.close()
    store.close()


def _integrity_checks(store: FamilyStore) -> list[bool]:
    """For each integrity_check the session runs on unveil.db from now on, whether the write lock was held then."""
    held: list[bool] = []
    store._conn().set_trace_callback(
        lambda sql: held.append(write_lock_held(store.data_dir)) if "integrity_check" in sql else None)
    return held


def _between_check_and_lock(monkeypatch: pytest.MonkeyPatch, store: FamilyStore, action: Callable[[], None]) -> None:
    """Run `action` after the snapshot's integrity_check of unveil.db, before the sweep takes the write lock."""
    real = store._main_file_intact

    def check_then_act():
        result = real()
        action()
        return result

    monkeypatch.setattr(store, "_main_file_intact", check_then_act)


def test_unveil_db_is_checked_on_a_read_snapshot_outside_the_write_lock(two_sessions):
    store, _, ids = two_sessions
    held = _integrity_checks(store)
    report = retention.sweep(store)
    assert held == [False]  # before, once, inside the lock
    assert report.total == 0 and sorted(store.person_ids()) == sorted(ids)
    assert store.audit_entries()[-1].event == "sweep" and store.verify_audit().ok


def test_a_commit_after_the_check_has_it_run_again_inside_the_lock(two_sessions, monkeypatch):
    store, other, _ = two_sessions
    held = _integrity_checks(store)
    _between_check_and_lock(monkeypatch, store, lambda: audit_log.record_recognition(other, faces=1, named=0))
    retention.sweep(store)
    assert held == [False, True]
    assert [e.event for e in store.audit_entries()][-2:] == ["recognise", "sweep"]


def test_a_commit_of_this_session_after_the_check_has_it_run_again_inside_the_lock(two_sessions, monkeypatch):
    # Another thread of the sweeping session: its commit is not counted by PRAGMA data_version, which counts others'.
    store, _, _ = two_sessions
    held = _integrity_checks(store)
    _between_check_and_lock(monkeypatch, store, lambda: audit_log.record_recognition(store, faces=1, named=0))
    retention.sweep(store)
    assert held == [False, True]


def test_damage_written_into_the_file_after_the_check_stops_the_sweep_and_erases_no_one(two_sessions, monkeypatch):
    store, _, ids = two_sessions
    with contextlib.closing(sqlite3.connect(store.data_dir / DATA_FILE, isolation_level=None)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # flip_in_index edits the file, so nothing may wait in the log
    # As in a store bigger than the connection's page cache (2 MiB): what the sweep reads comes from the file again.
    # (Pages it still holds from before the write are read as they were, by the check and the sweep alike.)
    store._conn().execute("PRAGMA cache_size = 1")
    held = _integrity_checks(store)
    # A stray write into the file: no commit, so no session's PRAGMA data_version tells it apart.
    _between_check_and_lock(
        monkeypatch, store, lambda: flip_in_index(store.data_dir / DATA_FILE, "consents_by_person", ids[0]))
    sweeps = [e.seq for e in store.audit_entries() if e.event == "sweep"]
    with pytest.raises(StoreDamagedError) as err:
        retention.sweep(store)
    assert held == [False, True] and err.value.problems[0].startswith(f"{DATA_FILE}: ")
    assert sorted(store.person_ids()) == sorted(ids) and store.counts()["consents"] == 2
    assert [e.seq for e in store.audit_entries() if e.event == "sweep"] == sweeps


def test_damage_found_on_the_snapshot_is_reported_from_inside_the_lock_as_before(two_sessions):
    store, other, ids = two_sessions
    other.close()
    with contextlib.closing(sqlite3.connect(store.data_dir / DATA_FILE, isolation_level=None)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert flip_in_index(store.data_dir / DATA_FILE, "consents_by_person", ids[0]) == 1
    held = _integrity_checks(store)
    with pytest.raises(StoreDamagedError) as err:
        retention.sweep(store)
    assert held == [False, True]  # the lock's check lists it, with everything else found, as the sweep always did
    assert err.value.problems == [item.message for item in store.check()]
    assert sorted(store.person_ids()) == sorted(ids) and store.counts()["consents"] == 2
