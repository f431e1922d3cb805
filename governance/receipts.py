"""Checking a deletion receipt against the store, for the person it was handed to (or the household, later).

    receipt = read(text)             # the JSON `unveil family purge` prints and the app downloads; ReceiptError if not
    save(report.receipts, folder)    # each receipt a sweep wrote, as its own file (`unveil retention sweep --receipts`)
    checked = check(store, receipt)  # its entry in the audit log, the log intact, nothing under its id in the store
    checked.ok, checked.lines()

A receipt is genuine when its fields hash to its digest (governance.erasure.receipt_digest), the audit entry it names
holds that digest, and the audit log verifies (hash chain, and the seals while the store is unlocked). Then the store
is asked what it still holds under the receipt's id (FamilyStore.traces_of): nothing, once they are erased. A receipt
holds a random id, never a name, and nothing here reads one: the lines give the id, kinds and counts. Checking is
read-only and not audit-logged, as `unveil audit verify` is not.

What this cannot check is said with every result (SCOPE): copies made before the erasure (backups), and what named
the person outside the store (results downloaded from the app, `unveil watch --jsonl` lines, MQTT messages and Home
Assistant's history).
"""
from __future__ import annotations

import errno
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fer_core import UnveilError
from fer_core.store import AuditEntry, AuditVerification, FamilyStore, write_whole
from governance import audit_log, erasure

NOT_JSON = "this is not a deletion receipt: it is not JSON ({detail})"
NOT_AN_OBJECT = "this is not a deletion receipt: it is JSON, but not an object holding a receipt's fields"
BAD_FIELD = "this is not a deletion receipt: its field {field!r} is missing or is not {kind}"
# Counted, not quoted: what a text holds beyond a receipt's fields (a name, say) is not shown back.
UNKNOWN_FIELDS = "this is not a deletion receipt Unveil wrote: it has {count} field(s) no receipt has"

GENUINE = "receipt genuine: audit entry {seq} ({event}, {time}) holds its SHA-256"
EDITED = ("receipt NOT genuine: its fields do not match its SHA-256 digest, so it was changed after it was issued "
          "(subject, reason, erased_at and records are what the digest covers)")
SEQ_EDITED = ("receipt NOT genuine: its audit entry number was changed: this store's log holds its SHA-256 at entry "
              "{found}, not {seq}")
NOT_IN_LOG = ("receipt NOT found: this store's audit log holds no entry {seq} with its SHA-256: the receipt comes from "
              "another store, or this store is a copy from before {erased_at} (a backup restored)")
LOG_RESTARTED = ("receipt NOT found: this store's audit log restarted when everything was erased at {time}, after "
                 "this receipt's erasure, so it no longer holds its entry; the \"delete everything\" receipt of that "
                 "day covers it")
LOG_BROKEN = "receipt NOT checked: the audit log is broken, so it cannot vouch for any receipt"
NOTHING_HELD = "the store holds nothing under id {subject} now: no member, face print, thumbnail, consent, kept result, " \
               "data key or name in the audit log (its audit entries keep the id alone)"
STILL_HELD = "the store STILL holds data under id {subject}: {found}"
# The rows are gone, but a scrub that did not finish leaves old bytes (possibly the destroyed key) in the files.
SCRUB_PENDING = ("old bytes of an erasure, possibly a destroyed data key, are still in the store's files (another "
                 "session was reading, or the disk was full): close other Unveil sessions and run `unveil family "
                 "check` to wipe them")
EVERYTHING_NOW = "a \"delete everything\" receipt: the store may hold members enrolled since, so none is looked for"
SCOPE = ("this checks this store only: backups made before the erasure still hold what they held, and so do results "
         "downloaded from the app, `unveil watch --jsonl` lines, MQTT messages and Home Assistant's history that "
         "named the person before it")

# What traces_of's kinds are called in the lines.
_TRACE_WORDS = {"people": "member row", "manifests": "record list", "embeddings": "face prints",
                "thumbnails": "thumbnails", "consents": "consent records", "analyses": "kept results naming them",
                "audit_names": "audit entries holding their sealed name", "data_keys": "data keys"}
_ID = re.compile(r"[0-9a-f]{32}")
_DIGEST = re.compile(r"[0-9a-f]{64}")
_FIELDS = {f.name for f in fields(erasure.ErasureReceipt)}


class ReceiptError(UnveilError, ValueError):
    """A text that is not a deletion receipt: not JSON, not an object, or a field missing or of the wrong kind."""


NOT_SAVED = "the receipts could not be written into {path}: {reason}"


class ReceiptSaveError(UnveilError, OSError):
    """A receipt's file could not be written (the folder cannot be made or written to, or the file is there)."""


def _field(data: dict[str, Any], name: str, kind: str, ok: bool) -> Any:
    if not ok:
        raise ReceiptError(BAD_FIELD.format(field=name, kind=kind))
    return data.get(name)


def _time_ok(value: Any) -> bool:
    try:
        return isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def read(text: str | bytes) -> erasure.ErasureReceipt:
    """The receipt in `text` (as ErasureReceipt.to_json writes it); ReceiptError, with what is wrong, if it is not one.
    Its form only: whether it is genuine is check()'s to say."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ReceiptError(NOT_JSON.format(detail=exc)) from None
    if not isinstance(data, dict):
        raise ReceiptError(NOT_AN_OBJECT)
    unknown = set(data) - _FIELDS - {erasure.ABOUT_FIELD}
    if unknown:
        raise ReceiptError(UNKNOWN_FIELDS.format(count=len(unknown)))
    get = data.get
    subject = _field(data, "subject", "a member's id or \"everything\"",
                     isinstance(get("subject"), str) and (get("subject") == erasure.EVERYTHING
                                                          or bool(_ID.fullmatch(get("subject")))))
    reason = _field(data, "reason", "an erasure reason", get("reason") in erasure.REASONS)
    erased_at = _field(data, "erased_at", "a time with its time zone", _time_ok(get("erased_at")))
    records = _field(data, "records", "counts per kind of record",
                     isinstance(get("records"), dict) and all(
                         isinstance(k, str) and type(v) is int and v >= 0 for k, v in get("records").items()))
    digest = _field(data, "digest", "a SHA-256 in hex", isinstance(get("digest"), str) and bool(_DIGEST.fullmatch(get("digest"))))
    seq = _field(data, "audit_seq", "an audit entry number", type(get("audit_seq")) is int and get("audit_seq") >= 1)
    scrubbed = _field(data, "storage_scrubbed", "true or false", type(get("storage_scrubbed", False)) is bool)
    return erasure.ErasureReceipt(subject, reason, erased_at, records, digest, seq, bool(scrubbed))


@dataclass(frozen=True)
class ReceiptCheck:
    """What check() found. `entry` is the audit entry that holds the receipt (None when none does); `verdict` the
    line saying so; `log` the audit log's verification; `traces` what the store holds under the receipt's id now
    (FamilyStore.traces_of; empty for a "delete everything" receipt, which names no one)."""

    receipt: erasure.ErasureReceipt
    entry: AuditEntry | None
    verdict: str
    log: AuditVerification
    traces: dict[str, int]
    scrub_pending: bool = False  # FamilyStore.scrub_pending: an erasure's old bytes may still be in the files

    @property
    def ok(self) -> bool:
        """The receipt is genuine, the log intact, nothing is held under its id, and no old bytes wait to be wiped."""
        return self.entry is not None and self.log.ok and not self.traces and not self.scrub_pending

    def lines(self) -> list[str]:
        """The verdict, the log's line (audit_log.describe), what is held under the id (and SCRUB_PENDING while old
        bytes wait to be wiped), and SCOPE."""
        subject = self.receipt.subject
        if subject == erasure.EVERYTHING:
            held = EVERYTHING_NOW
        elif self.traces:
            held = STILL_HELD.format(subject=subject, found=", ".join(
                f"{_TRACE_WORDS.get(kind, kind)}: {count}" for kind, count in self.traces.items()))
        else:
            held = NOTHING_HELD.format(subject=subject)
        return [self.verdict, audit_log.describe(self.log), held, *([SCRUB_PENDING] if self.scrub_pending else []), SCOPE]


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _not_found(store: FamilyStore, receipt: erasure.ErasureReceipt) -> str:
    """Why no entry holds the receipt, its digest matching its fields: its number edited, the log restarted since,
    or another store's (or an older copy's) receipt."""
    entries = store.audit_entries()  # read once: searched for the digest, and its first entry looked at
    held = next((e.seq for e in entries if e.details.get("receipt") == receipt.digest), None)
    if held is not None:
        return SEQ_EDITED.format(found=held, seq=receipt.audit_seq)
    first = entries[:1]
    erased = datetime.fromisoformat(receipt.erased_at).timestamp()
    if first and first[0].event == "erase_all" and first[0].ts >= erased:
        return LOG_RESTARTED.format(time=_when(first[0].ts))
    return NOT_IN_LOG.format(seq=receipt.audit_seq, erased_at=receipt.erased_at)


def check(store: FamilyStore, receipt: erasure.ErasureReceipt) -> ReceiptCheck:
    """Check `receipt` against the store, locked (the hash chain only) or unlocked (the seals too). Read-only."""
    log = audit_log.verify(store)
    found = {"log": log, "traces": {} if receipt.subject == erasure.EVERYTHING else store.traces_of(receipt.subject),
             "scrub_pending": store.scrub_pending}
    if not log.ok:
        return ReceiptCheck(receipt, None, LOG_BROKEN, **found)
    if erasure.receipt_digest(receipt.subject, receipt.reason, receipt.erased_at, receipt.records) != receipt.digest:
        return ReceiptCheck(receipt, None, EDITED, **found)
    entry = erasure.logged_entry(store, receipt)
    if entry is None:
        return ReceiptCheck(receipt, None, _not_found(store, receipt), **found)
    return ReceiptCheck(receipt, entry, GENUINE.format(seq=entry.seq, event=entry.event, time=_when(entry.ts)), **found)


def ready(folder: str | os.PathLike[str]) -> Path:
    """`folder`, made (0700) if it is not there, once this user can write files into it; ReceiptSaveError if not. For a
    command that writes receipts days later (the sweeps of `unveil watch` and `unveil serve`): a folder that cannot
    be written is said when it starts, not when a member is erased."""
    folder = Path(folder)
    try:
        if not folder.is_dir():
            folder.mkdir(mode=0o700, parents=True)
            folder.chmod(0o700)  # whatever the umask
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
    except OSError as exc:
        raise ReceiptSaveError(NOT_SAVED.format(path=folder, reason=exc.strerror or exc)) from None
    return folder


def save(erased: Iterable[erasure.ErasureReceipt], folder: str | os.PathLike[str]) -> list[Path]:
    """Write each receipt's JSON into `folder` as its own file (ErasureReceipt.file_name), readable by its owner only,
    never over a file there; a folder that is not there is made, 0700. A receipt holds an id, never a name, so the
    files hold none either. Each is written beside its name and placed there synced (write_whole, new): a receipt said
    to be written is on the disk, whole, even if the power is cut the moment after. The files written, in order;
    ReceiptSaveError at the first that cannot be."""
    folder = ready(folder)
    written = []
    try:
        for receipt in erased:
            path = folder / receipt.file_name()
            write_whole(path, (receipt.to_json() + "\n").encode("utf-8"), new=True)
            written.append(path)
    except OSError as exc:
        raise ReceiptSaveError(NOT_SAVED.format(path=folder, reason=exc.strerror or exc)) from None
    return written
