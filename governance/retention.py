"""Retention: how long each kind of data is kept, and the sweep that applies it.

Kinds and what N days means for each:
- unseen_people: a person not recognised (nor enrolled) for N days is erased entirely, key destroyed:
  a household member who moved out should not stay recognisable forever. Default 365 days. The days count only
  while the installed identity model can name them (_unseen_since).
- thumbnails: thumbnails older than N days are deleted (the embeddings stay). Default 90 days.
- analyses: saved analysis results older than N days are deleted. Default 30 days.
None means "keep until erased by hand". Independently of any setting, a person whose consent has
expired (or who has no consent record) is always erased: consent is not a retention preference.

The sweep runs when the app unlocks the store, on demand, and in `unveil watch` and `unveil serve` when they start and
once a day (governance.scheduled_sweeps). It is idempotent: a second run finds nothing to remove.
Its report names each member it erased (SweepReport.names, read while the store is unlocked, before the erasure), so
that the household can tell who went; the names stay in memory: the audit log keeps ids and counts only.
Everything it removes goes in one transaction with its "sweep" audit entry. It first checks the
store (FamilyStore.intact_transaction, require_intact's checks): on a damaged store a consent that merely looks missing must not
erase anyone, so it raises StoreDamagedError and removes nothing. A clock far ahead of the store's last
use is damage of the same kind: what only the date would remove waits until the date is confirmed
(CLOCK_GAP_DAYS).
unseen_soon says, consent.ENDING_NOTICE_DAYS days ahead, whom the sweep erases for not being recognised, as
consent.ending_soon does for consents that end: the front ends warn of both.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import NamedTuple

from fer_core import UnveilError
from fer_core.identity import installed_model_name
from fer_core.model_files import identity_model_name
from fer_core.store import FamilyStore, Person
from governance import audit_log, clock, consent, erasure
from governance.consent import local_day

KINDS: dict[str, str] = {
    "unseen_people": "people not recognised for N days are erased (key destroyed)",
    "thumbnails": "thumbnails older than N days are deleted",
    "analyses": "saved analysis results older than N days are deleted",
}
DEFAULT_DAYS: dict[str, int | None] = {"unseen_people": 365, "thumbnails": 90, "analyses": 30}
# The longest retention period: 100 years (the app's limit too); beyond that is what None ("off") is for.
# It keeps the sweep's cut-off dates far from datetime's year 1.
MAX_DAYS = 36_500
DAYS_TOO_MANY = "retention of {kind}: at most {maximum:,} days, or None to keep it until erased by hand; got {days}"
UNSEEN_PEOPLE_ZERO = ("retention of unseen_people: at least 1 day (0 would erase every member at the next sweep), "
                      "or None to keep members until erased by hand")
STORED_DAYS_TOO_MANY = ("the stored retention of {kind} is {days} days, more than {maximum:,}: set it again "
                        "(unveil retention set); nothing was removed")


# The store has no clock but the machine's (governance.clock). When the clock reads more than CLOCK_GAP_DAYS after the
# store's last sealed audit entry, what only the passing of time would remove (ended consents, unseen members, old
# thumbnails and analyses) waits until someone confirms the date (sweep(date_confirmed=True)). Meanwhile members whose
# consent has ended are not named (family.gallery names consents in force only), and a member without any consent
# record is still erased.
CLOCK_GAP_DAYS = clock.CLOCK_GAP_DAYS
DATE_UNCONFIRMED = ("The clock reads {now}, {days:,} days after this store was last used ({last}), so nothing was "
                    "removed because of the date. If the date is right, confirm it and the sweep removes {waiting}. "
                    "Until then members whose consent has ended are not named.")
# What a sweep removes, per report key, in words (one, many).
REMOVAL_WORDS: dict[str, tuple[str, str]] = {
    "consent_expired": ("member whose consent expired", "members whose consent expired"),
    "consent_missing": ("member without a consent record", "members without a consent record"),
    "unseen_people": ("member not seen for too long", "members not seen for too long"),
    "thumbnails": ("thumbnail", "thumbnails"),
    "analyses": ("kept result", "kept results"),
}


class RetentionError(UnveilError, ValueError):
    """An unknown retention kind, or a number of days out of range."""


def policy(store: FamilyStore) -> dict[str, int | None]:
    """Days kept per kind: the stored settings over the defaults. RetentionError for a stored value
    above MAX_DAYS (set before it was checked), with which every sweep would fail."""
    stored = store.retention_settings()
    days = {kind: stored.get(kind, DEFAULT_DAYS[kind]) for kind in KINDS}
    for kind, value in days.items():
        if value is not None and value > MAX_DAYS:
            raise RetentionError(STORED_DAYS_TOO_MANY.format(kind=kind, days=value, maximum=MAX_DAYS))
    return days


def set_policy(store: FamilyStore, kind: str, days: int | None) -> None:
    """Keep data of `kind` for `days` days (0 to MAX_DAYS, unseen_people from 1; None: until erased by
    hand). Logged."""
    if kind not in KINDS:
        raise RetentionError(f"unknown retention kind {kind!r}; kinds: {', '.join(KINDS)}")
    if isinstance(days, int) and days > MAX_DAYS:  # the store refuses what is not a whole number >= 0
        raise RetentionError(DAYS_TOO_MANY.format(kind=kind, maximum=MAX_DAYS, days=days))
    if kind == "unseen_people" and days == 0:
        raise RetentionError(UNSEEN_PEOPLE_ZERO)
    with store.transaction():
        store.set_retention(kind, days)
        audit_log.record(store, "retention_change", details={"kind": kind, "days": days})


@dataclass(frozen=True)
class DateCheck:
    """A sweep that waits for the date to be confirmed: when the store was last used before the clock's jump, the
    clock now (both ISO, UTC), and what a confirmed sweep would remove, per reason or kind (thumbnails and kept
    results past their retention, counting those that would go with a member)."""

    last_used_at: str
    now: str
    waiting: dict[str, int]

    def text(self, zone: tzinfo | None = None) -> str:
        """DATE_UNCONFIRMED filled in: the two dates, as days of the user's calendar in `zone` (None: this machine's;
        "the clock reads" the date the household's clock shows, not UTC's), the days between them on that calendar
        (not whole 24 hours, which said "44 days" between dates 45 days apart when the clock read an earlier hour
        than the last use), what waits in words."""
        waiting = ", ".join(f"{count:,} {REMOVAL_WORDS[kind][count != 1]}" for kind, count in self.waiting.items() if count)
        now = local_day(datetime.fromisoformat(self.now), zone)
        last = local_day(datetime.fromisoformat(self.last_used_at), zone)
        return DATE_UNCONFIRMED.format(now=now, days=(now - last).days, last=last, waiting=waiting)


@dataclass(frozen=True)
class SweepReport:
    ran_at: str
    removed: dict[str, int]  # what was removed, per reason or kind
    receipts: list[erasure.ErasureReceipt] = field(default_factory=list)
    storage_scrubbed: bool = True
    date_check: DateCheck | None = None  # set when removals wait for the date to be confirmed
    clamped: dict[str, int] = field(default_factory=dict)  # stamps later than now set to now, per kind (CLAMPED_KINDS)
    # Each erased member's name by id, read before the erasure: for the people reading the report (the app, the
    # terminal), never written anywhere. A member whose name could not be read is not in it (named_receipts).
    names: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def total(self) -> int:
        return sum(self.removed.values())

    def named_receipts(self) -> list[tuple[str | None, erasure.ErasureReceipt]]:
        """(the member's name, or None where it could not be read, receipt) for each member erased."""
        return [(self.names.get(receipt.subject), receipt) for receipt in self.receipts]


def sweep(store: FamilyStore, *, date_confirmed: bool = False) -> SweepReport:
    """Apply consent expiry and the retention policy now (the store's clock) and report what went.
    StoreDamagedError, with nothing removed, when the store fails its integrity checks. When the clock reads more
    than CLOCK_GAP_DAYS after the store's last use, only members without a consent record go, and the report's
    date_check says what waits, unless `date_confirmed` (the user says the date is right)."""
    now = consent.store_now(store)
    days = policy(store)
    removed = dict.fromkeys(("consent_expired", "consent_missing", "unseen_people", "thumbnails", "analyses"), 0)
    receipts, names, date_check = [], {}, None
    with store.intact_transaction():
        doomed = _doomed_people(store, now, days["unseen_people"])
        cutoffs = _cutoffs(now, days)
        question = clock.open_question(store)
        last_used = clock.last_use_before_a_gap(store, now, question)
        reference = float(question.details["last_used"]) if question is not None else clock.newest_use(store)
        if question is not None and last_used is None:  # the clock reads near the last use again: no more question
            audit_log.record(store, "date_restored", details={"last_used": question.details["last_used"]})
        waiting = {} if last_used is None else _waiting(store, doomed, cutoffs)
        # A jump that removes nothing asks nothing; an answer closes an open question even when nothing waits any
        # more (a consent renewed meanwhile), or the question stayed open and was asked again once something was due.
        if last_used is not None and date_confirmed and (question is not None or any(waiting.values())):
            audit_log.record(store, "date_confirmed", details={"last_used": last_used})
        elif last_used is not None and any(waiting.values()):
            date_check = DateCheck(_iso(datetime.fromtimestamp(last_used, UTC)), _iso(now), waiting)
            if question is None:
                audit_log.record(store, "date_unconfirmed", details={"last_used": last_used, **waiting})
            doomed = [item for item in doomed if item.key == "consent_missing"]
            cutoffs = {}
        elif date_confirmed and clock.behind(store, now) is not None:  # vouched for: consents may be dated by it
            audit_log.record(store, "date_confirmed", details={"last_used": reference})
        for person_id, reason, key, name in doomed:
            names[person_id] = name  # read before the erasure, which destroys the key that decrypts it
            receipts.append(erasure.purge_person(store, person_id, reason=reason, scrub=False))
            removed[key] += 1
        if "thumbnails" in cutoffs:
            removed["thumbnails"] = store.delete_thumbnails(before=cutoffs["thumbnails"])
        if "analyses" in cutoffs:
            removed["analyses"] = store.delete_analyses(before=cutoffs["analyses"])
        clamped = {}
        if _clock_settled(now, last_used, reference, date_confirmed=date_confirmed):
            clamped = store.clamp_future_times(now.timestamp())
            if any(clamped.values()):
                audit_log.record(store, "times_clamped", details=clamped)
        audit_log.record(store, "sweep", details=removed)
    scrubbed = store.scrub() if any(removed.values()) else True
    receipts = [replace(receipt, storage_scrubbed=scrubbed) for receipt in receipts]
    return SweepReport(_iso(now), removed, receipts, scrubbed, date_check, clamped, names)


def date_check(store: FamilyStore) -> DateCheck | None:
    """What a sweep would wait on now for the date to be confirmed, or None: the DateCheck a sweep would report,
    computed again without writing or removing anything. A sweep's own DateCheck says what waited then; after a
    member is erased, renewed or re-embedded, this says what waits now."""
    now = consent.store_now(store)
    last_used = clock.last_use_before_a_gap(store, now, clock.open_question(store))
    if last_used is None:
        return None
    days = policy(store)
    waiting = _waiting(store, _doomed_people(store, now, days["unseen_people"]), _cutoffs(now, days))
    return DateCheck(_iso(datetime.fromtimestamp(last_used, UTC)), _iso(now), waiting) if any(waiting.values()) else None


@dataclass(frozen=True)
class Unseen:
    """A member the sweep erases soon for not being recognised for the unseen_people period (unseen_soon)."""

    person_id: str
    name: str  # for the people reading the lists and the app: never logged
    # When they were last recognised (or enrolled, or first given face prints of the installed identity model: see
    # _unseen_since), on the user's calendar.
    last_seen: date
    # The day the period runs out, on the user's calendar: the first sweep after that day's hour of last_seen erases them.
    erased_from: date
    days_left: int  # from the user's today to erased_from: 0 when it is today
    period_days: int  # the unseen_people period

    @property
    def when(self) -> str:
        """consent.ENDS_TODAY, ENDS_TOMORROW or ENDS_IN."""
        return consent.days_said(self.days_left)


def unseen_soon(store: FamilyStore, *, within_days: int = consent.ENDING_NOTICE_DAYS,
                zone: tzinfo | None = None) -> list[Unseen]:
    """Each member whose unseen_people period runs out within `within_days` days of the user's today (in `zone`, None:
    this machine's time zone), soonest first: not recognised since, the next sweep after it erases them (see
    _doomed_people). Being recognised again starts the period afresh (family.note_recognition). Nobody the installed
    identity model cannot name, whose period does not run (_unseen_since). Nobody when the
    period is off, nor while the date is not settled (consent.unsettled_date: the sweep then erases no one for the
    date's sake, as for consent.ending_soon), nor where the consent is not in force: an ended or missing one erases
    them first (consent.ending_soon and the lists say so), and one not yet in force keeps them from any erasure."""
    if consent.unsettled_date(store) is not None:
        return []
    try:
        period = policy(store)["unseen_people"]
    except RetentionError:  # a stored period every sweep refuses: it erases no one until the period is set again
        return []
    if period is None:
        return []
    now = consent.store_now(store)
    today = local_day(now, zone)
    since = _unseen_since(store)
    unseen = []
    for person, _record in consent.in_force(store, now):
        if (started := since(person)) is None:  # the installed identity model cannot name them: no period runs
            continue
        seen = datetime.fromtimestamp(started, UTC)
        erased_from = local_day(seen + timedelta(days=period), zone)
        days_left = max((erased_from - today).days, 0)  # past and not yet swept: the next sweep, today
        if days_left <= within_days:
            unseen.append(Unseen(person.id, person.name, local_day(seen, zone), erased_from, days_left, period))
    return sorted(unseen, key=lambda member: member.erased_from)


def _cutoffs(now: datetime, days: dict[str, int | None]) -> dict[str, float]:
    """The time before which thumbnails and kept results go, per kind with a retention period."""
    return {kind: (now - timedelta(days=days[kind])).timestamp()
            for kind in ("thumbnails", "analyses") if days[kind] is not None}


# Data stamped while the clock ran ahead (kept results, thumbnails, embeddings, members' "enrolled" and "last seen")
# keeps its future times once the clock is put right, and would outlive its retention by the size of the jump. A time
# later than now is impossible, so a sweep sets such times to now (store.clamp_future_times): they then live at most
# their retention from now. Clamping only ever moves a time back to now, so it deletes nothing in that sweep.
# But it must trust now: a clock reset far back (a flat battery, a machine without a network booting in 1970) would
# otherwise date the whole household then, and once the clock was right again, confirming the date would erase them as
# unseen for years. So a sweep clamps when the date is confirmed (`date_confirmed`: the user vouches for the clock,
# also after a jump back), or when the clock is not in question and reads no more than CLOCK_GAP_DAYS before the store's
# last use (the latest time of a sealed entry, or the use an open question refers to: its restoring sweep clamps what was
# stamped on the jumped clock). A jump back of more than that waits for `unveil retention sweep --date-is-right`.
# Consents are left out: a consent's given_at is part of the sealed, append-only record of what was agreed, and setting
# a future given_at to now would put in force, without anyone renewing it, a consent the store treats as not yet in
# force (and for longer than agreed, its end having been reckoned on the jumped clock). It stays "not yet in force",
# named by no one, until its date comes or it is renewed on the right clock.
CLAMPED_KINDS = ("people", "embeddings", "thumbnails", "analyses")


def _clock_settled(now: datetime, last_used: float | None, reference: float | None, *, date_confirmed: bool) -> bool:
    """Whether this sweep may clamp future times to `now` (see CLAMPED_KINDS)."""
    if date_confirmed:
        return True
    return last_used is None and (reference is None or now.timestamp() >= reference - clock.GAP_S)


def _waiting(store: FamilyStore, doomed: list[_Doomed], cutoffs: dict[str, float]) -> dict[str, int]:
    """What only the date removes in this sweep, per reason or kind: the DateCheck's counts."""
    waiting = {key: sum(1 for item in doomed if item.key == key) for key in ("consent_expired", "unseen_people")}
    return waiting | {kind: store.count_older(kind, before=cutoff) for kind, cutoff in cutoffs.items()}


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


class _Doomed(NamedTuple):
    person_id: str
    reason: str  # the receipt's reason (erasure.REASONS)
    key: str  # the report's key (REMOVAL_WORDS)
    name: str  # for the report only, never logged


def _doomed_people(store: FamilyStore, now: datetime, unseen_days: int | None) -> list[_Doomed]:
    """Each member the sweep erases now: id, receipt reason, report key and name."""
    unseen_before = (now - timedelta(days=unseen_days)).timestamp() if unseen_days is not None else None
    since = _unseen_since(store)
    doomed = []
    for person in store.people(errors="skip"):
        record = consent.latest(store, person.id)
        state = consent.status(record, now)
        if state == consent.NOT_YET_IN_FORCE:
            continue  # given "in the future": the clock is wrong, which is no reason to erase anyone
        if state == "expired":
            doomed.append(_Doomed(person.id, "consent expired", "consent_expired", person.name))
        elif state == "missing":
            doomed.append(_Doomed(person.id, "consent missing", "consent_missing", person.name))
        elif unseen_before is not None and (started := since(person)) is not None and started < unseen_before:
            doomed.append(_Doomed(person.id, "not seen", "unseen_people", person.name))
    return doomed


# Recognition names a member with face prints of the installed identity model only (family.gallery), so a member whose
# prints were all made by another model (enrolled before an identity model change: family.MUST_REENROL) is recognised
# nowhere, present or not. Not recognising them says nothing of their absence, and erasing them as unseen would be
# the model change erasing them, which the household may not have chosen (an update changing the default model).
# Their unseen_people period does not run until they have prints of the installed model (made from their thumbnails
# or new photos: family.reembed_from_thumbnails, reembed_from_photos), then counts from the first of those, as from an
# enrolment; more prints later do not count, as more photos of a member do not. Meanwhile their consent's end still
# erases them, and the Family page and `unveil family list` say they are not recognised and what to do.
def _unseen_since(store: FamilyStore) -> Callable[[Person], float | None]:
    """For a member: when their unseen_people period started (POSIX seconds), the later of their last recognition
    (or enrolment) and their first face print of the installed identity model; None while they have none."""
    # The name its embeddings are stored under (fer_core.identity.stored_name: a new version of the file is another
    # model); the file name, as it was before versions counted, when the file is missing or does not load.
    nameable_from = store.first_embedded(installed_model_name() or identity_model_name())

    def since(person: Person) -> float | None:
        first = nameable_from.get(person.id)
        return None if first is None else max(person.last_seen_at, first)

    return since
