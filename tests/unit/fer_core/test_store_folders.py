"""A store or key file asked for where this user cannot write (a read-only home, another user's folder, a file in the
way, a folder that does not exist): a typed error saying so, with nothing made, never a traceback. The CLI's
`family init` printed a PermissionError's traceback, and the app's first run showed "unexpected error"."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from fer_core.store import (
    CANNOT_CREATE_MESSAGE,
    DANGLING_LINK_DETAIL,
    DANGLING_LINK_MESSAGE,
    KEY_FILE_NOT_CREATED,
    FamilyStore,
    KeyFileError,
    StoreExistsError,
    StoreFolderError,
    StoreFolderLinkError,
    create_key_file,
    default_data_dir,
    make_private_folders,
    resolve_data_dir,
)
from governance import backup, restoring
from tests.support import privacy_harness as h
from tests.support.privacy_harness import run_cli as run

AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def test_a_store_under_a_file_is_refused_with_a_typed_error_and_nothing_made(tmp_path):
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    data_dir = tmp_path / "notes.txt" / "unveil"
    with pytest.raises(StoreFolderError) as refused:
        h.new_store(data_dir)
    assert str(refused.value) == CANNOT_CREATE_MESSAGE.format(data_dir=data_dir, detail=os.strerror(errno.ENOTDIR))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.skipif(AS_ROOT or not hasattr(os, "geteuid"), reason="root can write to any folder")
@pytest.mark.parametrize("inside", [True, False], ids=["a folder to make in it", "the folder itself"])
def test_a_store_in_a_folder_this_user_cannot_write_is_refused(tmp_path, inside):
    locked = tmp_path / "read-only"
    locked.mkdir()
    locked.chmod(0o500)
    data_dir = locked / "unveil" if inside else locked
    try:
        with pytest.raises(StoreFolderError) as refused:
            h.new_store(data_dir)
        assert str(refused.value) == CANNOT_CREATE_MESSAGE.format(data_dir=data_dir, detail=os.strerror(errno.EACCES))
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_a_key_file_in_a_missing_folder_is_refused_with_a_typed_error(tmp_path):
    path = tmp_path / "no such folder" / "unveil.key"
    with pytest.raises(KeyFileError) as refused:
        create_key_file(path)
    assert str(refused.value) == KEY_FILE_NOT_CREATED.format(path=path, detail=os.strerror(errno.ENOENT))


def test_the_cli_says_so_in_one_line_and_makes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    data_dir = tmp_path / "notes.txt" / "unveil"
    code, out, err = run(capsys, "family", "init", "--data-dir", str(data_dir))
    assert (code, out) == (1, "")
    assert err == f"error: {CANNOT_CREATE_MESSAGE.format(data_dir=data_dir, detail=os.strerror(errno.ENOTDIR))}\n"
    key_file = tmp_path / "keys" / "unveil.key"
    code, out, err = run(capsys, "family", "init", "--no-passphrase", "--key-file", str(key_file),
                         "--data-dir", str(tmp_path / "data"))
    assert (code, out) == (1, "")
    assert err == f"error: {KEY_FILE_NOT_CREATED.format(path=key_file, detail=os.strerror(errno.ENOENT))}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    with pytest.raises(FileNotFoundError):
        FamilyStore(tmp_path / "data")


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_the_folders_made_for_a_new_store_are_private_whatever_the_umask(tmp_path, umask):
    """mkdir(parents=True) made the folders above the store 0777 less the umask: under umask 000 a new ~/.local/share
    was writable by every user, who could move the store aside and put another in its place. Each folder made is now
    0700 (the XDG base directory spec's mode); its files 0600; a folder that was there keeps its mode."""
    import stat

    (tmp_path / "home").mkdir(mode=0o755)
    (tmp_path / "home").chmod(0o755)
    data_dir = tmp_path / "home" / ".local" / "share" / "unveil"
    before = os.umask(umask)
    try:
        h.new_store(data_dir).close()
    finally:
        os.umask(before)
    modes = {str(path.relative_to(tmp_path)): stat.S_IMODE(path.stat().st_mode)
             for path in (tmp_path / "home", *sorted((tmp_path / "home").rglob("*")))}
    assert modes == {"home": 0o755, "home/.local": 0o700, "home/.local/share": 0o700, "home/.local/share/unveil": 0o700,
                     "home/.local/share/unveil/keys.db": 0o600, "home/.local/share/unveil/unveil.db": 0o600}


def _no_hard_links(monkeypatch) -> None:
    """link() as on FAT or exFAT (a USB stick, an SD card): EPERM, whatever the files."""
    def refuse(source, target, *args, **kwargs):
        raise PermissionError(errno.EPERM, os.strerror(errno.EPERM), str(source), None, str(target))

    monkeypatch.setattr(os, "link", refuse)


def test_a_store_is_made_on_a_file_system_without_hard_links(tmp_path, monkeypatch):
    """FamilyStore.create linked its files into place, and link() on a USB stick's FAT raised PermissionError: no
    store could be made there. It now takes the name with O_EXCL and renames the file onto it."""
    _no_hard_links(monkeypatch)
    data_dir = tmp_path / "usb stick" / "unveil"
    with h.new_store(data_dir) as store:
        h.enrol(store, "Ana")
    with h.open_store(data_dir) as store:
        assert [person.name for person in store.people()] == ["Ana"] and store.verify_audit().ok
    assert sorted(p.name for p in data_dir.iterdir()) == ["keys.db", "unveil.db"]  # no staging folder left



def test_without_hard_links_a_store_made_there_meanwhile_is_never_replaced(tmp_path, monkeypatch):
    """Another session makes a store in the same folder while this one builds its own: its unveil.db appears just
    before this one's is moved into place, and is kept (StoreExistsError), as link() keeps it elsewhere."""
    data_dir = tmp_path / "unveil"

    def another_store_first(source, target, *args, **kwargs):
        Path(target).write_bytes(b"the other session's store")
        raise PermissionError(errno.EPERM, os.strerror(errno.EPERM), str(source), None, str(target))

    monkeypatch.setattr(os, "link", another_store_first)
    with pytest.raises(StoreExistsError):
        h.new_store(data_dir)
    assert sorted(p.name for p in data_dir.iterdir()) == ["unveil.db"]
    assert (data_dir / "unveil.db").read_bytes() == b"the other session's store"


def test_a_relative_data_folder_is_named_in_full(tmp_path, monkeypatch, capsys):
    """UNVEIL_DATA_DIR=data (or --data-dir data) is a store in whatever folder a front end is started from, and every
    message said only 'data': 'created an encrypted store in data' from one folder, 'no Unveil store in data' from
    the next, 'Data folder: data' in the app's sidebar. It is made absolute where it is read, the same for each front
    end (default_data_dir, resolve_data_dir), so every message says which folder it is."""
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    monkeypatch.setenv("UNVEIL_DATA_DIR", "data")
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    monkeypatch.chdir(tmp_path / "a")
    assert default_data_dir() == tmp_path / "a" / "data" == resolve_data_dir("data") == resolve_data_dir(None)
    with h.new_store(None) as store:
        assert store.data_dir == tmp_path / "a" / "data"
    assert run(capsys, "family", "list") == (0, "no one is enrolled\n", "")
    monkeypatch.chdir(tmp_path / "b")
    for where in ((), ("--data-dir", "data")):
        assert run(capsys, "family", "list", *where) == (
            1, "", f"error: no Unveil store in {tmp_path / 'b' / 'data'}: create one first\n")


def test_a_data_folder_that_is_a_link_to_nothing_is_said_so_and_its_target_not_made(tmp_path, monkeypatch, capsys):
    """A link to a disk not mounted (or a folder moved away): it said "(File exists)", then "this user cannot create
    or write that folder (it is a link to ...). Give your user write access to it", which would not help."""
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    target, link = tmp_path / "usb" / "unveil", tmp_path / "data"
    link.symlink_to(target)
    store = h.new_store(tmp_path / "home")
    backup.back_up(store, tmp_path / "backup")
    store.close()
    for data_dir in (link, link / "inner"):
        message = DANGLING_LINK_MESSAGE.format(data_dir=data_dir, link=link, target=target)
        assert run(capsys, "family", "init", "--data-dir", str(data_dir)) == (1, "", f"error: {message}\n")
        assert message == (f"no store was made in {data_dir}: {link} is a link to {target}, which does not exist (a "
                           "disk that is not mounted, or a folder moved away). Mount the disk or correct the link, or "
                           "choose another folder (--data-dir, or the UNVEIL_DATA_DIR environment variable); nothing "
                           "was changed")
        with pytest.raises(StoreFolderLinkError) as refused:
            restoring.restore(data_dir, tmp_path / "backup", passphrase=h.PASSPHRASE)
        assert str(refused.value) == message
    with pytest.raises(FileNotFoundError) as elsewhere:  # an output folder's making (unveil analyze --out)
        make_private_folders(link / "out")
    assert elsewhere.value.strerror == DANGLING_LINK_DETAIL.format(target=target)
    assert DANGLING_LINK_DETAIL == "it is a link to {target}, which does not exist"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup", "data", "home"]
    target.mkdir(parents=True)
    assert run(capsys, "family", "init", "--data-dir", str(link))[0] == 0
    assert (target / "unveil.db").is_file()
