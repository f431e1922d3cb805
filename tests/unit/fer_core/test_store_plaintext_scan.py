"""Byte scans of the whole data directory (database, WAL, shared memory, journal, key store): no
plaintext name, no raw embedding, no thumbnail; after a purge nothing of that person, not even their
ciphertexts; and a copy of the database taken before the purge is useless for them, passphrase or not."""
from __future__ import annotations

import contextlib
import csv
import shutil
import sqlite3

import numpy as np
import pytest

from fer_core.store import DATA_FILE, KEYS_FILE, FamilyStore, KeyDestroyedError
from governance import consent, erasure, kept_results, retention
from tests.support import privacy_harness as h
from tests.support.store import FakeClock


@pytest.fixture
def names(faces_dir):
    with open(faces_dir / "people.csv", newline="") as handle:
        return [row["person"].replace("_", " ") for row in csv.DictReader(handle)][:4]


def _plaintext_needles(names):
    needles = {}
    for name in names:
        needles |= h.text_needles(name, name)
        needles |= h.array_needles(name, h.person_embeddings(name))
        needles |= h.bytes_needles(f"{name} thumbnail", h.person_thumbnail(name))
    needles |= h.text_needles("purpose", "name family members in our photos")
    return needles


def _ciphertext_needles(blobs):
    return {f"{label} {k}": v for label, blob in blobs.items() for k, v in h.bytes_needles(label, blob).items()}


def test_the_scan_finds_what_is_there(tmp_path, names):
    # Control: a plain SQLite file with a name and raw embedding bytes is caught, so "nothing found"
    # below means something.
    with sqlite3.connect(tmp_path / "plain.db") as conn:
        conn.execute("CREATE TABLE t (name TEXT, vector BLOB)")
        conn.execute("INSERT INTO t VALUES (?, ?)", (names[0], h.person_embeddings(names[0])[2].tobytes()))
    conn.close()
    found = {label for _, label in h.scan(tmp_path, _plaintext_needles(names[:1]))}
    assert f"{names[0]} utf-8 {names[0]!r}" in found
    assert len({label for label in found if " row 2 <f4 " in label}) == 128 * 4 // 16  # every window of that row
    assert not any(" row 1 " in label for label in found)


def test_no_plaintext_names_embeddings_or_thumbnails_on_disk(tmp_path, names):
    data = tmp_path / "data"
    store = h.new_store(data)
    for name in names:
        h.enrol(store, name)
    store.add_analysis({"named": names[:2]}, person_ids=store.person_ids()[:2])
    assert (data / f"{DATA_FILE}-wal").stat().st_size > 0  # the scan covers a live WAL
    assert h.scan(data, _plaintext_needles(names)) == []
    store.close()
    assert h.scan(data, _plaintext_needles(names)) == []


def test_purge_leaves_nothing_of_the_person_and_old_copies_stay_sealed(tmp_path, names):
    data, backup = tmp_path / "data", tmp_path / "backup"
    store = h.new_store(data)
    ids = {name: h.enrol(store, name) for name in names}
    gone, kept = names[1], [n for n in names if n != names[1]]
    theirs = h.sealed_blobs_of(data, ids[gone])
    assert len(theirs) == 1 + 5 + 1 + 1 + 2 + 1 + 1  # name, embeddings, thumbnail, consent, 2 audit names, keys (theirs, the thumbnail's)
    backup.mkdir()
    for path in data.glob(f"{DATA_FILE}*"):  # a backup of the database taken before the purge
        shutil.copy2(path, backup / path.name)

    receipt = erasure.purge_person(store, ids[gone])
    assert receipt.storage_scrubbed
    assert h.scan(data, _ciphertext_needles(theirs)) == []  # not even their ciphertexts or wrapped key
    assert h.scan(data, _plaintext_needles(names)) == []
    assert h.query(data / KEYS_FILE, "SELECT COUNT(*) FROM data_keys WHERE owner = ?", (ids[gone],)) == [(0,)]
    survivors = _ciphertext_needles(h.sealed_blobs_of(data, ids[kept[0]]))
    assert len(h.scan(data, survivors)) == len(survivors)  # control: ciphertexts that remain are found
    store.close()

    # The old database with today's key store: the passphrase still opens it, but the purged person's
    # data key no longer exists anywhere, so none of their ciphertexts can be read.
    shutil.copy2(data / KEYS_FILE, backup / KEYS_FILE)
    with FamilyStore(backup) as old:
        old.unlock(h.PASSPHRASE)
        with pytest.raises(KeyDestroyedError) as err:
            old.person(ids[gone])
        assert str(err.value) == f"the data key of person {ids[gone]} has been destroyed: their data cannot be decrypted"
        with pytest.raises(KeyDestroyedError):
            old.embeddings(ids[gone])
        assert [entry.name for entry in old.gallery(errors="skip")] == kept
        # Their rows, and the keys those rows name that are gone: theirs and their thumbnail's.
        assert {d.row for d in old.check() if d.table != "audit"} == {ids[gone]} | {
            label.split()[-1] for label in theirs if label.split()[0] in ("embeddings", "thumbnails", "consents")
            or label.startswith("data key thumbnail:")}


def test_delete_everything_leaves_no_ciphertext_of_anyone(tmp_path, names):
    data = tmp_path / "data"
    with h.new_store(data) as store:
        ids = [h.enrol(store, name) for name in names]
        everyone = {}
        for pid in ids:
            everyone |= {f"{pid} {k}": v for k, v in h.sealed_blobs_of(data, pid).items()}
        receipt = erasure.erase_everything(store)
        assert receipt.storage_scrubbed
        assert store.counts() == {"people": 0, "embeddings": 0, "thumbnails": 0, "consents": 0, "analyses": 0,
                                  "audit": 1, "data_keys": 0}
    assert h.scan(data, _ciphertext_needles(everyone)) == []
    assert h.scan(data, _plaintext_needles(names)) == []


def test_kept_results_deleted_any_way_stay_sealed_in_old_copies(tmp_path, names):
    # Each kept result has a data key of its own, destroyed with it: purged with a member it names,
    # deleted on its own, or by retention. A backup taken before then opens none of them with today's
    # keys; the one still kept still opens.
    data, backup, clock = tmp_path / "data", tmp_path / "backup", FakeClock()
    store = h.new_store(data, clock=clock)
    ids = [h.enrol(store, name) for name in names[:2]]
    by_retention = store.add_analysis({"faces": 1})
    clock.advance(days=40)
    with_member = store.add_analysis({"named": names[0]}, person_ids=[ids[0]])
    on_its_own = store.add_analysis({"faces": 3})
    kept = store.add_analysis({"named": names[1]}, person_ids=[ids[1]])
    backup.mkdir()
    for path in data.glob(f"{DATA_FILE}*"):
        shutil.copy2(path, backup / path.name)

    erasure.purge_person(store, ids[0])
    kept_results.delete(store, on_its_own)
    retention.set_policy(store, "analyses", 30)
    assert retention.sweep(store, date_confirmed=True).removed["analyses"] == 1  # 40 days on: confirmed
    assert [entry.id for entry in store.analyses()] == [kept]
    store.close()

    shutil.copy2(data / KEYS_FILE, backup / KEYS_FILE)
    with FamilyStore(backup, clock=clock) as old:
        old.unlock(h.PASSPHRASE)
        with pytest.raises(KeyDestroyedError):
            old.analyses()
        unreadable = {d.row for d in old.check() if d.table == "analyses" and d.column == "result"}
        assert unreadable == {with_member, on_its_own, by_retention}


def test_thumbnails_deleted_any_way_stay_sealed_in_old_copies(tmp_path, names):
    # Each thumbnail has a data key of its own, destroyed with it while its member stays: by retention,
    # or when the member's consent narrows to recognition. A backup taken before then opens neither with
    # today's keys (their member's key, which still lives, is not what sealed them); a later one opens.
    data, backup, clock = tmp_path / "data", tmp_path / "backup", FakeClock()
    store = h.new_store(data, clock=clock)
    aged, narrowed = h.enrol(store, names[0]), h.enrol(store, names[1])  # one thumbnail each
    clock.advance(days=100)
    recent = store.add_thumbnail(aged, b"a recent thumbnail")
    backup.mkdir()
    for path in data.glob(f"{DATA_FILE}*"):
        shutil.copy2(path, backup / path.name)

    retention.set_policy(store, "thumbnails", None)
    retention.sweep(store, date_confirmed=True)  # 100 days on: the date is confirmed first (a consent waits for it)
    consent.change_scope(store, narrowed, "recognition")
    retention.set_policy(store, "thumbnails", 90)
    assert retention.sweep(store).removed["thumbnails"] == 1
    assert [t.id for t in store.thumbnails(aged)] == [recent] and store.thumbnails(narrowed) == []
    assert store.check() == []
    store.close()

    shutil.copy2(data / KEYS_FILE, backup / KEYS_FILE)
    with FamilyStore(backup, clock=clock) as old:
        old.unlock(h.PASSPHRASE)
        assert old.person(aged).name == names[0] and np.array_equal(old.embeddings(narrowed), h.person_embeddings(names[1]))
        for person_id in (aged, narrowed):
            with pytest.raises(KeyDestroyedError):
                old.thumbnails(person_id)
        unreadable = {d.row for d in old.check() if d.table == "thumbnails" and d.column == "image"}
        assert unreadable == {row for (row,) in h.query(backup / DATA_FILE, "SELECT id FROM thumbnails WHERE id != ?",
                                                        (recent,))}
        assert len(unreadable) == 2


def test_thumbnails_sealed_under_their_members_key_still_read_and_delete(tmp_path, names):
    # A store from before thumbnail keys: no key_owner column, every thumbnail sealed under its member's
    # key. It reads and checks clean; retention deletes its thumbnails without touching the member's key;
    # the first new thumbnail adds the column and a key of its own.
    data, clock = tmp_path / "data", FakeClock()
    store = h.new_store(data, clock=clock)
    person = store.add_person(names[0])
    store._conn().execute("ALTER TABLE thumbnails DROP COLUMN key_owner")
    with store.transaction():
        row_id, now = "0" * 32, clock()
        store._conn().execute("INSERT INTO thumbnails (id, person_id, image, created_at) VALUES (?, ?, ?, ?)",
                              (row_id, person, store._seal(person, "thumbnails", row_id, "image", b"old", (now,)), now))
        store._amend_manifest(store._conn(), person, "thumbnails", add=[row_id])
    store.close()
    keys = h.query(data / KEYS_FILE, "SELECT owner FROM data_keys")
    assert keys == [(person,)]

    with FamilyStore(data, clock=clock) as store:
        store.unlock(h.PASSPHRASE)
        assert [t.image for t in store.thumbnails(person)] == [b"old"] and store.check() == []
        clock.advance(days=100)
        assert store.delete_thumbnails(before=clock() - 1) == 1
        assert h.query(data / KEYS_FILE, "SELECT owner FROM data_keys") == keys
        new = store.add_thumbnail(person, b"new")
        [(owner,)] = h.query(data / DATA_FILE, "SELECT key_owner FROM thumbnails WHERE id = ?", (new,))
        assert owner.startswith("thumbnail:") and (owner,) in h.query(data / KEYS_FILE, "SELECT owner FROM data_keys")
        assert [t.image for t in store.thumbnails(person)] == [b"new"] and store.check() == []


def test_a_thumbnail_key_that_names_a_person_destroys_no_one(tmp_path, names):
    # Damage that points a thumbnail's key_owner at its member: the thumbnail no longer authenticates,
    # and deleting it must not destroy the member's key (only thumbnail keys go with thumbnails).
    data = tmp_path / "data"
    with h.new_store(data) as store:
        person = h.enrol(store, names[0])
    with contextlib.closing(sqlite3.connect(data / DATA_FILE, isolation_level=None)) as conn:
        conn.execute("UPDATE thumbnails SET key_owner = person_id")
    with h.open_store(data) as store:
        assert {d.table for d in store.check()} >= {"thumbnails"}
        assert store.delete_thumbnails(person_id=person) == 1
        assert h.query(data / KEYS_FILE, "SELECT COUNT(*) FROM data_keys WHERE owner = ?", (person,)) == [(1,)]
        assert store.person(person).name == names[0]


def test_a_store_with_one_household_key_loses_it_with_its_last_result(tmp_path):
    # Stores before per-result keys sealed every kept result under one key named in meta: it is
    # destroyed once no result uses it, so it cannot open old copies of the deleted ones.
    data = tmp_path / "data"
    with h.new_store(data) as store:
        first, second = store.add_analysis({"faces": 1}), store.add_analysis({"faces": 2})
    owners = [row[0] for row in h.query(data / DATA_FILE, "SELECT key_owner FROM analyses ORDER BY created_at, rowid")]
    with contextlib.closing(sqlite3.connect(data / DATA_FILE, isolation_level=None)) as conn:
        conn.execute("UPDATE analyses SET key_owner = ? WHERE id = ?", (owners[0], second))
        conn.execute("INSERT INTO meta (key, value) VALUES ('household_key', ?)", (owners[0],))
    with contextlib.closing(sqlite3.connect(data / KEYS_FILE, isolation_level=None)) as conn:
        conn.execute("DELETE FROM data_keys WHERE owner = ?", (owners[1],))
    with h.open_store(data) as store:
        store.delete_analysis(first)
        assert h.query(data / KEYS_FILE, "SELECT COUNT(*) FROM data_keys WHERE owner = ?", (owners[0],)) == [(1,)]
        store.delete_analysis(second)
        assert h.query(data / KEYS_FILE, "SELECT COUNT(*) FROM data_keys WHERE owner = ?", (owners[0],)) == [(0,)]
        assert h.query(data / DATA_FILE, "SELECT COUNT(*) FROM meta WHERE key = 'household_key'") == [(0,)]
        assert store.check() == []
