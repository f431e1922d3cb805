"""A damaged store set aside, and a store restored from a backup, for a household that only uses the app (in a
terminal the README's "Backing up, restoring" moves the files by hand).

    old = set_aside_damaged(data_dir, passphrase="...")      # the damaged store moved aside, unchanged; no store there
    done = restore(data_dir, "/media/usb/unveil-2026-12-07", passphrase="...")   # the backup checked, put in place

Damage never triggers a destructive action, so neither step deletes or changes anything of a store. Setting aside
moves a store that fails its checks (FamilyStore.require_intact, the checks the app's unlock runs, or one that does
not open as a store at all) into a folder of its own in the data folder, as starting over does
(fer_core.store.set_aside_store), where the front ends say it is until it is destroyed (governance.starting_over); a
store that passes its checks is not moved. No entry records it: no store that could seal one is left (the damaged
one's log is part of what is damaged, and is moved unchanged). Restoring copies a backup's two files (`unveil family
backup`, the Family page's "Back up the store") into a data folder that holds no store, never over one, after the copy
has passed the same checks under the passphrase or key file that opened the store when the backup was made; its own
log then records RESTORED_EVENT, with counts only. The backup's folder is only read.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from fer_core.store import (
    DATA_FILE,
    KEYS_FILE,
    RESTORE_STAGING_PREFIX,
    DanglingLinkError,
    FamilyStore,
    StoreCorruptError,
    StoreDamagedError,
    StoreError,
    StoreFolderError,
    StoreFolderExposedError,
    StoreFolderLinkError,
    StoreFolderNetworkError,
    StoreRestoringError,
    StoreTooNewError,
    WrongPassphraseError,
    file_system,
    make_private_folders,
    others_can_write,
    owner_only,
    place_new_file,
    remove_made_folders,
    require_short_enough,
    resolve_data_dir,
    set_aside_store,
)
from governance import audit_log, starting_over
from governance.backup import LOGGED_COUNTS

RESTORED_EVENT = "store_restored"
# Setting aside is refused for a store that passes its checks: it is unlocked as usual.
NOT_DAMAGED = "the store in {data_dir} passes its checks: unlock it as usual; nothing was set aside"
# The store opens as a store: its checks need its key.
SECRET_NEEDED = ("the store in {data_dir} opens, so checking it needs its passphrase or key file: give it; nothing was "
                 "set aside")
# A backup goes only into a data folder without a store (or the -wal and -shm files of one, which SQLite would read
# as part of the files restored beside them).
STORE_THERE = ("{data_dir} holds a store (or files of one): a backup is restored only where there is none, never over "
               "one. Set a damaged store aside first; nothing was restored")
NOT_A_BACKUP = "{folder} holds no backup of the family store (unveil.db and keys.db); nothing was restored"
NOT_COPIED = "the backup in {folder} could not be copied into {data_dir} ({detail}); nothing was restored"
BACKUP_NOT_OPENED = ("the {secret} given does not open the backup in {folder}: give the one that opened the store on "
                     "the day the backup was made; nothing was restored")
BACKUP_FAILS_CHECKS = ("the backup in {folder} fails the store's checks ({count} problem(s); first: {first}): restore "
                       "another one; nothing was restored")
BACKUP_UNREADABLE = "the backup in {folder} does not open as a store (damaged): restore another one; nothing was restored"
# A backup a later version of Unveil wrote (another computer, or this one before a downgrade): the store's own
# refusal (StoreTooNewError) named the hidden folder the copy was checked in, gone by then, and said the store needs no
# restore, to someone restoring it.
BACKUP_TOO_NEW = ("the backup in {folder} was written by a newer version of Unveil (store version {found}; this version "
                  "reads up to {known}): it is not damaged. Restore it with that version or a later one (install it "
                  "here too); nothing was restored")
# The six files of a store in a data folder: the two databases and their -wal and -shm files.
_STORE_FILES = tuple(f"{name}{suffix}" for name in (DATA_FILE, KEYS_FILE) for suffix in ("", "-wal", "-shm"))


@dataclass(frozen=True)
class Restored:
    store: FamilyStore  # the restored store, unlocked
    counts: dict[str, int]  # what it holds, per kind (governance.backup.LOGGED_COUNTS)
    audit_seq: int  # its RESTORED_EVENT entry


def set_aside_damaged(data_dir: str | os.PathLike[str] | None, *, passphrase: str | None = None,
                      key_file: str | os.PathLike[str] | None = None) -> starting_over.OldStore:
    """Move the store in `data_dir`, which fails its checks, aside into a folder of its own there, unchanged, and
    return what its files say of it (starting_over.OldStore, as the Family page lists it). The `passphrase` or
    `key_file` unlocks it for the checks (a wrong one is refused and logged, as at any unlock); a store that does
    not open as a store needs neither, nor does one whose restore stopped between its two files (StoreRestoringError). Refused, nothing moved: NOT_DAMAGED; SECRET_NEEDED; a store another program
    has open."""
    data_dir = resolve_data_dir(data_dir)
    try:
        with FamilyStore.open(data_dir) as store:
            if passphrase is None and key_file is None:
                raise StoreError(SECRET_NEEDED.format(data_dir=data_dir))
            store.unlock(passphrase, key_file=key_file)
            store.require_intact()
    except (StoreDamagedError, StoreCorruptError, StoreRestoringError):  # the last: a restore stopped midway
        pass
    else:
        raise StoreError(NOT_DAMAGED.format(data_dir=data_dir))
    folder = set_aside_store(data_dir, time.time())
    return next(old for old in starting_over.set_aside(data_dir) if old.folder == folder)


def restore(data_dir: str | os.PathLike[str] | None, backup_folder: str | os.PathLike[str], *,
            passphrase: str | None = None, key_file: str | os.PathLike[str] | None = None) -> Restored:
    """Copy the backup in `backup_folder` into `data_dir`, which holds no store (STORE_THERE), once the copy opens
    with the `passphrase` or `key_file` given (BACKUP_NOT_OPENED) and passes FamilyStore.require_intact's checks
    (BACKUP_FAILS_CHECKS); its log records RESTORED_EVENT with its counts. Returns it unlocked. The copy is made and
    checked in a hidden folder in `data_dir` and its files placed there only once it passed, so a refusal or a crash
    leaves no store behind (nor the folders made for it), except a crash between placing unveil.db and keys.db: while
    that folder still holds keys.db, a session opening the store is told a restore is under way or was stopped
    (StoreRestoringError), never that it is damaged, and does not complete it; set_aside_damaged moves it aside."""
    data_dir, backup_folder = resolve_data_dir(data_dir), Path(backup_folder)
    if any(os.path.lexists(data_dir / name) for name in _STORE_FILES):
        raise StoreError(STORE_THERE.format(data_dir=data_dir))
    if not all((backup_folder / name).is_file() for name in (DATA_FILE, KEYS_FILE)):
        raise StoreError(NOT_A_BACKUP.format(folder=backup_folder))
    if (exposed := others_can_write(data_dir)) is not None:  # as for a new store (FamilyStore.create)
        raise StoreFolderExposedError(data_dir, exposed.folder, exposed.mode, exposed.fix)
    if (mounted := file_system(data_dir)) is not None and mounted.network:  # as FamilyStore.create
        raise StoreFolderNetworkError(data_dir, mounted.type, mounted.mount_point)
    require_short_enough(data_dir)
    try:
        made = make_private_folders(data_dir)
    except DanglingLinkError as exc:  # as FamilyStore.create: write access would not help
        raise StoreFolderLinkError(data_dir, exc.link, exc.target) from None
    except OSError as exc:
        raise StoreFolderError(data_dir, exc.strerror or type(exc).__name__) from None
    try:
        counts, seq = _placed(data_dir, backup_folder, passphrase, key_file)
    except BaseException:
        remove_made_folders(made)
        raise
    store = FamilyStore.open(data_dir)
    try:
        store.unlock(passphrase, key_file=key_file)
    except BaseException:
        store.close()
        raise
    return Restored(store, counts, seq)


def _placed(data_dir: Path, backup_folder: Path, passphrase: str | None,
            key_file: str | os.PathLike[str] | None) -> tuple[dict[str, int], int]:
    """The backup copied into a hidden folder in `data_dir`, checked (_checked) and its two files placed in
    `data_dir`, never over a file there; the hidden folder removed whatever happens."""
    try:
        staging = Path(tempfile.mkdtemp(prefix=RESTORE_STAGING_PREFIX, dir=data_dir))
    except OSError as exc:
        raise StoreFolderError(data_dir, exc.strerror or type(exc).__name__) from None
    try:
        for name in (DATA_FILE, KEYS_FILE):
            try:
                with open(backup_folder / name, "rb") as source, open(staging / name, "xb", opener=owner_only) as copy:
                    shutil.copyfileobj(source, copy)
            except OSError as exc:
                raise StoreError(NOT_COPIED.format(folder=backup_folder, data_dir=data_dir,
                                                   detail=exc.strerror or type(exc).__name__)) from None
        counts, seq = _checked(staging, backup_folder, passphrase, key_file)
        try:
            place_new_file(staging / DATA_FILE, data_dir / DATA_FILE)
        except FileExistsError:  # a store made meanwhile (another tab)
            raise StoreError(STORE_THERE.format(data_dir=data_dir)) from None
        try:
            place_new_file(staging / KEYS_FILE, data_dir / KEYS_FILE)
        except FileExistsError:  # a keys.db appeared meanwhile: not ours to replace, and the copy is not whole
            (data_dir / DATA_FILE).unlink()
            raise StoreError(STORE_THERE.format(data_dir=data_dir)) from None
        return counts, seq
    finally:
        for leftover in staging.iterdir():
            leftover.unlink()
        staging.rmdir()


def _checked(copy_dir: Path, backup_folder: Path, passphrase: str | None,
             key_file: str | os.PathLike[str] | None) -> tuple[dict[str, int], int]:
    """The copy in `copy_dir` unlocked, checked and its restoring recorded: its counts and the entry's number."""
    secret = "key file" if key_file is not None else "passphrase"
    try:
        with FamilyStore.open(copy_dir) as copy:
            if key_file is not None and not copy.key_file_unlocks(key_file):
                raise StoreError(BACKUP_NOT_OPENED.format(secret=secret, folder=backup_folder))
            try:
                copy.unlock(passphrase, key_file=key_file)
            except WrongPassphraseError:  # counted in the copy, which is not kept
                raise StoreError(BACKUP_NOT_OPENED.format(secret=secret, folder=backup_folder)) from None
            copy.require_intact()
            held = copy.counts()
            counts = {kind: held[kind] for kind in LOGGED_COUNTS}
            return counts, audit_log.record(copy, RESTORED_EVENT, details=counts)
    except StoreDamagedError as exc:  # its message names the hidden folder and says to restore a backup
        raise StoreError(BACKUP_FAILS_CHECKS.format(folder=backup_folder, count=len(exc.problems),
                                                    first=exc.problems[0])) from None
    except StoreCorruptError:
        raise StoreError(BACKUP_UNREADABLE.format(folder=backup_folder)) from None
    except StoreTooNewError as exc:
        raise StoreError(BACKUP_TOO_NEW.format(folder=backup_folder, found=exc.found, known=exc.known)) from None
