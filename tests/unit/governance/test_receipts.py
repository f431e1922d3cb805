"""Checking a deletion receipt as the person it was handed to would, months later: genuine, edited by one field, from
another store or an older copy, against a tampered or cut log, or after "delete everything"; and never a name."""
from __future__ import annotations

import contextlib
import json
import sqlite3
from dataclasses import replace

import pytest

from fer_core.store import DATA_FILE
from governance import audit_log, erasure, family, receipts
from governance.receipts import (
    BAD_FIELD,
    EDITED,
    EVERYTHING_NOW,
    GENUINE,
    LOG_BROKEN,
    LOG_RESTARTED,
    NOT_AN_OBJECT,
    NOT_IN_LOG,
    NOTHING_HELD,
    SCOPE,
    SCRUB_PENDING,
    SEQ_EDITED,
    STILL_HELD,
    UNKNOWN_FIELDS,
)
from tests.support import privacy_harness as h


@pytest.fixture
def store(tmp_path):
    with h.new_store(tmp_path / "data") as opened:
        yield opened


def _purged(store, name="Laura Bush"):
    h.enrol(store, "Colin Powell")
    gone = h.enrol(store, name)
    store.add_analysis({"faces": 1}, person_ids=[gone])
    return gone, receipts.read(family.purge(store, name).to_json())


def _when(entry) -> str:
    return audit_log.shown_entry(entry).time


def test_a_genuine_receipt_is_matched_and_nothing_is_held_under_its_id(store):
    gone, receipt = _purged(store)
    before = store.counts()
    checked = receipts.check(store, receipt)
    entry = store.audit_entries(person_id=gone)[-1]
    assert checked.ok and checked.entry.seq == receipt.audit_seq == entry.seq
    assert checked.lines() == [GENUINE.format(seq=entry.seq, event="purge", time=_when(entry)),
                               audit_log.describe(store.verify_audit()), NOTHING_HELD.format(subject=gone), SCOPE]
    assert store.counts() == before  # read-only: not even an audit entry
    assert "Laura" not in "\n".join(checked.lines())
    assert erasure.receipt_is_logged(store, receipt)


def test_the_receipts_json_says_what_it_speaks_for_and_reads_back(store):
    _, receipt = _purged(store)
    data = json.loads(receipt.to_json())
    assert data[erasure.ABOUT_FIELD] == erasure.ABOUT
    assert receipts.read(json.dumps(data)) == receipt
    del data[erasure.ABOUT_FIELD], data["storage_scrubbed"]  # neither is in the digest; an older receipt lacks both
    assert receipts.check(store, receipts.read(json.dumps(data))).ok


@pytest.mark.parametrize(("text", "message"), [
    ("[1, 2]", NOT_AN_OBJECT),
    ('{"subject": "Laura Bush"}', BAD_FIELD.format(field="subject", kind='a member\'s id or "everything"')),
])
def test_what_is_not_a_receipt_is_refused_with_what_is_wrong(text, message):
    with pytest.raises(receipts.ReceiptError) as err:
        receipts.read(text)
    assert str(err.value) == message


def test_a_receipt_missing_a_field_or_with_an_extra_one_is_refused(store):
    _, receipt = _purged(store)
    data = json.loads(receipt.to_json())
    with pytest.raises(receipts.ReceiptError) as err:
        receipts.read(b"\xff")
    assert str(err.value).startswith("this is not a deletion receipt: it is not JSON (")
    for field, kind in [("audit_seq", "an audit entry number"), ("digest", "a SHA-256 in hex"),
                        ("erased_at", "a time with its time zone"), ("reason", "an erasure reason")]:
        with pytest.raises(receipts.ReceiptError) as err:
            receipts.read(json.dumps({**data, field: "x"}))
        assert str(err.value) == BAD_FIELD.format(field=field, kind=kind)
    with pytest.raises(receipts.ReceiptError) as err:
        receipts.read(json.dumps({**data, "name": "Laura Bush"}))
    assert str(err.value) == UNKNOWN_FIELDS.format(count=1)  # counted: what it holds is not shown back


@pytest.mark.parametrize("edit", ["records", "reason", "erased_at", "subject"])
def test_a_receipt_edited_by_one_field_is_not_genuine(store, edit):
    _, receipt = _purged(store)
    other = h.enrol(store, "Hugo Chavez")
    edited = {"records": {**receipt.records, "embeddings": 4}, "reason": "consent withdrawn",
              "erased_at": "2026-01-01T00:00:00+00:00", "subject": other}[edit]
    checked = receipts.check(store, replace(receipt, **{edit: edited}))
    assert not checked.ok and checked.verdict == EDITED and checked.entry is None


def test_a_receipt_whose_entry_number_was_edited_says_where_its_entry_is(store):
    _, receipt = _purged(store)
    checked = receipts.check(store, replace(receipt, audit_seq=1))
    assert checked.verdict == SEQ_EDITED.format(found=receipt.audit_seq, seq=1) and not checked.ok


def test_a_receipt_from_another_store_is_not_found(store, tmp_path):
    _, receipt = _purged(store)
    with h.new_store(tmp_path / "other") as other:
        h.enrol(other, "Laura Bush")
        checked = receipts.check(other, receipt)
    assert checked.verdict == NOT_IN_LOG.format(seq=receipt.audit_seq, erased_at=receipt.erased_at)
    assert not checked.ok and checked.traces == {}


def test_a_copy_from_before_the_erasure_is_not_found_and_still_holds_them(store, tmp_path):
    h.enrol(store, "Colin Powell")
    gone = h.enrol(store, "Laura Bush")
    store.back_up(tmp_path / "backup")  # as `unveil family backup` does, before the purge
    receipt = family.purge(store, "Laura Bush")
    with h.open_store(tmp_path / "backup") as restored:
        checked = receipts.check(restored, receipt)
    assert checked.verdict == NOT_IN_LOG.format(seq=receipt.audit_seq, erased_at=receipt.erased_at)
    assert checked.traces == {"people": 1, "manifests": 1, "embeddings": 5, "thumbnails": 1, "consents": 1,
                              "audit_names": 2, "data_keys": 1}
    assert checked.lines()[2] == STILL_HELD.format(subject=gone, found=(
        "member row: 1, record list: 1, face prints: 5, thumbnails: 1, consent records: 1, audit entries holding their "
        "sealed name: 2, data keys: 1"))
    assert "Laura" not in "\n".join(checked.lines())


@pytest.mark.parametrize("damage", [
    "UPDATE audit SET ts = ts - 86400 WHERE seq = 2",  # an entry before the receipt's, back-dated a day
    "DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)",  # the receipt's own entry cut from the end
])
def test_a_tampered_or_cut_log_vouches_for_no_receipt(store, damage):
    _, receipt = _purged(store)
    with contextlib.closing(sqlite3.connect(store.data_dir / DATA_FILE, isolation_level=None)) as conn:
        conn.execute(damage)
    checked = receipts.check(store, receipt)
    assert (checked.verdict, checked.ok, checked.log.ok) == (LOG_BROKEN, False, False)
    assert checked.lines()[1] == audit_log.describe(checked.log)


def test_after_delete_everything_a_person_receipt_is_covered_by_that_days_receipt(store):
    gone, receipt = _purged(store)
    everything = receipts.read(erasure.erase_everything(store).to_json())
    checked = receipts.check(store, receipt)
    [first] = store.audit_entries()
    assert checked.verdict == LOG_RESTARTED.format(time=_when(first)) and checked.traces == {}
    assert checked.lines()[2] == NOTHING_HELD.format(subject=gone)
    whole = receipts.check(store, everything)
    assert whole.ok and whole.lines()[0] == GENUINE.format(seq=1, event="erase_all", time=_when(first))
    assert whole.lines()[2] == EVERYTHING_NOW


def test_enrolled_again_they_get_a_new_id_that_nothing_links_to_the_erased_one(store):
    gone, receipt = _purged(store)
    again = h.enrol(store, "Laura Bush")
    assert again != gone and store.traces_of(gone) == {}
    assert receipts.check(store, receipt).ok
    # Nothing in the store relates the two ids: the new one appears in no entry about the old one, and back.
    assert all(entry.person_id == gone and again not in json.dumps(entry.details)
               for entry in store.audit_entries(person_id=gone))
    assert all(gone not in json.dumps(entry.details) for entry in store.audit_entries(person_id=again))


def test_old_bytes_waiting_to_be_wiped_are_said_until_the_scrub_finishes(tmp_path):
    # Another session's open read on keys.db keeps the destroyed key's old page in the file (test_store_scrub.py).
    with h.new_store(tmp_path, busy_timeout=0.2) as store:
        gone = h.enrol(store, "Halle Berry")
        with contextlib.closing(sqlite3.connect(store.data_dir / "keys.db", isolation_level=None)) as reader:
            reader.execute("BEGIN")
            reader.execute("SELECT COUNT(*) FROM data_keys").fetchone()
            receipt = erasure.purge_person(store, gone)
            checked = receipts.check(store, receipt)
            assert checked.entry is not None and checked.traces == {} and not checked.ok
            assert checked.lines()[2:] == [NOTHING_HELD.format(subject=gone), SCRUB_PENDING, SCOPE]
            reader.execute("COMMIT")
        assert store.scrub()
        assert receipts.check(store, receipt).ok


def test_an_id_or_digest_with_a_line_break_after_it_is_refused(store):
    _, receipt = _purged(store)
    data = json.loads(receipt.to_json())
    for field in ("subject", "digest"):
        with pytest.raises(receipts.ReceiptError):
            receipts.read(json.dumps({**data, field: data[field] + "\n"}))
