"""governance.starting_over: a household that forgot its passphrase sets the old store aside, unopened, and starts a
new one; the old store is destroyed only on a second request. Nothing moves on a wrong passphrase, a configured
secret that still opens the store, a key file not said to be lost, a store another program has open, or damage."""
from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from fer_core.store import (
    DATA_FILE,
    KEYS_FILE,
    STORE_IN_USE_MESSAGE,
    FamilyStore,
    StoreCorruptError,
    StoreError,
    StoreInUseError,
    WeakPassphraseError,
    WrongPassphraseError,
    create_key_file,
    set_aside_folders,
)
from governance import backup, starting_over
from tests.support import privacy_harness as h

NEW = "a new passphrase, written down this time"


@pytest.fixture
def forgotten(tmp_path) -> Path:
    """A store with two members, a backup recorded and three wrong passphrases in its log."""
    data_dir = tmp_path / "data"
    with h.new_store(data_dir) as store:
        h.enrol(store, "Halle Berry")
        h.enrol(store, "Hamid Karzai")
        backup.back_up(store, tmp_path / "backup")
    with FamilyStore(data_dir) as store:
        for guess in ("correct horse", "battery staple", "Correct horse battery staple"):
            with pytest.raises(WrongPassphraseError):
                store.unlock(guess)
    return data_dir


def _digests(folder: Path) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in (DATA_FILE, KEYS_FILE)}


def test_starting_over_sets_the_old_store_aside_unopened_and_the_new_log_records_it(forgotten):
    before = _digests(forgotten)
    done = starting_over.start_over(forgotten, NEW, scrypt=h.FAST_SCRYPT)
    with done.store as store:
        assert store.counts()["people"] == 0
        assert [(e.event, e.details, e.sealed) for e in store.audit_entries()][1:] == [
            ("store_set_aside", {"old_store": done.old.store_id, "people": 2, "embeddings": 10, "thumbnails": 2,
                                 "consents": 2, "analyses": 0, "backups": 1, "failed_unlocks": 3}, True)]
    assert set_aside_folders(forgotten) == [done.old.folder] and done.old.folder.parent == forgotten
    assert _digests(done.old.folder) == before  # moved, not opened or changed
    assert sorted(os.listdir(done.old.folder)) == [KEYS_FILE, DATA_FILE]
    assert oct(done.old.folder.stat().st_mode & 0o777) == "0o700"
    # The passphrase turns up: the old store opens where it was set aside, whole.
    with FamilyStore(done.old.folder) as old:
        old.unlock(h.PASSPHRASE)
        assert sorted(p.name for p in old.people()) == ["Halle Berry", "Hamid Karzai"]
    with FamilyStore(forgotten) as new:
        new.unlock(NEW)


def test_the_reminder_says_what_the_old_store_holds_without_its_key(forgotten):
    done = starting_over.start_over(forgotten, NEW, scrypt=h.FAST_SCRYPT)
    done.store.close()
    (old,) = starting_over.set_aside(forgotten)
    assert old == done.old
    assert old.held() == starting_over.HELD.format(people=2, embeddings=10, thumbnails=2, consents=2, analyses=0,
                                                   backups=1, opens="passphrase")


def test_a_set_aside_store_damaged_since_is_still_listed_and_can_be_destroyed(forgotten):
    done = starting_over.start_over(forgotten, NEW, scrypt=h.FAST_SCRYPT)
    (done.old.folder / DATA_FILE).write_bytes(b"not a database at all" * 100)
    (old,) = starting_over.set_aside(forgotten)
    assert (old.folder, old.store_id, old.held()) == (done.old.folder, None, starting_over.UNREADABLE)
    with done.store as store:
        starting_over.destroy_old(store, old.folder)
        assert store.audit_entries()[-1].details == {"old_store": None, "people": None, "embeddings": None,
                                                     "thumbnails": None, "consents": None, "analyses": None,
                                                     "backups": None, "failed_unlocks": None}
    assert not done.old.folder.exists()


def test_destroying_the_old_store_deletes_its_files_and_is_logged(forgotten):
    done = starting_over.start_over(forgotten, NEW, scrypt=h.FAST_SCRYPT)
    with sqlite3.connect(done.old.folder / KEYS_FILE) as conn:
        wrapped = [row[0] for row in conn.execute("SELECT wrapped FROM data_keys")]
    conn.close()
    with done.store as store:
        seq = starting_over.destroy_old(store, done.old.folder)
        entry = store.audit_entries()[-1]
    assert (entry.seq, entry.event, entry.details) == (seq, "old_store_destroyed", done.old.details())
    assert not done.old.folder.exists() and starting_over.set_aside(forgotten) == []
    assert sorted(os.listdir(forgotten)) == [KEYS_FILE, DATA_FILE]
    left = b"".join(path.read_bytes() for path in forgotten.rglob("*") if path.is_file())
    assert len(wrapped) == 4 and not any(key in left for key in wrapped)


def test_only_a_folder_set_aside_in_the_stores_data_folder_is_destroyed(forgotten, tmp_path):
    done = starting_over.start_over(forgotten, NEW, scrypt=h.FAST_SCRYPT)
    with done.store as store:
        for folder in (tmp_path / "backup", forgotten):
            with pytest.raises(StoreError) as err:
                starting_over.destroy_old(store, folder)
            assert str(err.value) == starting_over.NOT_SET_ASIDE.format(folder=folder, data_dir=forgotten)
    assert _digests(tmp_path / "backup") and set_aside_folders(forgotten) == [done.old.folder]


def _refused(data_dir: Path, error: type[Exception], message: str | None, **kwargs) -> None:
    before = _digests(data_dir)
    with pytest.raises(error) as err:
        starting_over.start_over(data_dir, kwargs.pop("new", NEW), scrypt=h.FAST_SCRYPT, **kwargs)
    if message is not None:
        assert str(err.value) == message
    assert _digests(data_dir) == before and set_aside_folders(data_dir) == []


def test_a_configured_secret_that_opens_the_store_refuses_starting_over(forgotten, tmp_path):
    _refused(forgotten, StoreError, starting_over.PASSPHRASE_OPENS, passphrase=h.PASSPHRASE)
    key_file = create_key_file(tmp_path / "unveil.key")
    with FamilyStore(forgotten) as store:
        store.unlock(h.PASSPHRASE)
        store.set_key_file(key_file)
    _refused(forgotten, StoreError, starting_over.KEY_FILE_OPENS.format(key_file=key_file), key_file=key_file,
             key_file_lost=True)
    # A store a key file opens is set aside only once the key file is said to be lost too.
    _refused(forgotten, StoreError, starting_over.KEY_FILE_NOT_SAID_LOST)
    other = create_key_file(tmp_path / "another.key")
    done = starting_over.start_over(forgotten, NEW, key_file=other, key_file_lost=True, passphrase="a wrong guess",
                                    scrypt=h.FAST_SCRYPT)
    done.store.close()
    assert done.old.has_key_file and done.old.failed_unlocks == 4


def test_a_store_only_its_key_file_opens_is_told_so_when_refused_and_in_what_it_holds(tmp_path):
    # `unveil family init --key-file F --no-passphrase`: no passphrase to forget, nothing else that "also" opens it.
    data_dir = tmp_path / "data"
    key_file = create_key_file(tmp_path / "unveil.key")
    with FamilyStore.create(data_dir, key_file=key_file, scrypt=h.FAST_SCRYPT) as store:
        backup.back_up(store, tmp_path / "backup")
    _refused(data_dir, StoreError, starting_over.KEY_FILE_ONLY_NOT_SAID_LOST)
    assert starting_over.current(data_dir).held() == starting_over.HELD.format(
        people=0, embeddings=0, thumbnails=0, consents=0, analyses=0, backups=1, opens="key file")
    assert "(they open with its key file too)" in starting_over.current(data_dir).held()
    done = starting_over.start_over(data_dir, NEW, key_file_lost=True, scrypt=h.FAST_SCRYPT)
    done.store.close()
    assert (done.old.has_key_file, done.old.has_passphrase) == (True, False)


def test_a_store_both_open_says_its_backups_open_with_either(forgotten, tmp_path):
    with FamilyStore(forgotten) as store:
        store.unlock(h.PASSPHRASE)
        store.set_key_file(create_key_file(tmp_path / "unveil.key"))
    assert "(they open with its passphrase or key file too)" in starting_over.current(forgotten).held()


def test_a_store_open_in_another_program_is_not_moved(forgotten):
    child = subprocess.Popen([sys.executable, "-c", "import sys, time; from fer_core.store import FamilyStore; "
                              f"s = FamilyStore({str(forgotten)!r}); print('open', flush=True); sys.stdin.read()"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "open\n"
        _refused(forgotten, StoreInUseError, STORE_IN_USE_MESSAGE.format(data_dir=forgotten))
    finally:
        child.communicate("")
    with FamilyStore(forgotten):  # another tab of the same app server
        _refused(forgotten, StoreInUseError, STORE_IN_USE_MESSAGE.format(data_dir=forgotten))


def test_damage_a_weak_passphrase_or_no_room_for_the_new_store_move_nothing(forgotten):
    _refused(forgotten, WeakPassphraseError, None, new="short")
    forgotten.chmod(0o777)  # FamilyStore.create refuses a folder others can write: the new store cannot be made
    try:
        before = _digests(forgotten)
        with pytest.raises(StoreError) as err:
            starting_over.start_over(forgotten, NEW, scrypt=h.FAST_SCRYPT)
        assert str(err.value).startswith("no new store was made (no store was made in ")
        assert str(err.value).endswith("; the old store was put back where it was, unchanged")
        assert _digests(forgotten) == before and set_aside_folders(forgotten) == []
        assert sorted(os.listdir(forgotten)) == [KEYS_FILE, DATA_FILE]
    finally:
        forgotten.chmod(0o700)
    with sqlite3.connect(forgotten / KEYS_FILE) as conn:
        conn.execute("DROP TABLE meta")
    _refused(forgotten, StoreCorruptError, None)
