"""The hash-chained audit log: any edit, deletion or reordering of entries is reported by verify at
the first broken link; a chain recomputed without the key fails its seals; entries hold counts and
opaque ids, never names, embeddings or images."""
from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
import tracemalloc

import numpy as np
import pytest

from fer_core.store import (
    DATA_FILE,
    KEYS_FILE,
    FamilyStore,
    WrongPassphraseError,
    _audit,  # noqa: PLC2701 (seals heads as an older version did)
)
from fer_core.store._audit import entry_hash  # noqa: PLC2701 (forges chain links as an attacker would)
from governance import audit_log, erasure, family
from tests.support import privacy_harness as h


@pytest.fixture
def logged(tmp_path):
    """A store whose log holds 9 entries: created, 2 x (consent_granted, enrol), 3 recognitions, 1 sweep-like note."""
    store = h.new_store(tmp_path)
    ids = [h.enrol(store, "Halle Berry"), h.enrol(store, "Hamid Karzai")]
    for faces, named in ((3, 1), (2, 2), (1, 0)):
        audit_log.record_recognition(store, faces=faces, named=named)
    audit_log.record(store, "retention_change", details={"kind": "analyses", "days": 7})
    assert [e.seq for e in store.audit_entries()] == list(range(1, 10))
    yield store, ids
    store.close()


def _sql(store: FamilyStore, *statements: tuple[str, tuple]) -> None:
    with contextlib.closing(sqlite3.connect(store.data_dir / DATA_FILE, isolation_level=None)) as conn:
        for sql, params in statements:
            conn.execute(sql, params)


def test_intact_log_verifies_with_and_without_the_key(logged):
    store, _ = logged
    result = audit_log.verify(store)
    assert (result.ok, result.entries, result.first_broken, result.sealed) == (True, 9, None, True)
    assert audit_log.describe(result) == "audit log intact: 9 entries, hash chain and seals verified"
    store.lock()
    assert audit_log.describe(audit_log.verify(store)) == \
        "audit log intact: 9 entries, hash chain verified (unlock to check the seals too)"


@pytest.mark.parametrize(("statements", "first_broken", "reason"), [
    ([("UPDATE audit SET details = '{\"faces\":30,\"named\":1,\"unknown\":2}' WHERE seq = 6", ())], 6,
     "entry 6 does not match its hash: it was edited"),
    ([("UPDATE audit SET event = 'sweep' WHERE seq = 4", ())], 4, "entry 4 does not match its hash: it was edited"),
    ([("UPDATE audit SET ts = ts - 86400 WHERE seq = 2", ())], 2, "entry 2 does not match its hash: it was edited"),
    ([("UPDATE audit SET person_id = NULL WHERE seq = 3", ())], 3, "entry 3 does not match its hash: it was edited"),
    ([("UPDATE audit SET name = x'00' || name WHERE seq = 5", ())], 5,
     "entry 5 holds a sealed name that does not match its hash: it was edited"),
    ([("DELETE FROM audit WHERE seq = 5", ())], 5,
     "entry 5 is missing (the log jumps to entry 6): entries were deleted or moved"),
    ([("DELETE FROM audit WHERE seq = 1", ())], 1,
     "entry 1 is missing (the log jumps to entry 2): entries were deleted or moved"),
    ([("DELETE FROM audit WHERE seq = 9", ())], 9,
     "the log ends at entry 8 but its head records entry 9: entries were cut from the end"),
    ([("UPDATE audit SET seq = 100 WHERE seq = 3", ()), ("UPDATE audit SET seq = 3 WHERE seq = 4", ()),
      ("UPDATE audit SET seq = 4 WHERE seq = 100", ())], 3,
     "entry 3 does not link to entry 2: entries were reordered, deleted or edited"),
], ids=["edit details", "edit event", "edit time", "edit person", "edit sealed name", "delete middle",
        "delete first", "delete last", "reorder"])
def test_tampering_is_reported_at_the_first_broken_link(logged, statements, first_broken, reason):
    store, _ = logged
    _sql(store, *statements)
    for unlocked in (True, False):  # the chain alone catches these, key or no key
        if not unlocked:
            store.lock()
        result = audit_log.verify(store)
        assert (result.ok, result.first_broken, result.reason) == (False, first_broken, reason)
    assert audit_log.describe(result) == f"audit log BROKEN at entry {first_broken}: {reason}"


def _rehash_from(store: FamilyStore, seq: int) -> None:
    """What someone with write access to both files but no key can do: recompute every hash from `seq`
    on, and the plain head and the anchor in keys.db to match (their seals cannot be redone)."""
    with contextlib.closing(sqlite3.connect(store.data_dir / DATA_FILE, isolation_level=None)) as conn:
        prev = conn.execute("SELECT hash FROM audit WHERE seq = ?", (seq - 1,)).fetchone()[0]
        rows = conn.execute("SELECT seq, ts, event, person_id, name_digest, details FROM audit WHERE seq >= ? ORDER BY seq",
                            (seq,)).fetchall()
        for s, ts, event, pid, name_digest, details in rows:
            digest = entry_hash(prev, s, ts, event, pid, name_digest, details)
            conn.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, s))
            prev = digest
        conn.execute("UPDATE meta SET value = json_object('seq', ?, 'hash', ?) WHERE key = 'audit_head'", (s, prev.hex()))
    with contextlib.closing(sqlite3.connect(store.data_dir / KEYS_FILE, isolation_level=None)) as conn:
        conn.execute("UPDATE meta SET value = json_set(value, '$.seq', ?, '$.hash', ?) WHERE key = 'audit_anchor'", (s, prev.hex()))


def test_a_chain_recomputed_without_the_key_fails_its_seals(logged):
    store, _ = logged
    _sql(store, ("UPDATE audit SET details = '{\"faces\":1,\"named\":0,\"unknown\":1}' WHERE seq = 7", ()))
    _rehash_from(store, 7)
    store.lock()
    assert audit_log.verify(store).ok  # the unkeyed chain alone cannot see a full recomputation ...
    store.unlock(h.PASSPHRASE)
    result = audit_log.verify(store)  # ... the seals can
    assert (result.ok, result.first_broken, result.reason) == (False, 7, "entry 7 has a wrong seal: it was forged or re-hashed")


def test_cutting_the_end_and_fixing_the_plain_head_fails_the_sealed_head(logged):
    store, _ = logged
    _sql(store, ("DELETE FROM audit WHERE seq = 9", ()))
    _rehash_from(store, 8)
    result = audit_log.verify(store)
    assert (result.ok, result.first_broken) == (False, 9)
    assert result.reason == "the last sealed entry should be entry 9: sealed entries were cut or replaced"


def test_failed_unlocks_join_the_chain_unsealed(logged):
    store, _ = logged
    store.close()
    with FamilyStore(store.data_dir) as again:
        with pytest.raises(WrongPassphraseError):
            again.unlock("wrong passphrase!")
        again.unlock(h.PASSPHRASE)
        assert audit_log.verify(again).ok
        last = again.audit_entries()[-1]
        assert (last.event, last.sealed) == ("unlock_failed", False)
        audit_log.record_recognition(again, faces=1, named=1)
        assert audit_log.verify(again).ok


def test_entries_hold_counts_and_opaque_ids_only(logged):
    store, ids = logged
    rows = h.query(store.data_dir / DATA_FILE, "SELECT * FROM audit")
    raw = b"".join(v if isinstance(v, bytes) else str(v).encode() for row in rows for v in row)
    for name in ("Halle Berry", "Hamid Karzai", "Halle", "Karzai"):
        assert name.encode() not in raw
    recognitions = [e for e in store.audit_entries() if e.event == "recognise"]
    assert [e.details for e in recognitions] == [{"faces": 3, "named": 1, "unknown": 2}, {"faces": 2, "named": 2, "unknown": 0},
                                                 {"faces": 1, "named": 0, "unknown": 1}]
    assert all(e.person_id is None for e in recognitions)
    enrol = [e for e in store.audit_entries() if e.event == "enrol"]
    assert [(e.person_id, e.name, e.name_status) for e in enrol] == [(ids[0], "Halle Berry", "shown"), (ids[1], "Hamid Karzai", "shown")]


def test_names_of_erased_people_are_gone_from_the_log(logged):
    store, ids = logged
    erasure.purge_person(store, ids[0])
    assert h.query(store.data_dir / DATA_FILE, "SELECT COUNT(*) FROM audit WHERE person_id = ? AND name IS NOT NULL",
                   (ids[0],)) == [(0,)]
    theirs = [e for e in store.audit_entries() if e.person_id == ids[0]]
    assert {e.name_status for e in theirs if e.event != "purge"} == {"erased"} and all(e.name is None for e in theirs)
    assert audit_log.verify(store).ok
    line = audit_log.format_entry(next(e for e in theirs if e.event == "enrol"))
    assert f"[erased] {ids[0][:8]}" in line and "Halle" not in line


def test_what_may_not_go_into_an_entry(logged):
    store, _ = logged
    with pytest.raises(ValueError, match="unknown audit event 'selfie'"):
        audit_log.record(store, "selfie")
    with pytest.raises(TypeError, match="audit details must map str to str/int/float/bool/None; 'vector' is ndarray"):
        audit_log.record(store, "recognise", details={"vector": np.zeros(4)})
    with pytest.raises(ValueError, match="need 0 <= named <= faces, got faces=1, named=2"):
        audit_log.record_recognition(store, faces=1, named=2)
    assert len(store.audit_entries()) == 9


def test_note_recognition_refreshes_last_seen_and_logs_counts(logged):
    store, ids = logged
    before = store.person(ids[1]).last_seen_at
    family.note_recognition(store, [ids[1]], faces=4)
    assert store.person(ids[1]).last_seen_at >= before
    assert store.audit_entries()[-1].details == {"faces": 4, "named": 1, "unknown": 3}


def _wipe_log(store: FamilyStore) -> None:
    """What someone with the files but no key can do: delete every entry and both heads in unveil.db."""
    _sql(store, ("DELETE FROM audit", ()), ("DELETE FROM meta WHERE key IN ('audit_head', 'audit_sealed_head')", ()))


def test_a_wiped_log_is_reported_with_and_without_the_key(logged):
    store, _ = logged
    _wipe_log(store)
    result = audit_log.verify(store)
    assert (result.ok, result.first_broken, result.reason) == (
        False, 1, "the log is empty, but every log starts with a sealed entry: it was wiped")
    store.lock()
    assert not audit_log.verify(store).ok


def test_a_wiped_log_refilled_with_forged_failed_unlocks_is_reported(logged):
    store, _ = logged
    _wipe_log(store)
    store.close()
    with FamilyStore(store.data_dir) as again:
        with pytest.raises(WrongPassphraseError):
            again.unlock("forged attempt!")  # the log now holds only an unsealed entry 1
        locked = audit_log.verify(again)
        assert (locked.ok, locked.first_broken) == (False, 2)
        assert locked.reason == "keys.db records entry 9 of the log, which the log no longer holds: it was cut, wiped or rolled back to an older copy"
        again.unlock(h.PASSPHRASE)
        sealed = audit_log.verify(again)
        assert (sealed.ok, sealed.reason) == (False, "the sealed head of the log is missing: it was tampered with")


def test_a_rolled_back_database_is_caught_by_the_anchor(logged, tmp_path):
    store, _ = logged
    store.scrub()
    old = (store.data_dir / DATA_FILE).read_bytes()  # a copy of unveil.db from before the next entries
    audit_log.record_recognition(store, faces=1, named=0)
    store.close()
    for path in store.data_dir.glob(f"{DATA_FILE}-*"):
        path.unlink()
    (store.data_dir / DATA_FILE).write_bytes(old)
    with FamilyStore(store.data_dir) as again:
        again.unlock(h.PASSPHRASE)
        result = audit_log.verify(again)
        assert (result.ok, result.first_broken) == (False, 10)
        assert result.reason.startswith("keys.db records entry 10 of the log")


def test_verifying_a_long_log_holds_no_more_memory_than_a_short_one(logged):
    # verify() kept every entry's hash to look up the one its anchor names: 1.3 MB for 10,000 entries; `unveil audit
    # verify` peaked at 234 MiB for the million a camera loop counting per appearance writes in a few years, 89 MiB
    # now (docs/reports/audit_log_growth.md).
    store, _ = logged

    def peak() -> int:
        tracemalloc.start()
        try:
            assert audit_log.verify(store).ok
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    short = peak()
    with store.transaction():
        for _ in range(10_000):
            audit_log.record_recognition(store, faces=1, named=0)
    assert peak() < short + 100_000


def test_a_deleted_anchor_is_tampering(logged):
    # Deleting the anchor with the log would hide a rollback: the sealed head says there is one.
    store, _ = logged
    with contextlib.closing(sqlite3.connect(store.data_dir / KEYS_FILE, isolation_level=None)) as conn:
        conn.execute("DELETE FROM meta WHERE key = 'audit_anchor'")
    result = audit_log.verify(store)
    assert (result.ok, result.first_broken, result.reason) == (
        False, 10, "the log's anchor in keys.db is missing: it was deleted, which would hide a log cut or rolled "
                   "back to an older copy")


def _as_from_before_anchors(store: FamilyStore) -> None:
    # What a store made before format 2 heads holds: its head sealed in format 1, no anchor, no
    # retention seal while nothing is set.
    head = _audit.sealed_head(store._conn())
    legacy = _audit.sign_head(head, store._audit_key, 1)
    _sql(store, ("UPDATE meta SET value = ? WHERE key = 'audit_sealed_head'", (json.dumps(legacy, sort_keys=True),)),
         ("DELETE FROM meta WHERE key = 'retention_seal'", ()), ("DELETE FROM retention", ()))
    with contextlib.closing(sqlite3.connect(store.data_dir / KEYS_FILE, isolation_level=None)) as conn:
        conn.execute("DELETE FROM meta WHERE key = 'audit_anchor'")


def test_a_store_from_before_anchors_says_so_and_is_anchored_at_unlock(logged):
    store, _ = logged
    _as_from_before_anchors(store)
    result = audit_log.verify(store)
    assert result.ok and not result.anchored
    assert audit_log.describe(result) == ("audit log intact: 9 entries, hash chain and seals verified; not anchored in "
                                          "keys.db (a store from before anchors), so a cut of the whole log together "
                                          "with its heads cannot be ruled out until the next entry anchors it")
    assert store.check() == []
    store.close()
    with FamilyStore(store.data_dir) as again:
        again.unlock(h.PASSPHRASE)
        result = audit_log.verify(again)
        assert result.ok and result.anchored and again.check() == []
        assert _audit.head_format(_audit.sealed_head(again._conn())) == _audit.HEAD_FORMAT
        assert [e.seq for e in again.audit_entries()] == list(range(1, 10))  # nothing written to the log


def test_the_app_table_and_the_cli_line_show_the_same_fields(logged):
    from unveil.app import tables

    store, ids = logged
    erasure.purge_person(store, ids[0])
    entries = store.audit_entries()
    rows = tables.audit_table(entries).to_dict("records")
    assert [row["seq"] for row in rows] == [e.seq for e in reversed(entries)]  # newest first
    shown = {e.seq: audit_log.shown_entry(e) for e in entries}
    whos = set()
    for row in rows:
        fields = shown[row["seq"]]
        assert row == dataclasses.asdict(fields)
        line = audit_log.format_entry(next(e for e in entries if e.seq == row["seq"]))
        assert line.split() == [str(fields.seq), *fields.time.split(), fields.event, *fields.who.split(),
                                *fields.details.split()]
        whos.add(fields.who.split()[0])
    # no person, an enrolled person by name, an erased one, the purge entry written after their rows went
    assert {"-", "Hamid", "[erased]", ids[0][:8]} <= whos
    assert not any("Halle" in row["who"] for row in rows)
