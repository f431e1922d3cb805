"""The power cut with no warning (a Pi on a power strip, a laptop whose battery dies): what the store says is done is
on the disk. SIGKILL is tested in test_store_crash.py; here the page cache is lost too, so what matters is that each
file was synced before its name was placed, and each folder after (tests/support/durability.py records the calls)."""
from __future__ import annotations

import errno
import os
import stat

import pytest

from fer_core.store import DATA_FILE, KEYS_FILE, create_key_file, place_new_file, write_whole
from tests.support import privacy_harness as h
from tests.support.durability import DiskCalls, needs_proc

pytestmark = needs_proc


def test_the_store_commits_in_wal_mode_with_synchronous_full(tmp_path):
    # WAL with synchronous=NORMAL syncs only at checkpoints: a purge, a consent or a passphrase change already
    # confirmed could be lost to a power cut (an erased member back). FULL syncs the WAL at each commit.
    with h.new_store(tmp_path / "data") as store:
        for conn in (store._conn(), store._keys_conn()):
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_a_new_store_and_each_folder_made_for_it_are_on_the_disk_when_create_returns(tmp_path, monkeypatch):
    # The folders made for a store were never synced into their parents: the store's name could be undone with them.
    disk = DiskCalls(monkeypatch)
    data_dir = tmp_path / "home" / "unveil"
    h.new_store(data_dir).close()
    assert disk.placed_durably(data_dir / DATA_FILE) == []
    assert disk.placed_durably(data_dir / KEYS_FILE) == []
    folders_synced = {call.path for call in disk.calls if call.name == "fsync"}
    assert {tmp_path.resolve(), (tmp_path / "home").resolve(), data_dir.resolve()} <= folders_synced


def test_a_key_file_and_its_name_are_on_the_disk_when_create_key_file_returns(tmp_path, monkeypatch):
    # The key file may be all that unlocks the store made with it; its bytes were synced, its name in the folder not.
    disk = DiskCalls(monkeypatch)
    path = create_key_file(tmp_path / "unveil.key")
    assert disk.synced(path) == []


@pytest.mark.parametrize("links", [True, False])
def test_place_new_file_syncs_the_file_before_its_name_and_the_folder_after(tmp_path, monkeypatch, links):
    # Also where the file system has no hard links (a USB stick, FAT): the name taken with O_EXCL, the file renamed.
    disk = DiskCalls(monkeypatch)
    if not links:
        def no_link(*_args, **_kwargs):
            raise PermissionError(errno.EPERM, "Operation not permitted")

        monkeypatch.setattr(os, "link", no_link)
    draft, target = tmp_path / ".draft", tmp_path / "token"
    draft.write_text("whole\n")
    place_new_file(draft, target)
    assert disk.placed_durably(target) == [] and target.read_text() == "whole\n"


def test_write_whole_places_the_file_synced_keeps_its_mode_and_leaves_no_hidden_file(tmp_path, monkeypatch):
    # The hidden file beside the name is gone once the file is placed (renamed, or linked when placed new) and when
    # a file already there refuses it (new=True): each report, copy or receipt written left none in the folder.
    target = tmp_path / "report.json"
    write_whole(target, b"first\n")
    target.chmod(0o640)
    disk = DiskCalls(monkeypatch)
    write_whole(target, lambda stream: stream.write(b"second\n"))
    assert disk.placed_durably(target) == []
    with pytest.raises(FileExistsError):
        write_whole(target, b"third\n", new=True)
    write_whole(tmp_path / "receipt.json", b"new\n", new=True)
    assert disk.placed_durably(tmp_path / "receipt.json") == []
    assert (target.read_bytes(), stat.S_IMODE(target.stat().st_mode)) == (b"second\n", 0o640)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["receipt.json", "report.json"]
