"""The consent ledger: no enrolment without a valid consent record for that person; guardians for
children; renewal and scope changes append records; withdrawal erases the person at once."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from fer_core.store import PersonNotFoundError
from governance import consent, family
from governance.consent import ConsentError, ConsentRecord
from tests.support import privacy_harness as h
from tests.support.store import FakeClock

NOW = datetime.fromtimestamp(FakeClock().now, tz=UTC)
VECTORS = np.random.default_rng(1).standard_normal((4, 128)).astype(np.float32)


def _record(**overrides) -> ConsentRecord:
    fields = {"subject": "Ana Lima", "given_by": "Ana Lima", "relation": "self", "purpose": "name family members in our photos",
                  "scope": "recognition", "given_at": NOW, "expires_at": NOW + timedelta(days=365), "subject_is_child": False}
    return ConsentRecord(**{**fields, **overrides})


@pytest.mark.parametrize(("overrides", "message"), [
    ({"subject_is_child": True}, "Ana Lima is a child: consent must be given by a guardian"),
    ({"given_by": "Bruno Lima"}, "consent given by Bruno Lima for Ana Lima must have relation 'guardian'"),
    ({"relation": "guardian"}, "a guardian's consent must come from someone other than the person it is for"),
    ({"purpose": "  "}, "the consent record needs a purpose"),
    ({"given_by": ""}, "the consent record needs who gave it"),
    ({"scope": "everything"}, "the consent's scope must be one of recognition, recognition+thumbnails; got 'everything'"),
    ({"relation": "friend", "given_by": "Bruno Lima"}, "the consent's relation must be one of self, guardian; got 'friend'"),
    ({"expires_at": NOW - timedelta(days=1), "given_at": NOW - timedelta(days=30)},
     f"the consent expired on {consent.local_day(NOW - timedelta(days=1))}; a new consent is needed"),
    ({"expires_at": NOW}, "the consent must expire after it was given"),
    ({"given_at": NOW + timedelta(days=2), "expires_at": NOW + timedelta(days=30)}, "the consent cannot be dated in the future"),
    ({"given_at": NOW.replace(tzinfo=None)}, "the consent's given_at must be a timezone-aware date and time"),
])
def test_invalid_consent_is_refused_with_its_reason_and_nothing_is_stored(store, overrides, message):
    with pytest.raises(ConsentError) as err:
        family.enroll(store, "Ana Lima", VECTORS, _record(**overrides))
    assert str(err.value) == message
    assert store.counts() == {"people": 0, "embeddings": 0, "thumbnails": 0, "consents": 0, "analyses": 0,
                              "audit": 1, "data_keys": 0}


def test_consent_must_be_for_the_person_and_cover_thumbnails(store):
    with pytest.raises(ConsentError) as err:
        family.enroll(store, "Bruno Lima", VECTORS, _record())
    assert str(err.value) == "the consent record is for Ana Lima, not for Bruno Lima; nothing was stored"
    with pytest.raises(ConsentError) as err:
        family.enroll(store, "Ana Lima", VECTORS, _record(), thumbnails=[b"jpeg bytes"])
    assert str(err.value) == "the consent's scope 'recognition' does not cover thumbnails; nothing was stored"
    assert store.counts()["people"] == 0


def test_a_guardian_consents_for_a_child(store):
    record = _record(subject="Caio Lima", given_by="Ana Lima", relation="guardian", subject_is_child=True)
    done = family.enroll(store, "Caio Lima", VECTORS, record)
    [row] = consent.ledger(store)
    assert (row.person_id, row.name, row.status) == (done.person_id, "Caio Lima", "active")
    assert row.record == record  # round-trips through the sealed store exactly
    events = [(e.event, e.details) for e in store.audit_entries()[1:]]
    assert events == [("consent_granted", {"relation": "guardian", "scope": "recognition"}),
                      ("enrol", {"embeddings": 4, "thumbnails": 0})]


def test_consent_details_are_sealed_under_the_persons_key(store):
    family.enroll(store, "Ana Lima", VECTORS, _record(purpose="a very particular purpose"))
    raw = b"".join(row[0] for row in h.query(store.data_dir / "unveil.db", "SELECT details FROM consents"))
    assert b"particular" not in raw and b"Ana" not in raw


def test_expired_consent_shows_and_blocks_more_embeddings(store, clock):
    done = family.enroll(store, "Ana Lima", VECTORS, _record(expires_at=NOW + timedelta(days=10)))
    clock.advance(days=11)
    assert [m.consent_status for m in family.members(store)] == ["expired"]
    with pytest.raises(ConsentError) as err:
        family.add_embeddings(store, "Ana Lima", VECTORS)
    assert str(err.value) == "Ana Lima has no consent in force; nothing was stored"
    consent.renew(store, done.person_id, expires_at=consent.store_now(store) + timedelta(days=30))
    assert [m.consent_status for m in family.members(store)] == ["active"]
    assert family.add_embeddings(store, "ana lima", VECTORS) == 4
    assert store.person(done.person_id).consents == 2  # renewal appends; the latest governs
    assert store.audit_entries()[-2].event == "consent_renewed"


def test_narrowing_the_scope_deletes_thumbnails(store):
    done = family.enroll(store, "Ana Lima", VECTORS, _record(scope="recognition+thumbnails"), thumbnails=[b"a", b"b"])
    assert store.person(done.person_id).thumbnails == 2
    record = consent.change_scope(store, done.person_id, "recognition")
    assert record.scope == "recognition" and consent.latest(store, done.person_id) == record
    assert store.person(done.person_id).thumbnails == 0
    assert store.audit_entries()[-1].details == {"scope": "recognition", "thumbnails_deleted": 2}


def test_the_scope_of_an_ended_consent_is_not_changed_and_the_message_says_to_renew_it(store, clock):
    """A scope change is a consent given now that ends when the old one did: on an ended consent it said only
    'the consent must expire after it was given'."""
    done = family.enroll(store, "Ana Lima", VECTORS, _record(expires_at=NOW + timedelta(days=10)))
    clock.advance(days=11)
    before = len(store.audit_entries())
    with pytest.raises(ConsentError) as err:
        consent.change_scope(store, done.person_id, "recognition+thumbnails")
    # The day of this machine's calendar, as `consent list` says it (test_consent_calendar sets the zone).
    ended = consent.local_day(NOW + timedelta(days=10))
    assert str(err.value) == consent.SCOPE_OF_ENDED_CONSENT.format(subject="Ana Lima", ended=ended)
    assert str(err.value).startswith(f"the consent of Ana Lima ended on {ended}: renew it")
    assert store.person(done.person_id).consents == 1 and len(store.audit_entries()) == before


def test_withdrawal_erases_the_person_at_once(store):
    keep = family.enroll(store, "Bruno Lima", VECTORS, _record(subject="Bruno Lima", given_by="Bruno Lima"))
    gone = family.enroll(store, "Ana Lima", VECTORS, _record())
    receipt = consent.withdraw(store, gone.person_id)
    assert receipt.reason == "consent withdrawn" and receipt.records["embeddings"] == 4 and receipt.storage_scrubbed
    assert store.person_ids() == [keep.person_id]
    assert [entry.name for entry in store.gallery()] == ["Bruno Lima"]
    assert [e.event for e in store.audit_entries()[-2:]] == ["consent_withdrawn", "purge"]
    assert store.audit_entries()[-1].details["receipt"] == receipt.digest
    with pytest.raises(PersonNotFoundError):
        consent.withdraw(store, gone.person_id)
    assert store.verify_audit().ok


def test_a_new_record_runs_to_the_end_of_the_users_day_days_from_today():
    """ConsentRecord.new ended 30 x 24 hours on (22:00 on 13 February in Honolulu), where the CLI and the app end a
    consent for 30 days at the end of the user's day (consent.expires_on_day): the same days ended at another moment
    by the API that gave them."""
    honolulu = ZoneInfo("Pacific/Honolulu")  # NOW is 22:00 on 14 January there
    record = ConsentRecord.new(subject="Ana Lima", purpose="p", days=30, now=NOW, zone=honolulu)
    assert (record.given_by, record.relation, record.given_at) == ("Ana Lima", "self", NOW)
    end = record.expires_at.astimezone(honolulu)
    assert (end.date(), end.time()) == (date(2027, 2, 13), time.max)
    assert record.is_active(NOW + timedelta(days=30)) and not record.is_active(record.expires_at)


def test_a_consent_lasts_1_to_36500_days():
    for days in (0, -5, 36_501, 1_000_000_000):  # 10**9 days once overflowed the date arithmetic
        with pytest.raises(ConsentError) as err:
            ConsentRecord.new(subject="Ana Lima", purpose="p", days=days, now=NOW)
        assert str(err.value) == consent.CONSENT_DAYS_OUT_OF_RANGE.format(maximum=36_500, days=days)
    record = ConsentRecord.new(subject="Ana Lima", purpose="p", days=consent.MAX_CONSENT_DAYS, now=NOW)
    record.validate(now=NOW)
    too_long = replace(record, expires_at=record.expires_at + timedelta(days=1))
    with pytest.raises(ConsentError) as err:
        too_long.validate(now=NOW)
    assert str(err.value) == consent.CONSENT_TOO_LONG


def _events(store) -> list[str]:
    return [e.event for e in store.audit_entries()]


def test_a_renewal_records_who_gives_it_now(store):
    """A renewal is a new consent: given by someone other than the first giver (a new guardian), it says so; by the
    subject themself, it is their own. Without a giver it keeps the one on record. One consent_renewed each."""
    done = family.enroll(store, "Caio Lima", VECTORS, _record(subject="Caio Lima", relation="guardian",
                                                              subject_is_child=True))
    until = consent.store_now(store) + timedelta(days=30)
    record = consent.renew(store, done.person_id, expires_at=until, given_by=" Bruno Lima ")
    assert (record.given_by, record.relation, record.subject_is_child) == ("Bruno Lima", "guardian", True)
    assert consent.latest(store, done.person_id) == record and record.given_at == consent.store_now(store)
    assert store.audit_entries()[-1].details == {"scope": "recognition", "relation": "guardian"}

    record = consent.renew(store, done.person_id, expires_at=until, given_by="caio lima", subject_is_child=False)
    assert (record.given_by, record.relation, record.subject_is_child) == ("Caio Lima", "self", False)
    assert consent.latest(store, done.person_id) == record
    assert store.audit_entries()[-1].details == {"scope": "recognition", "relation": "self"}

    record = consent.renew(store, done.person_id, expires_at=until)  # no giver: as on record
    assert (record.given_by, record.relation, record.subject_is_child) == ("Caio Lima", "self", False)
    assert _events(store)[-3:] == ["consent_renewed"] * 3
    assert store.person(done.person_id).consents == 4


@pytest.mark.parametrize(("given_by", "subject_is_child", "message"), [
    # Still a child on record: said with how to record that they are an adult now (--adult, the page's tick box).
    ("Caio Lima", None, consent.CHILD_RENEWS_THEMSELF.format(subject="Caio Lima")),
    ("Caio Lima", True, consent.CHILD_RENEWS_THEMSELF.format(subject="Caio Lima")),
    (" ", None, "the consent record needs who gave it"),
])
def test_a_renewal_the_consent_rules_refuse_stores_nothing(store, given_by, subject_is_child, message):
    """A child's consent renewed by themself is refused unless they are marked an adult: nothing is stored or logged."""
    done = family.enroll(store, "Caio Lima", VECTORS, _record(subject="Caio Lima", relation="guardian",
                                                              subject_is_child=True))
    before, events = consent.latest(store, done.person_id), _events(store)
    with pytest.raises(ConsentError) as err:
        consent.renew(store, done.person_id, expires_at=consent.store_now(store) + timedelta(days=30),
                      given_by=given_by, subject_is_child=subject_is_child)
    assert str(err.value) == message
    assert consent.latest(store, done.person_id) == before and store.person(done.person_id).consents == 1
    assert _events(store) == events


def test_a_renewal_marking_an_adult_a_child_needs_a_guardian(store):
    done = family.enroll(store, "Ana Lima", VECTORS, _record())
    with pytest.raises(ConsentError) as err:
        consent.renew(store, done.person_id, expires_at=consent.store_now(store) + timedelta(days=30),
                      subject_is_child=True)
    assert str(err.value) == consent.CHILD_NEEDS_GUARDIAN.format(subject="Ana Lima")
    assert store.person(done.person_id).consents == 1
    record = consent.renew(store, done.person_id, expires_at=consent.store_now(store) + timedelta(days=30),
                           given_by="Bruno Lima", subject_is_child=True)
    assert (record.given_by, record.relation, record.subject_is_child) == ("Bruno Lima", "guardian", True)


def test_no_consent_is_given_renewed_or_widened_while_the_date_is_in_question(store, clock):
    """The clock reads 400 days after the store's last use: a consent given now would carry that date, which may be
    years off (a wrong clock). Renewal, a change of scope that is not a narrowing, and enrolment are refused in one
    message, and nothing is stored or logged, until the date is confirmed (or the clock put right). Narrowing the
    consent to recognition gives data up: it is made, with the consent's own dates (the doubtful one is not recorded)."""
    from governance import retention

    done = family.enroll(store, "Ana Lima", VECTORS, _record(scope="recognition+thumbnails",
                                                             expires_at=NOW + timedelta(days=10_000)),
                         thumbnails=[b"a"])
    retention.set_policy(store, "unseen_people", None)
    clock.advance(days=400)
    before, events = consent.latest(store, done.person_id), _events(store)
    attempts = [
        lambda: consent.renew(store, done.person_id, expires_at=consent.store_now(store) + timedelta(days=30)),
        lambda: consent.change_scope(store, done.person_id, "recognition+thumbnails"),
        lambda: family.enroll(store, "Bruno Lima", VECTORS, ConsentRecord.new(
            subject="Bruno Lima", purpose="family photos", days=365, now=consent.store_now(store))),
    ]
    for attempt in attempts:
        with pytest.raises(consent.DateInQuestionError) as err:
            attempt()
        assert str(err.value) == consent.DATE_IN_QUESTION
    assert consent.DATE_IN_QUESTION == (
        "The clock reads more than 30 days after this store was last used, so the date is in question and a consent "
        "given now would carry it. Confirm the date first (\"The date is right\" in the app, or unveil retention sweep "
        "--date-is-right), or set the clock right; nothing was stored.")
    assert isinstance(err.value, ConsentError)
    assert consent.latest(store, done.person_id) == before and store.person(done.person_id).thumbnails == 1
    assert store.person_ids() == [done.person_id] and _events(store) == events

    clock.advance(days=-400)  # the clock put right: a renewal is dated by it
    renewed = consent.renew(store, done.person_id, expires_at=NOW + timedelta(days=1000))
    assert renewed.given_at == NOW
    clock.advance(days=400)
    events = _events(store)
    narrowed = consent.change_scope(store, done.person_id, "recognition")  # gives data up: made meanwhile
    assert narrowed == replace(renewed, scope="recognition") == consent.latest(store, done.person_id)
    assert (narrowed.given_at, narrowed.expires_at) == (NOW, NOW + timedelta(days=1000))  # not the doubtful date
    assert store.person(done.person_id).thumbnails == 0 and store.person(done.person_id).consents == 3
    (changed,) = store.audit_entries()[len(events):]
    assert (changed.event, changed.details) == ("consent_scope_changed", {"scope": "recognition", "thumbnails_deleted": 1})
    with pytest.raises(consent.DateInQuestionError) as err:  # widening it again is a consent given now: it waits
        consent.change_scope(store, done.person_id, "recognition+thumbnails")
    assert str(err.value) == consent.DATE_IN_QUESTION and consent.latest(store, done.person_id) == narrowed
    retention.sweep(store, date_confirmed=True)  # the date is right
    assert consent.change_scope(store, done.person_id, "recognition+thumbnails").given_at == consent.store_now(store)


def test_no_consent_is_dated_by_a_clock_reset_far_back_unless_the_date_is_confirmed(store, clock):
    """A clock 400 days behind the store's last use asked no question (only a clock ahead did): a renewal for a year
    was dated then and had ended once the clock was right, and the next sweep erased the member without asking."""
    from governance import retention

    done = family.enroll(store, "Ana Lima", VECTORS, _record(expires_at=NOW + timedelta(days=10_000)))
    retention.set_policy(store, "unseen_people", None)
    before = consent.latest(store, done.person_id)
    clock.advance(days=-400)
    attempts = [
        lambda: consent.renew(store, done.person_id, expires_at=consent.store_now(store) + timedelta(days=365)),
        lambda: family.enroll(store, "Bruno Lima", VECTORS, ConsentRecord.new(
            subject="Bruno Lima", purpose="family photos", days=365, now=consent.store_now(store))),
    ]
    for attempt in attempts:
        with pytest.raises(consent.DateInQuestionError) as err:
            attempt()
        assert str(err.value) == consent.CLOCK_BEHIND.format(last=consent.local_day(NOW))
    assert consent.latest(store, done.person_id) == before and store.person_ids() == [done.person_id]
    with pytest.raises(consent.DateInQuestionError) as err:  # widening it would date a consent given now
        consent.change_scope(store, done.person_id, "recognition+thumbnails")
    assert str(err.value) == consent.CLOCK_BEHIND.format(last=consent.local_day(NOW))
    # Narrowing it is made, on the consent's own dates (given_at reads after now by this clock: it stays so).
    assert consent.change_scope(store, done.person_id, "recognition") == replace(before, scope="recognition")
    clock.advance(days=400)  # the clock put right: the member's consent runs as it did
    assert retention.sweep(store).total == 0 and store.person_ids() == [done.person_id]

    clock.advance(days=-400)
    retention.sweep(store, date_confirmed=True)  # the user says this date is right
    assert consent.renew(store, done.person_id, expires_at=consent.store_now(store) + timedelta(days=30)).given_at == \
        consent.store_now(store)


def test_a_consent_given_after_now_is_not_yet_in_force_and_names_no_one(store, clock):
    """Recorded while the clock ran 20 days ahead, then the clock put right: the consent is 'not yet in force' (not
    'expired'), names no one, and erases no one."""
    from governance import retention

    clock.advance(days=20)
    done = family.enroll(store, "Ana Lima", VECTORS, _record(given_at=consent.store_now(store),
                                                             expires_at=consent.store_now(store) + timedelta(days=365)))
    clock.advance(days=-20)
    assert [row.status for row in consent.ledger(store)] == [consent.NOT_YET_IN_FORCE] == ["not yet in force"]
    assert [m.consent_status for m in family.members(store)] == ["not yet in force"]
    assert not family._may_be_named(store, done.person_id)
    report = retention.sweep(store)
    assert report.total == 0 and store.person_ids() == [done.person_id]
    # The sweep dates the member's times now, but leaves the consent as recorded: still not in force.
    assert consent.status(consent.latest(store, done.person_id), consent.store_now(store)) == "not yet in force"
    clock.advance(days=21)  # its date has come
    assert [m.consent_status for m in family.members(store)] == ["active"]
