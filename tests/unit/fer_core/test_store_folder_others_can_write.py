"""A data folder that other users of the computer can write (0777, group-writable), or one under a folder they can,
lets them delete the store or put another in its place (docs/threat_model.md, Attacker 4). A new store is not made
there (StoreFolderExposedError, OTHERS_CAN_WRITE_MESSAGE); an existing one is opened, its folder left as it is, and
the front ends warn once (OTHERS_CAN_WRITE_WARNING) with the fix. Before, both went ahead without a word."""
from __future__ import annotations

import grp
import os
import pwd
import shlex
import stat

import pytest

from fer_core.store import (
    OTHERS_CAN_WRITE_MESSAGE,
    OTHERS_CAN_WRITE_WARNING,
    StoreFolderExposedError,
    others_can_write,
)
from tests.support import privacy_harness as h
from tests.support.privacy_harness import run_cli as run
from unveil.cli import _store_args  # noqa: PLC2701 (the warned folders of this run, reset)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="folder modes say who may write only on POSIX")


def _fix(folder) -> str:
    """The command the messages give: the folder quoted as a shell word, so that a path with a space pastes whole."""
    return f"chmod 700 {shlex.quote(str(folder))}"


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def shared_group(monkeypatch):
    """Every folder's group has another user in it (the tests' folders are in this user's group, which is often
    theirs alone, as root's is)."""
    real = grp.getgrgid
    monkeypatch.setattr(grp, "getgrgid", lambda gid: grp.struct_group((real(gid).gr_name, "x", gid, ["someone-else"])))


@pytest.fixture
def private_group(monkeypatch):
    """Every folder's group is this user's alone: a user private group, as Ubuntu and Fedora make them."""
    me = pwd.getpwuid(os.geteuid())
    monkeypatch.setattr(grp, "getgrgid", lambda gid: grp.struct_group((me.pw_name, "x", gid, [])))
    monkeypatch.setattr(pwd, "getpwall", lambda: [me])


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o1777])
def test_a_store_is_not_made_in_a_folder_others_can_write_and_nothing_is_changed(tmp_path, mode, shared_group):
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(mode)
    with pytest.raises(StoreFolderExposedError) as refused:
        h.new_store(folder)
    assert str(refused.value) == OTHERS_CAN_WRITE_MESSAGE.format(
        data_dir=folder, folder=folder, mode=mode, fix=_fix(folder))
    assert str(refused.value).startswith(f"no store was made in {folder}: other users of this computer can write "
                                         f"{folder} (mode {mode:04o}), so they could delete the store or put another "
                                         f"in its place. {_fix(folder)} makes it yours alone")
    assert (refused.value.folder, refused.value.mode) == (folder, mode)
    assert list(folder.iterdir()) == [] and _mode(folder) == mode


def test_a_store_is_not_made_under_a_folder_others_can_write_nor_the_folders_to_make_in_it(tmp_path, shared_group):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o775)
    with pytest.raises(StoreFolderExposedError) as refused:
        h.new_store(shared / "unveil" / "data")
    assert refused.value.folder == shared and _fix(shared) in str(refused.value)
    assert list(shared.iterdir()) == []
    # A link to a private folder, kept in a folder others can write, can be pointed elsewhere: refused too.
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    (shared / "link").symlink_to(private)
    with pytest.raises(StoreFolderExposedError):
        h.new_store(shared / "link")
    assert list(private.iterdir()) == []


def test_in_a_user_private_group_a_group_writable_folder_is_the_users_own_and_the_store_is_made(tmp_path,
                                                                                                private_group):
    # umask 002 with a group of one's own (Ubuntu, Fedora): ~/.local/share is 0775 and writable by no one else.
    share = tmp_path / "share"
    share.mkdir()
    share.chmod(0o775)
    h.new_store(share / "unveil").close()
    assert others_can_write(share / "unveil") is None and _mode(share / "unveil") == 0o700


def test_a_group_another_user_has_as_their_primary_group_is_shared(tmp_path, monkeypatch):
    me = pwd.getpwuid(os.geteuid())
    other = pwd.struct_passwd(("other", "x", me.pw_uid + 1, os.stat(tmp_path).st_gid, "", "/", "/bin/sh"))
    monkeypatch.setattr(grp, "getgrgid", lambda gid: grp.struct_group(("family", "x", gid, [])))
    monkeypatch.setattr(pwd, "getpwall", lambda: [me, other])
    share = tmp_path / "share"
    share.mkdir()
    share.chmod(0o775)
    exposed = others_can_write(share / "unveil")
    assert (exposed.folder, exposed.mode) == (share, 0o775)


def test_under_a_sticky_folder_such_as_tmp_a_private_store_folder_is_made(tmp_path):
    # /tmp is 1777: its sticky bit lets no other user rename or delete a folder of ours in it.
    sticky = tmp_path / "tmp"
    sticky.mkdir()
    sticky.chmod(0o1777)
    assert others_can_write(sticky / "unveil") is None
    h.new_store(sticky / "unveil").close()
    assert _mode(sticky / "unveil") == 0o700


def test_a_store_in_a_folder_made_writable_later_opens_as_it_was_and_the_cli_warns_once(tmp_path, monkeypatch,
                                                                                        capsys):
    data = h.cli_store(tmp_path / "data", monkeypatch, "Ada")
    data.chmod(0o777)
    monkeypatch.setattr(_store_args, "_WARNED_EXPOSED", set())
    with h.open_store(data) as store:  # opened and unlocked: refusing would lock the household out of its data
        assert [p.name for p in store.people()] == ["Ada"]
    exposed = others_can_write(data)
    assert (exposed.folder, exposed.mode) == (data, 0o777)
    warning = OTHERS_CAN_WRITE_WARNING.format(folder=data, mode=0o777, fix=_fix(data))
    assert exposed.warning() == warning
    assert warning == (f"Other users of this computer can write {data} (mode 0777): they could delete the family store "
                       f"in it or put another in its place. Nothing was changed; {_fix(data)} makes it yours alone")
    code, out, err = run(capsys, "family", "list", "--data-dir", str(data))
    assert code == 0 and out.startswith("Ada")
    assert err.startswith(f"warning: {warning}\n") and err.count("Other users") == 1
    code, _, err = run(capsys, "family", "list", "--data-dir", str(data))
    assert code == 0 and "Other users" not in err  # once a run, whatever opens the store
    assert _mode(data) == 0o777  # left as it is: the mode is the owner's to set
    data.chmod(0o700)
    assert others_can_write(data) is None


def test_family_init_in_a_folder_others_can_write_says_why_and_the_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o777)
    code, out, err = run(capsys, "family", "init", "--data-dir", str(folder))
    assert (code, out) == (1, "")
    assert err == "error: " + OTHERS_CAN_WRITE_MESSAGE.format(data_dir=folder, folder=folder, mode=0o777,
                                                               fix=_fix(folder)) + "\n"
    assert list(folder.iterdir()) == []
    folder.chmod(0o700)
    assert run(capsys, "family", "init", "--data-dir", str(folder))[0] == 0
