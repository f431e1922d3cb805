"""Typed errors of the encrypted family store. Each message says what went wrong and that nothing was
changed (or what was), so the app and the CLI can show it as-is."""
from __future__ import annotations

from pathlib import Path

from fer_core._errors import UnveilError


class StoreError(UnveilError):
    """Base class of every error the family store raises on purpose."""


def os_detail(exc: OSError) -> str:
    """What the system said of a failed file operation, without the path (the message names it): "Permission
    denied", "Read-only file system", "No such file or directory"."""
    return exc.strerror or type(exc).__name__


class StoreNotFoundError(StoreError, FileNotFoundError):
    def __init__(self, data_dir: Path) -> None:
        super().__init__(f"no Unveil store in {data_dir}: create one first")


class StoreExistsError(StoreError, FileExistsError):
    def __init__(self, data_dir: Path) -> None:
        super().__init__(f"an Unveil store already exists in {data_dir}; nothing was changed")


LONE_KEYS_MESSAGE = ("{data_dir} holds keys.db but no unveil.db: the store's data file is missing, so no new store "
                     "was made and nothing was changed. Restore unveil.db from your backup into {data_dir} (keys.db "
                     "must stay: it holds the keys your data needs), or move keys.db out of the folder to start anew")


class LoneKeysFileError(StoreExistsError):
    """keys.db without unveil.db: creating a store there would overwrite the only copy of every data key."""

    def __init__(self, data_dir: Path) -> None:
        super(StoreExistsError, self).__init__(LONE_KEYS_MESSAGE.format(data_dir=data_dir))


# Between a restore's two placements (governance.restoring places unveil.db, then keys.db) a session opening the
# store was told it was damaged ("keys.db is missing") and, for a backup of an empty store, completed it with a keys.db
# of its own, which made the restore remove its unveil.db and leave that lone keys.db.
RESTORING_MESSAGE = ("a backup is being restored into {data_dir} (its unveil.db is in place, its keys.db not yet): "
                     "try again in a moment; nothing was read or changed. If this stays, the restoring was stopped: set "
                     "the store aside and restore the backup again")


class StoreRestoringError(StoreError):
    """unveil.db without keys.db while a restore's folder is in the data folder: a restore under way, not damage."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(RESTORING_MESSAGE.format(data_dir=data_dir))


class StoreCorruptError(StoreError):
    def __init__(self, data_dir: Path, detail: str) -> None:
        super().__init__(f"the store in {data_dir} cannot be read ({detail}); restore it from a backup")


TOO_NEW_MESSAGE = ("the store in {data_dir} was written by a newer version of Unveil (store version {found}; this "
                   "version reads up to {known}): it is not damaged and needs no restore. Open it with that version "
                   "or a later one (install it here too); nothing was read or changed")


class StoreTooNewError(StoreError):
    """The store's schema version is one a later version of Unveil writes: refused at open, before anything is
    read or written (that version may keep data in a form this one would misread or destroy)."""

    def __init__(self, data_dir: Path, found: str, known: str) -> None:
        super().__init__(TOO_NEW_MESSAGE.format(data_dir=data_dir, found=found, known=known))
        self.found, self.known = found, known


READ_ONLY_MESSAGE = ("the store in {data_dir} cannot be written ({detail}): it is not damaged and needs no restore. "
                     "Give your user write access to that folder and its files, or copy the folder somewhere "
                     "writable and use --data-dir; nothing was changed")


class StoreReadOnlyError(StoreError):
    """The store's folder or files are read-only: opening needs to write SQLite's shared-memory and WAL files."""

    def __init__(self, data_dir: Path, detail: str) -> None:
        super().__init__(READ_ONLY_MESSAGE.format(data_dir=data_dir, detail=detail))


# A new store's folder (or its parents) that this user cannot create or write: a read-only home or file system,
# a folder of another user's, a file where a folder should be. Said before anything of the store is written.
CANNOT_CREATE_MESSAGE = ("no store was made in {data_dir}: this user cannot create or write that folder ({detail}). "
                         "Give your user write access to it, or choose another folder (--data-dir, or the "
                         "UNVEIL_DATA_DIR environment variable); nothing was changed")


class StoreFolderError(StoreError):
    """FamilyStore.create could not create or write the store's folder (CANNOT_CREATE_MESSAGE); no store was made."""

    def __init__(self, data_dir: Path, detail: str) -> None:
        super().__init__(CANNOT_CREATE_MESSAGE.format(data_dir=data_dir, detail=detail))


# A data folder, or a folder above it, that is a link to nothing: a disk that is not mounted, a folder moved away.
# Nothing is made where it points: that would be a new, empty store where the household's is expected to be. Write
# access, which CANNOT_CREATE_MESSAGE asks for, would not help.
DANGLING_LINK_MESSAGE = ("no store was made in {data_dir}: {link} is a link to {target}, which does not exist (a disk "
                         "that is not mounted, or a folder moved away). Mount the disk or correct the link, or choose "
                         "another folder (--data-dir, or the UNVEIL_DATA_DIR environment variable); nothing was "
                         "changed")


class StoreFolderLinkError(StoreError):
    """FamilyStore.create or a restore met a link to nothing on the way to the data folder (DANGLING_LINK_MESSAGE);
    nothing was made."""

    def __init__(self, data_dir: Path, link: Path, target: str) -> None:
        self.link, self.target = link, target
        super().__init__(DANGLING_LINK_MESSAGE.format(data_dir=data_dir, link=link, target=target))


# A new store is not made where other users of this computer could delete it or put another in its place
# (docs/threat_model.md, Attacker 4). An existing store there is opened, with a warning (OTHERS_CAN_WRITE_WARNING).
OTHERS_CAN_WRITE_MESSAGE = ("no store was made in {data_dir}: other users of this computer can write {folder} (mode "
                            "{mode:04o}), so they could delete the store or put another in its place. {fix} makes it "
                            "yours alone (or choose a folder only you can write: --data-dir, or the UNVEIL_DATA_DIR "
                            "environment variable); nothing was changed")


class StoreFolderExposedError(StoreError):
    """FamilyStore.create refused a data folder that other users can write, or one under a folder they can
    (OTHERS_CAN_WRITE_MESSAGE); nothing was made or changed."""

    def __init__(self, data_dir: Path, folder: Path, mode: int, fix: str) -> None:
        self.folder, self.mode = folder, mode
        super().__init__(OTHERS_CAN_WRITE_MESSAGE.format(data_dir=data_dir, folder=folder, mode=mode, fix=fix))


# SQLite names a database file by at most SQLITE_PATH_LIMIT bytes (fer_core.store._store): in a folder whose path is
# longer, it could not open the store's files, and the error was SQLite's "unable to open database file" (a traceback
# for a new store, "cannot be written ... give your user write access" for one moved there).
PATH_TOO_LONG_MESSAGE = ("the path of {data_dir} is too long for SQLite, which keeps the store: the store's files there "
                         "are named by up to {length} bytes, and SQLite opens files named by at most {limit}. Choose "
                         "a folder with a shorter path (--data-dir, or the UNVEIL_DATA_DIR environment variable), or "
                         "move the store's folder to one; nothing was changed")


class StorePathTooLongError(StoreError):
    """The data folder's path is too long for SQLite to open the store's files in it (PATH_TOO_LONG_MESSAGE)."""

    def __init__(self, data_dir: Path, length: int, limit: int) -> None:
        self.length, self.limit = length, limit
        super().__init__(PATH_TOO_LONG_MESSAGE.format(data_dir=data_dir, length=length, limit=limit))


# A new store is not made on a network file system (fer_core.store.NETWORK_FILE_SYSTEMS): SQLite's write-ahead log
# and locks do not work reliably there, and a damaged store loses the family's data. One already there is opened with
# NETWORK_FILE_SYSTEM_WARNING, so that it can be backed up and moved.
NETWORK_FILE_SYSTEM_MESSAGE = ("no store was made in {data_dir}: it is on a network file system ({fs_type}, mounted at "
                               "{mount_point}), where SQLite, which keeps the store, cannot lock its files or share "
                               "its write-ahead log reliably, so the store could be damaged. Choose a folder on this "
                               "computer's own disk (--data-dir, or the UNVEIL_DATA_DIR environment variable); nothing "
                               "was changed")


class StoreFolderNetworkError(StoreError):
    """FamilyStore.create refused a data folder on a network file system (NETWORK_FILE_SYSTEM_MESSAGE); nothing was
    made or changed."""

    def __init__(self, data_dir: Path, fs_type: str, mount_point: Path) -> None:
        self.fs_type, self.mount_point = fs_type, mount_point
        super().__init__(NETWORK_FILE_SYSTEM_MESSAGE.format(data_dir=data_dir, fs_type=fs_type, mount_point=mount_point))


DAMAGED_MESSAGE = ("the store in {data_dir} is damaged ({count} problem(s); first: {first}); nothing was deleted "
                   "or changed. Run `unveil family check` to list every problem, then restore the damaged file "
                   "from a backup")


class StoreDamagedError(StoreError):
    """The store failed its integrity checks, so an action that deletes data was refused."""

    def __init__(self, data_dir: Path, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(DAMAGED_MESSAGE.format(data_dir=data_dir, count=len(problems), first=problems[0]))


# FamilyStore.back_up: a backup goes into a folder of its own that does not exist yet, never over anything.
BACKUP_EXISTS = ("{path} already exists: a backup is written into a new folder, never over one; give the path of a "
                 "folder that does not exist yet (its parent must exist); nothing was written")
# The backup's folder could not be made or written (no such parent, no permission, a read-only or full disk).
BACKUP_NOT_WRITTEN = ("no backup was written to {path} ({detail}): give a new folder's path on a disk that this user "
                      "can write and that has room; the store is unchanged")
# The copy failed the store's own checks: the store is damaged (or changed under a program outside Unveil).
BACKUP_DAMAGED = ("no backup was written to {path}: the copy failed the store's checks ({count} problem(s); first: "
                  "{first}). Run `unveil family check`; the store is unchanged")


class BackupError(StoreError):
    """FamilyStore.back_up wrote no backup: nothing of it is left at the path given."""


class BackupExistsError(BackupError, FileExistsError):
    def __init__(self, path: Path) -> None:
        super().__init__(BACKUP_EXISTS.format(path=path))


class BackupFolderError(BackupError):
    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(BACKUP_NOT_WRITTEN.format(path=path, detail=detail))


class BackupDamagedError(BackupError):
    def __init__(self, path: Path, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(BACKUP_DAMAGED.format(path=path, count=len(problems), first=problems[0]))


class StoreBusyError(StoreError):
    def __init__(self, timeout: float) -> None:
        super().__init__(f"the store is busy in another session (waited {timeout:g} s); nothing was changed")


FULL_MESSAGE = "the disk holding the store in {data_dir} is full; nothing was changed. Free some space and try again"


class StoreFullError(StoreError):
    """SQLite could not write: the disk (or the file system's quota) is full. The transaction was rolled back."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(FULL_MESSAGE.format(data_dir=data_dir))


WRITE_FAILED_MESSAGE = ("the store in {data_dir} could not be written ({detail}): the disk reported an error, or this "
                        "process reached its file size limit (ulimit -f); nothing was changed. Check the disk and that "
                        "limit, then try again")


class StoreWriteError(StoreError):
    """SQLite's write failed with an I/O error (EIO, or EFBIG past RLIMIT_FSIZE). The transaction was rolled back."""

    def __init__(self, data_dir: Path, detail: str) -> None:
        super().__init__(WRITE_FAILED_MESSAGE.format(data_dir=data_dir, detail=detail))


class StoreLockedError(StoreError):
    def __init__(self, message: str = "the store is locked: unlock it with the passphrase or key file first") -> None:
        super().__init__(message)


# Either front end rotates it: the app's Family page (unveil/app/new_passphrase.py) or the command line.
MASTER_KEY_CHANGED_MESSAGE = ("the store's master key was replaced in another session (by the app's Family page or "
                              "`unveil family passwd --rotate`) while this one had it unlocked: this session can read "
                              "and write nothing more, and what it was doing changed nothing. Unlock the store again "
                              "(with the passphrase or key file given at the rotation) and retry")


class MasterKeyChangedError(StoreLockedError):
    """Another session rotated the master key: this session's key opens nothing any more, so it was locked. Not damage:
    data keys that no longer unwrap under the old key were re-wrapped under the new one."""

    def __init__(self) -> None:
        super().__init__(MASTER_KEY_CHANGED_MESSAGE)


# rotate_master_key committed (the new slot is the only one) but could not re-wrap keys.db's data keys after it.
ROTATION_UNFINISHED_MESSAGE = ("the master key was replaced: only the new passphrase (and a key file given with it) opens "
                               "the store in {data_dir} now, not the old one. Its data keys could not yet be re-wrapped "
                               "under the new key ({detail}), so this session was locked: that is finished the next "
                               "time the store is unlocked with the new passphrase. If the disk is full, free some "
                               "space first")


class RotationUnfinishedError(StoreLockedError):
    """The rotation committed, then keys.db could not take the re-wrapped data keys (a full disk, another session
    holding it): the next unlock finishes it. This session's new master would not unwrap the keys still wrapped under
    the old one, so it was locked."""

    def __init__(self, data_dir: Path, detail: str) -> None:
        super().__init__(ROTATION_UNFINISHED_MESSAGE.format(data_dir=data_dir, detail=detail))


WRONG_PASSPHRASE_LOGGED = "wrong passphrase: the store stays locked; only the failed attempt was logged"
WRONG_PASSPHRASE_UNLOGGED = "wrong passphrase: the store stays locked and nothing was changed"


class WrongPassphraseError(StoreError):
    """Says whether the failed attempt was written to the audit log (it cannot be in a read-only store)."""

    def __init__(self, *, logged: bool = True) -> None:
        super().__init__(WRONG_PASSPHRASE_LOGGED if logged else WRONG_PASSPHRASE_UNLOGGED)


class WeakPassphraseError(StoreError, ValueError):
    def __init__(self, minimum: int) -> None:
        super().__init__(f"a passphrase needs at least {minimum} characters; nothing was changed")


PASSPHRASE_NOT_TEXT = ("the passphrase given is not UTF-8 text (a byte of it is not: was it written in another "
                       "encoding, such as Latin-1?); give it as UTF-8 text; nothing was changed")


class PassphraseNotTextError(StoreError, ValueError):
    """A passphrase that UTF-8 cannot hold: Python reads a byte that is not UTF-8 (in $UNVEIL_PASSPHRASE, or a line
    of a file in another encoding) as a lone surrogate. Neither the byte nor its place is said: it is part of the
    secret. Left as Python's UnicodeEncodeError it would say both, and a store method would take it for damage
    ("restore it from a backup")."""

    def __init__(self) -> None:
        super().__init__(PASSPHRASE_NOT_TEXT)


class KeyFileError(StoreError):
    """The key file is missing, too widely readable, malformed, cannot be created, or does not unlock this store."""


# create_key_file where the folder is missing, read-only or not this user's.
KEY_FILE_NOT_CREATED = ("key file {path} could not be created ({detail}): give a path in a folder that exists and "
                        "that this user can write; nothing was changed")


# create_key_file made the file but could not write the key into it: it was removed again.
KEY_FILE_NOT_WRITTEN = ("key file {path} could not be written ({detail}): the disk holding it is full, or refused the "
                        "write. Free some space there, or give a path on another disk; no key file was left and "
                        "nothing was changed")


class TamperedDataError(StoreError):
    """A sealed value failed AES-GCM authentication: altered, corrupted or moved to another row."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"{what} failed authentication: it was altered, corrupted or moved, and was not decrypted")


RECORD_SET_MESSAGE = ("the {kind} of person {person_id} do not match their sealed manifest ({expected} recorded, "
                      "{found} found): rows were deleted, added or moved, or an index is damaged")


class RecordSetError(TamperedDataError):
    """A person's rows of one kind differ from the list sealed in their manifest."""

    def __init__(self, kind: str, person_id: str, expected: int, found: int) -> None:
        self.what = f"{kind} of person {person_id}"
        super(TamperedDataError, self).__init__(RECORD_SET_MESSAGE.format(kind=kind, person_id=person_id, expected=expected, found=found))


class KeyDestroyedError(StoreError):
    """The person's data key is gone (they were erased): their ciphertexts can never be read again."""

    def __init__(self, person_id: str) -> None:
        self.person_id = person_id
        super().__init__(f"the data key of person {person_id} has been destroyed: their data cannot be decrypted")


class PersonNotFoundError(StoreError, LookupError):
    def __init__(self, person: str, *, by_name: bool = False) -> None:
        what = f"named {person!r}" if by_name else f"with id {person}"
        super().__init__(f"no person {what} in the store")


# Two members whose names read the same (fer_core.store._names.name_key): older versions let in names that
# differ only in spacing or in the Turkish i ("Ana María" and "Ana  María", "İpek" and "ipek"). Neither is chosen.
NAME_AMBIGUOUS = "{count} members are named {name!r}: nothing was done; give the id of the one you mean ({ids})"


class AmbiguousNameError(StoreError, LookupError):
    """A name that more than one member's name reads the same as: give an id instead (NAME_AMBIGUOUS)."""

    def __init__(self, name: str, person_ids: list[str]) -> None:
        self.person_ids = tuple(person_ids)
        super().__init__(NAME_AMBIGUOUS.format(count=len(person_ids), name=name, ids=", ".join(person_ids)))


# Names the member enrolled under a name that reads the same, as enrolled ("Anna"), not the name typed ("anna").
PERSON_EXISTS = "a person named {name!r} is already enrolled; nothing was changed"


class PersonExistsError(StoreError, ValueError):
    """A name that reads the same as an enrolled member's (PERSON_EXISTS): `name` is that member's, as enrolled."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(PERSON_EXISTS.format(name=name))


class PersonNameError(StoreError, ValueError):
    """A name that is empty, too long, or holds control characters."""


class EmbeddingError(StoreError, ValueError):
    """Embeddings that are not a finite (n, d) float array, or whose size does not match the person's."""
