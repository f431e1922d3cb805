"""Retention: how long each kind of data is kept, and the sweep that applies it.

Kinds and what N days means for each:
- unseen_people: a person not recognised (nor enrolled) for N days is erased entirely, key destroyed:
  a household member who moved out should not stay recognisable forever. Default 365 days.
- thumbnails: thumbnails older than N days are deleted (the embeddings stay). Default 90 days.
- analyses: saved analysis results older than N days are deleted. Default 30 days.
None means "keep until erased by hand". Independently of any setting, a person whose consent has
expired (or who has no consent record) is always erased: consent is not a retention preference.

The sweep runs at app start and on demand. It is idempotent: a second run finds nothing to remove.
Everything it removes goes in one transaction with its "sweep" audit entry. It first checks the
store (FamilyStore.require_intact): on a damaged store a consent that merely looks missing must not
erase anyone, so it raises StoreDamagedError and removes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

from fer_core import UnveilError
from fer_core.store import FamilyStore
from governance import audit_log, consent, erasure

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
class SweepReport:
    ran_at: str
    removed: dict[str, int]  # what was removed, per reason or kind
    receipts: list[erasure.ErasureReceipt] = field(default_factory=list)
    storage_scrubbed: bool = True

    @property
    def total(self) -> int:
        return sum(self.removed.values())


def sweep(store: FamilyStore) -> SweepReport:
    """Apply consent expiry and the retention policy now (the store's clock) and report what went.
    StoreDamagedError, with nothing removed, when the store fails its integrity checks."""
    now = consent.store_now(store)
    days = policy(store)
    removed = {"consent_expired": 0, "consent_missing": 0, "unseen_people": 0, "thumbnails": 0, "analyses": 0}
    receipts = []
    with store.transaction():
        store.require_intact()
        unseen_before = (now - timedelta(days=days["unseen_people"])).timestamp() if days["unseen_people"] is not None else None
        for person in store.people(errors="skip"):
            record = consent.latest(store, person.id)
            state = consent.status(record, now)
            if state == "expired" and now < record.expires_at:
                continue  # given "in the future": the clock is wrong, which is no reason to erase anyone
            if state != "active":
                reason, key = ("consent expired", "consent_expired") if state == "expired" else ("consent missing", "consent_missing")
            elif unseen_before is not None and person.last_seen_at < unseen_before:
                reason, key = "not seen", "unseen_people"
            else:
                continue
            receipts.append(erasure.purge_person(store, person.id, reason=reason, scrub=False))
            removed[key] += 1
        if days["thumbnails"] is not None:
            removed["thumbnails"] = store.delete_thumbnails(before=(now - timedelta(days=days["thumbnails"])).timestamp())
        if days["analyses"] is not None:
            removed["analyses"] = store.delete_analyses(before=(now - timedelta(days=days["analyses"])).timestamp())
        audit_log.record(store, "sweep", details=removed)
    scrubbed = store.scrub() if any(removed.values()) else True
    receipts = [replace(receipt, storage_scrubbed=scrubbed) for receipt in receipts]
    return SweepReport(now.isoformat(timespec="seconds"), removed, receipts, scrubbed)
