"""The audit log's hash chain, kept in the `audit` table of unveil.db.

Each entry stores the SHA-256 of the previous entry, and its own hash covers its sequence number,
time, event, opaque person id, the digest of the sealed name, and details. The chain covers the
name's digest rather than the name itself so that erasing a person can drop their sealed name from
old entries (leaving not one byte of their ciphertext behind) without breaking any link. Editing, deleting or reordering entries
therefore breaks a link that verify() reports. Two anchors in `meta` catch what a chain alone
cannot: `audit_head` (the last seq and hash, updated with every entry) catches entries cut from
the end, and `audit_sealed_head` (the same, MAC'd with a key derived from the master key) catches
someone who recomputes the whole chain without knowing the passphrase. Entries written while the
store is unlocked carry that MAC too; only `unlock_failed` entries, written by someone who does not
have the key, are unsealed. Repeated failed unlocks update one entry (attempts, last time) instead of
growing the log. Every log starts with a sealed entry, so an empty log or one without a sealed head
was wiped. A copy of the sealed head kept in keys.db (the anchor) catches a log cut or rolled back
together with its heads in unveil.db. Sealed heads of format 2 (HEAD_FORMAT; its MAC covers the
format) say that the store keeps that anchor and a retention seal: deleting either is then tampering,
where a format 1 head (a store from before them) cannot tell deletion from absence.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fer_core.store import _crypto
from fer_core.store._errors import TamperedDataError

GENESIS = bytes(32)
HEAD_FORMAT = 2  # sealed heads written now; format 1 heads (no "format" field) came before anchors were required
UNSEALED_EVENTS = frozenset({"unlock_failed"})
_EVENT = re.compile(r"^[a-z][a-z_]{0,39}$")
_DETAIL_TYPES = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class VerifiedEnd:
    """Where a verification that passed ended, so that a later check can go on from there (verify_since): the
    last entry (seq, hash), the last sealed entry, and whether the seals were checked."""

    seq: int
    hash: bytes
    last_sealed: tuple[int, bytes] | None
    sealed: bool


@dataclass(frozen=True)
class AuditVerification:
    """Result of verifying the chain. `first_broken` is the sequence number of the first entry that
    fails (or the head position for a cut-off end); `sealed` says whether the MACs were checked too."""

    ok: bool
    entries: int
    first_broken: int | None
    reason: str | None
    sealed: bool
    anchored: bool = True  # keys.db holds an anchor of the sealed head (stores from before it have none)
    end: VerifiedEnd | None = field(default=None, repr=False, compare=False)  # where it ended, when ok


def canonical_details(details: Mapping[str, Any] | None) -> str:
    """Details as canonical JSON. Only flat str/number/bool values: no arrays, bytes or images can slip in."""
    details = dict(details or {})
    for key, value in details.items():
        if not isinstance(key, str) or not isinstance(value, _DETAIL_TYPES):
            raise TypeError(f"audit details must map str to str/int/float/bool/None; {key!r} is {type(value).__name__}")
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _tagged(value: Any) -> Any:
    # SQLite lets a column hold any type; a value whose type was changed must not hash like the original.
    if isinstance(value, bytes):
        return "b:" + base64.b64encode(value).decode()
    return value if value is None or isinstance(value, str) else "?:" + repr(value)


def entry_hash(prev_hash: bytes, seq: int, ts: float, event: str, person_id: str | None, name_digest: bytes | None,
               details: str) -> bytes:
    body = json.dumps(
        {
            "seq": seq,
            "ts": repr(ts),
            "event": _tagged(event),
            "person": _tagged(person_id),
            "name": _tagged(name_digest),
            "details": _tagged(details),
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    prev = prev_hash if isinstance(prev_hash, bytes) else repr(prev_hash).encode()
    return hashlib.sha256(prev + body).digest()


def parse_head(text: str) -> dict[str, Any]:
    """A head or anchor as stored ({"seq", "hash"[, "mac"]}); ValueError when it is malformed. A
    missing "mac" is left for the seal check to report."""
    try:
        head = json.loads(text)
        if not (isinstance(head, dict) and isinstance(head.get("seq"), int) and head["seq"] >= 0 and "hash" in head):
            raise ValueError
        for field in ("hash", "mac"):
            if field in head:
                bytes.fromhex(head[field])
    except (TypeError, ValueError):
        raise ValueError("malformed head") from None
    return head


def _read_head(conn: sqlite3.Connection, key: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return parse_head(row[0]) if row else None


def _write_head(conn: sqlite3.Connection, key: str, head: dict[str, Any]) -> None:
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(head, sort_keys=True)))


def head_format(head: Mapping[str, Any] | None) -> int:
    """A sealed head's format (1 for heads written before formats, and for none)."""
    value = head.get("format", 1) if head is not None else 1
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def _head_mac(mac_key: bytes, seq: int, digest: bytes, head_format_: int = 1) -> bytes:
    tag = b"head|" if head_format_ == 1 else b"head" + str(head_format_).encode() + b"|"
    return _crypto.mac(mac_key, tag + str(seq).encode() + b"|" + digest)


def _signed(seq: int, digest: bytes, mac_key: bytes, head_format_: int) -> dict[str, Any]:
    head: dict[str, Any] = {"seq": seq, "hash": digest.hex(), "mac": _head_mac(mac_key, seq, digest, head_format_).hex()}
    if head_format_ != 1:
        head["format"] = head_format_
    return head


def append(
    conn: sqlite3.Connection,
    *,
    event: str,
    ts: float,
    person_id: str | None,
    seal_name: Callable[[int], bytes | None],
    details: Mapping[str, Any] | None,
    mac_key: bytes | None,
) -> int:
    """Append one entry inside the caller's write transaction and return its sequence number.
    The next seq and previous hash come from the head anchor, not from the table's last row, so
    entries cut from the end leave a gap that verify() reports instead of being papered over."""
    if not _EVENT.match(event):
        raise ValueError(f"audit event must be a lowercase identifier, got {event!r}")
    if mac_key is None and event not in UNSEALED_EVENTS:
        raise ValueError(f"audit event {event!r} needs the unlocked store")
    text = canonical_details(details)
    try:
        head = _read_head(conn, "audit_head")
    except ValueError:
        raise TamperedDataError("the head of the audit log") from None
    seq = head["seq"] + 1 if head else 1
    prev = bytes.fromhex(head["hash"]) if head else GENESIS
    name = seal_name(seq)
    name_digest = hashlib.sha256(name).digest() if name is not None else None
    ts = float(ts)
    digest = entry_hash(prev, seq, ts, event, person_id, name_digest, text)
    entry_mac = _crypto.mac(mac_key, digest) if mac_key is not None else None
    conn.execute(
        "INSERT INTO audit (seq, ts, event, person_id, name, name_digest, details, prev_hash, hash, mac)"
        " VALUES (?,?,?,?,?,?,?,?,?,?)",
        (seq, ts, event, person_id, name, name_digest, text, prev, digest, entry_mac),
    )
    _write_head(conn, "audit_head", {"seq": seq, "hash": digest.hex()})
    if mac_key is not None:
        _write_head(conn, "audit_sealed_head", _signed(seq, digest, mac_key, HEAD_FORMAT))
    return seq


def record_failed_unlock(conn: sqlite3.Connection, *, ts: float, method: str) -> int:
    """Log a failed unlock inside the caller's write transaction. When the newest entry already is an
    unsealed failed unlock by the same method, it is rewritten with one more attempt and the latest
    time, so guessing cannot grow the log; otherwise a new entry is appended."""
    try:
        head = _read_head(conn, "audit_head")
    except ValueError:
        raise TamperedDataError("the head of the audit log") from None
    row = conn.execute("SELECT ts, event, details, prev_hash, mac FROM audit WHERE seq = ?",
                       (head["seq"],)).fetchone() if head else None
    if row is not None and row[1] == "unlock_failed" and row[4] is None:
        try:
            previous = json.loads(row[2])
        except ValueError:
            previous = None
        previous = previous if isinstance(previous, dict) else {}
        attempts = previous.get("attempts", 1)
        # An entry whose count is not a whole number was edited: a new entry follows it instead.
        if previous.get("method") == method and type(attempts) is int and attempts >= 1:
            seq, first_ts, prev = head["seq"], row[0], row[3]
            text = canonical_details({"method": method, "attempts": attempts + 1, "last_at": float(ts)})
            digest = entry_hash(prev, seq, first_ts, "unlock_failed", None, None, text)
            conn.execute("UPDATE audit SET details = ?, hash = ? WHERE seq = ?", (text, digest, seq))
            _write_head(conn, "audit_head", {"seq": seq, "hash": digest.hex()})
            return seq
    return append(conn, event="unlock_failed", ts=ts, person_id=None, seal_name=lambda _seq: None,
                  details={"method": method}, mac_key=None)


def sign_head(head: Mapping[str, Any], mac_key: bytes, head_format_: int | None = None) -> dict[str, Any]:
    """The same head (seq, hash) sealed under another key (the master key is being rotated), in its
    own format or the one given (a store's head raised to HEAD_FORMAT)."""
    chosen = head_format(head) if head_format_ is None else head_format_
    return _signed(head["seq"], bytes.fromhex(head["hash"]), mac_key, chosen)


def sealed_head(conn: sqlite3.Connection) -> dict[str, Any] | None:
    """The sealed head (seq, hash, mac): what keys.db keeps as the log's anchor."""
    return _read_head(conn, "audit_sealed_head")


def reseal(conn: sqlite3.Connection, old_key: bytes, new_key: bytes) -> None:
    """Re-MAC every sealed entry and the sealed head under a new key (the master key was rotated).
    Refuses, changing nothing, unless every seal verifies under the old key first."""
    result = verify(conn, old_key, None, check_anchor=False)
    if not result.ok:
        raise ValueError(f"the audit log is broken at entry {result.first_broken}: {result.reason}")
    rows = conn.execute("SELECT seq, hash FROM audit WHERE mac IS NOT NULL").fetchall()
    conn.executemany("UPDATE audit SET mac = ? WHERE seq = ?", [(_crypto.mac(new_key, digest), seq) for seq, digest in rows])
    head = _read_head(conn, "audit_sealed_head")
    if head is not None:
        _write_head(conn, "audit_sealed_head", sign_head(head, new_key))


def raise_head_format(conn: sqlite3.Connection, mac_key: bytes) -> None:
    """Seal the current head again in HEAD_FORMAT (a store from before it, once it has its anchor and
    retention seal); inside the caller's write transaction."""
    head = _read_head(conn, "audit_sealed_head")
    if head is not None and head_format(head) < HEAD_FORMAT:
        _write_head(conn, "audit_sealed_head", sign_head(head, mac_key, HEAD_FORMAT))


def forget_names(conn: sqlite3.Connection, person_id: str) -> None:
    """Drop a person's sealed names from their entries (they are being erased); the chain is unaffected."""
    conn.execute("UPDATE audit SET name = NULL WHERE person_id = ?", (person_id,))


def reset(conn: sqlite3.Connection) -> None:
    """Forget the whole chain (used only by "delete everything"; the next entry starts a new chain)."""
    conn.execute("DELETE FROM audit")
    conn.execute("DELETE FROM meta WHERE key IN ('audit_head', 'audit_sealed_head')")


_ROWS = "SELECT seq, ts, event, person_id, name, name_digest, details, prev_hash, hash, mac FROM audit"


def _entry_fault(mac_key: bytes | None, seq: int, ts: float, event: str, person_id: str | None, name: bytes | None,
                 name_digest: bytes | None, details: str, prev_hash: bytes, digest: bytes,
                 entry_mac: bytes | None) -> str | None:
    """What is wrong with one entry on its own (its hash, sealed name and seal), or None."""
    if entry_hash(prev_hash, seq, ts, event, person_id, name_digest, details) != digest:
        return f"entry {seq} does not match its hash: it was edited"
    if name is not None and (not isinstance(name, bytes) or hashlib.sha256(name).digest() != name_digest):
        return f"entry {seq} holds a sealed name that does not match its hash: it was edited"
    if mac_key is not None:
        if entry_mac is None:
            if event not in UNSEALED_EVENTS:
                return f"entry {seq} lacks its seal: it was forged"
        elif not _crypto.same(entry_mac, _crypto.mac(mac_key, digest)):
            return f"entry {seq} has a wrong seal: it was forged or re-hashed"
    return None


def verify(conn: sqlite3.Connection, mac_key: bytes | None, anchor: str | None, *,
           check_anchor: bool = True) -> AuditVerification:
    """Walk the chain in sequence order and report the first broken link. `anchor` is the copy of the
    sealed head kept in keys.db, as stored (None when keys.db holds none: tampering under a format 2
    head, unless check_anchor is False because no anchor is being compared)."""
    return _verify(conn, mac_key, anchor, check_anchor, None)


def verify_since(conn: sqlite3.Connection, mac_key: bytes | None, anchor: str | None,
                 end: VerifiedEnd) -> AuditVerification | None:
    """Verify a log whose entries up to `end` passed verify() a moment ago (on a read snapshot, before the caller
    took the write lock) by walking only the entries after it. First the log must still be the one verified: it
    holds exactly entries 1 to end.seq below them, and entry end.seq is unchanged (its hash, fields and seal);
    the heads and the anchor are then checked as verify() does. None unless all of that passes (a log reset,
    resealed or tampered with meanwhile): the caller then runs verify(), which reports what is wrong."""
    if end.sealed != (mac_key is not None):
        return None
    count, first = conn.execute("SELECT COUNT(*), MIN(seq) FROM audit WHERE seq <= ?", (end.seq,)).fetchone()
    row = conn.execute(_ROWS + " WHERE seq = ?", (end.seq,)).fetchone()
    if (count, first) != (end.seq, 1) or row is None or row[8] != end.hash or _entry_fault(mac_key, *row):
        return None
    if end.sealed and (row[9] is not None) != (end.last_sealed == (end.seq, end.hash)):
        return None
    result = _verify(conn, mac_key, anchor, True, end)
    return result if result.ok else None


def _verify(conn: sqlite3.Connection, mac_key: bytes | None, anchor: str | None, check_anchor: bool,
            since: VerifiedEnd | None) -> AuditVerification:
    sealed = mac_key is not None
    start = since.seq if since is not None else 0
    expected_seq, prev, count = start + 1, since.hash if since is not None else GENESIS, start
    last_sealed = since.last_sealed if since is not None else None
    # Only the anchored entry's hash is kept from the walk, not every entry's: memory stays the same however long
    # the log grows (10,000 entries held 1.3 MB of them, by tracemalloc). A malformed anchor is reported after the walk.
    try:
        anchored_seq = parse_head(anchor)["seq"] if anchor is not None else None
    except ValueError:
        anchored_seq = None
    anchored_hash: bytes | None = None
    if anchored_seq is not None and anchored_seq <= start:  # an entry verify_since's caller verified before
        found = conn.execute("SELECT hash FROM audit WHERE seq = ?", (anchored_seq,)).fetchone()
        anchored_hash = found[0] if found else None

    def broken(at: int, reason: str) -> AuditVerification:
        return AuditVerification(False, count, at, reason, sealed, anchor is not None)

    # The whole walk reads every row, whatever its seq: one below 1 is reported as out of place, not skipped.
    rows = conn.execute(_ROWS + " WHERE seq > ? ORDER BY seq", (start,)) if since is not None \
        else conn.execute(_ROWS + " ORDER BY seq")
    for seq, ts, event, person_id, name, name_digest, details, prev_hash, digest, entry_mac in rows:
        count += 1
        if seq != expected_seq:
            return broken(expected_seq, f"entry {expected_seq} is missing (the log jumps to entry {seq}): entries were deleted or moved")
        if prev_hash != prev:
            return broken(seq, f"entry {seq} does not link to entry {seq - 1}: entries were reordered, deleted or edited")
        fault = _entry_fault(mac_key, seq, ts, event, person_id, name, name_digest, details, prev_hash, digest, entry_mac)
        if fault is not None:
            return broken(seq, fault)
        if sealed and entry_mac is not None:
            last_sealed = (seq, digest)
        if seq == anchored_seq:
            anchored_hash = digest
        prev, expected_seq = digest, seq + 1

    last_seq = expected_seq - 1
    if count == 0:
        return broken(1, "the log is empty, but every log starts with a sealed entry: it was wiped")
    try:
        head, head_sealed = _read_head(conn, "audit_head"), _read_head(conn, "audit_sealed_head")
        anchor_head = parse_head(anchor) if anchor is not None else None
    except ValueError:
        return broken(last_seq + 1, "a head of the log (in unveil.db or its anchor in keys.db) is unreadable: it was damaged")
    head_seq = head["seq"] if head else 0
    if head_seq != last_seq or (head and bytes.fromhex(head["hash"]) != prev):
        at = min(head_seq, last_seq) + 1
        return broken(at, f"the log ends at entry {last_seq} but its head records entry {head_seq}: entries were cut from the end")
    if sealed:
        if head_sealed is None:
            return broken(last_sealed[0] if last_sealed else 1, "the sealed head of the log is missing: it was tampered with")
        s_seq, s_hash = head_sealed["seq"], bytes.fromhex(head_sealed["hash"])
        s_mac = _head_mac(mac_key, s_seq, s_hash, head_format(head_sealed))
        if not _crypto.same(bytes.fromhex(head_sealed.get("mac", "")), s_mac) or last_sealed != (s_seq, s_hash):
            at = min(s_seq, last_sealed[0] if last_sealed else 0) + 1
            return broken(at, f"the last sealed entry should be entry {s_seq}: sealed entries were cut or replaced")
    if anchor_head is None and check_anchor and head_format(head_sealed) >= 2:
        return broken(last_seq + 1, "the log's anchor in keys.db is missing: it was deleted, which would hide "
                                    "a log cut or rolled back to an older copy")
    if anchor_head is not None:
        a_seq, a_hash = anchor_head["seq"], bytes.fromhex(anchor_head.get("hash", ""))
        a_mac = _head_mac(mac_key, a_seq, a_hash, head_format(anchor_head)) if sealed else b""
        if sealed and not _crypto.same(bytes.fromhex(anchor_head.get("mac", "")), a_mac):
            return broken(min(a_seq, last_seq + 1), "the log's anchor in keys.db has a wrong seal: it was forged")
        if anchored_hash != a_hash:
            return broken(min(a_seq, last_seq + 1), f"keys.db records entry {a_seq} of the log, which the log no longer "
                                                    "holds: it was cut, wiped or rolled back to an older copy")
    return AuditVerification(True, count, None, None, sealed, anchor is not None,
                             VerifiedEnd(last_seq, prev, last_sealed, sealed))
