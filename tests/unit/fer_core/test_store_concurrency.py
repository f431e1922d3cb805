"""Two sessions enrolling at the same time (processes, and threads with their own connections):
every enrolment lands whole, none is lost, the audit chain verifies."""
from __future__ import annotations

import threading

from fer_core.store import FamilyStore
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
