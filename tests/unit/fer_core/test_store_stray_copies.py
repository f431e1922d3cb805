"""Copies of the store's files beside it: a cloud client syncing the data folder leaves conflicted copies ("unveil
(1).db", "keys (host's conflicted copy ...).db"), which Unveil never uses and erasure never reaches. Before, nothing
said so: a member purged there was still read from the pair of copies, with the same passphrase, beside the receipt
that said they were erased. Now every command that opens the store says which files they are, once a run
(STRAY_COPIES_WARNING), and deletes nothing."""
from __future__ import annotations

import shutil
import sqlite3

import pytest

from fer_core.store import DATA_FILE, KEYS_FILE, STRAY_COPIES_WARNING, stray_copies
from tests.support import privacy_harness as h
from tests.support.privacy_harness import run_cli as run
from unveil.cli import _store_args  # noqa: PLC2701 (the warned folders of this run, reset)

# Dropbox, Google Drive, Nextcloud, Syncthing, OneDrive, iCloud Drive
CONFLICTS = ("unveil (1).db", "keys (host's conflicted copy 2026-12-08).db",
             "unveil (conflicted copy 2026-12-08 101500).db", "keys.sync-conflict-20261208-101500-ABCDEFG.db",
             "unveil-laptop.db", "keys 2.db")


def test_copies_are_known_by_their_content_whatever_their_name(tmp_path):
    data = tmp_path / "data"
    h.new_store(data).close()
    for name in CONFLICTS:
        shutil.copyfile(data / (DATA_FILE if name.startswith("unveil") else KEYS_FILE), data / name)
    sqlite3.connect(data / "notes").close()  # an empty file: no header yet
    with sqlite3.connect(data / "other.sqlite") as conn:
        conn.execute("CREATE TABLE t (x)")
    (data / "unveil (2).db").write_text("not a database")
    (data / "set-aside-20261208T101500Z").mkdir()
    shutil.copyfile(data / DATA_FILE, data / "set-aside-20261208T101500Z" / DATA_FILE)
    (data / "link.db").symlink_to(data / DATA_FILE)
    for own in (f"{DATA_FILE}-wal", f"{KEYS_FILE}-shm", f"{DATA_FILE}-journal"):
        shutil.copyfile(data / DATA_FILE, data / own)
    assert stray_copies(data) == sorted([*CONFLICTS, "other.sqlite"])
    assert stray_copies(tmp_path / "missing") == []


@pytest.fixture
def alice_beside_copies(tmp_path, monkeypatch):
    """A store with a member, Alice, that a sync client copied: its conflicted copies beside it."""
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    monkeypatch.setattr(_store_args, "_WARNED_FOLDER", set())
    data = tmp_path / "Dropbox" / "unveil"
    store = h.new_store(data)
    store.add_person("Alice")
    store.close()
    shutil.copyfile(data / DATA_FILE, data / CONFLICTS[0])
    shutil.copyfile(data / KEYS_FILE, data / CONFLICTS[1])
    return data


def test_a_purge_beside_conflicted_copies_says_they_are_not_reached_and_deletes_nothing(alice_beside_copies, capsys,
                                                                                       tmp_path):
    data = alice_beside_copies
    code, _, err = run(capsys, "family", "purge", "Alice", "--yes", "--data-dir", str(data))
    names = ", ".join(sorted(CONFLICTS[:2]))
    assert code == 0 and err.startswith("warning: " + STRAY_COPIES_WARNING.format(data_dir=data, names=names) + "\n")
    assert err.startswith(f"warning: {data} holds database files beside the store's that Unveil did not make: {names}. "
                          "A cloud client syncing the folder")
    assert stray_copies(data) == sorted(CONFLICTS[:2])  # nothing deleted
    assert h.open_store(data).people() == []
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copyfile(data / CONFLICTS[0], elsewhere / DATA_FILE)
    shutil.copyfile(data / CONFLICTS[1], elsewhere / KEYS_FILE)
    assert [p.name for p in h.open_store(elsewhere).people()] == ["Alice"]  # why it is said


def test_the_warning_is_said_once_a_run_and_not_without_copies(alice_beside_copies, capsys):
    data = alice_beside_copies
    assert "warning:" in run(capsys, "family", "list", "--data-dir", str(data))[2]
    assert "warning:" not in run(capsys, "family", "list", "--data-dir", str(data))[2]
    for name in CONFLICTS[:2]:
        (data / name).unlink()
    _store_args._WARNED_FOLDER.clear()
    assert "warning:" not in run(capsys, "family", "list", "--data-dir", str(data))[2]
