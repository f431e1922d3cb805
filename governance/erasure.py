"""Provable erasure: purge one person, or everything, and hand back a receipt.

Purging a person deletes their rows (name, embeddings, thumbnails, consent records, saved analyses
that name them) and destroys their data key, and the own key of each of those analyses and of each
thumbnail, once that deletion commits. Copies of their ciphertexts
that live on elsewhere (a backup of unveil.db) can then never be decrypted, not even with the
passphrase: that is crypto-shredding. The store is then checkpointed and vacuumed so freed pages and
the WAL keep no old bytes.

The receipt says what kinds of data went and how many records, when, and why, with a SHA-256 over
exactly those fields. The same hash goes into the "purge" audit entry, written in the same
transaction as the deletion, so a receipt can later be matched to the tamper-evident log: governance.receipts
checks one handed back (`unveil audit receipt FILE`, the app's Governance page).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from fer_core.store import AuditEntry, FamilyStore
from governance import audit_log

EVERYTHING = "everything"
# Why data was erased. The reason is written to the audit log in clear, so it is one of these short
# categories, never free text that could carry a name.
REASONS = ("request", "consent withdrawn", "consent expired", "consent missing", "not seen", "everything")


# Said in every receipt's JSON (not part of its digest): what it speaks for, what it cannot reach, how to check it.
ABOUT_FIELD = "about"
ABOUT = ("Deletion receipt of an Unveil family store: the member whose random id is the subject (a receipt holds "
         "no name), or every member for \"everything\", was erased from that store and their data key destroyed. It "
         "speaks for that store only: backups made before the erasure still hold what they held, and so do results "
         "downloaded from the app, `unveil watch --jsonl` lines, MQTT messages and Home Assistant's history that named "
         "them before it. Check it against the store with `unveil audit receipt FILE` or the app's Governance page.")


@dataclass(frozen=True)
class ErasureReceipt:
    subject: str  # the erased person's random id, or "everything"
    reason: str
    erased_at: str  # ISO 8601, UTC
    records: dict[str, int]  # kind of data -> records removed
    digest: str  # SHA-256 (hex) of subject, reason, erased_at and records, canonical JSON
    audit_seq: int  # the audit entry that holds this digest
    # Whether the checkpoint + VACUUM ran to the end and the destroyed key is gone from keys.db's files.
    # Not part of the digest: it is known only after the deletion (and its audit entry) committed.
    # False means another session's open read, or a full disk, delayed it: the rows are deleted either
    # way, the store keeps a note, and the next open finishes the scrub (see SCRUB_PENDING_NOTE).
    storage_scrubbed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def file_name(self) -> str:
        """A file name of its own: when, and whose (the id's first characters, never a name)."""
        when = datetime.fromisoformat(self.erased_at).strftime("%Y%m%d-%H%M%S")
        return f"unveil_deletion_receipt_{when}_{self.subject[:8]}.json"

    def to_json(self) -> str:
        """The receipt as the person gets it: its fields, and ABOUT under ABOUT_FIELD for whoever reads it later."""
        return json.dumps({**self.to_dict(), ABOUT_FIELD: ABOUT}, indent=2, sort_keys=True)


SCRUB_PENDING_NOTE = ("note: the erasure is committed (receipt above, also in audit entry {seq}), but old bytes, "
                      "possibly the destroyed data key, are still in the store's files because another session was "
                      "reading or the disk is full. They are wiped the next time the store is opened; close other "
                      "Unveil sessions (or free disk space) and run `unveil family check` to finish it now")


def receipt_digest(subject: str, reason: str, erased_at: str, records: dict[str, int]) -> str:
    body = json.dumps({"subject": subject, "reason": reason, "erased_at": erased_at, "records": records},
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds")


def _check_reason(reason: str) -> str:
    if reason not in REASONS:
        raise ValueError(f"unknown erasure reason {reason!r}; use one of: {', '.join(REASONS)}")
    return reason


def purge_person(store: FamilyStore, person_id: str, *, reason: str = "request", scrub: bool = True) -> ErasureReceipt:
    """Erase one person (all or nothing) and return the receipt. With scrub=False the caller scrubs
    later (several purges in one transaction scrub once)."""
    reason = _check_reason(reason)
    with store.transaction():
        erased_at = _iso(store.now())
        records = store.delete_person(person_id)
        digest = receipt_digest(person_id, reason, erased_at, records)
        seq = audit_log.record(store, "purge", person_id=person_id,
                               details={"reason": reason, "receipt": digest, **records})
    receipt = ErasureReceipt(person_id, reason, erased_at, records, digest, seq)
    return replace(receipt, storage_scrubbed=store.scrub()) if scrub else receipt


def erase_everything(store: FamilyStore) -> ErasureReceipt:
    """Delete every person, saved analysis and audit entry and destroy every data key, leaving an
    empty store that the same passphrase still opens. The new audit log starts with this receipt."""
    with store.transaction():
        erased_at = _iso(store.now())
        records = store.delete_everything()
        digest = receipt_digest(EVERYTHING, "everything", erased_at, records)
        seq = audit_log.record(store, "erase_all", details={"reason": "everything", "receipt": digest, **records})
    receipt = ErasureReceipt(EVERYTHING, "everything", erased_at, records, digest, seq)
    return replace(receipt, storage_scrubbed=store.scrub())


def logged_entry(store: FamilyStore, receipt: ErasureReceipt) -> AuditEntry | None:
    """The audit entry the receipt names (audit_seq), when the receipt's fields hash to its digest and that entry
    holds the digest; else None. Whether the log itself is intact is store.verify_audit()'s to say."""
    if receipt_digest(receipt.subject, receipt.reason, receipt.erased_at, receipt.records) != receipt.digest:
        return None
    about = None if receipt.subject == EVERYTHING else receipt.subject
    entry = next((e for e in store.audit_entries(person_id=about) if e.seq == receipt.audit_seq), None)
    return entry if entry is not None and entry.details.get("receipt") == receipt.digest else None


def receipt_is_logged(store: FamilyStore, receipt: ErasureReceipt) -> bool:
    """True when the receipt's fields hash to its digest, the audit entry it names holds that digest,
    and the audit chain verifies."""
    return logged_entry(store, receipt) is not None and store.verify_audit().ok
