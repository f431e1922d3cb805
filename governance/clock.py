"""The store's clock, and the date question.

The store has no clock but the machine's. A household may leave Unveil for weeks; a clock set years ahead (a flat
clock battery, a wrong time server) looks to the store exactly like years away. So when the clock reads more than
CLOCK_GAP_DAYS after the store's last sealed audit entry, the date is in question: governance.retention's sweep
removes nothing for the date's sake until someone confirms it, and governance.consent records no consent dated by it
(a renewal, a widening of scope, an enrolment's consent) until then; a narrowing keeps its consent's own dates.

Here only what both need: when the store was last used, and whether the clock reads far past it. Neither imports
anything of governance but the store, so that consent and retention can both use it.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from fer_core.store import AuditEntry, FamilyStore

CLOCK_GAP_DAYS = 30
GAP_S = timedelta(days=CLOCK_GAP_DAYS).total_seconds()
# Audit events that hold the question open and close it.
DATE_EVENTS = ("date_unconfirmed", "date_confirmed", "date_restored")


def open_question(store: FamilyStore) -> AuditEntry | None:
    """The date_unconfirmed entry of a question neither answered nor closed by the clock coming back, or None."""
    entry = store.latest_sealed_audit(DATE_EVENTS)
    return entry if entry is not None and entry.event == "date_unconfirmed" else None


def last_use_before_a_gap(store: FamilyStore, now: datetime, question: AuditEntry | None) -> float | None:
    """When the store was last used (POSIX seconds), if the clock now reads more than CLOCK_GAP_DAYS after it;
    else None. Once a sweep has asked for the date (`question`, its open date_unconfirmed entry), the use before that
    jump stays the reference until the date is confirmed (the entries written since carry the jumped clock), or until
    the clock reads near it again."""
    last = float(question.details["last_used"]) if question is not None else last_use(store)
    if last is None:
        return None
    return last if now.timestamp() - last > GAP_S else None


def last_use(store: FamilyStore) -> float | None:
    """The newest sealed entry's time, leaving out those written after a jump of more than CLOCK_GAP_DAYS since the
    last sweep: `unveil watch`, `unveil serve` and the CLI write entries without sweeping, and entries written on a
    jumped clock before any sweep saw it would otherwise make the jump look like a recent use."""
    swept = store.latest_sealed_audit(("sweep",))  # with no question open, the last sweep accepted its clock
    last = None
    for ts in store.sealed_audit_times(since=0 if swept is None else swept.seq):
        if last is not None and ts - last > GAP_S:
            break
        last = ts if last is None else max(last, ts)
    return last


def newest_use(store: FamilyStore) -> float | None:
    """The latest time a sealed entry carries since the date was last confirmed (date_confirmed: the user vouched
    for the clock then), or None. A clock reading far before it was set back, or the log's was ahead."""
    confirmed = store.latest_sealed_audit(("date_confirmed",))
    return store.newest_sealed_audit_time(since=0 if confirmed is None else confirmed.seq)


def behind(store: FamilyStore, now: datetime) -> float | None:
    """`newest_use` when the clock now reads more than CLOCK_GAP_DAYS before it (a clock reset far back), else None.
    Not a date question for the sweep, which removes nothing early on such a clock; but what it dates (a consent
    given now) would be dated that far back."""
    newest = newest_use(store)
    return newest if newest is not None and now.timestamp() < newest - GAP_S else None


def in_question(store: FamilyStore, now: datetime) -> bool:
    """Whether the date is in question now: the clock reads more than CLOCK_GAP_DAYS after the store's last use (or
    after the use an open question refers to). What a sweep would not remove for the date's sake without
    date_confirmed; `unveil retention sweep --date-is-right` (or the app's button) settles it, as does the clock
    reading near that use again. A sweep with nothing waiting settles it too, taking the clock as it is."""
    return last_use_before_a_gap(store, now, open_question(store)) is not None
