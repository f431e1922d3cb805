"""What the retention sweep reads of the audit log into memory inside its write lock does not grow with the log: the
date checks (governance.clock.newest_use) read every sealed entry's time into a list, 0.55 s at a million entries
of the lock's time (docs/reports/audit_log_growth.md), and the Family page did so twice on every click."""
from __future__ import annotations

import contextlib

from fer_core.store import FamilyStore, WrongPassphraseError
from governance import audit_log, clock, retention
from tests.support import privacy_harness as h
from tests.support.store import FakeClock, write_lock_held


def test_the_sweep_reads_no_more_entry_times_under_its_lock_than_were_written_since_the_last_sweep(tmp_path,
                                                                                                  monkeypatch):
    store = h.new_store(tmp_path)
    for _ in range(200):
        audit_log.record_recognition(store, faces=1, named=0)
    retention.sweep(store)
    for _ in range(3):
        audit_log.record_recognition(store, faces=1, named=0)
    read_under_lock = []
    real = FamilyStore.sealed_audit_times

    def times(self, **kwargs):
        found = real(self, **kwargs)
        if write_lock_held(self.data_dir):
            read_under_lock.append(len(found))
        return found

    monkeypatch.setattr(FamilyStore, "sealed_audit_times", times)
    retention.sweep(store)
    assert sum(read_under_lock) <= 4  # the last sweep's entry and the 3 since; before, every entry again (205)
    store.close()


def test_newest_use_is_the_latest_time_of_a_sealed_entry_since_the_date_was_confirmed(tmp_path):
    fake = FakeClock(1_800_000_000.0)
    store = h.new_store(tmp_path, clock=fake)
    assert clock.newest_use(store) == fake.now  # store_created
    fake.now += 50
    audit_log.record_recognition(store, faces=1, named=0)
    fake.now -= 20  # an entry written on a clock set back is not the newest use
    audit_log.record_recognition(store, faces=1, named=0)
    store.lock()
    fake.now += 1000
    with contextlib.suppress(WrongPassphraseError):  # a failed unlock: unsealed, anyone could have written it
        store.unlock("not the passphrase")
    store.unlock(h.PASSPHRASE)
    assert clock.newest_use(store) == max(store.sealed_audit_times())
    fake.now = 1_700_000_000.0  # the date confirmed on a clock far behind: what came before no longer counts
    audit_log.record(store, "date_confirmed", details={"last_used": 1_800_000_050.0})
    assert clock.newest_use(store) == 1_700_000_000.0
    store.close()
