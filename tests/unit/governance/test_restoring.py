"""governance.restoring: a store that fails its checks is set aside, unchanged, and a backup restored into the data
folder once its copy passed the same checks. Before, the app refused a damaged store at unlock and sent the household
to `unveil family check` and to moving files by hand (README "Backing up, restoring"); starting over refused a store
that does not open as one. Nothing is deleted or changed: a store that passes its checks is not set aside, a backup is
never written over a store, a wrong passphrase or a damaged backup leaves nothing behind."""
from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from pathlib import Path

import pytest

from fer_core.store import (
    DATA_FILE,
    KEYS_FILE,
    RESTORE_STAGING_PREFIX,
    RESTORING_MESSAGE,
    FamilyStore,
    StoreError,
    StoreRestoringError,
    WrongPassphraseError,
    create_key_file,
    set_aside_folders,
)
from governance import backup, restoring, starting_over
from tests.support import privacy_harness as h


def _digests(folder: Path) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in (DATA_FILE, KEYS_FILE)}


def _sql(path: Path, statement: str) -> None:
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute(statement)


@pytest.fixture
def household(tmp_path) -> tuple[Path, Path]:
    """A store with two members and a backup of it (in tmp_path/usb/backup)."""
    data_dir = tmp_path / "data"
    (tmp_path / "usb").mkdir()
    with h.new_store(data_dir) as store:
        h.enrol(store, "Halle Berry")
        h.enrol(store, "Hamid Karzai")
        backup.back_up(store, tmp_path / "usb" / "backup")
    return data_dir, tmp_path / "usb" / "backup"


def test_a_damaged_store_is_set_aside_unchanged_and_the_backup_restored_checked_and_logged(household):
    data_dir, backup_dir = household
    _sql(data_dir / DATA_FILE, "DELETE FROM consents")  # damage that only the checks see
    before, backup_before = _digests(data_dir), _digests(backup_dir)
    with pytest.raises(StoreError) as err:
        restoring.restore(data_dir, backup_dir, passphrase=h.PASSPHRASE)  # never over a store
    assert str(err.value) == restoring.STORE_THERE.format(data_dir=data_dir) and _digests(data_dir) == before

    old = restoring.set_aside_damaged(data_dir, passphrase=h.PASSPHRASE)
    assert set_aside_folders(data_dir) == [old.folder] and _digests(old.folder) == before
    assert old.held() == starting_over.HELD.format(people=2, embeddings=10, thumbnails=2, consents=0, analyses=0,
                                                   backups=1, opens="passphrase")
    assert not (data_dir / DATA_FILE).exists() and not (data_dir / KEYS_FILE).exists()

    done = restoring.restore(data_dir, backup_dir, passphrase=h.PASSPHRASE)
    with done.store as store:
        store.require_intact()
        assert sorted(p.name for p in store.people()) == ["Halle Berry", "Hamid Karzai"]
        entry = store.audit_entries()[-1]
    counts = {"people": 2, "embeddings": 10, "thumbnails": 2, "consents": 2, "analyses": 0}
    assert done.counts == counts and (entry.seq, entry.event, entry.details) == (done.audit_seq, "store_restored", counts)
    assert sorted(os.listdir(data_dir)) == sorted([KEYS_FILE, DATA_FILE, old.folder.name])  # no hidden copy left
    assert {oct((data_dir / name).stat().st_mode & 0o777) for name in (DATA_FILE, KEYS_FILE)} == {"0o600"}
    assert _digests(backup_dir) == backup_before and sorted(os.listdir(backup_dir)) == [KEYS_FILE, DATA_FILE]


def test_a_store_that_passes_its_checks_is_not_set_aside_and_a_wrong_passphrase_moves_nothing(household):
    data_dir, _ = household
    before = _digests(data_dir)
    with pytest.raises(StoreError) as err:
        restoring.set_aside_damaged(data_dir, passphrase=h.PASSPHRASE)
    assert str(err.value) == restoring.NOT_DAMAGED.format(data_dir=data_dir) and _digests(data_dir) == before
    _sql(data_dir / DATA_FILE, "DELETE FROM consents")
    with pytest.raises(WrongPassphraseError):
        restoring.set_aside_damaged(data_dir, passphrase="a wrong guess")
    with pytest.raises(StoreError) as err:
        restoring.set_aside_damaged(data_dir)
    assert str(err.value) == restoring.SECRET_NEEDED.format(data_dir=data_dir)
    assert set_aside_folders(data_dir) == [] and (data_dir / DATA_FILE).is_file()


def test_a_store_that_does_not_open_as_one_is_set_aside_without_its_key(household):
    data_dir, _ = household
    _sql(data_dir / DATA_FILE, "DROP TABLE analyses")
    old = restoring.set_aside_damaged(data_dir)
    assert (old.store_id, old.held()) == (None, starting_over.UNREADABLE)
    assert set_aside_folders(data_dir) == [old.folder] and not (data_dir / DATA_FILE).exists()


def test_a_backup_that_does_not_open_or_fails_its_checks_restores_nothing(household, tmp_path):
    data_dir, backup_dir = household
    empty = tmp_path / "new-computer" / "data"
    refusals = [(dict(passphrase="a wrong guess"),
                 restoring.BACKUP_NOT_OPENED.format(secret="passphrase", folder=backup_dir)),
                (dict(key_file=create_key_file(tmp_path / "other.key")),
                 restoring.BACKUP_NOT_OPENED.format(secret="key file", folder=backup_dir))]
    for secret, message in refusals:
        with pytest.raises(StoreError) as err:
            restoring.restore(empty, backup_dir, **secret)
        assert str(err.value) == message
    with pytest.raises(StoreError) as err:
        restoring.restore(empty, tmp_path / "usb", passphrase=h.PASSPHRASE)
    assert str(err.value) == restoring.NOT_A_BACKUP.format(folder=tmp_path / "usb")
    _sql(backup_dir / DATA_FILE, "DELETE FROM consents")
    with pytest.raises(StoreError) as err:
        restoring.restore(empty, backup_dir, passphrase=h.PASSPHRASE)
    assert str(err.value).startswith(restoring.BACKUP_FAILS_CHECKS.split("(")[0].format(folder=backup_dir))
    assert not empty.parent.exists()  # no store, no hidden copy, no folder made for them left

    # Onto a new computer: an empty data folder, the key file of the backup's day.
    with FamilyStore(data_dir) as store:
        store.unlock(h.PASSPHRASE)
        key_file = create_key_file(tmp_path / "unveil.key")
        store.set_key_file(key_file)
        backup.back_up(store, tmp_path / "usb" / "with-key-file")
    with restoring.restore(empty, tmp_path / "usb" / "with-key-file", key_file=key_file).store as store:
        assert store.counts()["people"] == 2


def test_a_backup_of_a_later_version_is_refused_as_such_not_as_a_store_in_a_hidden_folder(household, tmp_path):
    """A backup made by a later Unveil (its store version 4) restored here: the refusal named the hidden folder the
    copy was checked in, gone since, and said the store needs no restore."""
    _, backup_dir = household
    _sql(backup_dir / DATA_FILE, "UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    before, empty = _digests(backup_dir), tmp_path / "new-computer" / "data"
    with pytest.raises(StoreError) as err:
        restoring.restore(empty, backup_dir, passphrase=h.PASSPHRASE)
    assert str(err.value) == restoring.BACKUP_TOO_NEW.format(folder=backup_dir, found="4", known="3")
    assert not empty.parent.exists() and _digests(backup_dir) == before


def test_leftover_files_of_another_store_keep_a_backup_out(household, tmp_path):
    _, backup_dir = household
    data_dir = tmp_path / "other"
    data_dir.mkdir()
    (data_dir / f"{DATA_FILE}-wal").write_bytes(b"frames of an earlier store")
    with pytest.raises(StoreError) as err:
        restoring.restore(data_dir, backup_dir, passphrase=h.PASSPHRASE)
    assert str(err.value) == restoring.STORE_THERE.format(data_dir=data_dir)
    assert sorted(os.listdir(data_dir)) == [f"{DATA_FILE}-wal"]


def _opened_between_placements(monkeypatch, refusals: list[StoreError]) -> None:
    """A session opening the data folder (another tab, `unveil serve` starting, a CLI command) in the moment between
    restore's placing unveil.db and placing keys.db."""
    place = restoring.place_new_file

    def opened_between(source: Path, target: Path) -> None:
        place(source, target)
        if target.name == DATA_FILE:
            try:
                FamilyStore(target.parent).close()
            except StoreError as exc:
                refusals.append(exc)

    monkeypatch.setattr(restoring, "place_new_file", opened_between)


def test_a_session_opening_the_store_midway_through_a_restore_is_told_a_restore_is_under_way(household, tmp_path,
                                                                                               monkeypatch):
    """It was told the store was damaged ("keys.db is missing, so every data key is gone; restore it from a
    backup"), to someone restoring it."""
    _, backup_dir = household
    data_dir, refusals = tmp_path / "new", []
    _opened_between_placements(monkeypatch, refusals)
    done = restoring.restore(data_dir, backup_dir, passphrase=h.PASSPHRASE)
    assert [type(exc) for exc in refusals] == [StoreRestoringError]
    assert str(refusals[0]) == RESTORING_MESSAGE.format(data_dir=data_dir)
    with done.store as store:
        store.require_intact()
        assert sorted(p.name for p in store.people()) == ["Halle Berry", "Hamid Karzai"]
    assert sorted(os.listdir(data_dir)) == [KEYS_FILE, DATA_FILE]


def test_a_session_opening_a_restored_empty_store_midway_leaves_it_whole(tmp_path, monkeypatch):
    """A backup of an empty store: the session completed the half-placed store with a keys.db of its own, as after a
    creation stopped there; the restore, finding a keys.db in its way, removed its unveil.db and said the folder held
    a store ("Set a damaged store aside first"). The folder was left with that lone keys.db: no store opened there,
    a restore was refused (a store's file there) and so was a new store (told to restore unveil.db from a backup)."""
    with h.new_store(tmp_path / "old") as store:
        backup.back_up(store, tmp_path / "backup")
    data_dir, refusals = tmp_path / "new", []
    _opened_between_placements(monkeypatch, refusals)
    done = restoring.restore(data_dir, tmp_path / "backup", passphrase=h.PASSPHRASE)
    assert [type(exc) for exc in refusals] == [StoreRestoringError]
    done.store.close()
    monkeypatch.undo()
    with h.open_store(data_dir) as store:
        store.require_intact()
        assert store.audit_entries()[-1].event == restoring.RESTORED_EVENT
    assert sorted(os.listdir(data_dir)) == [KEYS_FILE, DATA_FILE]


def test_a_restore_stopped_between_its_placements_is_set_aside_and_restored_again(household, tmp_path):
    """A crash between the two placements leaves unveil.db, no keys.db, and the hidden folder the copy was checked
    in (its keys.db there): no session completes or uses that store, each is told a restore is under way or was
    stopped, and the household sets it aside and restores the backup again, as the message says."""
    _, backup_dir = household
    data_dir = tmp_path / "new"
    staging = data_dir / f"{RESTORE_STAGING_PREFIX}stopped"
    staging.mkdir(parents=True)
    for name in (DATA_FILE, KEYS_FILE):
        (staging / name).write_bytes((backup_dir / name).read_bytes())
    os.link(staging / DATA_FILE, data_dir / DATA_FILE)
    with pytest.raises(StoreRestoringError):
        FamilyStore(data_dir)
    assert not (data_dir / KEYS_FILE).exists()
    old = restoring.set_aside_damaged(data_dir)
    assert sorted(os.listdir(old.folder)) == [DATA_FILE]
    with restoring.restore(data_dir, backup_dir, passphrase=h.PASSPHRASE).store as store:
        store.require_intact()
        assert sorted(p.name for p in store.people()) == ["Halle Berry", "Hamid Karzai"]
