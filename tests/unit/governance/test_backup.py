"""Backups (`unveil family backup FOLDER`, governance.backup, FamilyStore.back_up): one state of both files, taken
while other sessions write, that opens elsewhere with the passphrase or the key file and passes `unveil family
check` and `unveil audit verify`; never over anything; never half; logged with counts only. Copying the folder
while a session writes gave damaged or unopenable copies (benchmarks/live_copy.py)."""
from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from fer_core.store import (
    BACKUP_DAMAGED,
    BACKUP_EXISTS,
    BACKUP_NOT_WRITTEN,
    DATA_FILE,
    KEYS_FILE,
    BackupDamagedError,
    BackupExistsError,
    BackupFolderError,
    FamilyStore,
    create_key_file,
)
from governance import backup, erasure, family
from tests.support import privacy_harness as h
from unveil.cli.family import BACKUP_DONE

MEMBERS = ("Ana Lima", "Ben Okafor")


@pytest.fixture
def store(tmp_path):
    with h.new_store(tmp_path / "data") as opened:
        for name in MEMBERS:
            h.enrol(opened, name)
        yield opened


def _moved(backup_dir: Path, elsewhere: Path) -> Path:
    """The backup's two files copied into a new data folder, as onto a new computer."""
    elsewhere.mkdir(parents=True)
    for name in (DATA_FILE, KEYS_FILE):
        shutil.copy(backup_dir / name, elsewhere / name)
    return elsewhere


def _audit_count(data_dir: Path) -> int:
    return h.query(data_dir / DATA_FILE, "SELECT COUNT(*) FROM audit")[0][0]


def test_a_backup_restored_elsewhere_opens_with_the_passphrase_and_passes_check_and_verify(store, tmp_path):
    (tmp_path / "usb").mkdir()
    done = backup.back_up(store, tmp_path / "usb" / "unveil-backup")
    assert done.counts == {"people": 2, "embeddings": 10, "thumbnails": 2, "consents": 2, "analyses": 0}
    assert sorted(p.name for p in done.path.iterdir()) == sorted([DATA_FILE, KEYS_FILE])
    assert oct(done.path.stat().st_mode & 0o777) == "0o700"
    assert {oct((done.path / name).stat().st_mode & 0o777) for name in (DATA_FILE, KEYS_FILE)} == {"0o600"}
    restored = _moved(done.path, tmp_path / "new computer" / "unveil")
    assert h.check_consistency(restored) == (True, [], True)
    with h.open_store(restored) as copy:
        assert sorted(p.name for p in copy.people()) == sorted(MEMBERS)
        for person in copy.people():
            assert np.array_equal(copy.embeddings(person.id), h.person_embeddings(person.name))
        assert copy.verify_audit().anchored


def test_the_cli_writes_a_backup_that_family_check_and_audit_verify_pass(store, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    target = tmp_path / "backup"
    code, out, err = h.run_cli(capsys, "family", "backup", "--data-dir", str(store.data_dir), str(target))
    assert code == 0
    assert out.strip() == BACKUP_DONE.format(path=target, people=2, embeddings=10, thumbnails=2, consents=2, analyses=0)
    assert err.strip() == f"note: {backup.BACKUP_REACH}"
    restored = _moved(target, tmp_path / "restored")
    code, out, _ = h.run_cli(capsys, "family", "check", "--data-dir", str(restored))
    assert (code, out.strip()) == (0, "every encrypted value authenticates (2 people, 10 embeddings)")
    code, out, _ = h.run_cli(capsys, "audit", "verify", "--data-dir", str(restored))
    assert code == 0 and out.startswith("audit log intact:")


def test_a_backup_opens_with_the_key_file(tmp_path):
    key_file = tmp_path / "unveil.key"
    create_key_file(key_file)
    with FamilyStore.create(tmp_path / "data", key_file=key_file, scrypt=h.FAST_SCRYPT) as made:
        h.enrol(made, "Ana Lima")
        done = backup.back_up(made, tmp_path / "backup")
    with FamilyStore(_moved(done.path, tmp_path / "elsewhere")) as copy:
        copy.unlock(key_file=key_file)
        assert [p.name for p in copy.people()] == ["Ana Lima"] and copy.check() == []


def test_backups_taken_while_another_session_writes_are_each_one_whole_state(store, tmp_path):
    """A second session (its own FamilyStore, as `unveil watch` beside the CLI) notes recognitions, enrols and
    purges without pause; every backup taken meanwhile is consistent and holds every commit made before it began."""
    stop, errors = threading.Event(), []

    def writer() -> None:
        try:
            with h.open_store(store.data_dir) as other:
                i = 0
                while not stop.is_set():
                    i += 1
                    ids = other.person_ids()
                    if i % 5 == 0:
                        h.enrol(other, f"Writer {i}")
                    elif i % 7 == 0 and len(ids) > 3:
                        erasure.purge_person(other, ids[-1])
                    else:
                        family.note_recognition(other, ids[:1], faces=1)
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for n in range(8):
            before = _audit_count(store.data_dir)
            done = backup.back_up(store, tmp_path / f"backup-{n}")
            assert h.check_consistency(done.path) == (True, [], True), n
            assert _audit_count(done.path) >= before
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert _audit_count(store.data_dir) > 8 * 2  # the writer did write meanwhile


@pytest.mark.parametrize("there", ["empty folder", "folder with a file", "file"])
def test_a_backup_is_never_written_over_anything(store, tmp_path, there):
    target = tmp_path / "backup"
    if there == "file":
        target.write_bytes(b"keep me")
    else:
        target.mkdir()
        if there == "folder with a file":
            (target / "photo.jpg").write_bytes(b"keep me")
    entries = _audit_count(store.data_dir)
    with pytest.raises(BackupExistsError) as raised:
        backup.back_up(store, target)
    assert str(raised.value) == BACKUP_EXISTS.format(path=target)
    if there == "file":
        assert target.read_bytes() == b"keep me"
    else:
        assert [p.name for p in target.iterdir()] == ([] if there == "empty folder" else ["photo.jpg"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup", "data"]  # no partial backup beside it
    assert _audit_count(store.data_dir) == entries


def test_a_folder_made_meanwhile_is_not_replaced(store, tmp_path, monkeypatch):
    target = tmp_path / "backup"
    real_check = FamilyStore._check_backup

    def check_then_someone_fills_the_folder(self, *args):
        counts = real_check(self, *args)
        target.mkdir()
        (target / "photo.jpg").write_bytes(b"keep me")
        return counts

    monkeypatch.setattr(FamilyStore, "_check_backup", check_then_someone_fills_the_folder)
    with pytest.raises(BackupExistsError):
        backup.back_up(store, target)
    assert [p.name for p in target.iterdir()] == ["photo.jpg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup", "data"]


def test_a_folder_that_cannot_be_made_is_said_and_nothing_is_written(store, tmp_path):
    target = tmp_path / "no such disk" / "backup"
    with pytest.raises(BackupFolderError) as raised:
        backup.back_up(store, target)
    assert str(raised.value) == BACKUP_NOT_WRITTEN.format(path=target, detail="No such file or directory")


def test_a_crash_before_the_backup_is_whole_leaves_nothing_under_its_name(store, tmp_path):
    """The process dies just before the finished copy is renamed into place: no folder has the name given, and
    what is left is a hidden .unveil-backup-partial-* folder, 0700, that no one would take for a backup."""
    target = tmp_path / "backup"
    script = ("import os, sys\nfrom tests.support import privacy_harness as h\nfrom governance import backup\n"
              "os.rename = lambda *a: os._exit(9)\n"
              f"store = h.open_store({str(store.data_dir)!r})\nbackup.back_up(store, {str(target)!r})\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[3], timeout=120)
    assert proc.returncode == 9
    assert not target.exists()
    left = [p for p in tmp_path.iterdir() if p.name != "data"]
    assert [p.name.startswith(".unveil-backup-partial-") for p in left] == [True]
    assert oct(left[0].stat().st_mode & 0o777) == "0o700"


def test_a_damaged_store_gives_no_backup(store, tmp_path):
    ana = store.find_person("Ana Lima").id
    with contextlib.closing(sqlite3.connect(store.data_dir / DATA_FILE, isolation_level=None)) as conn:
        conn.execute("UPDATE embeddings SET vector = zeroblob(length(vector)) WHERE id = "
                     "(SELECT id FROM embeddings WHERE person_id = ? LIMIT 1)", (ana,))
    problems = [item.message for item in store.check()]
    target = tmp_path / "backup"
    with pytest.raises(BackupDamagedError) as raised:
        backup.back_up(store, target)
    assert str(raised.value) == BACKUP_DAMAGED.format(path=target, count=len(problems), first=problems[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_erasure_cannot_reach_a_backup_made_before_it_and_the_next_backup_holds_no_trace(store, tmp_path):
    ana = store.find_person("Ana Lima").id
    before = backup.back_up(store, tmp_path / "before")
    erased = h.sealed_blobs_of(store.data_dir, ana)
    erasure.purge_person(store, ana)
    with h.open_store(_moved(before.path, tmp_path / "old copy")) as old:  # the copy still names her
        assert sorted(p.name for p in old.people()) == sorted(MEMBERS)
    after = backup.back_up(store, tmp_path / "after")
    assert h.scan(after.path, {label: blob[:32] for label, blob in erased.items()}) == []
    with h.open_store(_moved(after.path, tmp_path / "new copy")) as new:
        assert [p.name for p in new.people()] == ["Ben Okafor"]


def test_a_key_an_erasure_had_yet_to_destroy_is_not_in_the_backup(store, tmp_path, monkeypatch):
    """Another session's purge committed, its key's destruction not yet (the moment between the two files'
    commits): the backup, opened as after a crash, destroys that key before it is kept."""
    ana = store.find_person("Ana Lima").id
    wrapped = h.query(store.data_dir / KEYS_FILE, "SELECT wrapped FROM data_keys WHERE owner = ?", (ana,))[0][0]
    monkeypatch.setattr(FamilyStore, "_after_commit", lambda self: None)
    monkeypatch.setattr(FamilyStore, "scrub", lambda self: False)
    erasure.purge_person(store, ana)
    monkeypatch.undo()
    assert h.scan(store.data_dir, {"key": wrapped})  # still in the store's keys.db
    done = backup.back_up(store, tmp_path / "backup")
    assert h.scan(done.path, {"key": wrapped}) == []


def test_the_log_says_a_backup_was_made_with_counts_never_names_nor_where(store, tmp_path):
    target = tmp_path / "Ana Lima's USB disk"
    done = backup.back_up(store, target)
    entry = store.audit_entries()[-1]
    assert (entry.seq, entry.event, entry.person_id) == (done.audit_seq, "backup", None)
    assert entry.details == done.counts
    assert store.verify_audit().ok
    needles = {**h.text_needles("name", "Ana Lima"), "path": str(target).encode(), "folder": b"USB disk"}
    assert h.scan(store.data_dir, needles) == []
    assert h.scan(target, needles) == []


def test_a_backup_that_cannot_be_logged_is_removed(store, tmp_path, monkeypatch):
    target = tmp_path / "backup"

    def refuse(*args, **kwargs):
        raise OSError("the log could not be written")

    monkeypatch.setattr(backup.audit_log, "record", refuse)
    with pytest.raises(OSError):
        backup.back_up(store, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    assert os.listdir(store.data_dir)
