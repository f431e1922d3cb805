"""The retention sweep verifies the audit log's old entries on a read snapshot, before it takes the write lock, and
only the entries appended since inside it: other sessions keep writing meanwhile (the whole walk takes about 40 s at
a million entries), and nothing the whole walk caught gets through. Hooks pause the sweep inside the walk, or between
the snapshot and the lock, to let another session act there; no test depends on timing."""
from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable

import pytest

from fer_core.store import (
    DATA_FILE,
    FamilyStore,
    StoreDamagedError,
    WrongPassphraseError,
    _audit,  # noqa: PLC2701 (hooks the walk to act while it runs)
)
from governance import audit_log, erasure, retention
from tests.support import privacy_harness as h
from tests.support.store import write_lock_held


@pytest.fixture
def two_sessions(tmp_path):
    """The sweeping session and another on the same folder (a second process, as unveil watch beside the app),
    whose writes give up after 0.2 s of waiting for the lock. The log holds 9 entries."""
    store = h.new_store(tmp_path)
    for name in ("Halle Berry", "Hamid Karzai"):
        h.enrol(store, name)
    for faces, named in ((3, 1), (2, 2), (1, 0)):
        audit_log.record_recognition(store, faces=faces, named=named)
    audit_log.record(store, "retention_change", details={"kind": "analyses", "days": 7})
    other = h.open_store(tmp_path, busy_timeout=0.2)
    assert store.counts()["audit"] == 9
    yield store, other
    other.close()
    store.close()


def _sql(store: FamilyStore, *statements: str) -> None:
    with contextlib.closing(sqlite3.connect(store.data_dir / DATA_FILE, isolation_level=None)) as conn:
        for sql in statements:
            conn.execute(sql)


def _inside_the_walk(monkeypatch: pytest.MonkeyPatch, store: FamilyStore, action: Callable[[], None]) -> list[bool]:
    """Run `action` once, inside the first walk of the whole log (its read snapshot still open); returns a list that
    records, for each whole walk, whether the store's write lock was held during it."""
    real, locked = _audit.verify, []

    def walk(*args, **kwargs) -> _audit.AuditVerification:
        result = real(*args, **kwargs)
        locked.append(write_lock_held(store.data_dir))
        if len(locked) == 1:
            action()
        return result

    monkeypatch.setattr(_audit, "verify", walk)
    return locked


def _since_results(monkeypatch: pytest.MonkeyPatch) -> list[_audit.AuditVerification | None]:
    real, results = _audit.verify_since, []

    def since(*args, **kwargs) -> _audit.AuditVerification | None:
        results.append(real(*args, **kwargs))
        return results[-1]

    monkeypatch.setattr(_audit, "verify_since", since)
    return results


def _between_snapshot_and_lock(monkeypatch: pytest.MonkeyPatch, store: FamilyStore, action: Callable[[], None]) -> None:
    """Run `action` once, after the sweep's walk on its read snapshot ended and before it takes the write lock."""
    real = store.verify_audit
    done = []

    def verify_then_act() -> _audit.AuditVerification:
        result = real()
        if not done:
            done.append(True)
            action()
        return result

    monkeypatch.setattr(store, "verify_audit", verify_then_act)


def test_another_session_writes_while_the_sweep_walks_the_old_entries(two_sessions, monkeypatch):
    store, other = two_sessions
    written = []
    locked = _inside_the_walk(monkeypatch, store, lambda: written.append(audit_log.record_recognition(other, faces=1, named=0)))
    since = _since_results(monkeypatch)
    retention.sweep(store)  # before, the walk ran inside the sweep's write lock: the write above was StoreBusyError
    assert written == [10] and locked == [False]  # one walk of the whole log, outside the lock
    # Inside the lock only the entry appended meanwhile was walked, from the end of the snapshot's walk.
    assert [(result.ok, result.entries) for result in since] == [(True, 10)]
    assert [e.event for e in store.audit_entries()][-2:] == ["recognise", "sweep"]
    assert store.verify_audit().ok


def test_an_entry_appended_meanwhile_is_verified_inside_the_lock(two_sessions, monkeypatch):
    store, other = two_sessions

    def append_then_edit_it() -> None:
        audit_log.record_recognition(other, faces=1, named=0)
        _sql(store, "UPDATE audit SET details = '{\"faces\":9,\"named\":0,\"unknown\":9}' WHERE seq = 10")

    locked = _inside_the_walk(monkeypatch, store, append_then_edit_it)
    since = _since_results(monkeypatch)
    with pytest.raises(StoreDamagedError) as err:
        retention.sweep(store)
    assert err.value.problems == ["audit log broken at entry 10: entry 10 does not match its hash: it was edited"]
    assert since == [None] and locked == [False, True]  # found after the snapshot, reported by the whole walk
    assert "sweep" not in [e.event for e in store.audit_entries()]


def _failed_unlock(other: FamilyStore) -> None:
    with contextlib.suppress(WrongPassphraseError):
        other.unlock("not the passphrase")


@pytest.mark.parametrize("change", ["erase everything", "rotate the master key", "a failed unlock counted again"])
def test_a_log_reset_or_resealed_meanwhile_is_verified_whole_and_passes(two_sessions, monkeypatch, change):
    store, other = two_sessions
    if change == "a failed unlock counted again":
        other.lock()
        _failed_unlock(other)  # the newest entry is now an unsealed failed unlock, which the next one rewrites
    actions = {
        "erase everything": lambda: erasure.erase_everything(other),
        # This session (another of its threads): a rotation by another session locks this one instead.
        "rotate the master key": lambda: store.rotate_master_key("a new passphrase of some length", scrypt=h.FAST_SCRYPT),
        "a failed unlock counted again": lambda: _failed_unlock(other),
    }
    _between_snapshot_and_lock(monkeypatch, store, actions[change])
    since = _since_results(monkeypatch)
    report = retention.sweep(store)
    assert report.total == 0
    # Reseal: this session's master key changed, so verify_since is not even tried; the others fail its checks.
    assert since == ([] if change == "rotate the master key" else [None])
    assert store.audit_entries()[-1].event == "sweep" and store.verify_audit().ok


TAMPERING = {  # the cases of test_audit_log's test_tampering_is_reported_at_the_first_broken_link
    "edit details": (["UPDATE audit SET details = '{\"faces\":30,\"named\":1,\"unknown\":2}' WHERE seq = 6"], 6,
                     "entry 6 does not match its hash: it was edited"),
    "edit event": (["UPDATE audit SET event = 'sweep' WHERE seq = 4"], 4, "entry 4 does not match its hash: it was edited"),
    "edit time": (["UPDATE audit SET ts = ts - 86400 WHERE seq = 2"], 2, "entry 2 does not match its hash: it was edited"),
    "edit person": (["UPDATE audit SET person_id = NULL WHERE seq = 3"], 3, "entry 3 does not match its hash: it was edited"),
    "edit sealed name": (["UPDATE audit SET name = x'00' || name WHERE seq = 3"], 3,
                         "entry 3 holds a sealed name that does not match its hash: it was edited"),
    "delete middle": (["DELETE FROM audit WHERE seq = 5"], 5,
                      "entry 5 is missing (the log jumps to entry 6): entries were deleted or moved"),
    "delete first": (["DELETE FROM audit WHERE seq = 1"], 1,
                     "entry 1 is missing (the log jumps to entry 2): entries were deleted or moved"),
    "delete last": (["DELETE FROM audit WHERE seq = 9"], 9,
                    "the log ends at entry 8 but its head records entry 9: entries were cut from the end"),
    "reorder": (["UPDATE audit SET seq = 100 WHERE seq = 3", "UPDATE audit SET seq = 3 WHERE seq = 4",
                 "UPDATE audit SET seq = 4 WHERE seq = 100"], 3,
                "entry 3 does not link to entry 2: entries were reordered, deleted or edited"),
    "edit the newest": (["UPDATE audit SET ts = ts + 1 WHERE seq = 9"], 9, "entry 9 does not match its hash: it was edited"),
}


def _refused(store: FamilyStore, first_broken: int, reason: str) -> None:
    people, sweeps = store.counts()["people"], [e.seq for e in store.audit_entries() if e.event == "sweep"]
    with pytest.raises(StoreDamagedError) as err:
        retention.sweep(store)
    # check()'s own findings come first (a moved entry's sealed name no longer decrypts); the log's is last.
    assert err.value.problems[-1] == f"audit log broken at entry {first_broken}: {reason}"
    assert store.counts()["people"] == people and [e.seq for e in store.audit_entries() if e.event == "sweep"] == sweeps


@pytest.mark.parametrize("case", TAMPERING)
def test_tampering_before_the_sweep_is_refused(two_sessions, case):
    store, _ = two_sessions
    statements, first_broken, reason = TAMPERING[case]
    _sql(store, *statements)
    _refused(store, first_broken, reason)


@pytest.mark.parametrize("case", ["delete middle", "delete first", "delete last", "edit the newest"])
def test_entries_cut_or_the_newest_edited_after_the_snapshot_are_refused(two_sessions, monkeypatch, case):
    # The checks made inside the lock: entries 1 to 9 are all still there, and entry 9 is the one verified.
    store, _ = two_sessions
    statements, first_broken, reason = TAMPERING[case]
    _between_snapshot_and_lock(monkeypatch, store, lambda: _sql(store, *statements))
    _refused(store, first_broken, reason)


def test_an_old_entry_edited_after_the_snapshot_is_reported_by_the_next_check(two_sessions, monkeypatch):
    # What the lock no longer covers: entries before the newest are not walked again inside it. The sweep goes by the
    # log as it was verified a moment before (as the old sweep went by the log as it was when its lock was taken), and
    # the next check walks the whole log again.
    store, _ = two_sessions
    statements, first_broken, reason = TAMPERING["edit details"]
    _between_snapshot_and_lock(monkeypatch, store, lambda: _sql(store, *statements))
    retention.sweep(store)
    monkeypatch.undo()
    result = store.verify_audit()
    assert (result.ok, result.first_broken, result.reason) == (False, first_broken, reason)
    with pytest.raises(StoreDamagedError):
        retention.sweep(store)
