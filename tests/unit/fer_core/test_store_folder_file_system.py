"""A data folder on a network file system (NFS, SMB, sshfs...), where SQLite's write-ahead log and locks are not
reliable, or on one held in memory (tmpfs: /dev/shm, /run, /tmp on some systems), emptied at every restart. Before,
a store was made and used there without a word: a family enrolled with consent on tmpfs was gone the next morning.
Now a new store is not made on a network file system (StoreFolderNetworkError, NETWORK_FILE_SYSTEM_MESSAGE), and the
CLI warns of either when it makes or opens a store there (NETWORK_FILE_SYSTEM_WARNING, MEMORY_FILE_SYSTEM_WARNING).
The file system is read from /proc/self/mountinfo, faked here (fer_core.store._paths.MOUNTINFO)."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from fer_core.store import (
    CANNOT_CREATE_MESSAGE,
    MEMORY_FILE_SYSTEM_WARNING,
    NETWORK_FILE_SYSTEM_MESSAGE,
    NETWORK_FILE_SYSTEM_WARNING,
    FileSystem,
    StoreFolderError,
    StoreFolderNetworkError,
    _paths,  # noqa: PLC2701 (where the mount list is read from, faked)
    file_system,
)
from governance import backup, restoring
from tests.support import privacy_harness as h
from tests.support.privacy_harness import run_cli as run
from tests.support.store import mountinfo_line
from unveil.cli import _store_args  # noqa: PLC2701 (the warned folders of this run, reset)


@pytest.fixture
def mounts(tmp_path, monkeypatch):
    """Write the fake mount list: the root on ext4, then the (mount point, type) pairs given."""
    listing = tmp_path / "mountinfo"
    monkeypatch.setattr(_paths, "MOUNTINFO", listing)
    monkeypatch.setattr(_store_args, "_WARNED_FOLDER", set())

    def write(*pairs: tuple[Path, str]) -> None:
        listing.write_text(mountinfo_line(1, "/", "ext4", "/dev/sda1")
                           + "".join(mountinfo_line(n, str(point), kind) for n, (point, kind) in enumerate(pairs, 2)))
    write()
    return write


def test_the_file_system_is_the_longest_mount_point_above_the_folder_the_last_mounted_on_top(tmp_path, mounts):
    share, inner, spaced = tmp_path / "share", tmp_path / "share" / "inner", tmp_path / "my files é\\\tx"
    for folder in (inner, spaced):
        folder.mkdir(parents=True)
    mounts((share, "tmpfs"), (share, "nfs4"), (inner, "ext4"), (spaced, "fuse.sshfs"))
    assert file_system(share / "a" / "b") == FileSystem("nfs4", share)  # missing folders: the nearest one there
    assert file_system(inner / "unveil") == FileSystem("ext4", inner)
    assert file_system(spaced) == FileSystem("fuse.sshfs", spaced)  # mountinfo's \040, \134, \011 read back
    (tmp_path / "link").symlink_to(share)
    assert file_system(tmp_path / "link" / "unveil") == FileSystem("nfs4", share)  # where the link leads
    assert file_system(tmp_path / "elsewhere") == FileSystem("ext4", Path("/"))


def test_no_mount_list_and_lines_of_another_layout_say_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(_paths, "MOUNTINFO", tmp_path / "absent")  # macOS, Windows
    assert file_system(tmp_path) is None
    listing = tmp_path / "mountinfo"
    listing.write_text(f"garbage\n1 2 3\n{mountinfo_line(7, str(tmp_path), 'nfs')}")
    monkeypatch.setattr(_paths, "MOUNTINFO", listing)
    assert file_system(tmp_path / "unveil") == FileSystem("nfs", tmp_path)


@pytest.mark.parametrize("kind", ["nfs", "nfs4", "cifs", "smb3", "fuse.sshfs", "9p", "fuse.gvfsd-fuse", "vboxsf"])
def test_no_store_is_made_on_a_network_file_system_and_nothing_is_made(tmp_path, mounts, kind):
    share = tmp_path / "share"
    share.mkdir()
    mounts((share, kind))
    with pytest.raises(StoreFolderNetworkError) as refused:
        h.new_store(share / "unveil")
    assert str(refused.value) == NETWORK_FILE_SYSTEM_MESSAGE.format(data_dir=share / "unveil", fs_type=kind,
                                                                    mount_point=share)
    assert str(refused.value).startswith(f"no store was made in {share / 'unveil'}: it is on a network file system "
                                         f"({kind}, mounted at {share}), where SQLite")
    assert list(share.iterdir()) == []


def test_a_share_opened_in_gnomes_file_manager_is_a_network_one_inside_the_users_tmpfs(tmp_path, mounts):
    """GNOME's gvfs mounts the SMB share a user opened in Files at /run/user/UID/gvfs, inside that user's tmpfs: its
    type was in neither list, so a store was made on the server without a word."""
    run_user, share = tmp_path / "run-user-1000", tmp_path / "run-user-1000" / "gvfs" / "smb-share:server=nas,share=home"
    share.mkdir(parents=True)
    mounts((run_user, "tmpfs"), (run_user / "gvfs", "fuse.gvfsd-fuse"))
    assert file_system(share / "unveil") == FileSystem("fuse.gvfsd-fuse", run_user / "gvfs")
    with pytest.raises(StoreFolderNetworkError):
        h.new_store(share / "unveil")
    assert list(share.iterdir()) == []


def test_a_store_already_on_a_network_file_system_opens_with_a_warning_once_a_run(tmp_path, mounts, monkeypatch,
                                                                                   capsys):
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    data = tmp_path / "share" / "unveil"
    h.new_store(data).close()  # made before the folder was on a share (moved there)
    mounts((tmp_path / "share", "cifs"))
    warning = "warning: " + NETWORK_FILE_SYSTEM_WARNING.format(data_dir=data, fs_type="cifs",
                                                               mount_point=tmp_path / "share") + "\n"
    assert run(capsys, "family", "list", "--data-dir", str(data)) == (0, "no one is enrolled\n", warning)
    assert warning.startswith(f"warning: the store in {data} is on a network file system (cifs, mounted at "
                              f"{tmp_path / 'share'}): SQLite, which keeps the store, cannot lock its files or share "
                              "its write-ahead log reliably there, so two computers opening it, or a dropped "
                              "connection, can damage it. Nothing was changed; back it up")
    assert run(capsys, "family", "list", "--data-dir", str(data))[2] == ""  # once a run


def test_family_init_in_memory_makes_the_store_and_says_it_is_gone_at_restart(tmp_path, mounts, monkeypatch, capsys):
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    data = tmp_path / "shm" / "unveil"
    mounts((tmp_path, "tmpfs"))
    code, out, err = run(capsys, "family", "init", "--data-dir", str(data))
    assert (code, out) == (0, f"created an encrypted store in {data}\n")
    assert err == "warning: " + MEMORY_FILE_SYSTEM_WARNING.format(data_dir=data, fs_type="tmpfs",
                                                                  mount_point=tmp_path) + "\n"
    assert err.startswith(f"warning: {data} is on tmpfs (mounted at {tmp_path}), which is held in memory: the store "
                          "in it, every member, enrolment and consent record included, is gone when this computer "
                          "restarts")
    assert (data / "unveil.db").is_file()


def test_a_backup_is_not_restored_onto_a_network_file_system(tmp_path, mounts):
    store = h.new_store(tmp_path / "home")
    backup.back_up(store, tmp_path / "backup")
    store.close()
    share = tmp_path / "share"
    share.mkdir()
    mounts((share, "nfs"))
    with pytest.raises(StoreFolderNetworkError) as refused:
        restoring.restore(share / "unveil", tmp_path / "backup", passphrase=h.PASSPHRASE)
    assert str(refused.value) == NETWORK_FILE_SYSTEM_MESSAGE.format(data_dir=share / "unveil", fs_type="nfs",
                                                                    mount_point=share)
    assert list(share.iterdir()) == []


def test_a_folder_name_too_long_is_refused_as_a_folder_not_made_not_an_os_error(tmp_path, mounts):
    """Looking for the folder's file system raised OSError (ENAMETOOLONG, and EACCES under a folder this user cannot
    search) out of FamilyStore.create and restore, ahead of the folder's making, which says what is wrong with it."""
    store = h.new_store(tmp_path / "home")
    backup.back_up(store, tmp_path / "backup")
    store.close()
    data_dir = tmp_path / ("a" * 300) / "unveil"
    refused = CANNOT_CREATE_MESSAGE.format(data_dir=data_dir, detail=os.strerror(errno.ENAMETOOLONG))
    with pytest.raises(StoreFolderError) as made:
        h.new_store(data_dir)
    assert str(made.value) == refused
    with pytest.raises(StoreFolderError) as restored:
        restoring.restore(data_dir, tmp_path / "backup", passphrase=h.PASSPHRASE)
    assert str(restored.value) == refused
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup", "home", "mountinfo"]
