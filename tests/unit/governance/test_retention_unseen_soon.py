"""Who the retention sweep erases soon for not being recognised (governance.retention.unseen_soon): a member not
recognised for the unseen_people period (365 days by default) went at the next daily sweep with no word before (a
child away at university, a member who rarely uses the app). They are said consent.ENDING_NOTICE_DAYS days ahead, as
consents that end are, and not while the date is not settled or the period is off."""
from __future__ import annotations

from datetime import UTC, date, timedelta

import numpy as np

from fer_core.model_files import identity_model_name
from governance import consent, family, retention
from governance.consent import ENDING_NOTICE_DAYS, ConsentRecord
from governance.retention import Unseen

VECTORS = np.random.default_rng(5).standard_normal((4, 128)).astype(np.float32)


def _today(store) -> date:
    return consent.local_day(consent.store_now(store), UTC)


def _enrol(store, name: str, *, days: int = 1000) -> str:
    record = ConsentRecord.new(subject=name, purpose="family photos", days=days, now=consent.store_now(store), zone=UTC)
    return family.enroll(store, name, VECTORS + len(name), record, model=identity_model_name()).person_id


def _days_on(store, clock, days: int) -> None:
    """`days` days on, a sweep every 10 (as the app, `unveil watch` and `unveil serve` sweep daily): the date stays
    settled."""
    for _ in range(days // 10):
        clock.advance(days=10)
        retention.sweep(store)
    clock.advance(days=days % 10)


def _unseen(store) -> list[tuple[str, date, date, int, str, int]]:
    return [(u.name, u.last_seen, u.erased_from, u.days_left, u.when, u.period_days)
            for u in retention.unseen_soon(store, zone=UTC)]


def test_the_words_for_when_are_the_consents():
    unseen = Unseen("id", "Ana", date(2025, 12, 20), date(2026, 12, 20), 0, 365)
    assert unseen.when == "today" and consent.days_said(1) == "tomorrow" and consent.days_said(14) == "in 14 days"


def test_a_member_last_seen_360_days_ago_is_said_until_recognised_again(store, clock):
    """The reproduction: last seen 360 days ago, a 365-day period, erased in 5 days and said nowhere. Now said from
    ENDING_NOTICE_DAYS days before; recognised again (a photo of them analysed), the period starts afresh."""
    enrolled = _today(store)
    ana = _enrol(store, "Ana Lima")
    _days_on(store, clock, 365 - ENDING_NOTICE_DAYS - 1)
    assert _unseen(store) == []  # 15 days before: not yet
    _days_on(store, clock, 1)
    assert _unseen(store) == [("Ana Lima", enrolled, enrolled + timedelta(days=365), 14, "in 14 days", 365)]
    _days_on(store, clock, ENDING_NOTICE_DAYS - 5)
    assert [(name, left) for name, _, _, left, _, _ in _unseen(store)] == [("Ana Lima", 5)]  # 360 days unseen
    assert consent.ending_soon(store) == []  # her consent runs for 1000 days: the old code said nothing at all

    family.note_recognition(store, [ana], faces=1)
    assert _unseen(store) == []
    _days_on(store, clock, 365 - ENDING_NOTICE_DAYS)
    assert [(name, last_seen) for name, last_seen, *_ in _unseen(store)] == [
        ("Ana Lima", enrolled + timedelta(days=360))]
    clock.advance(days=ENDING_NOTICE_DAYS + 1)
    retention.sweep(store)
    assert store.people() == [] and _unseen(store) == []  # what was said came true


def test_the_period_set_longer_or_off_says_nobody(store, clock):
    _enrol(store, "Ana Lima")
    _days_on(store, clock, 360)
    assert len(_unseen(store)) == 1
    retention.set_policy(store, "unseen_people", 400)
    assert _unseen(store) == []
    retention.set_policy(store, "unseen_people", None)
    assert _unseen(store) == []
    retention.set_policy(store, "unseen_people", 362)
    assert [(name, left, period) for name, _, _, left, _, period in _unseen(store)] == [("Ana Lima", 2, 362)]


def test_a_member_whose_consent_is_not_in_force_is_not_said_unseen(store, clock):
    """An ended consent erases them at the next sweep (the lists say it ended); one ending first is said as a
    consent ending, and the unseen line stays true beside it (renewed, they still go unless recognised)."""
    _enrol(store, "Short Stay", days=355)
    _enrol(store, "Long Stay")
    _days_on(store, clock, 356)
    assert consent.ledger(store)[0].status == "expired"
    assert [name for name, *_ in _unseen(store)] == ["Long Stay"]


def test_nothing_is_said_while_the_date_is_in_question(store, clock):
    """The clock jumps 100 days past the store's last use, to 360 days after Ana was last seen: the sweep erases no
    one for the date's sake, so nothing is said until the date is confirmed."""
    _enrol(store, "Ana Lima")
    _days_on(store, clock, 260)
    clock.advance(days=100)
    assert consent.unsettled_date(store) == consent.DATE_IN_QUESTION
    assert _unseen(store) == []
    retention.sweep(store, date_confirmed=True)
    assert [(name, left) for name, _, _, left, _, _ in _unseen(store)] == [("Ana Lima", 5)]


def test_nothing_is_said_while_the_clock_is_far_behind(store, clock):
    """The store was last used 400 days after Ana was last seen (the period was off meanwhile), and the clock is set
    back to day 360: by it she reaches 365 days unseen in 5 days, when she passed them 35 days ago."""
    _enrol(store, "Ana Lima")
    retention.set_policy(store, "unseen_people", None)
    _days_on(store, clock, 400)
    retention.set_policy(store, "unseen_people", 365)
    clock.advance(days=-40)
    assert consent.unsettled_date(store) is not None
    assert _unseen(store) == []
