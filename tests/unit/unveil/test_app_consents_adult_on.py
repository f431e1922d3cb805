"""The Family page's plain functions for the day a member enrolled with a guardian's consent decides for themself:
asked on the enrolment form, said in the consent form's summary and the tables, recorded later
(unveil.app.consents.set_adult_on), and from that day the renewal form is prefilled with the member themself."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from governance import consent, family
from governance.consent import ConsentError, GuardianConsentEndedError, store_now
from unveil.app import consents, tables
from unveil.app import enrolment as app_enrolment

MODEL = "model.onnx"


def _member(store, name: str) -> family.Member:
    (member,) = [m for m in family.members(store) if m.name == name]
    return member


def _enrol_from_form(store, *, guardian: bool, adult_on=None, zone=UTC) -> None:
    now = store_now(store)
    record = app_enrolment.consent_from_form(
        name="Ana", given_by="Bea", guardian=guardian, child=guardian, purpose="photos", scope="recognition",
        expires_on=app_enrolment.today(now, zone) + timedelta(days=3 * 365), now=now, zone=zone, adult_on=adult_on)
    family.enroll(store, "Ana", np.ones((1, 8), np.float32), record, model=MODEL)


def test_the_enrolment_form_records_the_day_for_a_guardians_consent_only(store):
    auckland = ZoneInfo("Pacific/Auckland")
    day = app_enrolment.today(store_now(store), auckland) + timedelta(days=400)
    _enrol_from_form(store, guardian=True, adult_on=day, zone=auckland)
    record = _member(store, "Ana").consent
    assert record.adult_on == consent.start_of_day(day, auckland) and consent.local_day(record.adult_on, auckland) == day
    own = app_enrolment.consent_from_form(name="Caio", given_by="", guardian=False, child=False, purpose="photos",
                                          scope="recognition", expires_on=day, now=store_now(store), adult_on=day)
    assert own.adult_on is None  # the person's own consent has no such day


def test_a_guardians_consent_without_a_day_asks_for_it_and_the_day_is_recorded(store):
    _enrol_from_form(store, guardian=True)
    member = _member(store, "Ana")
    until = consent.local_day(member.consent.expires_at, UTC)
    assert consents.consent_summary(member, zone=UTC) == consents.CONSENT_ACTIVE.format(
        name="Ana", until=until, scope="recognition", given_by="Bea", relation="guardian"
    ) + consents.ADULT_ON_MISSING.format(name="Ana")
    today = consent.local_day(store_now(store), UTC)
    # The form starts at tomorrow: a day that has come would end the guardian's consent at once.
    assert consents.adult_on_choice(member, store_now(store), UTC) == (today + timedelta(days=1), None)
    assert tables.ledger_table(consent.ledger(store), UTC).loc[0, "decides for themself"] == consent.NO_ADULT_DATE

    day = today + timedelta(days=100)
    said = consents.set_adult_on(store, member, day, zone=UTC)
    assert said == consents.ADULT_ON_SET.format(name="Ana", day=day, given_by="Bea", until=day - timedelta(days=1))
    member = _member(store, "Ana")
    assert consents.consent_summary(member, zone=UTC).endswith(consents.ADULT_ON_SUMMARY.format(name="Ana", day=day))
    assert consents.member_label(member, UTC) == f"Ana (consent until {day - timedelta(days=1)})"
    assert consents.adult_on_choice(member, store_now(store), UTC) == (today + timedelta(days=1), day)
    assert tables.members_table([member], UTC).loc[0, "expires"] == str(day - timedelta(days=1))
    assert tables.ledger_table(consent.ledger(store), UTC).loc[0, "decides for themself"] == f"from {day}"


def test_from_the_day_the_form_offers_the_members_own_renewal_only(store, clock):
    _enrol_from_form(store, guardian=True, adult_on=consent.local_day(store_now(store), UTC) + timedelta(days=10))
    member = _member(store, "Ana")
    assert consents.giver_on_record(member, store_now(store)) == consents.Giver(guardian=True, name="Bea", child=True)
    clock.now = member.consent.adult_on.timestamp()
    member = _member(store, "Ana")
    day = consent.local_day(member.consent.adult_on, UTC)
    assert member.consent_status == "expired"
    assert consents.consent_summary(member, zone=UTC) == consents.CONSENT_ADULT_ENDED.format(
        name="Ana", day=day, given_by="Bea", until=day - timedelta(days=1))
    assert consents.member_label(member, UTC) == f"Ana (consent ended on {day - timedelta(days=1)})"
    assert consents.adult_on_choice(member, store_now(store), UTC) is None  # the day has come: nothing to move

    with pytest.raises(GuardianConsentEndedError):
        consents.renew(store, member, 30, zone=UTC, giver=consents.giver_on_record(member))  # the guardian on record
    giver = consents.giver_on_record(member, store_now(store))
    assert giver == consents.Giver(guardian=False, name="", child=False)
    said = consents.renew(store, member, 30, zone=UTC, giver=giver)
    assert said.startswith("The consent of Ana now runs until ") and "given by Ana (self)." in said
    assert consents.adult_on_choice(_member(store, "Ana"), store_now(store), UTC) is None  # their own: no such day


def test_a_day_that_has_come_is_refused_and_nothing_is_stored(store, clock):
    """The form's date picked wrong (today, or a year back): refused with governance's message, and neither a consent
    record nor an audit entry is stored; the member keeps their guardian's consent."""
    _enrol_from_form(store, guardian=True)
    clock.advance(days=3)
    member = _member(store, "Ana")
    today = consent.local_day(store_now(store), UTC)
    before = store.consents(member.person_id), len(store.audit_entries())
    for day in (today, today - timedelta(days=1), today.replace(year=today.year - 10)):
        with pytest.raises(ConsentError) as err:
            consents.set_adult_on(store, member, day, zone=UTC)
        assert str(err.value) == consent.ADULT_ON_NOT_AHEAD.format(subject="Ana", day=day)
        assert (store.consents(member.person_id), len(store.audit_entries())) == before
    assert _member(store, "Ana").consent_status == "active"


def test_a_day_recorded_on_another_calendar_is_not_shown_before_the_first_day(store, clock):
    """Recorded on Kiritimati's calendar (UTC+14) as its tomorrow, the day is today on Baker Island's (UTC-12), where
    it has not come yet either: the form there starts at its tomorrow and leaves the value empty (the summary says
    the day), as a date input refuses a value before its first day."""
    clock.now = datetime(2027, 1, 16, 5, tzinfo=UTC).timestamp()  # 19:00 on the 16th there, 17:00 on the 15th on Baker
    kiritimati, baker = ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Etc/GMT+12")
    _enrol_from_form(store, guardian=True, zone=kiritimati)
    consents.set_adult_on(store, _member(store, "Ana"), date(2027, 1, 17), zone=kiritimati)
    member = _member(store, "Ana")
    assert member.consent_status == "active" and consent.local_day(member.consent.adult_on, baker) == date(2027, 1, 15)
    assert consents.adult_on_choice(member, store_now(store), baker) == (date(2027, 1, 16), None)
    assert consents.adult_on_choice(member, store_now(store), kiritimati) == (date(2027, 1, 17), date(2027, 1, 17))


def test_a_guardians_renewal_says_the_day_before_the_member_decides_for_themself_and_shortens_nothing(store):
    """Renewed by the guardian past the day the member decides for themself, the consent still ends the day before
    it: the form and the message say that day, not the renewal's end date, and say no shortening where its end does
    not move (before, both said the end dates: 'now runs until' a day after it ends, 'ran until' a day it never ran)."""
    today = consent.local_day(store_now(store), UTC)
    _enrol_from_form(store, guardian=True, adult_on=today + timedelta(days=30))
    member = _member(store, "Ana")
    last = today + timedelta(days=29)
    plan = consents.renewal(member, 60, now=store_now(store), zone=UTC)
    assert not plan.shortens and plan.warning() is None
    said = consents.renew(store, member, 60, zone=UTC, giver=consents.giver_on_record(member, store_now(store)))
    assert said == consents.RENEWED.format(name="Ana", until=last, given_by="Bea", relation="guardian",
                                           child=consents.FOR_A_CHILD)
    assert consents.renewal(_member(store, "Ana"), 10, now=store_now(store), zone=UTC).warning() == (
        consents.RENEW_SHORTENS.format(name="Ana", before=last))


def test_a_day_after_the_consents_end_date_is_said_with_the_day_it_ends(store):
    """A guardian's consent for 3 years, and the member decides for themself in 5: the consent still ends at its own
    end date, which the message says (before: it 'counts until then', two years after it ends)."""
    _enrol_from_form(store, guardian=True)
    member = _member(store, "Ana")
    until = consent.until_day(member.consent, UTC)
    day = consent.local_day(store_now(store), UTC) + timedelta(days=5 * 365)
    said = consents.set_adult_on(store, member, day, zone=UTC)
    assert said == consents.ADULT_ON_SET.format(name="Ana", day=day, given_by="Bea", until=until)
    assert str(until) in said and until < day - timedelta(days=1)


def test_the_renewal_form_says_a_guardians_renewal_ends_the_day_before_the_member_decides_for_themself(store):
    """The form's preview, before the click: given by the guardian (as prefilled) a renewal past the day ends the
    day before it; given by the member themself, on its own end date (before: the end date either way)."""
    today = consent.local_day(store_now(store), UTC)
    _enrol_from_form(store, guardian=True, adult_on=today + timedelta(days=30))
    member = _member(store, "Ana")
    plan = consents.renewal(member, 60, now=store_now(store), zone=UTC)
    guardian = consents.giver_on_record(member, store_now(store))
    for giver in (guardian, None):
        assert plan.preview(giver) == consents.RENEW_ENDS.format(days="60 days", name="Ana",
                                                                  until=today + timedelta(days=29))
    themself = consents.Giver(guardian=False, name="", child=False)
    assert plan.preview(themself) == consents.RENEW_ENDS.format(days="60 days", name="Ana",
                                                                 until=today + timedelta(days=60))
    assert consents.renewal(member, 10, now=store_now(store), zone=UTC).preview(guardian).endswith(
        f"ends on {today + timedelta(days=10)}.")
