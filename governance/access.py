"""What Unveil holds about one member, for them to see: the right of access (GDPR art. 15).

    held = account(store, "Ana")     # by name or id, as `unveil family rename` and `purge` take them
    held.consents[-1].governs        # True: the latest record is the one in force
    account(store, "Ana", thumbnails=True).thumbnail_images   # for the Family page to draw, nowhere else

Read-only: nothing is written, to the store or anywhere else; what is decrypted stays in memory. Only what is the
member's is gathered: a kept result that names them is given by its date alone (it names others too, and what it
holds of them is not theirs), and the audit entries are the ones made about them (by their id).

Reading an account is not audit-logged. The log records what Unveil does with personal data (stores, changes,
erases it); reads by the household on its own machine are not logged anywhere (`family list`, `audit list`, the
Family page's tables), and the page draws an open account again on every click, which would fill the log with
entries that are themselves about the member. Regimes that log disclosures do so for a controller answering
outsiders; here the household reads its own store.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from fer_core.store import FamilyStore
from governance import audit_log, consent, family
from governance.consent import ConsentRecord

# Recognition is logged as counts for the household (audit_log.record_recognition names no one): what the store
# keeps of a member's recognitions is when they were last seen. Said wherever the account is shown.
RECOGNITIONS_NOT_COUNTED = ("recognitions are counted for the household, not per member (the audit log's recognise "
                            "entries name no one); what is kept of theirs is when they were last seen")


@dataclass(frozen=True)
class ConsentHeld:
    """One consent record of theirs, as it was given (a record keeps the names it was given under)."""

    record: ConsentRecord
    recorded_at: datetime  # when the store took it in
    governs: bool  # the latest record: the one in force or ended (governance.consent.latest)


@dataclass(frozen=True)
class Account:
    """Everything the store holds about one member, and the audit entries made about them."""

    person_id: str
    name: str  # as stored now
    enrolled_at: datetime
    last_seen_at: datetime  # enrolment or last recognition
    consent_status: str  # of the governing record: "active", "expired", consent.NOT_YET_IN_FORCE or "missing"
    consents: tuple[ConsentHeld, ...]  # oldest first
    face_prints: dict[str, int]  # identity model -> how many embeddings of it (never the embeddings)
    thumbnails: int
    kept_results: tuple[datetime, ...]  # when each kept result that names them was kept, oldest first
    audit: tuple[audit_log.ShownEntry, ...]  # oldest first; their name decrypted as `unveil audit list` shows it
    thumbnail_images: tuple[bytes, ...] = ()  # only when asked for (account(thumbnails=True)), to draw them

    @property
    def governing(self) -> ConsentHeld | None:
        return self.consents[-1] if self.consents else None


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def account(store: FamilyStore, who: str, *, thumbnails: bool = False) -> Account:
    """The account of the member with this name or id (governance.family.resolve: PersonNotFoundError or
    AmbiguousNameError otherwise). `thumbnails`: also decrypt their thumbnails, for display only."""
    person = family.resolve(store, who)
    entries = store.consents(person.id)
    consents = tuple(ConsentHeld(ConsentRecord.from_details(entry.details), _utc(entry.recorded_at),
                                 governs=i == len(entries) - 1) for i, entry in enumerate(entries))
    status = consent.status(consents[-1].record if consents else None, consent.store_now(store))
    models = sorted(store.embedding_models().get(person.id, ()))
    face_prints = {model: len(store.embeddings(person.id, model=model)) for model in models}
    kept = tuple(_utc(entry.created_at) for entry in store.analyses() if person.id in entry.person_ids)
    audit = tuple(audit_log.shown_entry(entry) for entry in audit_log.entries(store, person_id=person.id))
    images = tuple(t.image for t in store.thumbnails(person.id)) if thumbnails else ()
    return Account(person.id, person.name, _utc(person.created_at), _utc(person.last_seen_at), status, consents,
                   face_prints, person.thumbnails, kept, audit, images)
