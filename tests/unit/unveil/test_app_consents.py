"""unveil.app.consents without Streamlit: the Family page renews a member's consent (also one that has ended)
and changes what it covers, through governance.consent, saying what it did in words asserted here."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from fer_core.store import FamilyStore
from governance import audit_log, consent, family, retention
from governance.consent import ConsentError, ConsentRecord, store_now
from unveil.app import consents
from unveil.app import enrolment as app_enrolment

MODEL = "model.onnx"


def _enrol(store: FamilyStore, name: str, *, days: int = 30, scope: str = "recognition", thumbnails: int = 0,
           guardian: str | None = None, zone: tzinfo | None = None) -> str:
    """`name` enrolled with a consent for `days` days on `zone`'s calendar (None: this machine's)."""
    record = ConsentRecord.new(subject=name, purpose="name family members in our photos", scope=scope, days=days,
                               given_by=guardian, relation="guardian" if guardian else "self",
                               subject_is_child=guardian is not None, now=store_now(store), zone=zone)
    return family.enroll(store, name, np.ones((1, 8), np.float32), record,
                         thumbnails=[b"thumbnail %d" % n for n in range(thumbnails)], model=MODEL).person_id


def _member(store: FamilyStore, name: str) -> family.Member:
    (member,) = [m for m in family.members(store) if m.name == name]
    return member


class _Model:
    name, threshold, distance = MODEL, 0.5, "cosine"


def test_an_ended_consent_is_renewed_and_the_member_is_named_again(store, clock):
    ana = _enrol(store, "Ana", days=30, guardian="Bea")
    clock.advance(days=20)
    retention.sweep(store)  # the store in use: its clock is not in question 20 days later
    clock.advance(days=20)
    member = _member(store, "Ana")
    assert member.consent_status == "expired" and not family.gallery(store, _Model())
    ended = member.consent.expires_at
    # Days of this machine's calendar (the page passes the browser's zone): test_app_calendar sets the zone.
    assert consents.member_label(member) == f"Ana (consent ended on {consent.local_day(ended)})"
    assert consents.consent_summary(member) == consents.CONSENT_EXPIRED.format(name="Ana", until=consent.local_day(ended))

    now = store_now(store)
    plan = consents.renewal(member, 365, now=now, zone=UTC)
    assert plan.until == datetime.combine(now.date() + timedelta(days=365), time.max, tzinfo=UTC)
    assert not plan.shortens and plan.warning() is None
    assert plan.preview() == f"Renewed for 365 days from today, the consent of Ana ends on {plan.until:%Y-%m-%d}."

    said = consents.renew(store, member, 365, zone=UTC)
    assert said == (f"The consent of Ana now runs until {plan.until:%Y-%m-%d}, given by Bea (guardian, for a child). "
                    "They are named again from now on.")
    member = _member(store, "Ana")
    assert member.consent_status == "active" and member.consent.expires_at == plan.until
    # Who gave it and for whom stay as agreed: the guardian's consent for a child.
    assert (member.consent.given_by, member.consent.relation, member.consent.subject_is_child) == ("Bea", "guardian",
                                                                                                   True)
    assert family.gallery(store, _Model()).person_ids == [ana]
    assert [e.event for e in audit_log.entries(store)][-1] == "consent_renewed"


def test_a_renewal_for_fewer_days_than_are_left_warns_that_it_shortens_the_consent(store):
    _enrol(store, "Ana", days=400)
    member = _member(store, "Ana")
    before = member.consent.expires_at
    assert consents.member_label(member) == f"Ana (consent until {consent.local_day(before)})"
    plan = consents.renewal(member, 10, now=store_now(store), zone=UTC)
    assert plan.shortens and plan.preview().startswith("Renewed for 10 days from today, ")
    # The day it runs until on the plan's calendar (UTC), not this machine's: ending at the end of its day in a zone
    # behind UTC (America/New_York), it runs into the next day in UTC.
    assert plan.warning() == (f"This shortens the consent of Ana: it runs until {consent.local_day(before, UTC)} now, "
                              "and the days count from today, not from its current end.")
    assert consents.renewal(member, 1, now=store_now(store), zone=UTC).preview().startswith("Renewed for 1 day from today, ")

    said = consents.renew(store, member, 10)
    until = _member(store, "Ana").consent.expires_at
    assert said == (f"The consent of Ana now runs until {consent.local_day(until)}, given by Ana (self). It ran until "
                    f"{consent.local_day(before)}, so it now ends sooner (the days count from today).")
    # Longer than it runs now: no warning, nothing more said.
    assert consents.renew(store, _member(store, "Ana"), 20) == f"The consent of Ana now runs until " \
        f"{_member(store, 'Ana').consent.expires_at:%Y-%m-%d}, given by Ana (self)."


def test_a_renewal_ends_at_the_end_of_the_users_day_so_renewing_as_enrolled_does_not_shorten_it(store):
    """Enrolled on the form for a year, to the end of that day in New York; renewed the same day for 365 days, the
    consent ends when it did: no warning that it shortens, by the hours left of that day."""
    new_york = ZoneInfo("America/New_York")
    now = store_now(store)
    record = app_enrolment.consent_from_form(
        name="Ana", given_by="", guardian=False, child=False, purpose="photos", scope="recognition",
        expires_on=app_enrolment.today(now, new_york) + timedelta(days=365), now=now, zone=new_york)
    family.enroll(store, "Ana", np.ones((1, 8), np.float32), record, model=MODEL)
    member = _member(store, "Ana")
    plan = consents.renewal(member, 365, now=now, zone=new_york)
    assert plan.until == member.consent.expires_at and not plan.shortens
    assert consents.renew(store, member, 365, zone=new_york) == (
        f"The consent of Ana now runs until {member.consent.expires_at:%Y-%m-%d}, given by Ana (self).")
    assert consents.renewal(member, 364, now=now, zone=new_york).shortens

    # The longest consent ends at most MAX_CONSENT_DAYS after now, which governance accepts.
    longest = consents.renewal_end(now, consent.MAX_CONSENT_DAYS, new_york)
    assert longest == now + timedelta(days=consent.MAX_CONSENT_DAYS)
    consents.renew(store, member, consent.MAX_CONSENT_DAYS, zone=new_york)
    assert _member(store, "Ana").consent.expires_at == longest


def test_the_longest_renewal_is_previewed_as_ending_on_the_day_it_ends_on_the_users_calendar(store):
    """The longest renewal ends MAX_CONSENT_DAYS after now (08:00 UTC), not at the end of a day: the preview said the
    date of that UTC instant, a day after the one the renewal then said and the Members table shows in Honolulu."""
    honolulu = ZoneInfo("Pacific/Honolulu")
    _enrol(store, "Ana")
    member = _member(store, "Ana")
    plan = consents.renewal(member, consent.MAX_CONSENT_DAYS, now=store_now(store), zone=honolulu)
    day = consent.local_day(plan.until, honolulu)
    assert day != plan.until.date()  # 22:00 the day before in Honolulu
    assert plan.preview() == consents.RENEW_ENDS.format(days=f"{consent.MAX_CONSENT_DAYS} days", name="Ana", until=day)
    assert consents.renew(store, member, consent.MAX_CONSENT_DAYS, zone=honolulu).startswith(
        f"The consent of Ana now runs until {day}, ")
    # Renewed today for 1 day, it ends tomorrow on the user's calendar.
    today = consent.local_day(store_now(store), honolulu)
    one_day = consents.renewal(member, 1, now=store_now(store), zone=honolulu)
    assert one_day.preview().endswith(f" ends on {today + timedelta(days=1)}.")


def test_a_renewal_is_given_by_whoever_the_form_says_prefilled_with_the_giver_on_record(store):
    """The form starts from the giver on record; a new guardian, or the child now grown up themself, is recorded
    and named in what the page says. A child's consent given by themself is refused, nothing stored."""
    # Enrolled and renewed on one calendar: 30 days more from the same day is no shorter, whatever this machine's zone.
    _enrol(store, "Ana", guardian="Bea", zone=UTC)
    member = _member(store, "Ana")
    assert consents.giver_on_record(member) == consents.Giver(guardian=True, name="Bea", child=True)
    assert consents.renew(store, member, 30, zone=UTC, giver=consents.Giver(guardian=True, name=" Caio ", child=True)) \
        == consents.RENEWED.format(name="Ana", until=_member(store, "Ana").consent.expires_at, given_by="Caio",
                                   relation="guardian", child=consents.FOR_A_CHILD)
    member = _member(store, "Ana")
    assert (member.consent.given_by, member.consent.relation) == ("Caio", "guardian")

    for refused in (consents.Giver(guardian=False, name="", child=True), consents.Giver(guardian=True, name=" ",
                                                                                        child=True)):
        with pytest.raises(ConsentError) as caught:
            consents.renew(store, member, 30, zone=UTC, giver=refused)
        if not refused.guardian:  # their own, while ticked a child: said with the tick box that records them grown up
            assert str(caught.value) == consent.CHILD_RENEWS_THEMSELF.format(subject="Ana")
            assert f'untick "{consents.GIVER_CHILD}"' in str(caught.value)
    assert len(store.consents(member.person_id)) == 2

    said = consents.renew(store, member, 30, zone=UTC, giver=consents.Giver(guardian=False, name="Caio", child=False))
    member = _member(store, "Ana")
    assert said == consents.RENEWED.format(name="Ana", until=member.consent.expires_at, given_by="Ana",
                                           relation="self", child="")
    assert (member.consent.given_by, member.consent.relation, member.consent.subject_is_child) == ("Ana", "self", False)
    assert consents.giver_on_record(member) == consents.Giver(guardian=False, name="", child=False)
    assert [e.event for e in audit_log.entries(store)][-2:] == ["consent_renewed"] * 2


@pytest.mark.parametrize("days", [0, consent.MAX_CONSENT_DAYS + 1])
def test_a_renewal_out_of_range_is_refused_and_stores_nothing(store, days):
    _enrol(store, "Ana")
    member = _member(store, "Ana")
    with pytest.raises(ConsentError):
        consents.renewal(member, days, now=store_now(store))
    with pytest.raises(ConsentError):
        consents.renew(store, member, days)
    assert len(store.consents(member.person_id)) == 1


def test_narrowing_the_scope_says_how_many_thumbnails_go_and_deletes_them(store):
    _enrol(store, "Ana", scope="recognition+thumbnails", thumbnails=3)
    member = _member(store, "Ana")
    assert consents.consent_summary(member) == (
        f"The consent of Ana runs until {consent.local_day(member.consent.expires_at)} and covers recognition+thumbnails; "
        "given by Ana (self).")
    same = consents.scope_change(member, "recognition+thumbnails")
    assert not same.changes and not same.needs_tick and same.warning() is None
    narrow = consents.scope_change(member, "recognition")
    assert narrow.changes and narrow.needs_tick and narrow.deletes == 3
    assert narrow.warning() == ("Narrowing the consent of Ana to recognition only deletes the 3 thumbnails kept of "
                                "them, for good.")
    assert narrow.tick_label() == "Yes, delete the thumbnails of Ana"

    assert consents.change_scope(store, member, "recognition") == (
        "The consent of Ana now covers recognition. 3 thumbnails deleted.")
    member = _member(store, "Ana")
    assert (member.consent.scope, member.thumbnails) == ("recognition", 0)
    # Widening it deletes nothing and needs no tick.
    widen = consents.scope_change(member, "recognition+thumbnails")
    assert widen.changes and not widen.needs_tick and widen.warning() is None
    assert consents.change_scope(store, member, "recognition+thumbnails") == (
        "The consent of Ana now covers recognition+thumbnails.")
    assert _member(store, "Ana").consent.scope == "recognition+thumbnails"


def test_narrowing_a_consent_without_thumbnails_needs_no_tick(store):
    _enrol(store, "Ana", scope="recognition+thumbnails")
    change = consents.scope_change(_member(store, "Ana"), "recognition")
    assert change.changes and not change.needs_tick and change.warning() is None


def test_an_ended_consent_s_scope_is_not_changed_until_it_is_renewed(store, clock):
    _enrol(store, "Ana", days=1, scope="recognition+thumbnails", thumbnails=2)
    clock.advance(days=2)
    member = _member(store, "Ana")
    with pytest.raises(ConsentError):
        consents.change_scope(store, member, "recognition")
    assert _member(store, "Ana").thumbnails == 2
