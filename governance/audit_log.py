"""The audit log: what Unveil records about its own use of personal data, and checking it.

The hash chain itself lives in the store (fer_core.store), because an entry must be written in the
same transaction as the change it records (an enrolment and its "enrol" entry commit together or not
at all) and because the store logs failed unlocks itself. This module fixes the vocabulary, makes
sure only counts and opaque ids go in, and turns entries and verification results into text.

What an entry may hold: the event, the time, a person's random id, that person's name sealed under
their own data key (so it is unreadable once they are erased), and flat counts or kinds. Never an
image, an embedding, a passphrase, or a readable name.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from fer_core.store import AuditEntry, AuditVerification, FamilyStore

# Every event Unveil writes, with what it means.
EVENTS: dict[str, str] = {
    "store_created": "the encrypted store was created",
    "unlock_failed": "someone tried to unlock the store with a wrong passphrase or key file",
    "key_change": "the passphrase or key file was set or replaced (no data re-encrypted), or the master key was "
                  "rotated (every data key re-wrapped)",
    "enrol": "a person was enrolled (counts of embeddings and thumbnails stored; not_the_same_person: their photos "
             "looked like a member already enrolled, and the user said they are someone else)",
    "embeddings_added": "more embeddings were stored for an enrolled person (not_the_same_person: new photos of "
                        "them looked like another member, and the user said they are someone else)",
    "renamed": "an enrolled person was given another name (their governing consent restated under it; neither name "
               "in the details)",
    "recognise": "faces were compared against the family gallery (counts only, never images; period_s: the seconds "
                 "the counts were summed over)",
    "consent_granted": "a consent record was stored",
    "consent_renewed": "a consent record was extended",
    "consent_scope_changed": "a consent's scope was changed",
    "consent_adult_on_set": "the day from which a person decides for themself was recorded on their guardian's consent "
                            "(nothing of the day, a date tied to a person; only that it is later, as a day that has "
                            "come is refused)",
    "consent_withdrawn": "consent was withdrawn; the person's data was erased at once",
    "purge": "a person was erased and their data key destroyed (receipt hash in details)",
    "erase_all": "everything was erased; the log restarts here (receipt hash in details)",
    "retention_change": "a retention period was changed",
    "sweep": "the retention policy was applied (counts removed per kind)",
    "date_unconfirmed": "the clock read far past the store's last use: what only the date would remove waits until "
                        "the date is confirmed (the last use's time, counts waiting per kind)",
    "date_confirmed": "the user confirmed the date after such a jump; the sweep then applied retention",
    "date_restored": "the clock read near the store's last use again after such a jump: the question was closed "
                     "unanswered, and the sweep applied retention",
    "times_clamped": "times later than the clock's now (stamped while it ran ahead) were set to now, so that retention "
                     "counts from now; counts per kind only, nothing deleted",
    "analysis_kept": "an analysis result was kept in the store at the user's request (counts only)",
    "analysis_deleted": "a kept analysis result was deleted at the user's request",
    "backup": "a backup of the store was written to a new folder (counts of what it holds; never names, nor where); "
              "erasure cannot reach it",
    "store_set_aside": "the passphrase of the store before this one was forgotten: that store was set aside unopened "
                       "in the data folder and this one made (its id and counts, the backups and failed unlocks its log "
                       "records, as its files say without the key)",
    "old_store_destroyed": "a store set aside in the data folder was deleted on request (its id and counts, as in "
                           "store_set_aside)",
    "store_restored": "the store was restored from a backup into this data folder, the copy checked first (counts of "
                      "what it holds; never where it came from)",
}


UNANCHORED_NOTE = ("not anchored in keys.db (a store from before anchors), so a cut of the whole log together with its "
                   "heads cannot be ruled out until the next entry anchors it")


def record(store: FamilyStore, event: str, *, person_id: str | None = None,
           details: Mapping[str, str | int | float | bool | None] | None = None) -> int:
    """Append one entry (inside the caller's transaction, if any) and return its sequence number."""
    if event not in EVENTS:
        raise ValueError(f"unknown audit event {event!r}; known events: {', '.join(sorted(EVENTS))}")
    return store.append_audit(event, person_id=person_id, details=details)


def record_recognition(store: FamilyStore, *, faces: int, named: int, period_s: int | None = None) -> int:
    """Log that `faces` faces were compared and `named` of them matched a family member. Counts only:
    no image, no embedding, not even who was recognised. `period_s`: the seconds these counts were summed over
    (governance.recognition_tally), from the first recognition to this entry; entries without it count one photo or
    one appearance."""
    if not (isinstance(faces, int) and isinstance(named, int) and 0 <= named <= faces):
        raise ValueError(f"need 0 <= named <= faces, got faces={faces!r}, named={named!r}")
    details: dict[str, int] = {"faces": faces, "named": named, "unknown": faces - named}
    if period_s is not None:
        if not (isinstance(period_s, int) and not isinstance(period_s, bool) and period_s >= 0):
            raise ValueError(f"need a whole number of seconds period_s >= 0, got {period_s!r}")
        details["period_s"] = period_s
    return record(store, "recognise", details=details)


def verify(store: FamilyStore) -> AuditVerification:
    """Check every link of the chain (and, when the store is unlocked, every entry's MAC)."""
    return store.verify_audit()


def describe(result: AuditVerification) -> str:
    """One line a person can read."""
    checked = "hash chain and seals verified" if result.sealed else "hash chain verified (unlock to check the seals too)"
    if result.ok and not result.anchored:
        return f"audit log intact: {result.entries} entries, {checked}; {UNANCHORED_NOTE}"
    if result.ok:
        return f"audit log intact: {result.entries} entries, {checked}"
    return f"audit log BROKEN at entry {result.first_broken}: {result.reason}"


def entries(store: FamilyStore, *, newest: int | None = None, person_id: str | None = None) -> list[AuditEntry]:
    """The log, oldest first; with `newest`, only that many of its latest entries; with `person_id`, only the
    entries about that person."""
    return store.audit_entries(newest=newest, person_id=person_id)


@dataclass(frozen=True)
class ShownEntry:
    """An audit entry as a person reads it: the same fields in `unveil audit log`'s lines and the app's
    table. `time` is UTC; `who` is "-" for an entry about no person; `details` lists key=value pairs."""

    seq: int
    time: str
    event: str
    who: str
    details: str


def shown_entry(entry: AuditEntry) -> ShownEntry:
    """What is shown of `entry`: who is the name while the person is enrolled and the store unlocked;
    otherwise the first characters of their random id, after "[erased]" once their key is destroyed
    (or "[locked]", "[damaged]")."""
    if entry.person_id is None:
        who = "-"
    elif entry.name_status == "shown":
        who = entry.name
    elif entry.name_status == "none":  # an entry written after the person's rows were gone
        who = entry.person_id[:8]
    else:
        who = f"[{entry.name_status}] {entry.person_id[:8]}"
    return ShownEntry(
        seq=entry.seq,
        time=datetime.fromtimestamp(entry.ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        event=entry.event,
        who=who,
        details=", ".join(f"{k}={v}" for k, v in sorted(entry.details.items())),
    )


def format_entry(entry: AuditEntry) -> str:
    """`seq  time  event  who  details` on one line (shown_entry's fields)."""
    shown = shown_entry(entry)
    return f"{shown.seq:>5}  {shown.time}  {shown.event:<22} {shown.who:<28} {shown.details}".rstrip()
