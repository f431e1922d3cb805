"""The store's cryptography: key slots (passphrase, key file), unlock, passphrase change, locked-store
refusals, typed input errors. Uses cheap scrypt parameters; the default is checked separately."""
from __future__ import annotations

import os
import sqlite3
import stat

import numpy as np
import pytest

from fer_core import UnveilError
from fer_core.store import (
    DATA_FILE,
    KEYS_FILE,
    PASSPHRASE_NOT_TEXT,
    WRONG_PASSPHRASE_LOGGED,
    EmbeddingError,
    FamilyStore,
    KeyFileError,
    PassphraseNotTextError,
    PersonExistsError,
    PersonNameError,
    PersonNotFoundError,
    ScryptParams,
    StoreCorruptError,
    StoreExistsError,
    StoreLockedError,
    StoreNotFoundError,
    WeakPassphraseError,
    WrongPassphraseError,
    create_key_file,
)
from tests.support import privacy_harness as h

PASS = h.PASSPHRASE


@pytest.fixture
def store(tmp_path):
    with h.new_store(tmp_path / "data") as opened:
        yield opened


def _reopen(store: FamilyStore) -> FamilyStore:
    store.close()
    return FamilyStore(store.data_dir)


def test_default_scrypt_is_the_strong_one():
    # N=2**17, r=8, p=1: 128 MiB per guess (benchmarks/privacy_figures.py measures the unlock time).
    assert ScryptParams() == ScryptParams(n=2**17, r=8, p=1)
    with pytest.raises(ValueError, match=r"scrypt n must be a power of two in \[2\*\*10, 2\*\*20\], got 1000"):
        ScryptParams(n=1000)


def test_round_trip_after_reopen_is_exact(store):
    vectors = np.random.default_rng(0).standard_normal((4, 128)).astype(np.float32)
    pid = store.add_person("Halle Berry")
    store.add_embeddings(pid, vectors)
    reopened = _reopen(store)
    assert not reopened.is_unlocked
    reopened.unlock(PASS)
    (entry,) = reopened.gallery()
    assert (entry.person_id, entry.name) == (pid, "Halle Berry")
    assert entry.embeddings.dtype == np.float32 and np.array_equal(entry.embeddings, vectors)
    reopened.close()


def test_wrong_passphrase_is_refused_logged_and_changes_nothing(store):
    store.add_person("Hamid Karzai")
    before = store.counts()
    reopened = _reopen(store)
    with pytest.raises(WrongPassphraseError) as err:
        reopened.unlock("not the passphrase")
    assert str(err.value) == WRONG_PASSPHRASE_LOGGED == "wrong passphrase: the store stays locked; only the failed attempt was logged"
    assert isinstance(err.value, UnveilError)
    assert not reopened.is_unlocked
    last = reopened.audit_entries()[-1]
    assert (last.event, last.details, last.sealed) == ("unlock_failed", {"method": "passphrase"}, False)
    assert {**reopened.counts(), "audit": before["audit"]} == before  # only the log grew
    reopened.unlock(PASS)
    assert reopened.verify_audit().ok
    reopened.close()


def test_locked_store_refuses_personal_data(store):
    pid = store.add_person("Jackie Chan")
    store.lock()
    for attempt in (store.people, store.gallery, lambda: store.add_person("X Person"),
                    lambda: store.embeddings(pid), lambda: store.add_embeddings(pid, np.ones((1, 4)))):
        with pytest.raises(StoreLockedError) as err:
            attempt()
        assert str(err.value) == "the store is locked: unlock it with the passphrase or key file first"
    assert store.person_ids() == [pid]  # random ids say nothing and stay readable


def test_key_file_unlocks_and_must_be_private(tmp_path):
    key = create_key_file(tmp_path / "unveil.key")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 32
    with FamilyStore.create(tmp_path / "data", key_file=key) as store:
        store.add_person("Laura Bush")
    with FamilyStore(tmp_path / "data") as store:
        assert store.has_key_file and not store.has_passphrase  # told while locked: what the unlock form offers
        store.unlock(key_file=key)
        assert [p.name for p in store.people()] == ["Laura Bush"]
        with pytest.raises(KeyFileError) as err:
            store.unlock(PASS)
        assert str(err.value) == "this store has no passphrase: unlock it with its key file"
    os.chmod(key, 0o644)
    with FamilyStore(tmp_path / "data") as store, pytest.raises(KeyFileError) as err:
        store.unlock(key_file=key)
    assert str(err.value) == f"key file {key} is accessible by other users (mode 0644): run `chmod 600 {key}`"
    with pytest.raises(KeyFileError) as err:
        create_key_file(key)
    assert str(err.value) == f"key file {key} already exists; it was not overwritten"


def test_wrong_or_malformed_key_file(tmp_path):
    right, wrong = create_key_file(tmp_path / "right.key"), create_key_file(tmp_path / "wrong.key")
    short = tmp_path / "short.key"
    short.write_bytes(b"x" * 10)
    short.chmod(0o600)
    FamilyStore.create(tmp_path / "data", key_file=right).close()
    with FamilyStore(tmp_path / "data") as store:
        with pytest.raises(KeyFileError) as err:
            store.unlock(key_file=wrong)
        assert str(err.value) == f"key file {wrong} does not unlock this store: it stays locked; only the failed attempt was logged"
        with pytest.raises(KeyFileError) as err:
            store.unlock(key_file=short)
        assert str(err.value) == f"key file {short} is not an Unveil key file (expected 32 bytes, found 10)"
        with pytest.raises(KeyFileError) as err:
            store.unlock(key_file=tmp_path / "missing.key")
        assert str(err.value) == f"key file {tmp_path / 'missing.key'} does not exist"
        assert not store.is_unlocked
        assert store.audit_entries()[-1].details == {"method": "key_file"}


def test_passphrase_change_rewraps_keys_without_reencrypting_data(store):
    pid = store.add_person("Colin Powell")
    store.add_embeddings(pid, np.ones((3, 8)))
    data_before = h.query(store.data_dir / DATA_FILE, "SELECT id, vector FROM embeddings ORDER BY id")
    names_before = h.query(store.data_dir / DATA_FILE, "SELECT name FROM people")
    keys_before = h.query(store.data_dir / KEYS_FILE, "SELECT owner, wrapped FROM data_keys ORDER BY owner")
    slot_before = h.query(store.data_dir / DATA_FILE, "SELECT wrapped_master, salt FROM slots")
    store.change_passphrase("a brand new passphrase", scrypt=h.FAST_SCRYPT)
    assert h.query(store.data_dir / DATA_FILE, "SELECT id, vector FROM embeddings ORDER BY id") == data_before
    assert h.query(store.data_dir / DATA_FILE, "SELECT name FROM people") == names_before
    assert h.query(store.data_dir / KEYS_FILE, "SELECT owner, wrapped FROM data_keys ORDER BY owner") == keys_before
    assert h.query(store.data_dir / DATA_FILE, "SELECT wrapped_master, salt FROM slots") != slot_before
    assert store.audit_entries()[-1].details == {"slot": "passphrase", "action": "replaced"}
    reopened = _reopen(store)
    with pytest.raises(WrongPassphraseError):
        reopened.unlock(PASS)
    reopened.unlock("a brand new passphrase")
    assert np.array_equal(reopened.embeddings(pid), np.ones((3, 8), np.float32))
    reopened.close()


def test_key_file_added_later_unlocks_too(store, tmp_path):
    key = create_key_file(tmp_path / "later.key")
    assert store.has_passphrase and not store.has_key_file
    store.set_key_file(key)
    reopened = _reopen(store)
    assert reopened.has_passphrase and reopened.has_key_file
    reopened.unlock(key_file=key)
    assert reopened.verify_audit().ok and reopened.audit_entries()[-1].event == "key_change"
    reopened.close()


def test_weak_passphrase_and_missing_secret(tmp_path):
    with pytest.raises(WeakPassphraseError) as err:
        FamilyStore.create(tmp_path / "d", passphrase="short", scrypt=h.FAST_SCRYPT)
    assert str(err.value) == "a passphrase needs at least 8 characters; nothing was changed"
    with pytest.raises(ValueError, match="a new store needs a passphrase, a key file, or both"):
        FamilyStore.create(tmp_path / "d")
    assert not (tmp_path / "d" / DATA_FILE).exists()


# "correct\xffhorse" read from $UNVEIL_PASSPHRASE or a Latin-1 file: the byte that is not UTF-8 as a lone surrogate.
NOT_UTF_8 = "correct\udcffhorse battery"


def test_a_passphrase_that_is_not_utf_8_text_is_refused_as_such_not_as_damage_and_not_quoted(tmp_path, store):
    # Before: unlock and change_passphrase said "the store cannot be read (text in the file is not valid UTF-8);
    # restore it from a backup" of a sound store, and create raised UnicodeEncodeError quoting the byte and its place.
    assert PASSPHRASE_NOT_TEXT == (
        "the passphrase given is not UTF-8 text (a byte of it is not: was it written in another encoding, such as "
        "Latin-1?); give it as UTF-8 text; nothing was changed")
    calls = (lambda: FamilyStore.create(tmp_path / "d", passphrase=NOT_UTF_8, scrypt=h.FAST_SCRYPT),
             lambda: _reopen(store).unlock(NOT_UTF_8),
             lambda: h.open_store(store.data_dir).change_passphrase(NOT_UTF_8))
    for call in calls:
        with pytest.raises(PassphraseNotTextError) as err:
            call()
        assert str(err.value) == PASSPHRASE_NOT_TEXT and err.value.__context__ is None
    assert not (tmp_path / "d").exists()
    with h.open_store(store.data_dir) as reopened:  # the passphrase is unchanged, nothing logged as a failed attempt
        assert [entry.event for entry in reopened.audit_entries()] == ["store_created"]


def test_create_twice_and_open_missing(tmp_path, store):
    with pytest.raises(StoreExistsError) as err:
        FamilyStore.create(store.data_dir, passphrase=PASS, scrypt=h.FAST_SCRYPT)
    assert str(err.value) == f"an Unveil store already exists in {store.data_dir}; nothing was changed"
    with pytest.raises(StoreNotFoundError) as err:
        FamilyStore(tmp_path / "nowhere")
    assert str(err.value) == f"no Unveil store in {tmp_path / 'nowhere'}: create one first"


def test_store_files_are_private_and_default_dir_is_overridable(tmp_path, monkeypatch):
    monkeypatch.setenv("UNVEIL_DATA_DIR", str(tmp_path / "from-env"))
    with FamilyStore.create(passphrase=PASS, scrypt=h.FAST_SCRYPT) as store:
        store.add_person("Hugo Chavez")
        assert store.data_dir == tmp_path / "from-env"
        files = sorted(p.name for p in store.data_dir.iterdir())
        assert DATA_FILE in files and KEYS_FILE in files
        for path in store.data_dir.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name  # -wal and -shm included
        assert stat.S_IMODE(store.data_dir.stat().st_mode) == 0o700


def test_not_a_database_is_reported_as_corrupt(tmp_path):
    data = tmp_path / "data"
    FamilyStore.create(data, passphrase=PASS, scrypt=h.FAST_SCRYPT).close()
    (data / DATA_FILE).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreCorruptError) as err:
        FamilyStore(data)
    assert str(err.value) == f"the store in {data} cannot be read (file is not a database); restore it from a backup"


def test_keys_of_another_store_are_refused(tmp_path):
    h.new_store(tmp_path / "a").close()
    h.new_store(tmp_path / "b").close()
    (tmp_path / "a" / KEYS_FILE).write_bytes((tmp_path / "b" / KEYS_FILE).read_bytes())
    with pytest.raises(StoreCorruptError) as err:
        FamilyStore(tmp_path / "a")
    assert str(err.value) == f"the store in {tmp_path / 'a'} cannot be read (keys.db belongs to another store); restore it from a backup"


def test_names_and_embeddings_are_validated(store):
    pid = store.add_person("  Gloria Arroyo ")
    assert store.person(pid).name == "Gloria Arroyo"
    with pytest.raises(PersonExistsError) as err:
        store.add_person("gloria arroyo")
    # The member's name as enrolled, not as typed: "gloria arroyo" did not say who is enrolled under it.
    assert str(err.value) == "a person named 'Gloria Arroyo' is already enrolled; nothing was changed"
    assert err.value.name == "Gloria Arroyo"
    for look_alike in ("Ｇloria Arroyo", "Gloria  Arroyo", "GLORIA\u3000ARROYO"):  # full-width, two spaces, ideographic space
        with pytest.raises(PersonExistsError):
            store.add_person(look_alike)
    assert store.find_person("ｇｌｏｒｉａ arroyo").id == pid
    assert store.person(store.add_person("Gloria  Macapagal")).name == "Gloria Macapagal"
    with pytest.raises(PersonNameError, match="a person's name must have 1 to 200 characters, got 0"):
        store.add_person("   ")
    with pytest.raises(PersonNameError, match="a person's name must not contain control or format characters"):
        store.add_person("Bad\x00Name")
    with pytest.raises(EmbeddingError) as err:
        store.add_embeddings(pid, np.full((2, 4), np.nan))
    assert str(err.value) == "embeddings must be finite (no NaN or infinity)"
    with pytest.raises(EmbeddingError) as err:
        store.add_embeddings(pid, np.ones((2, 3, 4)))
    assert str(err.value) == "embeddings must have shape (n, d) with n >= 1 and 1 <= d <= 8192, got (2, 3, 4)"
    store.add_embeddings(pid, np.ones((2, 128)))
    with pytest.raises(EmbeddingError) as err:
        store.add_embeddings(pid, np.ones((1, 64)))
    assert str(err.value) == "this person's 'default' embeddings have 128 dimensions, the new ones 64; nothing was stored"
    with pytest.raises(PersonNotFoundError) as err:
        store.add_embeddings("0" * 32, np.ones((1, 128)))
    assert str(err.value) == f"no person with id {'0' * 32} in the store"
    assert store.person(pid).embeddings == 2


def test_failed_transaction_leaves_no_rows_and_no_key(store):
    with pytest.raises(EmbeddingError), store.transaction():
        pid = store.add_person("Jennifer Lopez")
        store.add_embeddings(pid, np.ones((1, 0)))
    assert store.counts()["people"] == 0
    assert store.counts()["data_keys"] == 0  # the key made for the rolled-back person is gone too


def test_ciphertexts_do_not_move_between_rows(store):
    """Associated data binds each ciphertext to its table, row, column and owner."""
    a, b = store.add_person("Arnold Person"), store.add_person("Bertha Person")
    store.add_embeddings(a, np.ones((2, 4)))
    store.add_embeddings(b, np.zeros((1, 4)))
    path = store.data_dir / DATA_FILE
    (r1, v1), (r2, v2) = h.query(path, "SELECT id, vector FROM embeddings WHERE person_id = ?", (a,))
    with sqlite3.connect(path, isolation_level=None) as conn:  # swap two rows of the same person
        conn.execute("UPDATE embeddings SET vector = ? WHERE id = ?", (v2, r1))
        conn.execute("UPDATE embeddings SET vector = ? WHERE id = ?", (v1, r2))
    conn.close()
    with pytest.raises(h.TamperedDataError) as err:
        store.embeddings(a)
    assert str(err.value).endswith("(vector) failed authentication: it was altered, corrupted or moved, and was not decrypted")
    with sqlite3.connect(path, isolation_level=None) as conn:  # move b's name onto a
        name_b = conn.execute("SELECT name FROM people WHERE id = ?", (b,)).fetchone()[0]
        conn.execute("UPDATE people SET name = ? WHERE id = ?", (name_b, a))
    conn.close()
    with pytest.raises(h.TamperedDataError) as err:
        store.person(a)
    assert str(err.value) == f"people row {a} (name) failed authentication: it was altered, corrupted or moved, and was not decrypted"
    assert store.person(b).name == "Bertha Person"


def test_a_failed_nested_unit_is_undone_alone(store):
    with store.transaction():
        kept = store.add_person("Kept Person")
        with pytest.raises(PersonExistsError), store.transaction():
            store.add_embeddings(kept, np.ones((2, 4)))
            store.add_person("kept person")
        with pytest.raises(PersonNotFoundError), store.transaction():
            store.delete_person(kept)
            store.delete_person(kept)
    assert [(p.name, p.embeddings) for p in store.people()] == [("Kept Person", 0)]
    assert store.counts()["data_keys"] == 1  # the undone erasure did not destroy the key


def test_a_failed_nested_unit_takes_the_keys_it_made_with_it(store):
    # A key made for rows that a savepoint undid would be a key nothing uses once the outer unit
    # commits, which check() reports as damage and which stops every retention sweep after it.
    with store.transaction():
        kept = store.add_person("Kept Person")
        with pytest.raises(PersonNotFoundError), store.transaction():
            store.add_person("Undone Person")
            store.add_analysis({"faces": 1})
            store.delete_person("no-such-person")
    assert store.counts()["data_keys"] == 1
    assert store.check() == []
    assert [p.id for p in store.people()] == [kept]
