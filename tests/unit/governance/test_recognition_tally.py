"""governance.recognition_tally: recognitions of a long-running front end summed in memory and written as one
"recognise" entry (counts only) a period of the store's clock; store errors never raise, busy keeps the counts."""
from __future__ import annotations

import logging
import time

import numpy as np
import pytest

from fer_core.store import MasterKeyChangedError, StoreBusyError, StoreDamagedError, StoreFullError
from governance import audit_log, family
from governance import recognition_tally as tallies
from governance.consent import ConsentRecord, store_now
from governance.recognition_tally import RecognitionTally

VECTORS = np.ones((2, 16), np.float32)
NAME = "Zoë Quixbrandt"


@pytest.fixture()
def member(store) -> str:
    record = ConsentRecord.new(subject=NAME, purpose="family photos", days=365, scope="recognition",
                               now=store_now(store))
    return family.enroll(store, NAME, VECTORS, record).person_id


def _counted(store) -> list[dict]:
    return [entry.details for entry in store.audit_entries() if entry.event == "recognise"]


def test_counts_are_summed_into_one_entry_a_period_on_the_stores_clock(store, clock, member):
    tally = RecognitionTally(store, period_s=60)
    enrolled_at = store.person(member).last_seen_at
    for _ in range(30):  # a photo every 2 s for a minute less 2 s: nothing written
        tally.count([member, None])
        clock.now += 2
    assert _counted(store) == [] and tally.pending == (60, 30)
    tally.count([member, None])  # 60 s after the tally began
    assert _counted(store) == [{"faces": 62, "named": 31, "unknown": 31, "period_s": 60}]
    assert store.person(member).last_seen_at == clock.now > enrolled_at
    tally.count([None])
    assert len(_counted(store)) == 1 and tally.pending == (1, 0)
    assert tally.flush() is True  # a shutdown: written whatever the period
    assert _counted(store)[1:] == [{"faces": 1, "named": 0, "unknown": 1, "period_s": 0}]
    assert tally.flush() is False and len(_counted(store)) == 2  # nothing left: no empty entry
    assert audit_log.verify(store).ok


def test_a_period_of_0_writes_each_count_at_once(store, member):
    tally = RecognitionTally(store, period_s=0)
    tally.count([member])
    tally.count([None, None])
    assert _counted(store) == [{"faces": 1, "named": 1, "unknown": 0, "period_s": 0},
                               {"faces": 2, "named": 0, "unknown": 2, "period_s": 0}]


def test_a_busy_store_keeps_the_counts_for_the_next_write(store, clock, member, monkeypatch, caplog):
    tally = RecognitionTally(store, period_s=0)
    real = store.mark_seen

    def busy(*args, **kwargs):
        raise StoreBusyError(0.1)

    monkeypatch.setattr(store, "mark_seen", busy)
    tally.count([member, None])  # never raises
    assert _counted(store) == [] and tally.pending == (2, 1)
    monkeypatch.setattr(store, "mark_seen", real)
    clock.now += 5
    tally.count([member])
    assert _counted(store) == [{"faces": 3, "named": 2, "unknown": 1, "period_s": 5}]
    assert "busy" in caplog.text and NAME not in caplog.text and member not in caplog.text


def test_a_full_disk_keeps_the_counts_until_there_is_room_and_says_so_in_counts_only(store, clock, member,
                                                                                     monkeypatch, caplog):
    # They were dropped ("were not logged: StoreFullError"): every recognition while the disk stayed full was
    # missing from the audit log for good, though the camera went on naming people.
    caplog.set_level(logging.WARNING, logger="unveil.recognition")
    tally = RecognitionTally(store, period_s=0)
    real = store.mark_seen

    def full(*args, **kwargs):
        raise StoreFullError(store.data_dir)

    monkeypatch.setattr(store, "mark_seen", full)
    tally.count([member, None])
    assert _counted(store) == [] and tally.pending == (2, 1)
    assert caplog.messages == [tallies.FULL.format(faces=2)]
    monkeypatch.setattr(store, "mark_seen", real)  # space was freed
    clock.now += 5
    tally.count([None])
    assert _counted(store) == [{"faces": 3, "named": 1, "unknown": 2, "period_s": 5}]
    assert NAME not in caplog.text and member not in caplog.text and str(store.data_dir) not in caplog.text


def test_counts_kept_for_a_full_disk_at_the_end_are_said_to_be_lost_for_that_reason(store, member, monkeypatch,
                                                                                     caplog):
    caplog.set_level(logging.WARNING, logger="unveil.recognition")
    tally = RecognitionTally(store, period_s=60)

    def full(*args, **kwargs):
        raise StoreFullError(store.data_dir)

    with tally.running():
        tally.count([member, None])
        monkeypatch.setattr(store, "mark_seen", full)
    assert caplog.messages[-1] == tallies.DROPPED.format(faces=2, named=1, reason=tallies.AT_EXIT_FULL)


@pytest.mark.parametrize("error", [MasterKeyChangedError(), StoreDamagedError("a folder", ["x"])])
def test_a_store_that_cannot_be_written_drops_the_counts_with_a_warning_in_counts_only(store, member, monkeypatch,
                                                                                      caplog, error):
    caplog.set_level(logging.WARNING, logger="unveil.recognition")
    tally = RecognitionTally(store, period_s=0)

    def fails(*args, **kwargs):
        raise error

    monkeypatch.setattr(store, "mark_seen", fails)
    tally.count([member, None])
    assert tally.pending == (0, 0) and _counted(store) == []
    assert caplog.messages[0].startswith(tallies.DROPPED.format(faces=2, named=1, reason="")[:-1])
    assert NAME not in caplog.text and member not in caplog.text and "a folder" not in caplog.text


def test_running_writes_when_due_in_the_background_and_what_is_left_at_the_end(store, clock, member, monkeypatch):
    monkeypatch.setattr(tallies, "CHECK_S", 0.01)
    tally = RecognitionTally(store, period_s=60)
    with tally.running():
        tally.count([member])
        clock.now += 61  # no more photos: the thread writes the period's counts
        for _ in range(500):
            if _counted(store):
                break
            time.sleep(0.01)
        assert _counted(store) == [{"faces": 1, "named": 1, "unknown": 0, "period_s": 61}]
        tally.count([None])
    assert _counted(store)[1:] == [{"faces": 1, "named": 0, "unknown": 1, "period_s": 0}]


def test_older_entries_without_a_period_are_read_and_verified_as_before(store):
    audit_log.record_recognition(store, faces=2, named=1)
    audit_log.record_recognition(store, faces=4, named=2, period_s=60)
    assert _counted(store) == [{"faces": 2, "named": 1, "unknown": 1},
                               {"faces": 4, "named": 2, "unknown": 2, "period_s": 60}]
    assert [audit_log.shown_entry(e).details for e in store.audit_entries() if e.event == "recognise"] == [
        "faces=2, named=1, unknown=1", "faces=4, named=2, period_s=60, unknown=2"]
    assert audit_log.verify(store).ok
    with pytest.raises(ValueError):
        audit_log.record_recognition(store, faces=1, named=0, period_s=-1)


def test_counts_still_unwritten_when_the_block_ends_are_said_to_be_lost_in_counts_only(store, member, monkeypatch,
                                                                                        caplog):
    caplog.set_level(logging.WARNING, logger="unveil.recognition")
    tally = RecognitionTally(store, period_s=60)

    def busy(*args, **kwargs):
        raise StoreBusyError(0.1)

    with tally.running():
        tally.count([member, None])
        monkeypatch.setattr(store, "mark_seen", busy)
    assert caplog.messages[-1] == tallies.DROPPED.format(faces=2, named=1, reason=tallies.AT_EXIT)
    assert NAME not in caplog.text and member not in caplog.text
