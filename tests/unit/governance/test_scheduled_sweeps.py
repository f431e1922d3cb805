"""The retention sweeps of `unveil watch` and `unveil serve` (governance.scheduled_sweeps): one when they start, then
one a day on the store's clock; store errors are logged by kind, never with a name, and tried again later."""
from __future__ import annotations

import logging
import threading
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from fer_core.model_files import identity_model_name
from fer_core.store import MasterKeyChangedError, StoreBusyError, StoreDamagedError, StoreFullError
from governance import consent, family, receipts, retention
from governance import scheduled_sweeps as scheduled
from governance.consent import ConsentRecord, store_now
from governance.scheduled_sweeps import ScheduledSweeps
from tests.support import privacy_harness as h
from tests.support.time_zones import machine_time_zone, zone_set_under_a_running_process

VECTORS = np.ones((2, 16), np.float32)


def _enrol(store, name, *, days):
    record = ConsentRecord.new(subject=name, purpose="family photos", days=days, scope="recognition",
                               now=store_now(store))
    return family.enroll(store, name, VECTORS, record, model=identity_model_name()).person_id


def _sweeps(store) -> list[dict]:
    return [entry.details for entry in store.audit_entries() if entry.event == "sweep"]


def test_a_sweep_when_started_then_one_a_day_on_the_stores_clock(store, clock, caplog):
    zoe = _enrol(store, "Zoë Day", days=1)
    _enrol(store, "Long Stay", days=1000)
    zoes_last_day = consent.until_day(consent.latest(store, zoe))
    sweeps = ScheduledSweeps(store)
    caplog.set_level(logging.INFO, logger="unveil.retention")

    first = sweeps.run_if_due()
    assert first is not None and first.total == 0 and len(_sweeps(store)) == 1

    clock.advance(days=0.5)
    assert sweeps.run_if_due() is None  # not due: half a day
    # Two days and a bit after Zoë's consent for 1 day was given: it has ended (at the end of the next day on this
    # machine's calendar, at most 48 hours after it was given, whatever the zone), and the daily sweep is due.
    clock.advance(days=1.6)
    report = sweeps.run_if_due()
    assert report is not None and report.removed["consent_expired"] == 1
    assert [p.name for p in store.people()] == ["Long Stay"]
    assert len(_sweeps(store)) == 2
    assert caplog.messages == [scheduled.ENDING.format(count=1, day=zoes_last_day),  # said at the first sweep
                               scheduled.REMOVED.format(removed="1 member whose consent expired")]
    assert "Zoë" not in caplog.text

    clock.advance(days=-2)  # the clock went back: the day is counted again from now
    assert sweeps.run_if_due() is not None
    assert sweeps.run_if_due() is None


def test_a_busy_store_is_tried_again_minutes_later_not_at_every_frame(store, clock, caplog, monkeypatch):
    sweeps = ScheduledSweeps(store)
    calls = []

    def busy(_store, **_options):
        calls.append(clock.now)
        raise StoreBusyError(1.0)

    monkeypatch.setattr(retention, "sweep", busy)
    assert sweeps.run_if_due() is None
    assert sweeps.run_if_due() is None  # the next frame: not tried again
    clock.advance(days=scheduled.SWEEP_RETRY_S / 86400)
    assert sweeps.run_if_due() is None
    assert len(calls) == 2
    assert caplog.messages == [scheduled.BUSY.format(minutes=10)] * 2

    monkeypatch.undo()
    clock.advance(days=scheduled.SWEEP_RETRY_S / 86400)
    assert sweeps.run_if_due() is not None and len(_sweeps(store)) == 1


def test_a_full_disk_is_said_and_tried_again_minutes_later(store, clock, caplog, monkeypatch):
    # It was logged as "retention sweep failed (StoreFullError)": now what is wrong, that nothing went, what to do.
    sweeps = ScheduledSweeps(store)

    def full(_store, **_options):
        raise StoreFullError(Path("/home/someone/.local/share/unveil"))

    monkeypatch.setattr(retention, "sweep", full)
    assert sweeps.run_if_due() is None
    assert caplog.messages == [scheduled.FULL.format(minutes=10)]
    monkeypatch.undo()
    assert sweeps.run_if_due() is None  # not before SWEEP_RETRY_S
    clock.advance(days=scheduled.SWEEP_RETRY_S / 86400)
    assert sweeps.run_if_due() is not None and len(_sweeps(store)) == 1


@pytest.mark.parametrize(("error", "message", "tried_again_after_s"), [
    (StoreDamagedError(Path("/home/someone/.local/share/unveil"), ["person 1: altered"]), scheduled.DAMAGED.format(hours=24), scheduled.SWEEP_EVERY_S),
    (MasterKeyChangedError(), scheduled.LOCKED, None),
])
def test_damage_waits_a_day_and_a_replaced_master_key_stops_the_sweeps(store, clock, caplog, monkeypatch, error,
                                                                       message, tried_again_after_s):
    sweeps = ScheduledSweeps(store)
    calls = []

    def failing(_store, **_options):
        calls.append(clock.now)
        raise error

    monkeypatch.setattr(retention, "sweep", failing)
    assert sweeps.run_if_due() is None
    clock.advance(days=(scheduled.SWEEP_EVERY_S - 1) / 86400)
    sweeps.run_if_due()
    assert len(calls) == 1
    clock.advance(days=1 / 86400)
    sweeps.run_if_due()
    assert len(calls) == (2 if tried_again_after_s else 1)
    assert caplog.messages[0] == message


def test_a_clock_that_jumped_removes_nothing_and_says_how_to_confirm_the_date(store, clock, caplog):
    _enrol(store, "Short Stay", days=10)
    ScheduledSweeps(store).run_if_due()
    clock.advance(days=400)
    caplog.clear()  # the first sweep said that Short Stay's consent ends in 10 days
    caplog.set_level(logging.INFO, logger="unveil.retention")

    report = ScheduledSweeps(store).run_if_due()  # a restart on the jumped clock

    assert report is not None and report.total == 0 and report.date_check is not None
    assert [p.name for p in store.people()] == ["Short Stay"]
    assert caplog.messages == [scheduled.DATE_WAITS.format(question=report.date_check.text())]
    assert "Short Stay" not in caplog.text


def _checked(sweeps: ScheduledSweeps, monkeypatch) -> threading.Event:
    """Set once the background thread has made a whole check (the store's data_version, then run_if_due): waited on,
    so that a loaded machine's slow thread is not taken for one that does nothing."""
    done, run_if_due = threading.Event(), sweeps.run_if_due

    def run_then_say():
        try:
            return run_if_due()
        finally:
            done.set()

    monkeypatch.setattr(sweeps, "run_if_due", run_then_say)
    return done


def test_the_background_thread_sweeps_when_due_and_ends_with_the_block(store, clock, monkeypatch):
    _enrol(store, "Zoë Day", days=1)
    sweeps = ScheduledSweeps(store)
    sweeps.run_if_due()
    clock.advance(days=2)
    checked = _checked(sweeps, monkeypatch)
    with sweeps.running(check_s=0.01):
        assert checked.wait(timeout=120), "no check in 2 minutes"
    assert store.people() == []
    assert not [t for t in threading.enumerate() if t.name == "unveil-retention"]


def test_the_background_thread_wipes_the_key_of_a_member_erased_in_another_session(store, clock, monkeypatch):
    """`unveil serve` reads the store only for a request (and `unveil watch` only for a frame): one nobody sent a photo
    to kept in memory the data key of a member erased in the app or the CLI until its next request, days later,
    though the receipt says that key is destroyed. Its sweeps' thread checks the store every minute."""
    ana, bruno = _enrol(store, "Ana Lima", days=365), _enrol(store, "Bruno Lima", days=365)
    sweeps = ScheduledSweeps(store)
    sweeps.run_if_due()
    store.gallery(model=identity_model_name())  # what a request does: both members' keys are now held
    held = store._data_keys[ana]  # what is held is the point
    with h.open_store(store.data_dir, clock=clock) as other:
        family.purge(other, "Ana Lima")
    assert ana in set(store._data_keys)  # nothing here has read the store since
    checked = _checked(sweeps, monkeypatch)
    with sweeps.running(check_s=0.01):
        assert checked.wait(timeout=120), "no check in 2 minutes"
    assert ana not in set(store._data_keys) and not any(held)  # ids only in a failure's message, never a key
    assert bruno in set(store._data_keys)


def test_a_stored_period_out_of_range_is_logged_and_tried_again_later_not_raised(store, clock, caplog):
    """A retention period stored above MAX_DAYS (set before it was checked) makes every sweep fail with RetentionError,
    which is not a StoreError: the first sweep raised it out of run_if_due, so `unveil serve` failed its startup and
    `unveil watch` stopped before its first frame, where both had run before they swept; the thread's later tries
    found no next time set and failed again at every check, once a minute."""
    store.set_retention("analyses", retention.MAX_DAYS + 1)  # as an older version let it be stored
    sweeps = ScheduledSweeps(store)
    caplog.set_level(logging.INFO, logger="unveil.retention")

    assert sweeps.run_if_due() is None
    clock.advance(days=scheduled.SWEEP_CHECK_S / 86400)
    assert sweeps.run_if_due() is None  # a minute on: not tried again
    reason = retention.STORED_DAYS_TOO_MANY.format(kind="analyses", days=retention.MAX_DAYS + 1,
                                                   maximum=retention.MAX_DAYS)
    assert caplog.messages == [scheduled.NOT_APPLIED.format(reason=reason, minutes=10)]
    assert _sweeps(store) == []

    retention.set_policy(store, "analyses", 30)  # set again, as the message says
    clock.advance(days=scheduled.SWEEP_RETRY_S / 86400)
    assert sweeps.run_if_due() is not None and len(_sweeps(store)) == 1


def test_an_unexpected_error_is_logged_by_kind_and_tried_again_later_not_raised(store, clock, caplog, monkeypatch):
    sweeps = ScheduledSweeps(store)
    calls = []

    def failing(_store, **_options):
        calls.append(clock.now)
        raise KeyError("Zoë Day")  # a message may quote stored text: only the kind is logged

    monkeypatch.setattr(retention, "sweep", failing)
    assert sweeps.run_if_due() is None
    clock.advance(days=scheduled.SWEEP_CHECK_S / 86400)
    assert sweeps.run_if_due() is None
    assert len(calls) == 1
    assert caplog.messages == [scheduled.FAILED.format(kind="KeyError", minutes=10)]
    assert "Zoë" not in caplog.text


def test_each_sweep_logs_how_many_consents_end_on_which_day_never_who(store, clock, caplog):
    """A household that runs only `unveil watch` or `unveil serve` read nothing before a member's consent ended and the
    next sweep erased them. Each day's sweep now logs, a line per day, how many consents end on which of the next
    consent.ENDING_NOTICE_DAYS days; not in between sweeps, and never a name."""
    ana, bea = _enrol(store, "Ana Quixbrandt", days=3), _enrol(store, "Bea Quixbrandt", days=3)
    cai = _enrol(store, "Caio Quixbrandt", days=consent.ENDING_NOTICE_DAYS - 1)
    _enrol(store, "Dora Quixbrandt", days=consent.ENDING_NOTICE_DAYS + 1)
    ends = {pid: consent.until_day(consent.latest(store, pid)) for pid in (ana, bea, cai)}
    assert ends[ana] == ends[bea]
    sweeps = ScheduledSweeps(store)
    caplog.set_level(logging.INFO, logger="unveil.retention")

    assert sweeps.run_if_due() is not None
    assert caplog.messages == [scheduled.ENDING_MANY.format(count=2, day=ends[ana]),
                               scheduled.ENDING.format(count=1, day=ends[cai])]
    assert scheduled.ENDING.format(count=1, day="2026-12-20") == (
        "retention sweep: 1 member's consent ends on 2026-12-20; the first sweep after that day erases them unless it "
        "is renewed: unveil consent list")
    clock.advance(days=0.5)
    assert sweeps.run_if_due() is None and len(caplog.messages) == 2  # no sweep, no line
    clock.advance(days=1.5)
    caplog.clear()
    assert sweeps.run_if_due() is not None  # two days on: Dora's consent now ends within the days said
    assert len(caplog.messages) == 3 and "quixbrandt" not in caplog.text.lower()


def test_consents_ending_that_cannot_be_read_are_logged_by_kind_and_the_sweep_stands(store, caplog, monkeypatch):
    _enrol(store, "Zoë Day", days=3)

    def failing(_store, **_options):
        raise KeyError("Zoë Day")  # a message may quote stored text: only the kind is logged

    monkeypatch.setattr(consent, "ending_soon", failing)
    report = ScheduledSweeps(store).run_if_due()
    assert report is not None and len(_sweeps(store)) == 1
    assert caplog.messages == [scheduled.ENDING_UNREAD.format(kind="KeyError")] == [
        "retention sweep: the members the next sweeps erase could not be read (KeyError)"]
    assert "Zoë" not in caplog.text


def test_each_sweep_logs_how_many_members_reach_the_unseen_period_on_which_day_never_who(store, clock, caplog):
    """A member not recognised for the unseen_people period (365 days) was erased by a day's sweep with no line before.
    Each sweep now logs, a line per day, how many reach it within consent.ENDING_NOTICE_DAYS days; never a name."""
    day = consent.local_day(store_now(store) + timedelta(days=365))
    _enrol(store, "Ana Quixbrandt", days=1000)
    bea = _enrol(store, "Bea Quixbrandt", days=1000)
    sweeps = ScheduledSweeps(store)
    for _ in range(35):  # 350 days of sweeps: 15 days before, nothing said
        clock.advance(days=10)
        sweeps.run_if_due()
    assert caplog.messages == []
    caplog.set_level(logging.INFO, logger="unveil.retention")

    clock.advance(days=1)
    assert sweeps.run_if_due() is not None
    assert caplog.messages == [scheduled.UNSEEN_MANY.format(count=2, period=365, day=day)]
    assert scheduled.UNSEEN.format(count=1, period=365, day="2026-12-20") == (
        "retention sweep: 1 member reaches 365 days without being recognised on 2026-12-20; a sweep from that day "
        "erases them unless they are recognised again: unveil family list")
    family.note_recognition(store, [bea], faces=1)  # Bea is recognised again: her 365 days start afresh
    clock.advance(days=1)
    caplog.clear()
    assert sweeps.run_if_due() is not None
    assert caplog.messages == [scheduled.UNSEEN.format(count=1, period=365, day=day)]
    assert "quixbrandt" not in caplog.text.lower()


def test_a_guardians_consent_ending_on_the_day_its_subject_decides_for_themself_is_not_logged(store, caplog):
    """That day (ConsentRecord.adult_on) is often a birthday, kept off disk: a journal line would date it. A consent
    ending on its own end date the same week is still logged."""
    now = store_now(store)
    adult_on = consent.local_day(now) + timedelta(days=5)
    record = ConsentRecord.new(subject="Caio Quixbrandt", given_by="Ana Quixbrandt", relation="guardian",
                               subject_is_child=True, purpose="family photos", days=365, now=now, adult_on=adult_on)
    child = family.enroll(store, "Caio Quixbrandt", VECTORS, record).person_id
    (ending,) = consent.ending_soon(store)
    assert (ending.person_id, ending.by_themself) == (child, True)  # the app and the lists still show it
    bea = _enrol(store, "Bea Quixbrandt", days=9)
    caplog.set_level(logging.INFO, logger="unveil.retention")

    assert ScheduledSweeps(store).run_if_due() is not None
    bea_last_day = consent.until_day(consent.latest(store, bea))
    assert caplog.messages == [scheduled.ENDING.format(count=1, day=bea_last_day)]
    assert str(adult_on) not in caplog.text and str(adult_on - timedelta(days=1)) not in caplog.text


def test_a_member_a_scheduled_sweep_erases_gets_a_receipt_file_that_checks(store, clock, tmp_path, caplog):
    """Before, the sweeps of `unveil watch` and `unveil serve` erased members (consent ended, unseen) and handed out no
    receipt: the person erased had nothing to check with `unveil audit receipt FILE`. Given a folder, each gets one;
    one that cannot be written is tried again after the next sweep."""
    zoe = _enrol(store, "Zoë Day", days=1)
    folder = tmp_path / "receipts"
    folder.write_text("not a folder")  # a folder that cannot be written when the sweep erases her
    sweeps = ScheduledSweeps(store, receipts_folder=folder)
    caplog.set_level(logging.INFO, logger="unveil.retention")
    clock.advance(days=2.1)
    assert sweeps.run_if_due().removed["consent_expired"] == 1
    assert scheduled.RECEIPTS_NOT_SAVED.format(count=1, reason=receipts.NOT_SAVED.format(
        path=folder, reason="File exists")) in caplog.messages

    folder.unlink()
    clock.advance(days=1.1)
    assert sweeps.run_if_due().total == 0
    [path] = list(folder.iterdir())
    receipt = receipts.read(path.read_text())
    assert receipt.subject == zoe and path.name == receipt.file_name() and receipts.check(store, receipt).ok
    assert scheduled.RECEIPTS_SAVED.format(count=1, folder=folder) in caplog.messages
    assert "Zoë" not in path.read_text() and "Zoë" not in caplog.text
    clock.advance(days=1.1)
    sweeps.run_if_due()  # written once: never tried again
    assert list(folder.iterdir()) == [path]
    assert caplog.messages.count(scheduled.RECEIPTS_SAVED.format(count=1, folder=folder)) == 1


def test_the_days_logged_are_of_the_zone_the_machine_is_in_now_not_the_one_it_started_in(store, caplog):
    """A laptop running `unveil watch` taken from Auckland to Pago Pago (a day apart): its zone set there, the log
    went on naming the day a consent ends on Auckland's calendar, a day later than the household's."""
    with machine_time_zone("Pacific/Auckland"):
        ana = _enrol(store, "Ana Quixbrandt", days=5)
        auckland_last_day = consent.until_day(consent.latest(store, ana))
        sweeps = ScheduledSweeps(store)
        zone_set_under_a_running_process("Pacific/Pago_Pago")
        caplog.set_level(logging.INFO, logger="unveil.retention")
        assert sweeps.run_if_due() is not None
        pago_pago_last_day = consent.until_day(consent.latest(store, ana), ZoneInfo("Pacific/Pago_Pago"))
    assert pago_pago_last_day == auckland_last_day - timedelta(days=1)
    assert caplog.messages == [scheduled.ENDING.format(count=1, day=pago_pago_last_day)]
