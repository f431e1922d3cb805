"""Which members' consents end soon (governance.consent.ending_soon): the first retention sweep after a consent's last
day erases the member, so the front ends say so consent.ENDING_NOTICE_DAYS days ahead, on the user's calendar, and
say nothing while the date is not settled (a day said then would be false)."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, timedelta

import numpy as np

from governance import consent, family, retention
from governance.consent import ENDING_NOTICE_DAYS, ConsentRecord, Ending

VECTORS = np.random.default_rng(3).standard_normal((4, 128)).astype(np.float32)


def _today(store) -> date:
    return consent.local_day(consent.store_now(store), UTC)


def _enrol(store, name: str, *, days: int, **overrides) -> str:
    record = ConsentRecord.new(subject=name, purpose="family photos", days=days, now=consent.store_now(store), zone=UTC,
                               **overrides)
    return family.enroll(store, name, VECTORS + len(name), record).person_id


def _ending(store) -> list[tuple[str, date, int, str, bool]]:
    return [(e.name, e.last_day, e.days_left, e.when, e.by_themself) for e in consent.ending_soon(store, zone=UTC)]


def test_the_setting_and_the_words_for_when():
    assert ENDING_NOTICE_DAYS == 14
    ending = Ending("id", "Ana", date(2026, 12, 20), 0, "Ana", by_themself=False)
    assert [replace(ending, days_left=n).when for n in (0, 1, 2, 14)] == [
        "today", "tomorrow", "in 2 days", "in 14 days"]


def test_a_consent_is_ending_from_n_days_before_its_last_day_to_that_day(store, clock):
    """Its last day N-1 and N days from today: ending; N+1: not yet. Two days on, it is; its last day is today on the
    day it ends; the day after, it has ended and is no longer "ending" (the lists say it ended)."""
    today = _today(store)
    _enrol(store, "Early", days=ENDING_NOTICE_DAYS - 1)
    _enrol(store, "Edge", days=ENDING_NOTICE_DAYS)
    _enrol(store, "Later", days=ENDING_NOTICE_DAYS + 1)
    _enrol(store, "Long Stay", days=365)
    assert _ending(store) == [
        ("Early", today + timedelta(days=13), 13, "in 13 days", False),
        ("Edge", today + timedelta(days=14), 14, "in 14 days", False),
    ]
    clock.advance(days=2)
    assert [(name, left) for name, _, left, _, _ in _ending(store)] == [("Early", 11), ("Edge", 12), ("Later", 13)]
    clock.advance(days=11)
    assert _ending(store)[0] == ("Early", today + timedelta(days=13), 0, "today", False)
    clock.advance(days=1)
    assert [name for name, *_ in _ending(store)] == ["Edge", "Later"]


def test_a_guardians_consent_ending_on_the_day_the_child_decides_for_themself_says_so(store):
    """Its last day is the day before the child decides for themself, and only their own consent can follow it; a
    guardian's consent that ends first by its own end date is the guardian's to renew."""
    today = _today(store)
    _enrol(store, "Caio Lima", days=365, given_by="Ana Lima", relation="guardian", subject_is_child=True,
           adult_on=today + timedelta(days=5))
    _enrol(store, "Duda Lima", days=3, given_by="Ana Lima", relation="guardian", subject_is_child=True,
           adult_on=today + timedelta(days=300))
    assert _ending(store) == [("Duda Lima", today + timedelta(days=3), 3, "in 3 days", False),
                              ("Caio Lima", today + timedelta(days=4), 4, "in 4 days", True)]
    assert {e.given_by for e in consent.ending_soon(store)} == {"Ana Lima"}


def test_consents_not_in_force_are_not_ending(store, clock):
    """Ended (the sweep erases them, the lists say it ended), and not yet in force (recorded while the clock ran
    ahead: it ends in days by its own dates, but names no one and is not erased before then)."""
    _enrol(store, "Gone", days=1)
    clock.advance(days=8)
    _enrol(store, "Ahead", days=3)
    clock.advance(days=-5)
    assert [row.status for row in consent.ledger(store)] == ["expired", consent.NOT_YET_IN_FORCE]
    assert _ending(store) == []


def test_nothing_is_said_while_the_date_is_in_question(store, clock):
    """The clock jumps 95 days past the store's last use: by it, a 100-day consent ends in 5 days, but the sweep
    erases no one for the date's sake and no renewal is taken until the date is confirmed."""
    _enrol(store, "Ana Lima", days=100)
    retention.set_policy(store, "unseen_people", None)
    clock.advance(days=95)
    assert consent.unsettled_date(store) == consent.DATE_IN_QUESTION
    assert _ending(store) == []
    retention.sweep(store, date_confirmed=True)
    assert [(name, left) for name, _, left, _, _ in _ending(store)] == [("Ana Lima", 5)]


def test_nothing_is_said_while_the_clock_is_far_behind(store, clock):
    """The store was last used 45 days after Ana's 20-day consent was given (its end not yet swept), and the clock
    is set back to day 10: by it her consent ends in 10 days, when it ended weeks ago."""
    _enrol(store, "Ana Lima", days=20)
    clock.advance(days=45)
    retention.set_policy(store, "unseen_people", None)  # an entry of the store's last use, no sweep
    clock.advance(days=-35)
    assert consent.unsettled_date(store) is not None
    assert _ending(store) == []
