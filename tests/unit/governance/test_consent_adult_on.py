"""A guardian's consent ends on the day its subject decides for themself (ConsentRecord.adult_on): it then governs no
more, as a consent past its end date, and only the subject's own consent follows it. Records from before the day
could be recorded keep working, with no day, until one is set (consent.set_adult_on)."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from fer_core.store import DATA_FILE
from governance import consent, family, retention
from governance.consent import ConsentError, ConsentRecord, GuardianConsentEndedError
from tests.support import privacy_harness as h
from tests.support.time_zones import machine_time_zone

VECTORS = np.random.default_rng(1).standard_normal((4, 128)).astype(np.float32)
YEAR = 365


def _today(store) -> date:
    return consent.local_day(consent.store_now(store), UTC)


def _guardian_consent(store, *, days: int = YEAR, adult_on: date | None = None, **overrides) -> ConsentRecord:
    return ConsentRecord.new(subject="Caio Lima", given_by="Ana Lima", relation="guardian", subject_is_child=True,
                             purpose="name family members in our photos", days=days, now=consent.store_now(store),
                             zone=UTC, adult_on=adult_on, **overrides)


def _enrol_child(store, **kwargs) -> str:
    return family.enroll(store, "Caio Lima", VECTORS, _guardian_consent(store, **kwargs)).person_id


def _renew_for_a_year(store, person_id, **kwargs) -> ConsentRecord:
    return consent.renew(store, person_id, expires_at=consent.expires_on_day(consent.store_now(store), YEAR, UTC),
                         **kwargs)


def _a_year_on(store, clock) -> None:
    """A year passes in fortnightly sweeps (so that the date is never in question)."""
    _sweeping_until(store, clock, consent.store_now(store) + timedelta(days=YEAR))


def _sweeping_until(store, clock, when: datetime) -> None:
    """Time passes to `when`, the household seen and swept every fortnight before it (not at `when` itself)."""
    while consent.store_now(store) + timedelta(days=14) < when:
        clock.advance(days=14)
        store.mark_seen(store.person_ids())
        retention.sweep(store)
    clock.now = when.timestamp()


def test_the_guardian_cannot_renew_once_the_child_decides_for_themself(store, clock):
    """The gap: a guardian's consent renewed year after year governed an adult's face prints. With the day recorded,
    the guardian's renewal from that day on is refused and nothing is stored; the member's own renewal is taken."""
    adult_on = _today(store) + timedelta(days=2 * YEAR)
    person_id = _enrol_child(store, adult_on=adult_on)
    _a_year_on(store, clock)
    renewed = _renew_for_a_year(store, person_id)  # by the guardian on record, before the day: the day stays
    assert (renewed.relation, consent.local_day(renewed.adult_on, UTC)) == ("guardian", adult_on)
    _sweeping_until(store, clock, renewed.adult_on)  # the day has come
    before, entries = consent.latest(store, person_id), len(store.audit_entries())
    with pytest.raises(GuardianConsentEndedError) as err:
        _renew_for_a_year(store, person_id)
    assert str(err.value) == consent.GUARDIAN_CONSENT_ENDED.format(subject="Caio Lima",
                                                                   day=consent.local_day(before.adult_on))
    assert str(err.value).startswith("Caio Lima decides for themself from ")
    assert str(err.value).endswith(", so a guardian's consent no longer counts: Caio Lima must give their own consent")
    with pytest.raises(GuardianConsentEndedError):
        _renew_for_a_year(store, person_id, given_by="Bruno Lima")  # another guardian neither
    assert consent.latest(store, person_id) == before and len(store.audit_entries()) == entries

    own = _renew_for_a_year(store, person_id, given_by="Caio Lima")  # by themself: no --adult needed from that day
    assert (own.relation, own.given_by, own.subject_is_child, own.adult_on) == ("self", "Caio Lima", False, None)
    assert consent.status(own, consent.store_now(store)) == "active"


def test_a_guardians_consent_ends_on_the_day_and_the_sweep_treats_it_as_expired(store, clock):
    """Its end date runs years past the day: it governs until the start of the day, is "expired" from then (named by
    no one), and the sweep erases the member as for any consent that ended."""
    adult_on = _today(store) + timedelta(days=10)
    person_id = _enrol_child(store, days=5 * YEAR, adult_on=adult_on)
    record = consent.latest(store, person_id)
    assert record.ends_at == consent.start_of_day(adult_on, UTC) < record.expires_at
    assert family.consent_ends(store, [person_id]) == record.ends_at  # a gallery built now is rebuilt then
    assert [m.consent_status for m in family.members(store)] == ["active"]
    clock.now = record.ends_at.timestamp() - 1
    assert [m.consent_status for m in family.members(store)] == ["active"]
    clock.now = record.ends_at.timestamp()
    assert [row.status for row in consent.ledger(store)] == ["expired"]
    assert family._consent_in_force(store, person_id) is None
    report = retention.sweep(store)
    assert report.removed["consent_expired"] == 1 and store.person_ids() == []


def test_a_new_guardians_consent_needs_the_day_to_be_ahead_and_only_a_guardian_has_one(store):
    with pytest.raises(GuardianConsentEndedError) as err:
        _enrol_child(store, adult_on=_today(store))  # from today: the guardian's consent never counts
    assert str(err.value) == consent.GUARDIAN_CONSENT_ENDED.format(
        subject="Caio Lima", day=consent.local_day(consent.start_of_day(_today(store), UTC)))
    own = ConsentRecord.new(subject="Ana Lima", purpose="photos", days=YEAR, now=consent.store_now(store), zone=UTC,
                            adult_on=_today(store) + timedelta(days=1))
    with pytest.raises(ConsentError) as err:
        family.enroll(store, "Ana Lima", VECTORS, own)
    assert str(err.value) == consent.ADULT_ON_NEEDS_GUARDIAN.format(subject="Ana Lima")
    assert store.person_ids() == []


def test_the_day_is_sealed_with_the_consent_and_round_trips(store):
    adult_on = date(2031, 5, 17)
    record = _guardian_consent(store, adult_on=adult_on)
    person_id = family.enroll(store, "Caio Lima", VECTORS, record).person_id
    assert consent.latest(store, person_id) == record
    raw = b"".join(row[0] for row in h.query(store.data_dir / DATA_FILE, "SELECT details FROM consents"))
    assert b"2031" not in raw and b"adult" not in raw
    assert h.scan(store.data_dir, h.text_needles("day", record.adult_on.isoformat()[:10])) == []  # nor anywhere on disk


def _old_record(store) -> dict:
    """A guardian's consent as code before ConsentRecord.adult_on wrote it: no "adult_on" key."""
    details = _guardian_consent(store).to_details()
    assert "adult_on" not in details
    return details


def test_a_consent_recorded_before_the_day_could_be_keeps_working_and_the_day_is_set_later(store, clock):
    person_id = _enrol_child(store)
    store.add_consent(person_id, _old_record(store))  # what an older store holds
    old = consent.latest(store, person_id)
    assert old.adult_on is None and old.ends_at == old.expires_at
    renewed = _renew_for_a_year(store, person_id)  # the guardian renews it, as before
    assert renewed.adult_on is None and renewed.relation == "guardian"
    _a_year_on(store, clock)

    adult_on = _today(store) + timedelta(days=30)
    restated = consent.set_adult_on(store, person_id, adult_on, UTC)
    assert consent.latest(store, person_id) == restated == ConsentRecord(
        **{**renewed.__dict__, "adult_on": consent.start_of_day(adult_on, UTC)})  # its own dates, giver and scope
    entry = store.audit_entries()[-1]
    assert (entry.event, entry.person_id, entry.details) == ("consent_adult_on_set", person_id,
                                                             {})  # nothing of the day

    moved = consent.set_adult_on(store, person_id, adult_on - timedelta(days=20), UTC)  # sooner, still ahead
    assert consent.local_day(moved.adult_on, UTC) == adult_on - timedelta(days=20)
    assert store.audit_entries()[-1].details == {}
    assert [row.status for row in consent.ledger(store)] == ["active"]
    _sweeping_until(store, clock, moved.adult_on)  # the day has come
    with pytest.raises(GuardianConsentEndedError):  # a day that has come is not moved again
        consent.set_adult_on(store, person_id, adult_on + timedelta(days=300), UTC)


def _stored(store, person_id) -> tuple:
    """What a refused set_adult_on must leave as it was: the consent records and the audit log."""
    return store.consents(person_id), len(store.audit_entries())


def test_a_day_that_has_come_is_refused_and_nothing_is_stored(store, clock):
    """The gap: a day today or earlier (2016 typed for 2036, a date picked wrong) ended the guardian's consent at once,
    and the day's sweep erased the member. Now it is refused, whether or not a day is recorded already, and nothing
    is stored: not a consent record, not an audit entry."""
    person_id = _enrol_child(store)
    clock.advance(days=3)  # enrolled three days ago: those days are past, not before enrolment
    for day in (_today(store), _today(store) - timedelta(days=1), _today(store) - timedelta(days=20 * YEAR)):
        before = _stored(store, person_id)
        with pytest.raises(ConsentError) as err:
            consent.set_adult_on(store, person_id, day, UTC)
        assert type(err.value) is ConsentError
        assert str(err.value) == consent.ADULT_ON_NOT_AHEAD.format(subject="Caio Lima", day=day)
        assert str(err.value) == (
            f"{day} has already come: recorded as the day Caio Lima decides for themself, it would end the guardian's "
            "consent at once, and the next retention sweep would erase Caio Lima. Give a day after today; if Caio Lima "
            "already decides for themself, they renew the consent themself (unveil consent renew --by-themself, or the "
            "Family page's renewal given by them) or withdraw it. Nothing was stored.")
        assert _stored(store, person_id) == before
    assert consent.latest(store, person_id).adult_on is None
    assert retention.sweep(store).removed.get("consent_expired", 0) == 0 and store.person_ids() == [person_id]

    recorded = _today(store) + timedelta(days=100)
    consent.set_adult_on(store, person_id, recorded, UTC)
    before = _stored(store, person_id)
    with pytest.raises(ConsentError):  # a day recorded is not moved to today either
        consent.set_adult_on(store, person_id, _today(store), UTC)
    assert _stored(store, person_id) == before
    assert consent.local_day(consent.latest(store, person_id).adult_on, UTC) == recorded

    tomorrow = _today(store) + timedelta(days=1)  # the first day that may be recorded
    assert consent.local_day(consent.set_adult_on(store, person_id, tomorrow, UTC).adult_on, UTC) == tomorrow
    assert [row.status for row in consent.ledger(store)] == ["active"]


def test_today_is_the_users_today_in_their_zone(store, clock):
    """At 20:00 UTC it is already the next day in Auckland: that day is today there, so it is refused."""
    person_id = _enrol_child(store)
    clock.now = datetime(2027, 1, 15, 20, tzinfo=UTC).timestamp()
    auckland = ZoneInfo("Pacific/Auckland")
    today_there = consent.local_day(consent.store_now(store), auckland)
    assert today_there == _today(store) + timedelta(days=1)
    with pytest.raises(ConsentError) as err:
        consent.set_adult_on(store, person_id, today_there, auckland)
    assert str(err.value) == consent.ADULT_ON_NOT_AHEAD.format(subject="Caio Lima", day=today_there)
    restated = consent.set_adult_on(store, person_id, today_there + timedelta(days=1), auckland)
    assert restated.ends_at > consent.store_now(store)


def test_the_day_is_after_the_consent_is_dated_and_only_a_guardians_consent_has_one(store, clock):
    """A consent renewed while the clock ran ahead is dated after today: a day before its date would end it before it
    ever counted, and the sweep would erase the member once the clock reached that date."""
    person_id = _enrol_child(store)
    clock.advance(days=10)  # the clock runs ahead (less than governance.clock's gap: the date is not in question)
    ahead = _renew_for_a_year(store, person_id)
    clock.advance(days=-10)  # and is set right: that consent is not yet in force
    assert consent.status(ahead, consent.store_now(store)) == consent.NOT_YET_IN_FORCE
    before = _stored(store, person_id)
    for day in (_today(store) + timedelta(days=1), _today(store) + timedelta(days=10)):
        with pytest.raises(ConsentError) as err:
            consent.set_adult_on(store, person_id, day, UTC)
        assert str(err.value) == consent.ADULT_ON_BEFORE_CONSENT.format(subject="Caio Lima",
                                                                       given=_today(store) + timedelta(days=10))
        assert _stored(store, person_id) == before
    restated = consent.set_adult_on(store, person_id, _today(store) + timedelta(days=11), UTC)
    assert restated == ConsentRecord(**{**ahead.__dict__,
                                        "adult_on": consent.start_of_day(_today(store) + timedelta(days=11), UTC)})

    own = family.enroll(store, "Ana Lima", VECTORS, ConsentRecord.new(subject="Ana Lima", purpose="photos", days=30,
                                                                      now=consent.store_now(store)))
    with pytest.raises(ConsentError) as err:
        consent.set_adult_on(store, own.person_id, _today(store) + timedelta(days=1), UTC)
    assert str(err.value) == consent.ADULT_ON_NEEDS_GUARDIAN.format(subject="Ana Lima")


def test_a_renamed_member_keeps_the_day(store):
    adult_on = _today(store) + timedelta(days=100)
    person_id = _enrol_child(store, adult_on=adult_on)
    family.rename(store, person_id, "Caio Souza")
    assert consent.local_day(consent.latest(store, person_id).adult_on, UTC) == adult_on


def test_start_of_day_follows_end_of_day_of_the_day_before():
    for zone in (UTC, None):
        start = consent.start_of_day(date(2030, 3, 1), zone)
        assert consent.local_day(start, zone) == date(2030, 3, 1)
        assert start - consent.end_of_day(date(2030, 2, 28), zone) == timedelta(microseconds=1)
        assert datetime(2030, 3, 1, tzinfo=UTC) - timedelta(days=1) < start < datetime(2030, 3, 2, tzinfo=UTC)


def test_the_scope_of_a_guardians_consent_is_not_changed_from_the_day(store, clock):
    person_id = _enrol_child(store, adult_on=_today(store) + timedelta(days=10))
    clock.now = consent.latest(store, person_id).ends_at.timestamp()
    # change_scope says the day on this machine's calendar, the consent's days are UTC's: one calendar for both.
    with machine_time_zone("UTC"), pytest.raises(ConsentError) as err:
        consent.change_scope(store, person_id, "recognition+thumbnails")
    assert str(err.value) == consent.SCOPE_OF_ENDED_CONSENT.format(subject="Caio Lima",
                                                                   ended=_today(store) - timedelta(days=1))


def test_the_day_is_not_recorded_while_the_date_is_not_settled(store, clock):
    """"After today" is read off the store's clock: with the clock 400 days past the store's last use, or 400 days
    before it, the day could already have come; nothing is stored until the date is settled."""
    person_id = _enrol_child(store, days=3 * YEAR)
    retention.set_policy(store, "unseen_people", None)
    records, entries = store.person(person_id).consents, len(store.audit_entries())
    for days, said in ((400, lambda: consent.DATE_IN_QUESTION), (-800, lambda: consent.unsettled_date(store))):
        clock.advance(days=days)
        with pytest.raises(consent.DateInQuestionError) as err:
            consent.set_adult_on(store, person_id, _today(store) + timedelta(days=30), UTC)
        assert str(err.value) == said()
        assert store.person(person_id).consents == records and len(store.audit_entries()) == entries
    assert consent.unsettled_date(store).startswith("The clock reads more than 30 days before")
    clock.advance(days=400)  # the clock put right
    assert consent.set_adult_on(store, person_id, _today(store) + timedelta(days=30), UTC).adult_on is not None
