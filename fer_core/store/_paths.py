"""Where the store lives: `UNVEIL_DATA_DIR` if set, else the platform's per-user data folder.

Both are made absolute against the folder the program is started in: a relative UNVEIL_DATA_DIR or --data-dir
('data') names a different store for the app and the CLI started from different folders, and every message
named it 'data', which did not say which. Absolute, the app's sidebar and every message say which folder it is.
"""
from __future__ import annotations

import contextlib
import os
import re
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path

import platformdirs


def default_data_dir() -> Path:
    """The data directory used when none is given (e.g. ~/.local/share/unveil on Linux), absolute."""
    override = os.environ.get("UNVEIL_DATA_DIR")
    if override:
        return Path(override).expanduser().absolute()
    return Path(platformdirs.user_data_dir("unveil", appauthor=False)).absolute()


def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    """`data_dir` (--data-dir) or default_data_dir(), absolute (not resolved: a link in it is kept as given)."""
    return Path(data_dir).expanduser().absolute() if data_dir is not None else default_data_dir()


@dataclass(frozen=True)
class OthersCanWrite:
    """A folder that other users of this computer can write, on the way to a data folder, and its mode bits."""

    folder: Path
    mode: int

    @property
    def fix(self) -> str:
        """The command that makes the folder its owner's alone."""
        return f"chmod 700 {shlex.quote(str(self.folder))}"

    def warning(self) -> str:
        """OTHERS_CAN_WRITE_WARNING for this folder."""
        return OTHERS_CAN_WRITE_WARNING.format(folder=self.folder, mode=self.mode, fix=self.fix)


# Said once a run by the front ends when they open a store in such a folder. Opening is not refused: that would lock
# a household out of its own data; nothing is changed either (the mode is the owner's to set, and the fix is theirs).
OTHERS_CAN_WRITE_WARNING = ("Other users of this computer can write {folder} (mode {mode:04o}): they could delete the "
                            "family store in it or put another in its place. Nothing was changed; {fix} makes it "
                            "yours alone")


def others_can_write(data_dir: str | os.PathLike[str]) -> OthersCanWrite | None:
    """The first folder that lets other users of this computer replace or delete the store in `data_dir`, or None.

    By the path as given and as links resolve it: the data folder itself when others, or a group with another user
    in it, may write it; a
    folder above it when they may and its sticky bit is not set (/tmp's bit lets no one rename or delete another's
    folder). Folders Unveil makes are 0700, so a data folder still to be made is as safe as the folders above it.
    Always None where modes do not say this (Windows)."""
    if os.name != "posix":
        return None
    given = Path(data_dir).absolute()
    for start in dict.fromkeys((given, given.resolve())):
        for folder in (start, *start.parents):
            try:
                info = os.stat(folder)
            except FileNotFoundError:
                continue  # to be made 0700, or the path of a link's target that is missing
            except OSError:
                break  # not this user's to look into: the store's own open or create says so
            mode = info.st_mode
            inside = folder == start  # the data folder itself: what others put in it is no better than a swap
            others = mode & stat.S_IWOTH or (mode & stat.S_IWGRP and not _private_group(info.st_gid))
            if others and (inside or not mode & stat.S_ISVTX):
                return OthersCanWrite(folder, stat.S_IMODE(mode))
    return None


def _private_group(gid: int) -> bool:
    """Whether group `gid` has no user but this one, as a listed member or by primary group: a user private group.
    Ubuntu and Fedora give each user such a group and a umask of 002, so every folder they make (their
    ~/.local/share included) is group-writable, and by no one else: refusing those would refuse the first store of
    most of their users (Debian's OpenSSH, patch user-group-modes, accepts such a ~/.ssh for the same reason). A
    group that cannot be looked up counts as shared."""
    import grp  # POSIX-only modules, imported here so that fer_core.store imports on Windows (called on POSIX only)
    import pwd

    try:
        group = grp.getgrgid(gid)
        me = pwd.getpwuid(os.geteuid())
    except KeyError:
        return False
    if any(member != me.pw_name for member in group.gr_mem):
        return False
    return all(user.pw_uid == me.pw_uid for user in pwd.getpwall() if user.pw_gid == gid)


def _fsync_dir(path: Path) -> None:
    """Sync the folder `path`: a name made, renamed or removed in it is on the disk only once it is."""
    with contextlib.suppress(OSError):  # not every platform can fsync a directory
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# Linux's list of this process's mounts, each with its file system's type. statvfs() does not give the type; other
# systems (macOS, Windows) have no such file, and nothing is said there.
MOUNTINFO = Path("/proc/self/mountinfo")

# Types as the list names them (FUSE ones as fuse.NAME). SQLite's documentation: WAL needs shared memory that
# every process using the database maps, so it does not work over a network file system, and file locking is
# unreliable on them, which can corrupt a database. 9p is WSL 2's drive mounts (/mnt/c) and virtual machines' shared
# folders, where SQLite's shared memory and locks fail the same way, as in VirtualBox's (vboxsf) and VMware's.
# fuse.gvfsd-fuse is where GNOME's file manager mounts the SMB, SFTP and WebDAV shares a user opens in it
# (/run/user/UID/gvfs/smb-share:server=...): the same servers, reached through another client.
NETWORK_FILE_SYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "9p", "ceph", "glusterfs", "lustre", "gpfs", "beegfs",
    "fuse.sshfs", "fuse.rclone", "fuse.s3fs", "fuse.gcsfuse", "fuse.glusterfs", "fuse.ceph-fuse", "fuse.davfs",
    "fuse.gvfsd-fuse", "vboxsf", "fuse.vmhgfs-fuse",
})
# Held in memory: emptied when the computer restarts (/dev/shm, /run, and /tmp on Fedora, Arch and others).
MEMORY_FILE_SYSTEMS = frozenset({"tmpfs", "ramfs"})

# Said by the front ends each time they open or make a store there. A store in memory is made and opened all the
# same: a trial run is a fair use of it, and a store already there must stay reachable until it is backed up.
MEMORY_FILE_SYSTEM_WARNING = ("{data_dir} is on {fs_type} (mounted at {mount_point}), which is held in memory: the "
                              "store in it, every member, enrolment and consent record included, is gone when this "
                              "computer restarts. Back it up to a folder on a disk (unveil family backup) and restore "
                              "it there, or make the store in a folder on a disk (--data-dir, or the UNVEIL_DATA_DIR "
                              "environment variable)")
# A new store is not made there (fer_core.store.NETWORK_FILE_SYSTEM_MESSAGE); one already there is opened with this
# warning, so that it can still be backed up and moved.
NETWORK_FILE_SYSTEM_WARNING = ("the store in {data_dir} is on a network file system ({fs_type}, mounted at "
                               "{mount_point}): SQLite, which keeps the store, cannot lock its files or share its "
                               "write-ahead log reliably there, so two computers opening it, or a dropped connection, "
                               "can damage it. Nothing was changed; back it up to a folder on this computer's own disk "
                               "(unveil family backup) and restore it there (unveil family restore)")


@dataclass(frozen=True)
class FileSystem:
    """The file system a folder is on: its type, as /proc/self/mountinfo names it, and where it is mounted."""

    type: str
    mount_point: Path

    @property
    def network(self) -> bool:
        return self.type in NETWORK_FILE_SYSTEMS

    @property
    def in_memory(self) -> bool:
        return self.type in MEMORY_FILE_SYSTEMS

    def warning(self, data_dir: str | os.PathLike[str]) -> str | None:
        """MEMORY_FILE_SYSTEM_WARNING or NETWORK_FILE_SYSTEM_WARNING for a store in `data_dir`, or None for a disk."""
        text = (NETWORK_FILE_SYSTEM_WARNING if self.network else MEMORY_FILE_SYSTEM_WARNING if self.in_memory
                else None)
        return None if text is None else text.format(data_dir=data_dir, fs_type=self.type, mount_point=self.mount_point)


def _unescape(field: bytes) -> bytes:
    # mountinfo writes a space, tab, newline and backslash in a path as \040, \011, \012 and \134.
    return re.sub(rb"\\([0-7]{3})", lambda match: bytes([int(match[1], 8)]), field)


def file_system(folder: str | os.PathLike[str]) -> FileSystem | None:
    """The file system holding `folder`, or the nearest folder above it that exists, by /proc/self/mountinfo; None
    where there is no such list (not Linux) or no line of it holds that folder. The folder is resolved first (links
    followed, an automounted share mounted) and then matched to the longest mount point above it; of mounts on the
    same point the last listed is the one on top."""
    start = Path(folder).absolute()
    # os.path.exists, not Path.exists, which raises for a name too long or a folder this user cannot search: what is
    # wrong with the folder is for its making to say (CANNOT_CREATE_MESSAGE), not an OSError from here. With a
    # trailing "/": stat() of a folder that is itself an automount point (autofs, systemd's x-systemd.automount) does
    # not mount the share there, which the list then names "autofs"; "folder/" does (the kernel's follow_automount).
    existing = next((path for path in (start, *start.parents) if os.path.exists(os.path.join(path, ""))),
                    Path(start.anchor))
    target = existing.resolve()
    try:
        listing = MOUNTINFO.read_bytes()
    except OSError:
        return None
    found: FileSystem | None = None
    for line in listing.splitlines():
        fields = line.split(b" ")
        try:
            fs_type = fields[fields.index(b"-", 6) + 1]
            mount_point = Path(os.fsdecode(_unescape(fields[4])))
        except (ValueError, IndexError):
            continue  # not a line of the documented layout: says nothing of the folder
        if (mount_point == target or mount_point in target.parents) and (
                found is None or len(mount_point.parts) >= len(found.mount_point.parts)):
            found = FileSystem(os.fsdecode(_unescape(fs_type)), mount_point)
    return found
