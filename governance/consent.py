"""The consent ledger: no biometric data without a valid consent record.

A record says who consented (`given_by`), for whom (`subject`; a guardian consents for a child),
why (`purpose`), to what (`scope`: recognition only, or recognition plus encrypted thumbnails),
when, and until when. A guardian's consent may also say from which day the subject decides for themself
(`adult_on`: the age of digital consent, or adulthood): it then ends that day, whatever its end date, and only the
subject's own consent can follow it. Records are sealed under the subject's own data key and are append-only:
renewing or narrowing a consent adds a record, the latest one governs. Withdrawal erases the person
at once (their key is destroyed), leaving only opaque-id entries in the audit log.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

from fer_core import UnveilError
from fer_core.store import FamilyStore, Person, PersonNotFoundError, same_name
from governance import audit_log, clock, erasure

RELATIONS = ("self", "guardian")
# What each scope keeps, as the app's consent form says it to a household: a face embedding is "a face print"
# there (the numbers the identity model computes from a face), never the photo it came from.
SCOPES: dict[str, str] = {
    "recognition": ("a face print only (numbers computed from the photos, not the photos themselves): the person can "
                    "be recognised in photos"),
    "recognition+thumbnails": "the face print plus small pictures of their face, kept encrypted to show in the app",
}
# Clock skew tolerated between the device that recorded a consent and this one.
_FUTURE_SKEW = timedelta(minutes=5)
# The longest a consent may last: 100 years (as the app's retention settings). Longer would mean
# forever, which consent never is, and dates that overflow past the year 9999.
MAX_CONSENT_DAYS = 36_500
CONSENT_DAYS_OUT_OF_RANGE = "a consent lasts 1 to {maximum:,} days; got {days!r}"
CONSENT_TOO_LONG = f"a consent lasts at most {MAX_CONSENT_DAYS:,} days"
CHILD_NEEDS_GUARDIAN = "{subject} is a child: consent must be given by a guardian"
# A renewal by the member themself while their consent on record is a child's: a child now grown up is recorded as
# an adult in the same renewal, in each front end's words (GIVER_CHILD is the Family page's tick box).
CHILD_RENEWS_THEMSELF = (CHILD_NEEDS_GUARDIAN + ". If {subject} is now an adult giving it themself, record that too: "
                         "unveil consent renew --by-themself --adult, or untick \"This person is a child\" on the "
                         "Family page")
# A consent given, renewed or changed is dated by the store's clock; while the date is in question (governance.clock:
# the clock reads far past the store's last use), that date may be years off, and a consent dated years ahead would
# stay "not yet in force" once the clock is right. So none is recorded until the date is settled, but for a consent
# narrowed to recognition only (change_scope): that gives data up, and keeps the governing consent's own dates.
DATE_IN_QUESTION = (f"The clock reads more than {clock.CLOCK_GAP_DAYS} days after this store was last used, so the "
                    "date is in question and a consent given now would carry it. Confirm the date first (\"The date is "
                    "right\" in the app, or unveil retention sweep --date-is-right), or set the clock right; nothing was "
                    "stored.")
# A clock reset far back (governance.clock.behind) asks no question of the sweep, but a consent given on it would be
# dated then and end that much early: once the clock is right, the next sweep would erase the member unasked.
CLOCK_BEHIND = (f"The clock reads more than {clock.CLOCK_GAP_DAYS} days before this store was last used ({{last}}), so "
                "a consent given now would be dated then and end too early once the clock is right. Set the clock "
                "right, or if the date is right, confirm it (unveil retention sweep --date-is-right); nothing was "
                "stored.")
# A guardian's consent no longer counts from the day its subject decides for themself (ConsentRecord.adult_on): a
# renewal by a guardian then, or an enrolment dated from that day on, is refused with GuardianConsentEndedError.
GUARDIAN_CONSENT_ENDED = ("{subject} decides for themself from {day:%Y-%m-%d}, so a guardian's consent no longer counts: "
                          "{subject} must give their own consent")
ADULT_ON_NEEDS_GUARDIAN = ("only a guardian's consent ends on the day its subject decides for themself; the consent of "
                           "{subject} is their own")
# set_adult_on takes only a day after the user's today: a day that has come would end the guardian's consent at once,
# and the day's sweep (the app runs it on the first page load of each day) would erase the member. A mistyped year or a
# date picked wrong must not do that, and nothing needs it: a member who already decides for themself renews the
# consent themself, or withdraws it.
ADULT_ON_NOT_AHEAD = ("{day:%Y-%m-%d} has already come: recorded as the day {subject} decides for themself, it would "
                      "end the guardian's consent at once, and the next retention sweep would erase {subject}. Give a "
                      "day after today; if {subject} already decides for themself, they renew the consent themself "
                      "(unveil consent renew --by-themself, or the Family page's renewal given by them) or withdraw "
                      "it. Nothing was stored.")
# A consent dated after today (recorded while the clock ran ahead) that ended before its date would never count, and
# the sweep would erase the member once the clock reached that date.
ADULT_ON_BEFORE_CONSENT = ("the consent of {subject} is dated {given:%Y-%m-%d}, after today (the clock ran ahead when "
                           "it was recorded): the day they decide for themself must be after that, or that consent "
                           "would never count. Nothing was stored.")
# What lists say of the day a guardian's consent records (decides_for_themself), or of one that records none (given
# before it could be recorded, or left out): that one keeps governing, and the household is told to add the day.
ADULT_FROM = "from {day:%Y-%m-%d}"
NO_ADULT_DATE = "no date recorded"
SCOPE_OF_ENDED_CONSENT = ("the consent of {subject} ended on {ended:%Y-%m-%d}: renew it first (unveil consent renew, "
                          "or the Family page), then change its scope")
# A consent whose given_at is after now by the store's clock (recorded while the clock ran ahead): not in force, so
# nobody is named by it, and not ended either, so the sweep does not erase anyone for it.
NOT_YET_IN_FORCE = "not yet in force"
STATUS_WIDTH = len(NOT_YET_IN_FORCE)  # the longest status, for lists that line statuses up


class ConsentError(UnveilError, ValueError):
    """A consent record that is incomplete, inconsistent, expired, or does not cover what is asked."""


class GuardianConsentEndedError(ConsentError):
    """A guardian's consent given or renewed on or after the day its subject decides for themself
    (GUARDIAN_CONSENT_ENDED), or that day moved once it has come; nothing stored."""


class DateInQuestionError(ConsentError):
    """A consent would be given, renewed or widened while the date is in question (DATE_IN_QUESTION); nothing
    stored."""


def unsettled_date(store: FamilyStore) -> str | None:
    """DATE_IN_QUESTION while the date is in question (governance.clock.in_question), CLOCK_BEHIND while the clock
    reads far before the store's last use (clock.behind); None when the date is settled."""
    now = store_now(store)
    if clock.in_question(store, now):
        return DATE_IN_QUESTION
    newest = clock.behind(store, now)
    if newest is not None:
        # A day of this machine's calendar, as the CLI's other dates and the sweep's date question (DateCheck.text)
        return CLOCK_BEHIND.format(last=local_day(datetime.fromtimestamp(newest, UTC)))
    return None


def require_settled_date(store: FamilyStore) -> None:
    """DateInQuestionError (with unsettled_date's message) unless the date is settled: what is about to record a
    consent dated by the store's clock (an enrolment, a renewal, a change of scope that is not a narrowing) calls
    this first."""
    said = unsettled_date(store)
    if said is not None:
        raise DateInQuestionError(said)


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConsentError(f"the consent record needs {field}")
    return value.strip()


def _aware(value: Any, field: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ConsentError(f"the consent's {field} must be a timezone-aware date and time")
    return value.astimezone(UTC)


def _check_days(days: int) -> None:
    """ConsentError unless a consent's `days` is a whole number from 1 to MAX_CONSENT_DAYS: checked before any date
    arithmetic, which would overflow."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_CONSENT_DAYS:
        raise ConsentError(CONSENT_DAYS_OUT_OF_RANGE.format(maximum=MAX_CONSENT_DAYS, days=days))


# A household counts a consent's days on its own calendar: "365 days" from an evening in Pago Pago (UTC-11) ends at the
# end of that day a year on, as the user reads it, not at the UTC instant 365 days later (the next morning's date in
# UTC, which a list printed in UTC would show). `zone` is the user's time zone (the app: their browser's); None is this
# machine's, the CLI's.
def local_day(when: datetime, zone: tzinfo | None = None) -> date:
    """The calendar day `when` falls on in `zone` (None: this machine's time zone): the user's date."""
    return when.astimezone(zone).date()


def end_of_day(day: date, zone: tzinfo | None = None) -> datetime:
    """The last instant of `day` in `zone` (None: this machine's time zone), with that day's fixed UTC offset: what
    a consent "until" that day runs to. Where the clocks go back at midnight (America/Santiago) the day's last
    hour comes twice, and it ends after the second, not an hour before the user's midnight; where they go on at
    23:00 (America/Nuuk) its last hour never comes, and it ends at 22:59:59, not an hour into the next day.

    Both readings of 23:59:59.999999 (fold 0 and 1) are tried and the later one that still falls on `day` is kept:
    in a gap, a zoneinfo zone and this machine's clock (a naive time) give the two folds opposite meanings."""
    readings = []
    for fold in (0, 1):
        end = datetime.combine(day, time.max).replace(fold=fold)
        end = end.replace(tzinfo=zone) if zone is not None else end.astimezone()
        readings.append(end.astimezone(timezone(end.utcoffset())))
    on_the_day = [end for end in readings if local_day(end, zone) == day]
    # None on the day: a day the zone skipped whole (Pacific/Apia, 30 December 2011) ends when the one before did.
    return max(on_the_day) if on_the_day else min(readings)


def start_of_day(day: date, zone: tzinfo | None = None) -> datetime:
    """The first instant of `day` in `zone` (None: this machine's time zone): just after end_of_day of the day before,
    so that a consent ending the day before and one starting on `day` leave no instant between them."""
    return end_of_day(day - timedelta(days=1), zone) + timedelta(microseconds=1)


def until_day(record: ConsentRecord, zone: tzinfo | None = None) -> date:
    """The last day of the user's calendar (in `zone`, None: this machine's) that `record` governs: its end date's,
    or the day before its subject decides for themself when that comes first."""
    if record.adult_on is not None and record.adult_on < record.expires_at:
        return local_day(record.adult_on, zone) - timedelta(days=1)
    return local_day(record.expires_at, zone)


def decides_for_themself(record: ConsentRecord, zone: tzinfo | None = None) -> str | None:
    """What lists say of the day from which the subject of a guardian's consent decides for themself: ADULT_FROM
    (a day of the user's calendar in `zone`, None: this machine's) or NO_ADULT_DATE; None for the subject's own
    consent."""
    if record.relation != "guardian":
        return None
    return NO_ADULT_DATE if record.adult_on is None else ADULT_FROM.format(day=local_day(record.adult_on, zone))


def expires_on_day(now: datetime, days: int, zone: tzinfo | None = None) -> datetime:
    """When a consent given at `now` for `days` days ends on the user's calendar: at the end of the day `days` days
    after their today in `zone` (None: this machine's time zone), but never more than MAX_CONSENT_DAYS after `now`
    (which validate refuses). ConsentError unless days is a whole number from 1 to MAX_CONSENT_DAYS. The one rule
    for a consent's days: ConsentRecord.new, `unveil family enroll`, `unveil consent renew` and the app's renewal."""
    _check_days(days)
    return min(end_of_day(local_day(now, zone) + timedelta(days=days), zone), now + timedelta(days=MAX_CONSENT_DAYS))


@dataclass(frozen=True, kw_only=True)
class ConsentRecord:
    subject: str  # the person whose face is enrolled
    given_by: str  # who consented: the subject, or their guardian
    relation: str = "self"  # "self" or "guardian"
    purpose: str  # e.g. "name family members in our own photos"
    scope: str = "recognition"  # a key of SCOPES
    given_at: datetime
    expires_at: datetime
    subject_is_child: bool = False
    # A guardian's consent only: the first instant of the day from which the subject decides for themself
    # (start_of_day of a day of the user's calendar). None: no such day recorded.
    adult_on: datetime | None = None

    @classmethod
    def new(cls, *, subject: str, purpose: str, days: int, given_by: str | None = None, relation: str = "self",
            scope: str = "recognition", subject_is_child: bool = False, now: datetime | None = None,
            zone: tzinfo | None = None, adult_on: date | None = None) -> ConsentRecord:
        """A consent given now (or at `now`) for `days` days: until the end of the user's calendar day `days` days
        after their today in `zone` (None: this machine's time zone), as the CLI and the app give it
        (expires_on_day); a guardian's consent up to `adult_on`, the day the subject decides for themself, in that
        zone. ConsentError unless days is a whole number from 1 to MAX_CONSENT_DAYS."""
        now = now or datetime.now(UTC)
        return cls(subject=subject, given_by=given_by if given_by is not None else subject, relation=relation,
                   purpose=purpose, scope=scope, given_at=now, expires_at=expires_on_day(now, days, zone),
                   subject_is_child=subject_is_child,
                   adult_on=start_of_day(adult_on, zone) if adult_on is not None else None)

    @property
    def ends_at(self) -> datetime:
        """When this consent stops governing: its end date, or the day its subject decides for themself when that
        comes first (a guardian's consent only)."""
        return min(self.expires_at, self.adult_on) if self.adult_on is not None else self.expires_at

    @property
    def allows_thumbnails(self) -> bool:
        return self.scope == "recognition+thumbnails"

    @property
    def starts_at(self) -> datetime:
        """When this consent starts governing: when it was given, less the clock skew tolerated between devices."""
        return self.given_at - _FUTURE_SKEW

    def is_active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def validate(self, *, now: datetime) -> None:
        """ConsentError unless this record is complete, consistent (check_consistent) and in force at `now`:
        GuardianConsentEndedError when it is a guardian's and its subject decides for themself by then."""
        self.check_consistent()
        given_at, expires_at, now = self.given_at, self.expires_at, _aware(now, "now")
        if given_at > now + _FUTURE_SKEW:
            raise ConsentError("the consent cannot be dated in the future")
        if self.adult_on is not None and self.adult_on <= now:
            raise GuardianConsentEndedError(GUARDIAN_CONSENT_ENDED.format(subject=self.subject.strip(),
                                                                          day=local_day(self.adult_on)))
        if expires_at <= now:
            raise ConsentError(f"the consent expired on {local_day(expires_at)}; a new consent is needed")

    def check_consistent(self) -> None:
        """ConsentError unless this record is complete and consistent, whenever it is read: what a record restated
        with its own dates (a rename, a narrowing, the day its subject decides for themself) must be."""
        subject, given_by = _text(self.subject, "the person it is for"), _text(self.given_by, "who gave it")
        _text(self.purpose, "a purpose")
        given_at, expires_at = _aware(self.given_at, "given_at"), _aware(self.expires_at, "expires_at")
        if self.relation not in RELATIONS:
            raise ConsentError(f"the consent's relation must be one of {', '.join(RELATIONS)}; got {self.relation!r}")
        if self.scope not in SCOPES:
            raise ConsentError(f"the consent's scope must be one of {', '.join(SCOPES)}; got {self.scope!r}")
        same_person = same_name(given_by, subject)  # as enrolment and lookups compare names
        if self.subject_is_child and self.relation != "guardian":
            raise ConsentError(CHILD_NEEDS_GUARDIAN.format(subject=subject))
        if self.relation == "self" and not same_person:
            raise ConsentError(f"consent given by {given_by} for {subject} must have relation 'guardian'")
        if self.relation == "guardian" and same_person:
            raise ConsentError("a guardian's consent must come from someone other than the person it is for")
        if expires_at <= given_at:
            raise ConsentError("the consent must expire after it was given")
        if expires_at - given_at > timedelta(days=MAX_CONSENT_DAYS):
            raise ConsentError(CONSENT_TOO_LONG)
        if self.adult_on is not None:
            _aware(self.adult_on, "adult_on")
            if self.relation != "guardian":
                raise ConsentError(ADULT_ON_NEEDS_GUARDIAN.format(subject=subject))

    def to_details(self) -> dict[str, Any]:
        return {
            "subject": self.subject, "given_by": self.given_by, "relation": self.relation, "purpose": self.purpose,
            "scope": self.scope, "given_at": self.given_at.isoformat(), "expires_at": self.expires_at.isoformat(),
            "subject_is_child": self.subject_is_child,
        } | ({"adult_on": self.adult_on.isoformat()} if self.adult_on is not None else {})

    @classmethod
    def from_details(cls, details: dict[str, Any]) -> ConsentRecord:
        return cls(subject=details["subject"], given_by=details["given_by"], relation=details["relation"],
                   purpose=details["purpose"], scope=details["scope"],
                   given_at=datetime.fromisoformat(details["given_at"]),
                   expires_at=datetime.fromisoformat(details["expires_at"]),
                   subject_is_child=bool(details["subject_is_child"]),
                   # Absent from records made before it could be recorded: no day recorded.
                   adult_on=datetime.fromisoformat(details["adult_on"]) if details.get("adult_on") else None)


@dataclass(frozen=True)
class LedgerRow:
    person_id: str
    name: str
    record: ConsentRecord | None
    status: str  # "active", "expired", NOT_YET_IN_FORCE or "missing"


def store_now(store: FamilyStore) -> datetime:
    return datetime.fromtimestamp(store.now(), tz=UTC)


def latest(store: FamilyStore, person_id: str) -> ConsentRecord | None:
    """The consent record that governs this person now (the most recent), or None."""
    entries = store.consents(person_id)
    return ConsentRecord.from_details(entries[-1].details) if entries else None


def status(record: ConsentRecord | None, now: datetime) -> str:
    """"active", "expired", NOT_YET_IN_FORCE (given after `now`: the clock ran ahead when it was recorded) or
    "missing". Only "active" names anyone."""
    if record is None:
        return "missing"
    if record.is_active(now):
        return "active"
    return NOT_YET_IN_FORCE if record.given_at > now + _FUTURE_SKEW else "expired"


def ledger(store: FamilyStore) -> list[LedgerRow]:
    """Every enrolled person with their governing consent and its status."""
    now = store_now(store)
    rows = []
    for person in store.people(errors="skip"):
        record = latest(store, person.id)
        rows.append(LedgerRow(person.id, person.name, record, status(record, now)))
    return rows


# How many days ahead the front ends say that a member's consent ends (ending_soon): the app above its pages,
# `unveil consent list` and `unveil family list` beside the member, `unveil retention sweep` in its report, and the
# daily sweeps of `unveil watch` and `unveil serve` in their log. The first sweep after a consent's last day erases the
# member, and a renewal needs whoever gives it (from the day a child decides for themself, the member in person): two
# weeks lets a household that opens the app once a week see it twice, and reach that person in time. Not a retention
# setting (governance.retention.KINDS): those say how long data is kept, and this keeps and removes nothing. The same
# days ahead they say who the sweep erases as not recognised for the unseen_people period (retention.unseen_soon).
ENDING_NOTICE_DAYS = 14
# When a consent's last day comes (or an unseen member's period runs out), from the user's today, as the lists and the
# app say it ("ends tomorrow").
ENDS_TODAY = "today"
ENDS_TOMORROW = "tomorrow"
ENDS_IN = "in {days} days"


def days_said(days_left: int) -> str:
    """ENDS_TODAY, ENDS_TOMORROW or ENDS_IN for a day `days_left` days from the user's today."""
    return {0: ENDS_TODAY, 1: ENDS_TOMORROW}.get(days_left) or ENDS_IN.format(days=days_left)


@dataclass(frozen=True)
class Ending:
    """A member whose governing consent ends soon (ending_soon)."""

    person_id: str
    name: str  # for the people reading the lists and the app: never logged
    last_day: date  # the consent's last day on the user's calendar (until_day); the next sweep after it erases them
    days_left: int  # from the user's today to last_day: 0 when it ends today
    given_by: str
    # It ends because its subject decides for themself from the day after (ConsentRecord.adult_on): only their own
    # consent can follow it, not the guardian's.
    by_themself: bool

    @property
    def when(self) -> str:
        """ENDS_TODAY, ENDS_TOMORROW or ENDS_IN."""
        return days_said(self.days_left)


def in_force(store: FamilyStore, now: datetime) -> Iterator[tuple[Person, ConsentRecord]]:
    """Each member whose governing consent is in force at `now`, with that consent; members erased while this reads
    the list (a sweep's thread, another session) are passed over."""
    for person in store.people(errors="skip"):
        try:
            record = latest(store, person.id)
        except PersonNotFoundError:
            continue
        if status(record, now) == "active":
            yield person, record


def ending_soon(store: FamilyStore, *, within_days: int = ENDING_NOTICE_DAYS, zone: tzinfo | None = None) -> list[Ending]:
    """Each member whose consent in force ends within `within_days` days of the user's today (in `zone`, None: this
    machine's time zone), soonest first: its last day no later than that many days from today. Nobody while the
    date is not settled (unsettled_date): the clock may then be years off, the sweep erases no one for the date's
    sake, and a renewal is refused, so a day said would be false. A consent not in force (ended, not yet in force,
    missing) is not ending: the lists say what became of it."""
    if unsettled_date(store) is not None:
        return []
    now = store_now(store)
    today = local_day(now, zone)
    endings = []
    for person, record in in_force(store, now):
        last_day = until_day(record, zone)
        # In force, its end is after now; a day before today only where its adult_on is another zone's midnight.
        days_left = max((last_day - today).days, 0)
        if days_left <= within_days:
            endings.append(Ending(person.id, person.name, last_day, days_left, record.given_by,
                                  record.adult_on is not None and record.ends_at == record.adult_on))
    return sorted(endings, key=lambda ending: ending.last_day)


def record_consent(store: FamilyStore, person_id: str, record: ConsentRecord, *, event: str = "consent_granted") -> str:
    """Validate and store a consent record for an enrolled person; logs the event. Returns its id.
    DateInQuestionError, nothing stored, while the date is in question."""
    require_settled_date(store)
    record.validate(now=store_now(store))
    return add_validated(store, person_id, record, event=event)


def add_validated(store: FamilyStore, person_id: str, record: ConsentRecord, *, event: str = "consent_granted") -> str:
    """Store a consent record the caller validated in this same operation (governance.family's
    enrolment checks it once, before any photo is embedded); logs the event. Returns its id."""
    with store.transaction():
        consent_id = store.add_consent(person_id, record.to_details())
        audit_log.record(store, event, person_id=person_id, details={"scope": record.scope, "relation": record.relation})
    return consent_id


def _require_latest(store: FamilyStore, person_id: str) -> ConsentRecord:
    record = latest(store, person_id)
    if record is None:
        raise ConsentError("this person has no consent record to change")
    return record


def renew(store: FamilyStore, person_id: str, *, expires_at: datetime, given_by: str | None = None,
          subject_is_child: bool | None = None) -> ConsentRecord:
    """Extend (or shorten) the governing consent, given now until `expires_at`, by `given_by`: the subject's own
    name makes it their own consent (relation "self"), anyone else's their guardian's. A renewal is a new consent,
    given by whoever gives it now: a guardian other than the first, or a child now an adult renewing it for
    themself (with subject_is_child=False). None keeps what the governing record says (giver and relation, or
    whether the subject is a child); the purpose and the scope stay as agreed, and so does the day the subject
    decides for themself while a guardian gives it (their own consent has none). From that day on, the subject
    renewing it themself is taken to be no longer a child (unless `subject_is_child` says otherwise), and a guardian
    renewing it is refused (GuardianConsentEndedError). The record is validated as a new consent is: ConsentError,
    nothing stored, when for example a child's consent is not a guardian's (CHILD_RENEWS_THEMSELF when it is their
    own), and DateInQuestionError while the date is in question (its given_at would carry the doubtful clock;
    record_consent checks it, under the write lock)."""
    # The governing record is read under the write lock, so that a scope narrowed (or a renewal made) in another
    # session between this read and the write is not undone by a copy of the record from before it.
    with store.transaction():
        record = _require_latest(store, person_id)
        now = store_now(store)
        changes: dict[str, Any] = {"given_at": now, "expires_at": expires_at}
        if given_by is not None:
            giver = given_by.strip() if isinstance(given_by, str) else given_by
            themself = isinstance(giver, str) and same_name(giver, record.subject)
            changes |= {"given_by": record.subject if themself else giver, "relation": "self" if themself else "guardian"}
        if changes.get("relation") == "self":
            changes["adult_on"] = None
            if subject_is_child is None and record.adult_on is not None and record.adult_on <= now:
                subject_is_child = False  # the household recorded that from this day on they decide for themself
        if subject_is_child is not None:
            changes["subject_is_child"] = bool(subject_is_child)
        renewed = replace(record, **changes)
        # A child on record giving it themself has most likely grown up, which is not assumed but said how to record.
        if record.subject_is_child and renewed.subject_is_child and renewed.relation == "self":
            raise ConsentError(CHILD_RENEWS_THEMSELF.format(subject=record.subject))
        record = renewed
        record_consent(store, person_id, record, event="consent_renewed")
    return record


def change_scope(store: FamilyStore, person_id: str, scope: str) -> ConsentRecord:
    """Change what the consent covers. Narrowing it to recognition deletes the person's thumbnails
    in the same transaction. The changed consent is given now, by the store's clock, but while the date is in
    question (unsettled_date) only a narrowing to recognition is made: it gives data up, and is the same consent,
    narrower, with the governing record's own given_at and expires_at (no doubtful date is recorded, and a consent
    ended by that doubtful clock may be narrowed too). Widening it then is DateInQuestionError, nothing changed."""
    with store.transaction():  # read under the write lock, as in renew: another session's renewal is kept
        latest_record = _require_latest(store, person_id)
        unsettled = unsettled_date(store)
        if unsettled is not None:
            if scope != "recognition":
                raise DateInQuestionError(unsettled)
            record = replace(latest_record, scope=scope)
            record.check_consistent()  # the clock says nothing of it
        else:
            now = store_now(store)
            if latest_record.ends_at <= now:  # given now, it would end before it began
                raise ConsentError(SCOPE_OF_ENDED_CONSENT.format(subject=latest_record.subject,
                                                                 ended=until_day(latest_record)))
            record = replace(latest_record, given_at=now, scope=scope)
            record.validate(now=now)
        store.add_consent(person_id, record.to_details())
        removed = 0 if record.allows_thumbnails else store.delete_thumbnails(person_id=person_id)
        audit_log.record(store, "consent_scope_changed", person_id=person_id,
                         details={"scope": scope, "thumbnails_deleted": removed})
    if removed:
        store.scrub()
    return record


def set_adult_on(store: FamilyStore, person_id: str, day: date, zone: tzinfo | None = None) -> ConsentRecord:
    """Record `day` (of the user's calendar in `zone`; None: this machine's) as the day from which the subject of a
    guardian's consent decides for themself: the governing consent is restated with its own dates, giver, purpose
    and scope, and ends at the start of that day if it ran longer (ConsentRecord.ends_at). Audit-logged without the
    day or any name. ConsentError, nothing stored, when the governing consent is the subject's own
    (ADULT_ON_NEEDS_GUARDIAN), the day is not after the user's today by the store's clock (ADULT_ON_NOT_AHEAD) or not
    after the day that consent is dated (ADULT_ON_BEFORE_CONSENT); GuardianConsentEndedError when the day recorded
    before has come (only the subject's own consent follows a guardian's then); DateInQuestionError while the date is
    not settled (unsettled_date): "after today" would be read off a clock that may be years off."""
    with store.transaction():  # read under the write lock, as in renew: another session's renewal is kept
        require_settled_date(store)
        record = _require_latest(store, person_id)
        if record.relation != "guardian":
            raise ConsentError(ADULT_ON_NEEDS_GUARDIAN.format(subject=record.subject))
        now = store_now(store)
        if record.adult_on is not None and record.adult_on <= now:
            raise GuardianConsentEndedError(GUARDIAN_CONSENT_ENDED.format(subject=record.subject,
                                                                          day=local_day(record.adult_on, zone)))
        if day <= local_day(now, zone):
            raise ConsentError(ADULT_ON_NOT_AHEAD.format(subject=record.subject, day=day))
        given = local_day(record.given_at, zone)
        if day <= given:
            raise ConsentError(ADULT_ON_BEFORE_CONSENT.format(subject=record.subject, given=given))
        restated = replace(record, adult_on=start_of_day(day, zone))
        restated.check_consistent()
        store.add_consent(person_id, restated.to_details())
        audit_log.record(store, "consent_adult_on_set", person_id=person_id)
    return restated


def restated_for(record: ConsentRecord, name: str) -> ConsentRecord:
    """The consent `record` restated for its subject under another name (governance.family.rename stores it): the
    same consent, with its own dates, purpose, scope and giver, but given by the subject under their new name where
    they gave it themself. A record keeps the names it was given under; without the restatement, a renewal "by
    themself" under the new name would read as a guardian's (another name than the subject's). ConsentError when the
    restated record is not consistent (a guardian's consent for someone renamed to the guardian's name)."""
    restated = replace(record, subject=name, given_by=name if record.relation == "self" else record.given_by)
    restated.check_consistent()  # the clock says nothing of it
    return restated


def withdraw(store: FamilyStore, person_id: str) -> erasure.ErasureReceipt:
    """Consent withdrawn: erase the person at once (rows deleted, data key destroyed, store scrubbed)."""
    with store.transaction():
        audit_log.record(store, "consent_withdrawn", person_id=person_id)
        receipt = erasure.purge_person(store, person_id, reason="consent withdrawn", scrub=False)
    return replace(receipt, storage_scrubbed=store.scrub())
