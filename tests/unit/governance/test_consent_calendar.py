"""A consent's days on the household's own calendar (governance.consent.local_day, end_of_day, expires_on_day):
"for 365 days" runs to the end of that day a year on where the user lives, whatever this machine's or UTC's date."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from governance import consent
from tests.support.time_zones import machine_time_zone

# 07:00 UTC on 7 December 2026 is 20:00 on 6 December in Pago Pago (UTC-11); 18:00 UTC on 6 December is 08:00 on
# 7 December in Kiritimati (UTC+14); 02:00 UTC on 7 December is 22:30 on 6 December in St John's (UTC-3:30).
CASES = [
    ("Pacific/Pago_Pago", datetime(2026, 12, 7, 7, 0, tzinfo=UTC), date(2026, 12, 6)),
    ("Pacific/Kiritimati", datetime(2026, 12, 6, 18, 0, tzinfo=UTC), date(2026, 12, 7)),
    ("America/St_Johns", datetime(2026, 12, 7, 2, 0, tzinfo=UTC), date(2026, 12, 6)),
    ("Australia/Lord_Howe", datetime(2026, 12, 7, 13, 15, tzinfo=UTC), date(2026, 12, 8)),  # +11 in summer
]


@pytest.mark.parametrize(("zone", "now", "today"), CASES)
def test_a_consent_for_n_days_ends_at_the_end_of_the_users_day_n_days_on(zone, now, today):
    """Given on the user's `today` for 365 days, it runs to the end of `today` + 365 on their calendar: neither to
    the UTC instant a year on (in Pago Pago 20:00 on 6 December, so that a list saying "until 7 December" was wrong
    by the evening of the 6th), nor to the end of a UTC day."""
    expected_day = today + timedelta(days=365)
    for where in (ZoneInfo(zone), None):  # the user's zone given (the app), or this machine's (the CLI)
        with machine_time_zone(zone if where is None else "UTC"):
            assert consent.local_day(now, where) == today
            end = consent.expires_on_day(now, 365, where)
            local = end.astimezone(ZoneInfo(zone))
            assert (local.date(), local.time().isoformat()) == (expected_day, "23:59:59.999999")
            assert consent.local_day(end, where) == expected_day
            # Stored and read back (a fixed offset), it still falls on that day.
            record = consent.ConsentRecord.new(subject="Ana", purpose="photos", days=1, now=now)
            stored = consent.ConsentRecord.from_details({**record.to_details(), "expires_at": end.isoformat()})
            assert stored.expires_at == end and f"{stored.expires_at:%Y-%m-%d}" == expected_day.isoformat()


def _is_the_last_instant_of(end: datetime, day: date, zone) -> bool:
    """Whether `end` falls on `day` in `zone` (None: this machine's) and the next microsecond on the day after:
    said of the zone's own rules, so that it holds whatever the time zone database's version."""
    after = end.astimezone(UTC) + timedelta(microseconds=1)  # in UTC: an aware datetime adds wall-clock time
    return (end.astimezone(zone).date(), after.astimezone(zone).date()) == (day, day + timedelta(days=1))


# Days whose clocks change near midnight (by the rules of 2026's databases; the checks hold whatever a later version
# says): America/Santiago puts its clocks back at 24:00 on 3 April 2027, so that day's 23:00-23:59 comes twice, and
# a consent until that day must run to the end of the second, not end an hour before the user's midnight (fold=0).
# Lord Howe moves them half an hour on 4 October 2026, St John's an hour on 14 March 2027, America/Havana at 00:00.
# America/Nuuk moves them on at 23:00 on 27 March 2027, so that day's 23:00-23:59 never comes: it ends at 22:59:59.
# (On this machine's clock, time.max with fold=1 in that gap was taken an hour into the next day, as Python reads a
# naive local time in a gap the other way round from zoneinfo.)
CHANGES = [("America/Santiago", date(2027, 4, 3)), ("Australia/Lord_Howe", date(2026, 10, 4)),
           ("America/St_Johns", date(2027, 3, 14)), ("America/Havana", date(2027, 3, 13)),
           ("America/Nuuk", date(2027, 3, 27))]


@pytest.mark.parametrize(("zone", "day"), CHANGES)
def test_a_day_when_the_clocks_change_ends_at_its_last_instant(zone, day):
    assert _is_the_last_instant_of(consent.end_of_day(day, ZoneInfo(zone)), day, ZoneInfo(zone))
    with machine_time_zone(zone):
        assert _is_the_last_instant_of(consent.end_of_day(day), day, None)
        given = datetime.combine(day - timedelta(days=1), datetime.min.time()).astimezone() + timedelta(hours=12)
        assert _is_the_last_instant_of(consent.expires_on_day(given, 1), day, None)


# Given for 1 day around London's clock changes (by 2026's rules: back at 02:00 BST on 25 October 2026, on at 01:00
# GMT on 28 March 2027), and late on a local evening. 24 hours on from 00:30 on the 25-hour 25 October is 23:30 that
# same day, so ConsentRecord.new's "1 day" ended the day it was given; from 23:30 on 27 March it is 00:30 on the 29th,
# a day long; from 20:00 in Pago Pago it is 20:00 the next day, four hours before the day the lists name ends.
GIVEN_FOR_A_DAY = [
    ("Europe/London", datetime(2026, 10, 24, 23, 30, tzinfo=UTC), date(2026, 10, 26)),
    ("Europe/London", datetime(2027, 3, 27, 23, 30, tzinfo=UTC), date(2027, 3, 28)),
    ("Pacific/Pago_Pago", datetime(2026, 12, 7, 7, 0, tzinfo=UTC), date(2026, 12, 7)),
]


@pytest.mark.parametrize(("zone", "now", "day"), GIVEN_FOR_A_DAY)
def test_a_new_record_for_a_day_ends_at_the_end_of_the_users_tomorrow(zone, now, day):
    """ConsentRecord.new counts days as the CLI and the app do (expires_on_day): in the zone given (the app's browser
    zone) and in this machine's, to the last instant of the user's tomorrow."""
    ends = [consent.ConsentRecord.new(subject="Ana", purpose="photos", days=1, now=now, zone=ZoneInfo(zone)).expires_at]
    with machine_time_zone(zone):
        assert consent.local_day(now) == day - timedelta(days=1)
        ends.append(consent.ConsentRecord.new(subject="Ana", purpose="photos", days=1, now=now).expires_at)
    assert ends[0] == ends[1] == consent.expires_on_day(now, 1, ZoneInfo(zone))
    assert _is_the_last_instant_of(ends[0], day, ZoneInfo(zone))


def test_the_later_of_two_last_hours_is_the_end_of_the_day():
    """fold=0 took the first 23:59:59 of Santiago's 3 April 2027, an hour before its midnight (by 2026's rules)."""
    santiago = ZoneInfo("America/Santiago")
    first = datetime(2027, 4, 3, 23, 59, 59, 999999, tzinfo=santiago)  # fold=0: the first of the two
    if (first.astimezone(UTC) + timedelta(hours=1)).astimezone(santiago).date() != date(2027, 4, 3):
        pytest.skip("this time zone database has no second 23:00 hour in Santiago on 3 April 2027")
    assert consent.end_of_day(date(2027, 4, 3), santiago).timestamp() == first.timestamp() + 3600


@pytest.mark.parametrize("days", [0, -1, consent.MAX_CONSENT_DAYS + 1, 1.5, True])
def test_days_out_of_range_are_refused_before_any_date_arithmetic(days):
    with pytest.raises(consent.ConsentError) as raised:
        consent.expires_on_day(datetime(2026, 12, 7, tzinfo=UTC), days, ZoneInfo("Pacific/Kiritimati"))
    assert str(raised.value) == consent.CONSENT_DAYS_OUT_OF_RANGE.format(maximum=consent.MAX_CONSENT_DAYS, days=days)


def test_the_longest_consent_ends_no_more_than_the_maximum_after_now():
    now = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
    longest = consent.expires_on_day(now, consent.MAX_CONSENT_DAYS, ZoneInfo("Pacific/Kiritimati"))
    assert longest == now + timedelta(days=consent.MAX_CONSENT_DAYS)


def test_the_date_question_names_the_days_the_households_clock_shows():
    """'The clock reads 2026-12-06' at 08:00 on 7 December in Kiritimati: the sweep's date question gave UTC dates.
    And it counted whole 24 hours between them (44 days and 23 1/2 hours: '44 days'), between dates 45 days apart."""
    from governance.retention import DATE_UNCONFIRMED, DateCheck

    check = DateCheck(last_used_at="2026-10-22T18:30:00+00:00", now="2026-12-06T18:00:00+00:00",
                      waiting={"consent_expired": 1})
    said = DATE_UNCONFIRMED.format(now="2026-12-07", days=45, last="2026-10-23",
                                   waiting="1 member whose consent expired")
    assert check.text(ZoneInfo("Pacific/Kiritimati")) == said
    with machine_time_zone("Pacific/Kiritimati"):
        assert check.text() == said
    assert check.text(UTC) == DATE_UNCONFIRMED.format(now="2026-12-06", days=45, last="2026-10-22",
                                                      waiting="1 member whose consent expired")


# Last used at 23:50 and the clock now reads 00:10, 31 days on by the calendar (30 x 24 hours and 20 minutes); and
# across London's clocks going on (28 March 2027, by 2026's rules): last used at 00:30 GMT on 1 March, the clock reads
# 00:45 BST on 1 May, 61 days on, but 60 x 24 hours and 23 1/4 hours.
QUESTION_DAYS = [
    ("Europe/Paris", "2026-11-10T22:50:00+00:00", "2026-12-10T23:10:00+00:00", "2026-11-10", "2026-12-11", 31),
    ("Europe/London", "2027-03-01T00:30:00+00:00", "2027-04-30T23:45:00+00:00", "2027-03-01", "2027-05-01", 61),
]


@pytest.mark.parametrize(("zone", "last_used_at", "now", "last", "today", "days"), QUESTION_DAYS)
def test_the_date_question_counts_the_days_between_the_dates_it_names(zone, last_used_at, now, last, today, days):
    from governance.retention import DATE_UNCONFIRMED, DateCheck

    check = DateCheck(last_used_at=last_used_at, now=now, waiting={"thumbnails": 2})
    said = DATE_UNCONFIRMED.format(now=today, days=days, last=last, waiting="2 thumbnails")
    assert check.text(ZoneInfo(zone)) == said
    with machine_time_zone(zone):
        assert check.text() == said


def test_the_refusals_name_days_of_this_machines_calendar_as_the_lists_do(store, clock):
    """'consent list' and the date question say days of this machine's calendar (f3d4bcc, d57395d), but a clock set
    far back said the store was last used on a UTC date, and a scope change of an ended consent that it ended on one:
    at 22:00 on 14 January in Honolulu (08:00 UTC on the 15th) both named the 15th."""
    from governance import family, retention

    honolulu = ZoneInfo("Pacific/Honolulu")
    with machine_time_zone("Pacific/Honolulu"):
        now = consent.store_now(store)
        assert (now.date(), consent.local_day(now)) == (date(2027, 1, 15), date(2027, 1, 14))  # FakeClock's start
        record = consent.ConsentRecord(subject="Ana", given_by="Ana", purpose="family photos", given_at=now,
                                       expires_at=now + timedelta(days=10))
        person_id = family.enroll(store, "Ana", np.ones((1, 8), np.float32), record, model="model.onnx").person_id
        retention.set_policy(store, "unseen_people", None)
        clock.advance(days=11)
        with pytest.raises(consent.ConsentError) as ended:
            consent.change_scope(store, person_id, "recognition+thumbnails")
        assert str(ended.value).startswith("the consent of Ana ended on 2027-01-24: renew it")
        assert record.expires_at.astimezone(honolulu).date() == date(2027, 1, 24)

        clock.advance(days=-400)
        with pytest.raises(consent.DateInQuestionError) as behind:
            consent.renew(store, person_id, expires_at=consent.store_now(store) + timedelta(days=365))
        last_used = datetime.fromtimestamp(max(e.ts for e in store.audit_entries()), UTC)
        assert str(behind.value) == consent.CLOCK_BEHIND.format(last=consent.local_day(last_used))
        assert consent.local_day(last_used) != last_used.date()
