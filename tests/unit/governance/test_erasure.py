"""Erasure: purging one person deletes every kind of their data, destroys their key, and returns a
receipt whose hash is in the audit log; "delete everything" leaves an empty, still usable store."""
from __future__ import annotations

import contextlib
import json
import sqlite3
from dataclasses import replace

import pytest

from fer_core.store import DATA_FILE, KEYS_FILE, FamilyStore, PersonNotFoundError
from governance import consent, erasure, family
from governance.erasure import receipt_digest
from tests.support import privacy_harness as h


@pytest.fixture
def store(tmp_path):
    with h.new_store(tmp_path) as opened:
        yield opened


def test_purge_receipt_counts_every_kind_and_is_in_the_log(store):
    gone, kept = h.enrol(store, "Laura Bush"), h.enrol(store, "Colin Powell")
    store.add_analysis({"faces": 2}, person_ids=[gone, kept])  # names both: goes with either
    store.add_analysis({"faces": 1}, person_ids=[kept])
    receipt = family.purge(store, "laura bush")
    assert receipt.subject == gone and receipt.reason == "request" and receipt.storage_scrubbed
    assert receipt.records == {"person": 1, "embeddings": 5, "thumbnails": 1, "consents": 1, "analyses": 1, "data_key": 1}
    assert receipt.digest == receipt_digest(gone, "request", receipt.erased_at, receipt.records)
    entry = next(e for e in store.audit_entries() if e.seq == receipt.audit_seq)
    assert (entry.event, entry.person_id, entry.name) == ("purge", gone, None)
    assert entry.details == {"reason": "request", "receipt": receipt.digest, **receipt.records}
    assert erasure.receipt_is_logged(store, receipt)
    assert not erasure.receipt_is_logged(store, replace(receipt, records={**receipt.records, "embeddings": 4}))
    assert h.query(store.data_dir / KEYS_FILE, "SELECT owner FROM data_keys WHERE owner NOT LIKE 'household:%' "
                   "AND owner NOT LIKE 'thumbnail:%'") == [(kept,)]
    assert h.query(store.data_dir / KEYS_FILE, "SELECT owner FROM data_keys WHERE owner LIKE 'thumbnail:%'") == h.query(
        store.data_dir / DATA_FILE, "SELECT key_owner FROM thumbnails WHERE person_id = ?", (kept,))
    assert [a.person_ids for a in store.analyses()] == [(kept,)]
    assert json.loads(receipt.to_json())["digest"] == receipt.digest


def test_purging_someone_unknown_changes_nothing(store):
    h.enrol(store, "Laura Bush")
    before = store.counts()
    with pytest.raises(PersonNotFoundError) as err:
        family.purge(store, "Nobody Here")
    assert str(err.value) == "no person named 'Nobody Here' in the store"
    with pytest.raises(ValueError, match="unknown erasure reason 'because'"):
        erasure.purge_person(store, store.person_ids()[0], reason="because")
    assert store.counts() == before


@pytest.mark.parametrize("damage", ["name", "lost embedding"])
@pytest.mark.parametrize("how", ["purge", "withdraw"])
def test_a_damaged_member_can_still_be_erased_by_id(store, damage, how):
    # Their name no longer authenticates, or one of their rows is gone: nothing of theirs can be read,
    # and still they can be erased on request (or by withdrawing consent), with a receipt in the log.
    kept, damaged = h.enrol(store, "Laura Bush"), h.enrol(store, "Colin Powell")
    with contextlib.closing(sqlite3.connect(store.data_dir / DATA_FILE, isolation_level=None)) as conn:
        if damage == "name":
            conn.execute("UPDATE people SET name = substr(name, 1, 20) || x'00' || substr(name, 22) WHERE id = ?",
                         (damaged,))
        else:
            conn.execute("DELETE FROM embeddings WHERE id = (SELECT MIN(id) FROM embeddings WHERE person_id = ?)",
                         (damaged,))
    assert {d.row for d in store.check()} & {damaged}
    receipt = family.purge(store, damaged) if how == "purge" else consent.withdraw(store, damaged)
    assert receipt.subject == damaged and receipt.storage_scrubbed
    assert erasure.receipt_is_logged(store, receipt)
    assert store.person_ids() == [kept] and store.check() == []


def test_delete_everything_deletes_rows_cut_off_from_their_person(store):
    # A damaged store: one person's row is gone, leaving their embeddings, consent and key behind.
    # Deleting everything still deletes them, and the receipt counts what was deleted.
    kept, lost = h.enrol(store, "Laura Bush"), h.enrol(store, "Colin Powell")
    with contextlib.closing(sqlite3.connect(store.data_dir / DATA_FILE, isolation_level=None)) as conn:
        conn.execute("DELETE FROM people WHERE id = ?", (lost,))  # foreign keys off: nothing cascades
    assert h.query(store.data_dir / DATA_FILE, "SELECT COUNT(*) FROM embeddings WHERE person_id = ?", (lost,)) == [(5,)]
    receipt = erasure.erase_everything(store)
    assert receipt.records == {"people": 1, "embeddings": 10, "thumbnails": 2, "consents": 2, "analyses": 0,
                               "audit": 5, "data_keys": 4}  # two members' keys and their thumbnails'
    assert store.counts() == {"people": 0, "embeddings": 0, "thumbnails": 0, "consents": 0, "analyses": 0, "audit": 1,
                              "data_keys": 0}
    assert kept not in h.query(store.data_dir / KEYS_FILE, "SELECT owner FROM data_keys")


def test_delete_everything_leaves_an_empty_usable_store(store):
    for name in ("Laura Bush", "Colin Powell", "Hugo Chavez"):
        h.enrol(store, name)
    store.add_analysis({"faces": 3})
    store.set_retention("analyses", 5)
    receipt = erasure.erase_everything(store)
    assert receipt.subject == "everything" and receipt.storage_scrubbed
    assert receipt.records == {"people": 3, "embeddings": 15, "thumbnails": 3, "consents": 3, "analyses": 1, "audit": 7,
                               "data_keys": 7}  # three members', their thumbnails' and the kept result's
    assert store.counts() == {"people": 0, "embeddings": 0, "thumbnails": 0, "consents": 0, "analyses": 0, "audit": 1,
                              "data_keys": 0}
    [entry] = store.audit_entries()
    assert (entry.seq, entry.event, entry.details["receipt"]) == (1, "erase_all", receipt.digest)
    assert erasure.receipt_is_logged(store, receipt)
    assert store.retention_settings() == {"analyses": 5}  # settings are not personal data
    store.close()
    with FamilyStore(store.data_dir) as again:  # the same passphrase opens the empty store ...
        again.unlock(h.PASSPHRASE)
        assert again.people() == [] and again.gallery() == []
        h.enrol(again, "Laura Bush")  # ... and it works as new
        assert again.verify_audit().ok and len(again.people()) == 1


def test_files_shrink_back_after_erasure(store):
    for i in range(20):
        h.enrol(store, f"Person Number {i}")
    assert store.scrub()  # everything into the main file, to measure it
    size_full = (store.data_dir / DATA_FILE).stat().st_size
    erasure.erase_everything(store)
    assert (store.data_dir / DATA_FILE).stat().st_size < size_full  # VACUUM gave the pages back
    assert (store.data_dir / f"{DATA_FILE}-wal").stat().st_size == 0  # and the WAL was truncated
    assert (store.data_dir / f"{KEYS_FILE}-wal").stat().st_size == 0
