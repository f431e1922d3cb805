"""The Family and Governance pages' dates on the household's calendar: a consent given at 08:00 in Kiritimati
(UTC+14) was given that day, and ends on the day the user reads, not on its UTC date (the tables and sentences showed
given_at as a UTC date, and a consent enrolled from the CLI or stored in UTC ended "the day before"). The zone is the
user's (the browser's, when the page knows it) or, by default, this machine's; each test sets the machine's zone
itself, whatever the zone of the machine running the suite."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from governance import consent, family
from governance.consent import ConsentRecord
from tests.support import privacy_harness as h
from tests.support.store import FakeClock
from tests.support.time_zones import machine_time_zone
from unveil.app import consents, tables

# 18:00 UTC on 15 January 2026 is 08:00 on the 16th in Kiritimati; the consent, for 365 days of UTC's calendar (as a
# CLI on a UTC machine gives it), ends at the end of 15 January 2027 UTC, 13:59:59 on the 16th there.
GIVEN_AT = datetime(2026, 1, 15, 18, 0, tzinfo=UTC)
KIRITIMATI = "Pacific/Kiritimati"


@pytest.fixture
def ana(tmp_path):
    clock = FakeClock(GIVEN_AT.timestamp())
    store = h.new_store(tmp_path / "data", clock=clock)
    record = ConsentRecord.new(subject="Ana", purpose="name family members in our photos", days=365, now=GIVEN_AT,
                               zone=UTC)
    family.enroll(store, "Ana", np.ones((1, 8), np.float32), record, model="model.onnx")
    yield store, clock
    store.close()


@pytest.mark.parametrize("zone", [ZoneInfo(KIRITIMATI), None], ids=["the browser's zone", "this machine's zone"])
def test_consent_dates_are_days_of_the_users_calendar(ana, zone):
    store, _ = ana
    with machine_time_zone(KIRITIMATI if zone is None else "UTC"):
        (member,) = family.members(store)
        assert tables.members_table([member], zone).loc[0, "expires"] == "2027-01-16"
        ledger = tables.ledger_table(consent.ledger(store), zone)
        assert (ledger.loc[0, "given"], ledger.loc[0, "expires"]) == ("2026-01-16", "2027-01-16")
        assert consents.member_label(member, zone) == "Ana (consent until 2027-01-16)"
        assert consents.consent_summary(member, zone=zone) == consents.CONSENT_ACTIVE.format(
            name="Ana", until=datetime(2027, 1, 16), scope="recognition", given_by="Ana", relation="self")


def test_an_ended_consent_and_one_not_yet_in_force_are_dated_on_the_users_calendar(ana):
    store, clock = ana
    zone = ZoneInfo(KIRITIMATI)
    clock.advance(days=400)
    (member,) = family.members(store)
    assert consents.member_label(member, zone) == "Ana (consent ended on 2027-01-16)"
    assert consents.consent_summary(member, zone=zone) == consents.CONSENT_EXPIRED.format(
        name="Ana", until=datetime(2027, 1, 16))
    clock.advance(days=-401)  # the clock set back before the consent's given_at
    (member,) = family.members(store)
    assert consents.member_label(member, zone) == "Ana (consent not yet in force: dated 2026-01-16)"
    assert consents.consent_summary(member, zone=zone) == consents.CONSENT_NOT_YET.format(
        name="Ana", given=datetime(2026, 1, 16))


@pytest.mark.parametrize("zone", [ZoneInfo("Europe/Berlin"), None], ids=["the browser's zone", "this machine's zone"])
def test_a_renewal_in_summer_that_shortens_a_consent_ending_in_winter_names_its_day(tmp_path, zone):
    """The warning said the consent's end now in the offset of the renewal's own end (summer time, +02:00), so a
    consent ending at midnight in winter (+01:00) read as ending the next day: 2027-11-16 for the 15th."""
    now = datetime(2027, 4, 10, 12, 0, tzinfo=UTC)
    store = h.new_store(tmp_path / "data", clock=FakeClock(now.timestamp()))
    try:
        with machine_time_zone("UTC" if zone is not None else "Europe/Berlin"):
            record = ConsentRecord(subject="Ana", given_by="Ana", purpose="name family members in our photos",
                                   given_at=now, expires_at=consent.end_of_day(datetime(2027, 11, 15).date(), zone))
            family.enroll(store, "Ana", np.ones((1, 8), np.float32), record, model="model.onnx")
            (member,) = family.members(store)
            assert consents.member_label(member, zone) == "Ana (consent until 2027-11-15)"
            plan = consents.renewal(member, 10, now=now, zone=zone)
            assert plan.shortens and plan.preview().endswith("ends on 2027-04-20.")
            assert plan.warning() == consents.RENEW_SHORTENS.format(name="Ana", before=datetime(2027, 11, 15))
    finally:
        store.close()
