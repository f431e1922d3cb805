"""Retention: per-kind periods over defaults, and an idempotent sweep that applies consent expiry
and the periods, reports what it removed, and logs it."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from fer_core.model_files import identity_model_name
from fer_core.store import FamilyStore, WrongPassphraseError
from governance import consent, family, retention
from governance.consent import ConsentRecord, store_now
from governance.retention import RetentionError

VECTORS = np.ones((2, 16), np.float32)


def _enrol(store, name, *, days=365, thumbnails=0):
    record = ConsentRecord.new(subject=name, purpose="family photos", days=days, scope="recognition+thumbnails",
                               now=store_now(store))
    return family.enroll(store, name, VECTORS, record, thumbnails=[b"thumb"] * thumbnails,
                         model=identity_model_name()).person_id


def _state(store):
    return store.counts() | {"people": sorted(p.name for p in store.people())}


def test_policy_is_defaults_overlaid_by_settings(store):
    assert retention.policy(store) == {"unseen_people": 365, "thumbnails": 90, "analyses": 30}
    retention.set_policy(store, "analyses", 7)
    retention.set_policy(store, "thumbnails", None)
    assert retention.policy(store) == {"unseen_people": 365, "thumbnails": None, "analyses": 7}
    assert store.audit_entries()[-1].details == {"kind": "thumbnails", "days": None}
    with pytest.raises(RetentionError) as err:
        retention.set_policy(store, "selfies", 1)
    assert str(err.value) == "unknown retention kind 'selfies'; kinds: unseen_people, thumbnails, analyses"
    with pytest.raises(ValueError, match="retention days must be a whole number >= 0 or None, got -1"):
        retention.set_policy(store, "analyses", -1)
    with pytest.raises(RetentionError) as err:
        retention.set_policy(store, "unseen_people", 0)
    assert str(err.value) == retention.UNSEEN_PEOPLE_ZERO
    retention.set_policy(store, "thumbnails", 0)  # keep no thumbnails: a choice, not a slip
    assert retention.policy(store)["unseen_people"] == 365


def test_sweep_applies_every_rule_and_is_idempotent(store, clock):
    stale = _enrol(store, "Stale Person", days=1000)
    expiring = _enrol(store, "Expiring Person", days=20)
    fresh = _enrol(store, "Fresh Person", days=1000, thumbnails=1)
    store.add_analysis({"faces": 1}, person_ids=[fresh])
    clock.advance(days=31)  # the analysis is now older than 30 days; Expiring's consent has lapsed
    store.add_analysis({"faces": 2})
    store.add_thumbnail(fresh, b"new thumb")
    clock.advance(days=60)  # Fresh's first thumbnail is 91 days old
    clock.advance(days=280)  # 371 days: Stale was never recognised since enrolment ...
    family.note_recognition(store, [fresh], faces=1)  # ... but Fresh was, just now
    report = retention.sweep(store, date_confirmed=True)  # 371 days without a sweep: the date is confirmed
    assert report.removed == {"consent_expired": 1, "consent_missing": 0, "unseen_people": 1, "thumbnails": 2,
                              "analyses": 2}
    assert sorted(r.subject for r in report.receipts) == sorted([stale, expiring])
    assert {r.reason for r in report.receipts} == {"not seen", "consent expired"}
    assert report.storage_scrubbed and report.total == 6 and all(r.storage_scrubbed for r in report.receipts)
    assert [p.name for p in store.people()] == ["Fresh Person"]
    sweep_entry = store.audit_entries()[-1]
    assert (sweep_entry.event, sweep_entry.details) == ("sweep", report.removed)

    after_first = _state(store)
    again = retention.sweep(store)
    assert again.total == 0 and again.receipts == []
    assert {**_state(store), "audit": after_first["audit"]} == after_first  # only the log grew (one "sweep" entry)
    assert store.verify_audit().ok


def test_recognition_keeps_people_and_off_keeps_everything(store, clock):
    pid = _enrol(store, "Seen Person", days=10_000, thumbnails=1)
    for _ in range(5):
        clock.advance(days=300)
        family.note_recognition(store, [pid], faces=1)
        assert retention.sweep(store, date_confirmed=True).removed["unseen_people"] == 0  # 300 days: confirmed
    assert store.person(pid).thumbnails == 0  # thumbnails still age out on their own
    retention.set_policy(store, "unseen_people", None)
    store.add_thumbnail(pid, b"t")
    retention.set_policy(store, "thumbnails", None)
    clock.advance(days=2000)
    assert retention.sweep(store).total == 0
    assert store.person(pid).thumbnails == 1


def test_people_without_a_consent_record_are_erased(store):
    pid = store.add_person("No Consent")  # only possible through the bare store API
    store.add_embeddings(pid, VECTORS)
    report = retention.sweep(store)
    assert report.removed["consent_missing"] == 1 and store.person_ids() == []
    assert report.receipts[0].reason == "consent missing"


def test_days_beyond_100_years_are_refused_so_the_sweep_keeps_working(store, clock):
    pid = _enrol(store, "Kept Person")
    with pytest.raises(RetentionError) as err:
        retention.set_policy(store, "unseen_people", 3_000_000)  # once accepted: every sweep then overflowed
    assert str(err.value) == retention.DAYS_TOO_MANY.format(kind="unseen_people", maximum=36_500, days=3_000_000)
    assert retention.policy(store)["unseen_people"] == 365  # nothing was stored
    retention.set_policy(store, "unseen_people", retention.MAX_DAYS)
    retention.set_policy(store, "analyses", 0)
    assert retention.sweep(store).total == 0 and store.person_ids() == [pid]


def test_a_stored_period_beyond_the_limit_stops_the_sweep_with_its_reason(store):
    pid = _enrol(store, "Kept Person")
    store.set_retention("thumbnails", 3_000_000)  # stored before set_policy checked the range
    with pytest.raises(RetentionError) as err:
        retention.sweep(store)
    assert str(err.value) == retention.STORED_DAYS_TOO_MANY.format(kind="thumbnails", days=3_000_000, maximum=36_500)
    assert store.person_ids() == [pid]
    retention.set_policy(store, "thumbnails", 90)
    assert retention.sweep(store).total == 0


# ----------------------------------------------------------------------------- a clock far ahead of the last use

def _household(store):
    """A member whose consent ends in 20 days, one never recognised, a thumbnail and a kept result."""
    ending = _enrol(store, "Ending Consent", days=20)
    unseen = _enrol(store, "Never Seen", days=10_000, thumbnails=1)
    store.add_analysis({"faces": 1})
    return ending, unseen


def _a_month_of_daily_sweeps_asks_nothing(store, clock, *, results: int = 1) -> bool:
    """A kept result, then a sweep every day for over a month on the clock as it is: no date question, and the
    result goes once it is due (with those kept before, `results` in all)."""
    store.add_analysis({"faces": 1})
    removed = 0
    for _ in range(retention.CLOCK_GAP_DAYS + 5):
        clock.advance(days=1)
        report = retention.sweep(store)
        assert report.date_check is None
        removed += report.removed["analyses"]
    return removed == results


def _events(store):
    return [entry.event for entry in store.audit_entries()]


def test_a_clock_years_ahead_erases_no_one_until_the_date_is_confirmed(store, clock):
    ending, unseen = _household(store)
    before = _state(store)
    last_use = store.audit_entries()[-1].ts
    clock.advance(days=3 * 365)  # a flat clock battery, a wrong time server: or three years away
    report = retention.sweep(store)
    assert report.total == 0 and report.receipts == []
    check = report.date_check
    assert check.waiting == {"consent_expired": 1, "unseen_people": 1, "thumbnails": 1, "analyses": 1}
    assert check.text(UTC) == retention.DATE_UNCONFIRMED.format(
        now="2030-01-14", days=1095, last="2027-01-15",
        waiting="1 member whose consent expired, 1 member not seen for too long, 1 thumbnail, 1 kept result")
    assert {**_state(store), "audit": before["audit"]} == before  # only the log grew
    assert _events(store)[-2:] == ["date_unconfirmed", "sweep"]
    assert store.audit_entries()[-2].details["last_used"] == last_use
    # Meanwhile the member whose consent ended is not named (the gallery names consents in force only).
    assert {m.name: m.consent_status for m in family.members(store)} == {"Ending Consent": "expired",
                                                                         "Never Seen": "active"}

    # Using the store on the jumped clock does not close the question: its entries carry the jumped time.
    family.note_recognition(store, [], faces=1)
    clock.advance(days=1)
    again = retention.sweep(store)
    assert again.total == 0 and again.date_check.last_used_at == check.last_used_at
    assert _events(store).count("date_unconfirmed") == 1  # asked once, not at every sweep

    confirmed = retention.sweep(store, date_confirmed=True)
    assert confirmed.date_check is None
    # The thumbnail went with its member, before the thumbnails' own rule came to it.
    assert confirmed.removed == {"consent_expired": 1, "consent_missing": 0, "unseen_people": 1, "thumbnails": 0,
                                 "analyses": 1}
    assert sorted(r.subject for r in confirmed.receipts) == sorted([ending, unseen]) and store.person_ids() == []
    assert store.counts()["thumbnails"] == 0
    assert _events(store)[-4:] == ["date_confirmed", "purge", "purge", "sweep"]
    assert retention.sweep(store).date_check is None  # answered: no question at the next sweep
    assert store.verify_audit().ok


def test_a_member_without_any_consent_record_goes_even_while_the_date_waits(store, clock):
    _household(store)
    bare = store.add_person("No Consent")  # only possible through the bare store API
    clock.advance(days=400)
    report = retention.sweep(store)
    assert report.removed["consent_missing"] == 1 and [r.subject for r in report.receipts] == [bare]
    assert report.date_check.waiting["consent_expired"] == 1 and len(store.person_ids()) == 2


def test_a_clock_put_right_again_closes_the_question(store, clock):
    _household(store)
    clock.advance(days=5)
    retention.sweep(store)  # nothing due yet: a plain sweep, its entry the last use
    clock.advance(days=3 * 365)
    assert retention.sweep(store).date_check is not None
    clock.advance(days=-3 * 365)  # the clock is set right
    report = retention.sweep(store)
    assert report.date_check is None and report.total == 0 and len(store.person_ids()) == 2


def test_entries_written_on_the_jumped_clock_before_any_sweep_do_not_hide_the_jump(store, clock):
    """`unveil watch` and `unveil serve` count recognitions, and the CLI keeps results, without sweeping: their
    entries carry the jumped clock, and the next sweep must still see the jump (it took them for a recent use and
    erased every member whose consent had 'ended'). An enrolment on that clock is refused."""
    ending, unseen = _household(store)
    retention.sweep(store)  # nothing due yet: a plain sweep
    last_use = store.latest_sealed_audit().ts
    clock.advance(days=3 * 365)
    family.count_recognitions(store, [None])  # an unknown face seen by the camera loop
    clock.advance(days=1)
    with pytest.raises(consent.DateInQuestionError):
        _enrol(store, "New Member", days=365)  # an enrolment from the CLI
    store.add_analysis({"faces": 1})  # a result kept from the CLI
    report = retention.sweep(store)
    assert report.total == 0 and report.date_check.last_used_at == retention._iso(
        datetime.fromtimestamp(last_use, UTC))
    assert report.date_check.waiting["consent_expired"] == 1 and {ending, unseen} <= set(store.person_ids())
    confirmed = retention.sweep(store, date_confirmed=True)
    assert confirmed.removed["consent_expired"] == 1 and ending not in store.person_ids()


def test_a_clock_put_right_again_closes_the_question_for_good(store, clock):
    """The question closes when the clock reads near the last use again (date_restored): a month of use on the
    right clock later, the sweep applies retention and does not ask again about the jump it once saw."""
    _enrol(store, "Long Consent", days=10_000)
    clock.advance(days=3 * 365)
    store.add_analysis({"faces": 1})
    assert retention.sweep(store).date_check is not None  # the kept result (written on the jumped clock) waits
    clock.advance(days=-3 * 365)  # the clock is set right
    assert retention.sweep(store).date_check is None
    assert _events(store)[-3:] == ["date_restored", "times_clamped", "sweep"]
    # The result kept on the jumped clock was dated now (times_clamped): it goes with the month's, not 3 years later.
    assert _a_month_of_daily_sweeps_asks_nothing(store, clock, results=2)
    assert _events(store).count("date_restored") == 1


def test_the_date_confirmed_after_what_waited_was_erased_by_hand_closes_the_question(store, clock):
    """The Family page's question stays shown while the user erases the member whose ended consent it waited on (a
    renewal is refused meanwhile); confirming the date then removes nothing, but must still close the question: it
    stayed open, and a month later, with a kept result due, the sweep asked again about a use 431 days back when the
    store had been used every day."""
    ending = _enrol(store, "Ending Consent", days=20)
    retention.set_policy(store, "unseen_people", None)
    clock.advance(days=400)
    assert retention.sweep(store).date_check.waiting["consent_expired"] == 1
    with pytest.raises(consent.DateInQuestionError):
        consent.renew(store, ending, expires_at=store_now(store) + timedelta(days=365))
    family.purge(store, ending)
    confirmed = retention.sweep(store, date_confirmed=True)
    assert confirmed.date_check is None and confirmed.total == 0 and store.person_ids() == []
    assert _events(store)[-2:] == ["date_confirmed", "sweep"]
    assert _a_month_of_daily_sweeps_asks_nothing(store, clock) and _events(store).count("date_unconfirmed") == 1


def test_an_absence_under_the_gap_or_a_jump_that_removes_nothing_asks_nothing(store, clock):
    _enrol(store, "Long Consent", days=10_000)
    retention.set_policy(store, "analyses", 7)
    store.add_analysis({"faces": 1})
    clock.advance(days=retention.CLOCK_GAP_DAYS - 1)  # under a month away: the kept result is due, and goes
    report = retention.sweep(store)
    assert report.date_check is None and report.removed["analyses"] == 1
    retention.set_policy(store, "unseen_people", None)
    clock.advance(days=3 * 365)  # nothing is due, so there is nothing to confirm
    report = retention.sweep(store)
    assert report.date_check is None and report.total == 0
    assert "date_unconfirmed" not in _events(store)


def test_a_failed_unlock_on_the_jumped_clock_is_not_a_use_of_the_store(store, clock):
    """Anyone who reaches the files can log a failed unlock (it carries no MAC): it must not close the gap."""
    _household(store)
    clock.advance(days=400)
    with FamilyStore(store.data_dir, clock=clock) as other, pytest.raises(WrongPassphraseError):
        other.unlock("not the passphrase")
    assert store.audit_entries()[-1].event == "unlock_failed"
    assert store.latest_sealed_audit().event == "enrol"
    assert retention.sweep(store).date_check.waiting["consent_expired"] == 1


def test_times_stamped_while_the_clock_ran_ahead_are_dated_now_and_nothing_goes_for_it(store, clock):
    """Kept while the clock ran 20 days ahead (under the gap: nothing asked), then the clock put right: the kept
    result, the thumbnail, the embeddings and the member's enrolled and last-seen times are dated now by the next
    sweep (counted in a times_clamped entry, no names), which deletes nothing; the result then goes after its days
    from now, not 20 days later. The consent keeps its date (not yet in force: see CLAMPED_KINDS)."""
    clock.advance(days=20)
    member = _enrol(store, "Ahead Member", days=10_000, thumbnails=1)
    store.add_analysis({"faces": 1}, person_ids=[member])
    family.note_recognition(store, [member], faces=1)
    before = _state(store)
    clock.advance(days=-20)  # the clock is set right
    now = store.now()
    report = retention.sweep(store)
    assert report.total == 0 and report.date_check is None
    assert report.clamped == {"people": 1, "embeddings": 2, "thumbnails": 1, "analyses": 1}
    entry = store.audit_entries()[-2]
    assert (entry.event, entry.person_id, entry.details) == ("times_clamped", None, report.clamped)
    assert {**_state(store), "audit": before["audit"]} == before
    person = store.person(member)
    assert (person.created_at, person.last_seen_at) == (now, now)
    assert [t.created_at for t in store.thumbnails(member)] == [now]  # sealed again: it still authenticates
    assert [a.created_at for a in store.analyses()] == [now] and store.check() == []
    assert consent.status(consent.latest(store, member), store_now(store)) == consent.NOT_YET_IN_FORCE
    assert retention.sweep(store).clamped == dict.fromkeys(retention.CLAMPED_KINDS, 0)  # once
    assert _events(store).count("times_clamped") == 1
    retention.set_policy(store, "analyses", 7)
    clock.advance(days=8)
    assert retention.sweep(store).removed["analyses"] == 1  # 7 days from now, not from 20 days ahead


def test_a_clock_reset_far_back_dates_nothing_until_the_date_is_confirmed(store, clock):
    """A clock reset 400 days back (a flat battery, a machine booting without a network) must not date the household
    then: once the clock was right again, confirming the date would erase every member as unseen for a year. Such a
    sweep clamps nothing; one with the date confirmed does."""
    member = _enrol(store, "Long Consent", days=10_000)
    store.add_analysis({"faces": 1})
    clock.advance(days=-400)
    report = retention.sweep(store)
    assert report.total == 0 and report.clamped == {} and "times_clamped" not in _events(store)
    assert store.person(member).last_seen_at > store.now()
    confirmed = retention.sweep(store, date_confirmed=True)
    assert confirmed.total == 0 and confirmed.clamped == {"people": 1, "embeddings": 2, "thumbnails": 0,
                                                          "analyses": 1}
    assert store.person(member).last_seen_at == store.now()


def test_the_sweep_report_names_each_member_it_erased_and_the_log_never_does(store, clock, tmp_path):
    """Its receipts named no one: the household could not tell who the sweep erased. The names are read before the
    erasure, kept in the report (memory) only: the audit log and the store's files hold ids and counts as before."""
    ending, unseen = _household(store)
    bare = store.add_person("Zoë *No* Consent")  # only possible through the bare store API
    clock.advance(days=400)
    report = retention.sweep(store, date_confirmed=True)
    assert {receipt.subject: (who, receipt.reason) for who, receipt in report.named_receipts()} == {
        ending: ("Ending Consent", "consent expired"), unseen: ("Never Seen", "not seen"),
        bare: ("Zoë *No* Consent", "consent missing")}
    assert "Never Seen" not in repr(report)  # a report written to a log by repr names no one either
    logged = json.dumps([entry.details for entry in store.audit_entries()], ensure_ascii=False)
    on_disk = b"".join(path.read_bytes() for path in tmp_path.rglob("*") if path.is_file())
    for name in ("Ending Consent", "Never Seen", "Zoë *No* Consent"):
        assert name not in logged and name.encode() not in on_disk
    assert retention.sweep(store).named_receipts() == []


def test_what_waits_for_the_date_is_counted_again_after_a_member_is_erased_by_hand(store, clock):
    """The date question is worked out by a sweep; once a member it counted is erased (or renewed), date_check says
    what waits now, without removing or logging anything."""
    ending, unseen = _household(store)
    clock.advance(days=400)
    assert retention.sweep(store).date_check.waiting["consent_expired"] == 1
    events = _events(store)
    assert retention.date_check(store).waiting == {"consent_expired": 1, "unseen_people": 1, "thumbnails": 1,
                                                   "analyses": 1}
    family.purge(store, ending)
    check = retention.date_check(store)
    assert check.waiting == {"consent_expired": 0, "unseen_people": 1, "thumbnails": 1, "analyses": 1}
    assert "consent expired" not in check.text() and "1 member not seen for too long" in check.text()
    family.purge(store, unseen)
    store.delete_analyses(before=store_now(store).timestamp() + 1)
    assert retention.date_check(store) is None  # nothing waits any more
    assert _events(store) == [*events, "purge", "purge"]  # date_check itself logs nothing
    clock.advance(days=-400)  # the clock put right: no question at all
    assert retention.date_check(store) is None
