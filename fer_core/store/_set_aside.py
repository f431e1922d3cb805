"""A store set aside: its files moved, unopened and unchanged, into a folder of their own inside the data folder, so
that a new store can be made there (governance.starting_over: a household that forgot its passphrase), and later
destroyed there on request.

The set-aside folder stays in the data folder, under a name the front ends look for (SET_ASIDE_PREFIX and the
moment, UTC), so it is never forgotten on disk: they say it is there until it is destroyed. It is a data folder
of its own (--data-dir opens it, with the old passphrase or key file), so nothing is lost if the passphrase
comes back.
"""
from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from fer_core.store._errors import StoreError, StoreNotFoundError, os_detail
from fer_core.store._store import DATA_FILE, KEYS_FILE, _fsync_dir, _make_private_folders

SET_ASIDE_PREFIX = "set-aside-"
_STAMP = "%Y%m%dT%H%M%SZ"
_SET_ASIDE_NAME = re.compile(rf"^{SET_ASIDE_PREFIX}\d{{8}}T\d{{6}}Z$")
# keys.db first: it holds the only wrapped copy of every data key, so once it is gone unveil.db is unreadable for
# anyone, with the passphrase too. The -wal files may hold committed pages not yet copied into their database.
_FILES = (KEYS_FILE, f"{KEYS_FILE}-wal", f"{KEYS_FILE}-shm", DATA_FILE, f"{DATA_FILE}-wal", f"{DATA_FILE}-shm")

# A session of the app, `unveil watch` or `unveil serve` has the store open: its files are not moved or deleted
# under it (it would go on writing into files that are no longer the store's, or lose them).
STORE_IN_USE_MESSAGE = ("the store in {data_dir} is open in another program (the app in another tab or window, "
                        "unveil watch, unveil serve): close every Unveil program and try again; nothing was moved "
                        "or deleted")
# Moving a store's files failed part way (a read-only folder, another user's files).
NOT_MOVED_MESSAGE = "the store's files in {data_dir} could not be moved ({detail}); {outcome}"
# Deleting a set-aside store's files failed part way: keys.db goes first, so what is left is unreadable once it is.
NOT_DESTROYED_MESSAGE = ("the store set aside in {folder} could not be deleted whole ({detail}): {name} and the files "
                         "after it are still there; try again once that folder can be written")


class StoreInUseError(StoreError):
    """Another connection holds the store's files: they were neither moved nor deleted (STORE_IN_USE_MESSAGE)."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(STORE_IN_USE_MESSAGE.format(data_dir=data_dir))


def _require_unused(data_dir: Path) -> None:
    """StoreInUseError unless this connection can take both files' exclusive locks at once: an open FamilyStore
    anywhere (WAL mode) holds a shared lock on each as long as it is open, idle or not. The locks are released
    before the files move: a program that opens the store in the moment between is not kept out."""
    held = []
    try:
        for name in (DATA_FILE, KEYS_FILE):
            if not (data_dir / name).is_file():
                continue
            conn = sqlite3.connect(str(data_dir / name), timeout=0, isolation_level=None)
            held.append(conn)
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
            try:
                conn.execute("BEGIN EXCLUSIVE")
            except sqlite3.OperationalError:
                raise
            except sqlite3.DatabaseError:  # not a database any more (a set-aside store damaged since): none opens it
                continue
    except sqlite3.OperationalError:
        raise StoreInUseError(data_dir) from None
    finally:
        for conn in held:
            conn.close()


def set_aside(data_dir: Path, now: float) -> Path:
    """Move the store in `data_dir` (both files, and their -wal and -shm files) into a new folder in it, named for
    `now` (POSIX seconds), and return that folder. Nothing in them is changed (at most SQLite copies a -wal file's
    committed pages into its database when the lock check closes it): the moved files are the store as it was.
    StoreInUseError when another program has it open."""
    if not (data_dir / DATA_FILE).is_file():
        raise StoreNotFoundError(data_dir)
    _require_unused(data_dir)
    folder = data_dir / (SET_ASIDE_PREFIX + datetime.fromtimestamp(now, UTC).strftime(_STAMP))
    try:
        _make_private_folders(folder)
        if any(folder.iterdir()):  # a second start-over in the same second: never mixed with the first
            raise FileExistsError(folder)
    except OSError as exc:
        raise StoreError(NOT_MOVED_MESSAGE.format(data_dir=data_dir, detail=os_detail(exc),
                                                  outcome="nothing was moved")) from None
    moved = []
    try:
        for name in _FILES:
            if (data_dir / name).exists():
                os.rename(data_dir / name, folder / name)
                moved.append(name)
    except OSError as exc:
        put_back(folder, data_dir, moved)
        raise StoreError(NOT_MOVED_MESSAGE.format(data_dir=data_dir, detail=os_detail(exc),
                                                  outcome="what was moved was put back")) from None
    _fsync_dir(folder)
    _fsync_dir(data_dir)
    return folder


def put_back(folder: Path, data_dir: Path, names: list[str] | None = None) -> None:
    """Move a store set aside in `folder` back into `data_dir` (after the new store could not be made), never over
    a file there, and remove the folder once empty."""
    for name in names if names is not None else _FILES:
        if (folder / name).exists() and not (data_dir / name).exists():
            os.rename(folder / name, data_dir / name)
    with contextlib.suppress(OSError):
        folder.rmdir()
    _fsync_dir(data_dir)


def set_aside_folders(data_dir: Path) -> list[Path]:
    """The stores set aside in `data_dir` that are still there, oldest first."""
    with contextlib.suppress(OSError):
        return sorted(path for path in data_dir.iterdir()
                      if _SET_ASIDE_NAME.match(path.name) and (path / DATA_FILE).is_file())
    return []


def set_aside_at(folder: Path) -> datetime:
    """When the store in `folder` was set aside, from the folder's name (UTC)."""
    return datetime.strptime(folder.name.removeprefix(SET_ASIDE_PREFIX), _STAMP).replace(tzinfo=UTC)


def destroy(folder: Path) -> None:
    """Overwrite each of the store's files in `folder` with zeros, flush it to the disk, delete it (keys.db first),
    then the folder. On a disk that remaps writes (an SSD, a copy-on-write or journalling file system) the old blocks
    may survive the overwrite: they hold what the store held, sealed under keys that only the forgotten passphrase
    or key file unwraps. StoreInUseError when a program has the store open."""
    _require_unused(folder)
    for name in _FILES:
        path = folder / name
        if not path.is_file() or path.is_symlink():
            continue
        try:
            size = path.stat().st_size
            with open(path, "r+b", buffering=0) as handle:
                for start in range(0, size, 1 << 20):
                    handle.write(bytes(min(1 << 20, size - start)))
                os.fsync(handle.fileno())
            path.unlink()
        except OSError as exc:
            raise StoreError(NOT_DESTROYED_MESSAGE.format(folder=folder, detail=os_detail(exc), name=name)) from None
    _fsync_dir(folder)
    with contextlib.suppress(OSError):  # anything else put there is not the store's to delete
        folder.rmdir()
    _fsync_dir(folder.parent)
