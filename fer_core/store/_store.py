"""FamilyStore: the encrypted SQLite store behind family recognition and the privacy ledger.

Transactions: every write runs inside `BEGIN IMMEDIATE` on unveil.db, so two sessions (threads or
processes) never interleave writes and nothing is lost; a crash rolls back to the last commit.
keys.db is only ever written while that lock is held, in an order that keeps one invariant:
    every person in unveil.db has a data key in keys.db.
A new key is committed to keys.db before the rows that use it; a destroyed key is deleted only after
the rows are gone. Both steps are first noted in keys.db's `pending` table, so a crash between the two
files' commits leaves an unused key that the next open can tell apart from damage and delete. A key
without rows and without such a note means the files are damaged: nothing is deleted then.

Damage never triggers a destructive action: orphan collection runs only on files that pass SQLite's
quick_check, and the retention sweep first runs require_intact() (SQLite's integrity_check, the
cross-checks between the two files, and every person's sealed manifest).
"""
from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import shutil
import sqlite3
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np

from fer_core.store import _audit, _crypto, _names, _schema
from fer_core.store._errors import (
    AmbiguousNameError,
    BackupDamagedError,
    BackupExistsError,
    BackupFolderError,
    EmbeddingError,
    KeyDestroyedError,
    KeyFileError,
    LoneKeysFileError,
    MasterKeyChangedError,
    PersonExistsError,
    PersonNameError,
    PersonNotFoundError,
    RecordSetError,
    RotationUnfinishedError,
    StoreBusyError,
    StoreCorruptError,
    StoreDamagedError,
    StoreError,
    StoreExistsError,
    StoreFolderError,
    StoreFolderExposedError,
    StoreFolderLinkError,
    StoreFolderNetworkError,
    StoreFullError,
    StoreLockedError,
    StoreNotFoundError,
    StorePathTooLongError,
    StoreReadOnlyError,
    StoreRestoringError,
    StoreTooNewError,
    StoreWriteError,
    TamperedDataError,
    WrongPassphraseError,
    os_detail,
)
from fer_core.store._paths import _fsync_dir, file_system, others_can_write, resolve_data_dir
from fer_core.store._records import AnalysisEntry, AuditEntry, ConsentEntry, Damage, GalleryEntry, Person, Thumbnail

DATA_FILE = "unveil.db"
KEYS_FILE = "keys.db"
# The folder a restore copies and checks a backup in, in the data folder (governance.restoring); it is there
# while the restore places the two files, so that a session opening the store then knows it for a restore under way.
RESTORE_STAGING_PREFIX = ".unveil-restore-partial-"
# The longest path, in bytes, by which SQLite opens a database: its Unix VFS's MAX_PATHNAME (512) less the room it
# keeps for the "-journal" it may add (measured: a 504-byte path opens, a 505-byte one is "unable to open database
# file", SQLite 3.40). Windows' VFS allows more; the check is made on POSIX only.
SQLITE_PATH_LIMIT = 504
# The longest name the store opens in its folder: a restore's staging folder (mkdtemp's 8 random characters) and
# unveil.db in it. A folder that takes it takes a new store, a set-aside one and a restore too.
_LONGEST_INNER_NAME = f"{RESTORE_STAGING_PREFIX}xxxxxxxx/{DATA_FILE}"


def require_short_enough(data_dir: Path, inner: str = _LONGEST_INNER_NAME) -> None:
    """StorePathTooLongError unless SQLite can open `inner` in `data_dir` (SQLITE_PATH_LIMIT), by the path SQLite
    sees: links resolved. By default every file the store makes there."""
    if os.name != "posix":
        return
    length = len(os.fsencode(os.path.join(os.path.realpath(data_dir), inner)))
    if length > SQLITE_PATH_LIMIT:
        raise StorePathTooLongError(data_dir, length, SQLITE_PATH_LIMIT)


# Said by the front ends each time they open a store beside such files. Nothing is deleted: they may be the only copy
# of something (a conflicted copy holds what the other computer wrote), and which to keep is the household's call.
STRAY_COPIES_WARNING = ("{data_dir} holds database files beside the store's that Unveil did not make: {names}. A cloud "
                        "client syncing the folder (Dropbox, OneDrive, iCloud Drive, Google Drive, Nextcloud) makes "
                        "such conflicted copies, or they were copied by hand. Unveil does not use them, and erasing a "
                        "member does not reach them: with the passphrase or key file of their day they still open "
                        "the members erased since. Delete them once sure they are not needed, and keep the data "
                        "folder out of synced folders. Nothing was changed")
_SQLITE_HEADER = b"SQLite format 3\x00"
_OWN_FILES = frozenset(f"{name}{suffix}" for name in (DATA_FILE, KEYS_FILE) for suffix in ("", "-wal", "-shm", "-journal"))


def stray_copies(data_dir: str | os.PathLike[str]) -> list[str]:
    """The names, sorted, of the SQLite databases directly in `data_dir` other than the store's two files (and
    SQLite's beside them): copies of the store's files that a sync client's conflicts ("unveil (1).db", "keys (host's
    conflicted copy 2026-12-08).db", "unveil.sync-conflict-....db") or a person left there. Known by their first
    bytes, whatever their name; folders (a set-aside store, a backup) are not looked into."""
    found = []
    with contextlib.suppress(OSError), os.scandir(data_dir) as entries:
        for entry in entries:
            if entry.name in _OWN_FILES or not entry.is_file(follow_symlinks=False):
                continue
            with contextlib.suppress(OSError), open(entry.path, "rb") as file:
                if file.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER:
                    found.append(entry.name)
    return sorted(found)


# How long a write waits for another session's write lock before StoreBusyError: a person at a terminal or in
# the app waits that long; a loop that must not freeze (unveil watch) passes less.
DEFAULT_BUSY_TIMEOUT_S = 15.0
MAX_EMBEDDING_DIM = 8192
_SEALED_OVERHEAD = 1 + 12 + 16  # format byte, nonce, GCM tag
_HOUSEHOLD = "household:"  # a saved analysis's own data key is named household:<random> (older stores: one for all)
_THUMBNAIL = "thumbnail:"  # a thumbnail's own data key (stores before thumbnail keys: its person's)
_KEY_OWNER_TABLES = {_HOUSEHOLD: "analyses", _THUMBNAIL: "thumbnails"}  # what a data key that is not a person's seals
# The kinds of rows a person's sealed manifest lists, and the query that finds them through the indexes.
# Consents are listed in the order they were given: the last one governs, whatever the (plaintext)
# recorded_at column says.
_MANIFEST_KINDS = {
    "consents": "SELECT id FROM consents WHERE person_id = ? ORDER BY recorded_at, rowid",
    "embeddings": "SELECT id FROM embeddings WHERE person_id = ?",
    "thumbnails": "SELECT id FROM thumbnails WHERE person_id = ?",
    "analyses": "SELECT analysis_id FROM analysis_people WHERE person_id = ?",
}
_KEY_FILE_BINDING = "hkdf-sha256"  # what a key-file slot's format 2 binds (it has no tunable parameters)
# Each plaintext time, and the sealed column of its row (format 2 binds the time to it).
_TIMES = (("people", "created_at", "name"), ("people", "last_seen_at", "name"), ("embeddings", "created_at", "vector"),
          ("thumbnails", "created_at", "image"), ("consents", "recorded_at", "details"), ("analyses", "created_at", "result"))
_TIME_SLACK = 86400.0  # clock differences tolerated when checking that stored times are plausible
_DAMAGE_WORDS = ("malformed", "no such", "corrupt", "mismatch")  # OperationalError texts that mean a damaged file
_SCRUB_PENDING = "scrub_pending"  # meta key: an erasure committed whose old bytes may still be on disk
_RETENTION_SEAL = "retention_seal"  # meta key: MAC of the retention settings
_UNLOCK_TRIES = 3  # unlocks made again when another session rotates the master key meanwhile
_CHECK_TRIES = 3  # checks made again when another session commits meanwhile (FamilyStore._found_on_a_still_store)
_REWRAP_ANCHOR = "rewrap_anchor"  # keys.db meta key: the audit anchor sealed under a rotation's new key
_NEXT_ANCHOR = "audit_anchor_next"  # keys.db meta key: the new chain's anchor of an erase-everything, until in place

Errors = Literal["raise", "skip"]
# A write another session or the disk refused (busy, full, an I/O error), where it may be skipped or retried later.
_WRITE_REFUSED = (sqlite3.OperationalError, StoreBusyError, StoreFullError, StoreWriteError)


GALLERY_MIXES_MODELS = ("the store holds embeddings of several models ({models}): pass model= so that faces are "
                        "compared with one model's embeddings only")


def _new_id() -> str:
    return uuid.uuid4().hex


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


def _is_full(exc: sqlite3.OperationalError) -> bool:
    # SQLITE_IOERR_SHMSIZE: no room to grow the -shm file, which every open makes (32 KiB per file): SQLite reports
    # that ENOSPC as a plain "disk I/O error", and a store opened on a full disk was said to be damaged.
    return "full" in str(exc) or getattr(exc, "sqlite_errorname", None) == "SQLITE_IOERR_SHMSIZE"


def _is_io_error(exc: sqlite3.OperationalError) -> bool:
    # SQLITE_IOERR: a write the OS refused other than with ENOSPC (EIO, or EFBIG past RLIMIT_FSIZE).
    return "disk I/O error" in str(exc)


def _refused_write(data_dir: Path, exc: sqlite3.DatabaseError) -> StoreError | None:
    """The typed error of a write the disk refused (StoreFullError, StoreWriteError), or None for any other."""
    if isinstance(exc, sqlite3.OperationalError) and _is_full(exc):
        return StoreFullError(data_dir)
    if isinstance(exc, sqlite3.OperationalError) and _is_io_error(exc):
        return StoreWriteError(data_dir, str(exc))
    return None


# The file system's "no room" answers: no space left, or this user's disk quota used up.
_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT})


def _folder_refused(data_dir: Path, exc: OSError) -> StoreError:
    """FamilyStore.create's error for a folder or file it could not make: StoreFullError when the disk has no room
    (CANNOT_CREATE_MESSAGE would send the user to fix permissions that are fine), StoreFolderLinkError for a link to
    nothing on the way, StoreFolderError otherwise."""
    if isinstance(exc, DanglingLinkError):
        return StoreFolderLinkError(data_dir, exc.link, exc.target)
    return StoreFullError(data_dir) if exc.errno in _NO_ROOM else StoreFolderError(data_dir, os_detail(exc))


def _is_read_only(exc: sqlite3.Error) -> bool:
    text = str(exc)
    return "readonly" in text or "read-only" in text or "unable to open" in text


def _lenient_text(raw: bytes) -> str:
    # A tampered file can hold invalid UTF-8 where text belongs (or text where a ciphertext belongs).
    # Decoding it losslessly lets that one row fail authentication instead of failing the whole query.
    return raw.decode("utf-8", "surrogateescape")


def _connect(path: Path, timeout: float) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None, check_same_thread=False)
    conn.text_factory = _lenient_text
    conn.execute("PRAGMA journal_mode=WAL")  # readers never block the writer; commits are atomic
    conn.execute("PRAGMA synchronous=FULL")  # a key committed to keys.db must be durable before its rows
    conn.execute("PRAGMA secure_delete=ON")  # deleted cells are zeroed, not left in free pages
    conn.execute("PRAGMA temp_store=MEMORY")  # VACUUM's temporary copy never touches /tmp
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _owner_only(path: str, flags: int) -> int:
    """open()'s `opener` for a file of personal data written outside the store (reports, outputs, copies): a new file
    is made 0600 at its creation, never chmod-ed afterwards, so there is no moment when others could open it (open()
    alone made it 0644 under the usual umask of 022); a file that exists keeps its mode."""
    return os.open(path, flags, 0o600)


def _new_db_file(path: Path) -> None:
    # Created 0600 before SQLite opens it; SQLite gives its -wal and -shm files the same mode.
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


# What link() answers on a file system without hard links: FAT and exFAT (a USB stick, an SD card) EPERM, some
# network shares and FUSE file systems EOPNOTSUPP or ENOSYS.
_NO_HARD_LINKS = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS})


def _place_new(source: Path, target: Path) -> None:
    """Move the new file `source` to `target`, never replacing a file there (FileExistsError). link() makes the
    name appear whole or not at all; where the file system has no hard links (a store on a USB stick: link() raised
    PermissionError, and no store could be made there), the name is taken with O_EXCL, then the file renamed onto
    it: a store made there concurrently is still never replaced. Durable: the file's bytes reach the disk before
    its name does, and the folder is synced after (a power cut then leaves the file whole or absent, never an
    empty file under the name)."""
    _fsync_file(source)
    try:
        os.link(source, target)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.replace(source, target)
    _fsync_dir(target.parent)


def _replace_file(source: str | os.PathLike[str], target: Path) -> None:
    """os.replace(source, target), durable: `source` synced to the disk first, the folder after. Renamed unsynced,
    a power cut soon after can leave `target` an empty file (ext4 gives a new file's bytes their place on the disk
    only when it writes them out, seconds later) where the file it replaced was whole, and the rename itself is
    only on the disk once its folder is synced."""
    _fsync_file(source)
    os.replace(source, target)
    _fsync_dir(target.parent)


def _write_whole(target: Path, content: bytes | Callable[[BinaryIO], object], *, new: bool = False) -> None:
    """Write `target` whole: `content` (bytes, or a function that writes into the open binary file it is given) goes
    into a hidden file beside it (.NAME.XXXXXXXX.partial, 0600), which is then put onto the name synced: by
    _replace_file, keeping the mode of a file already there, or with new=True by _place_new, never over a file
    there (FileExistsError). Written in place, a kill or a power cut meanwhile left a file cut short, or empty, where
    a whole one had been. The hidden file never outlives the call; an OSError making it names `target`."""
    try:
        handle, draft = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    except OSError as exc:  # said of the file asked for, not of the hidden one
        raise OSError(exc.errno, exc.strerror, str(target)) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            if isinstance(content, bytes):
                stream.write(content)
            else:
                content(stream)
        if new:
            _place_new(Path(draft), target)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.chmod(draft, stat.S_IMODE(os.stat(target).st_mode))
            _replace_file(draft, target)
    finally:
        with contextlib.suppress(OSError):  # renamed into place, or linked (placed new), or failed
            os.unlink(draft)


# What a folder to make that is a link to nothing is said to be by the other callers of _make_private_folders (an
# output folder's error); a store's creation and restore say DANGLING_LINK_MESSAGE. Its target is not made.
DANGLING_LINK_DETAIL = "it is a link to {target}, which does not exist"


class DanglingLinkError(FileNotFoundError):
    """_make_private_folders met a folder to make that is a link to nothing (mkdir said only "File exists")."""

    def __init__(self, link: Path, target: str) -> None:
        super().__init__(errno.ENOENT, DANGLING_LINK_DETAIL.format(target=target), str(link))
        self.link, self.target = link, target


def _make_private_folders(path: Path) -> list[Path]:
    """Make `path` and each missing folder above it 0700 (less what the umask takes away), as the XDG base directory
    spec asks of a data folder's parents: mkdir(parents=True) made them 0777 less the umask, so under umask 000 a new
    ~/.local/share was writable by every user of the machine, who could then move the store aside and put another in
    its place. Folders that exist keep their mode. Returns the folders made here, outermost first; when one cannot
    be made, those made before it are removed again."""
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    made: list[Path] = []
    try:
        for folder in reversed(missing):
            try:
                folder.mkdir(mode=0o700)
            except FileExistsError:
                if folder.is_symlink() and not folder.exists():  # mkdir says only "File exists" of it
                    raise DanglingLinkError(folder, os.readlink(folder)) from None
                if not folder.is_dir():
                    raise
                continue  # made meanwhile by someone else: not ours to remove
            made.append(folder)
        for folder in made:  # a new folder's name is on the disk once the folder holding it is synced
            _fsync_dir(folder.parent)
    except BaseException:
        _remove_made_folders(made)
        raise
    return made


def _remove_made_folders(made: list[Path]) -> None:
    """Remove the folders _make_private_folders made, innermost first, each only while it is empty: a `family init`
    that failed left the empty data folder behind (and ~/.local/share/... above it). A folder that something was
    put in meanwhile stays, and so do the folders above it."""
    for folder in reversed(made):
        try:
            folder.rmdir()
        except OSError:
            return


# Descriptors that _read_raw reads the store's files through, one per file (device, inode), never closed: closing
# any descriptor of a file drops every POSIX lock this process holds on it, SQLite's included. scrub() read keys.db
# with read_bytes(), so after a purge this process held no lock on keys.db; another process that then closed the
# store took itself for the last one, checkpointed and deleted keys.db-wal, and the keys this process committed
# afterwards (a new member's) went to the deleted file: no other process saw them, and a crash lost them.
_RAW_FDS: dict[tuple[int, int], int] = {}
_RAW_FDS_LOCK = threading.Lock()


def _read_raw(path: Path) -> bytes:
    """The bytes of one of the store's files, read without ever closing a descriptor of it (FileNotFoundError if
    it is not there). On Windows, whose locks are not POSIX ones, a descriptor kept open would keep SQLite from
    deleting the file: read_bytes() there."""
    if os.name == "nt":
        return path.read_bytes()
    info = os.stat(path)
    with _RAW_FDS_LOCK:
        fd = _RAW_FDS.get((info.st_dev, info.st_ino))
        if fd is None:
            fd = os.open(path, os.O_RDONLY)
            opened = os.fstat(fd)  # the file at that name may have been replaced meanwhile: kept all the same
            fd = _RAW_FDS.setdefault((opened.st_dev, opened.st_ino), fd)
    size, chunks, offset = os.fstat(fd).st_size, [], 0
    while offset < size:
        chunk = os.pread(fd, size - offset, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _fsync_file(path: str | os.PathLike[str]) -> None:
    # Windows flushes a file only through a handle open for writing (FlushFileBuffers; fsync of a read-only one is
    # EBADF); POSIX syncs through any descriptor, so a file made read-only there is synced too.
    fd = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _require_stored_id(value: str) -> None:
    # A damaged id can be NULL or hold bytes that are not UTF-8 (read leniently); no key or row can be
    # named by it.
    try:
        value.encode("utf-8")
    except (AttributeError, UnicodeEncodeError):
        raise TamperedDataError(f"the id {value!r}") from None


def _damage_is_typed(method: Callable[..., Any]) -> Callable[..., Any]:
    """SQLite errors that mean a damaged file (malformed pages, a schema that lost a column) become
    StoreCorruptError, a full disk StoreFullError, and a write the disk refused otherwise (an I/O error, a file
    size limit) StoreWriteError. Busy and read-only errors pass through."""
    @functools.wraps(method)
    def run(self: FamilyStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise
        except sqlite3.DatabaseError as exc:
            if (refused := _refused_write(self.data_dir, exc)) is not None:
                raise refused from None
            if isinstance(exc, sqlite3.OperationalError) and not any(word in str(exc) for word in _DAMAGE_WORDS):
                raise
            raise StoreCorruptError(self.data_dir, str(exc)) from None
        except UnicodeError:  # damaged text sent back to SQLite, or SQLite's error quoting a damaged schema
            raise StoreCorruptError(self.data_dir, "text in the file is not valid UTF-8") from None
    return run


def _master_id(master: bytearray) -> str:
    """A public name for a master key (an HMAC of it, so it reveals nothing): sessions compare it with
    the store's to notice that another session rotated the key."""
    return _crypto.mac(master, b"unveil/1 master id")[:16].hex()


def _clean_embeddings(embeddings: Any) -> np.ndarray:
    try:
        array = np.asarray(embeddings)
    except Exception as exc:  # ragged lists and the like
        raise EmbeddingError(f"embeddings must be a numeric array of shape (n, d): {exc}") from None
    if array.ndim == 1:
        array = array[np.newaxis, :]
    if array.ndim != 2 or array.shape[0] < 1 or not 1 <= array.shape[1] <= MAX_EMBEDDING_DIM:
        raise EmbeddingError(f"embeddings must have shape (n, d) with n >= 1 and 1 <= d <= {MAX_EMBEDDING_DIM}, got {array.shape}")
    if array.dtype.kind not in "fiu":
        raise EmbeddingError(f"embeddings must be numbers, got dtype {array.dtype}")
    array = array.astype("<f4")
    if not np.isfinite(array).all():
        raise EmbeddingError("embeddings must be finite (no NaN or infinity)")
    return array


def _clean_model(model: str) -> str:
    if not isinstance(model, str) or not 1 <= len(model) <= 80 or not model.isprintable():
        raise EmbeddingError(f"the embedding model name must be 1 to 80 printable characters, got {model!r}")
    return model


def _json_bytes(value: Mapping[str, Any]) -> bytes:
    return json.dumps(dict(value), sort_keys=True, separators=(",", ":")).encode("utf-8")


class FamilyStore:
    """The encrypted store in one data directory. Opening it needs no secret; reading or writing
    personal data needs `unlock()` with the passphrase or key file.

        store = FamilyStore.create(data_dir, passphrase="...")    # first run
        store = FamilyStore(data_dir); store.unlock("...")         # later runs
        pid = store.add_person("Alice"); store.add_embeddings(pid, vectors)
        store.gallery()  ->  [GalleryEntry(pid, "Alice", array (n, d))]

    `busy_timeout` is how long a write waits for another session's write before StoreBusyError.
    `clock` returns POSIX seconds; tests pass a fake one to age data.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.data_dir = resolve_data_dir(data_dir)
        self._timeout = busy_timeout
        self._clock = clock
        self._lock = threading.RLock()
        self._master: bytearray | None = None
        self._master_id: str | None = None
        self._key_replaced = False  # locked by MasterKeyChangedError (see _lock_replaced_key)
        self._audit_key: bytearray | None = None
        self._data_keys: dict[str, bytearray] = {}
        self._keys_checked_at: tuple[int, int] | None = None  # the data_version at which _data_keys was last pruned
        self._depth = 0
        self._new_owners: list[str] = []
        self._shred_after_commit: list[str] = []
        self._shredded_blobs: list[bytes] = []  # wrapped keys just deleted: scrub() checks they left the disk
        self._sealed_appended = False
        self._chain_reset = False  # delete_everything() began a new audit chain in this transaction
        main_path, keys_path = self.data_dir / DATA_FILE, self.data_dir / KEYS_FILE
        if not main_path.is_file():
            raise StoreNotFoundError(self.data_dir)
        self._main: sqlite3.Connection | None = None
        self._keys: sqlite3.Connection | None = None
        try:
            self._main = _connect(main_path, busy_timeout)
            self._store_id = self._meta(self._main, "store_id")
            self._require_readable_version(self._meta(self._main, "schema_version"))
            if not keys_path.is_file():
                # A restore's checked copy of keys.db still in its folder: placed a moment later (or, after a crash
                # there, never: the message says to set the store aside and restore again). Completed here with a
                # keys.db of its own, the restore found it in its way and removed its unveil.db.
                if any((folder / KEYS_FILE).is_file() for folder in self.data_dir.glob(f"{RESTORE_STAGING_PREFIX}*")):
                    raise StoreRestoringError(self.data_dir)
                self._recreate_missing_keys(keys_path)
            self._keys = _connect(keys_path, busy_timeout)
            if self._meta(self._keys, "store_id") != self._store_id:
                raise StoreCorruptError(self.data_dir, f"{KEYS_FILE} belongs to another store")
            self._collect_orphan_keys()
            self._finish_pending_scrub()
            self._finish_chain_reset()
        except UnicodeDecodeError:  # SQLite's error about a damaged schema quotes the damaged bytes
            self.close()
            raise StoreCorruptError(self.data_dir, "malformed database schema") from None
        except sqlite3.DatabaseError as exc:
            self.close()
            if isinstance(exc, sqlite3.OperationalError) and _is_busy(exc):
                raise StoreBusyError(busy_timeout) from None
            if _is_read_only(exc):
                require_short_enough(self.data_dir, DATA_FILE)  # SQLite's "unable to open" of a path too long too
                raise StoreReadOnlyError(self.data_dir, str(exc)) from None
            if isinstance(exc, sqlite3.OperationalError) and _is_full(exc):  # not damage: nothing to restore
                raise StoreFullError(self.data_dir) from None
            raise StoreCorruptError(self.data_dir, str(exc)) from None
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ create / open / unlock

    @classmethod
    def open(cls, data_dir: str | os.PathLike[str] | None = None, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT_S,
             clock: Callable[[], float] = time.time) -> FamilyStore:
        """Open an existing store, still locked."""
        return cls(data_dir, busy_timeout=busy_timeout, clock=clock)

    @classmethod
    def create(
        cls,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        passphrase: str | None = None,
        key_file: str | os.PathLike[str] | None = None,
        scrypt: _crypto.ScryptParams | None = None,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT_S,
        clock: Callable[[], float] = time.time,
    ) -> FamilyStore:
        """Create a new, empty store and return it unlocked. It can be unlocked later with the
        passphrase, the key file (see create_key_file), or either when both are given. Refuses a folder
        that holds either file: a keys.db left alone there is the only copy of every data key."""
        if passphrase is None and key_file is None:
            raise ValueError("a new store needs a passphrase, a key file, or both")
        if passphrase is not None:
            _crypto.check_new_passphrase(passphrase)
        secret = _crypto.read_key_file(key_file) if key_file is not None else None
        params = scrypt or _crypto.ScryptParams()
        data_dir = resolve_data_dir(data_dir)
        if (exposed := others_can_write(data_dir)) is not None:  # before anything is made
            raise StoreFolderExposedError(data_dir, exposed.folder, exposed.mode, exposed.fix)
        if (mounted := file_system(data_dir)) is not None and mounted.network:
            raise StoreFolderNetworkError(data_dir, mounted.type, mounted.mount_point)
        require_short_enough(data_dir)
        try:  # a read-only home or file system, another user's folder, a file in the way: said, not a traceback
            made = _make_private_folders(data_dir)
        except OSError as exc:
            raise _folder_refused(data_dir, exc) from None
        try:  # a failed creation leaves none of the folders it made
            if (data_dir / DATA_FILE).exists():
                raise StoreExistsError(data_dir)
            if (data_dir / KEYS_FILE).exists():
                raise LoneKeysFileError(data_dir)
            store_id, master, now = _new_id(), _crypto.new_key(), clock()
            # Both files are built in a private staging folder, then linked into place: a crash leaves
            # either no store or a whole one, and os.link refuses to replace a file made concurrently. (On a file
            # system without hard links, _place_new takes the name first: a crash between the two steps can leave
            # an empty unveil.db, which opens as damaged and holds nothing yet.)
            try:
                staging = Path(tempfile.mkdtemp(prefix=".unveil-new-", dir=data_dir))
            except OSError as exc:  # the folder exists but this user cannot write it, or its disk is full
                raise _folder_refused(data_dir, exc) from None
            try:
                _new_db_file(staging / DATA_FILE)
                main = _connect(staging / DATA_FILE, busy_timeout)
                try:
                    main.executescript(_schema.MAIN)
                    main.execute("BEGIN IMMEDIATE")
                    main.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                                     [("store_id", store_id), ("schema_version", _schema.SCHEMA_VERSION),
                                      ("created_at", repr(now)), ("master_id", _master_id(master))])
                    if passphrase is not None:
                        cls._write_passphrase_slot(main, store_id, master, passphrase, params, now)
                    if secret is not None:
                        cls._write_key_file_slot(main, store_id, master, secret, now)
                    audit_key = _crypto.derive_subkey(master, "audit mac")
                    cls._seal_retention(main, audit_key)  # no settings yet, sealed: deleting the seal is then tampering
                    _audit.append(main, event="store_created", ts=now, person_id=None, seal_name=lambda _seq: None,
                                  details={"passphrase": passphrase is not None, "key_file": secret is not None},
                                  mac_key=audit_key)
                    anchor = _audit.sealed_head(main)
                    main.execute("COMMIT")
                finally:
                    main.close()
                cls._build_keys_db(staging / KEYS_FILE, store_id, busy_timeout, anchor)
                try:
                    _place_new(staging / DATA_FILE, data_dir / DATA_FILE)
                except FileExistsError:
                    raise StoreExistsError(data_dir) from None
                try:
                    _place_new(staging / KEYS_FILE, data_dir / KEYS_FILE)
                except FileExistsError:  # a keys.db appeared meanwhile: it is not ours to replace
                    # One that a session opening the store in the moment between made for it (another tab, a
                    # terminal: FamilyStore completes a store whose creation stopped there) is this store's. Taken
                    # for another's, this store was removed and the folder left with a lone keys.db, which every
                    # later creation refused, telling a new household to restore unveil.db from a backup.
                    if not cls._keys_file_of(data_dir / KEYS_FILE, store_id):
                        (data_dir / DATA_FILE).unlink()
                        raise LoneKeysFileError(data_dir) from None
            except StoreError:  # StoreExistsError is a FileExistsError: not a folder refused
                raise
            except OSError as exc:  # the staging folder's files: made, but the disk has no room for them
                if exc.errno in _NO_ROOM:
                    raise StoreFullError(data_dir) from None
                raise
            except sqlite3.DatabaseError as exc:  # SQLite's writes there: a full disk, or one that refused a write
                if (refused := _refused_write(data_dir, exc)) is not None:
                    raise refused from None
                raise
            finally:
                for leftover in staging.iterdir():
                    leftover.unlink()
                staging.rmdir()
        except BaseException:
            _remove_made_folders(made)
            raise
        store = cls(data_dir, busy_timeout=busy_timeout, clock=clock)
        store._set_master(master)
        _crypto.wipe(master)
        return store

    @staticmethod
    def _build_keys_db(path: Path, store_id: str, timeout: float, anchor: dict[str, Any] | None = None) -> None:
        _new_db_file(path)
        keys = _connect(path, timeout)
        try:
            keys.executescript(_schema.KEYS)
            keys.execute("INSERT INTO meta (key, value) VALUES ('store_id', ?)", (store_id,))
            if anchor is not None:
                keys.execute("INSERT INTO meta (key, value) VALUES ('audit_anchor', ?)", (json.dumps(anchor, sort_keys=True),))
        finally:
            keys.close()

    def _recreate_missing_keys(self, keys_path: Path) -> None:
        # Only a creation interrupted between linking unveil.db and moving keys.db leaves no keys.db (or one
        # still under way, which places it a moment later); such a store holds no personal data yet, so an empty
        # keys.db completes it. With data, the keys are gone and the store must not pretend otherwise.
        held = self._main.execute("SELECT (SELECT COUNT(*) FROM people) + (SELECT COUNT(*) FROM analyses)").fetchone()[0]
        if held:
            raise StoreCorruptError(self.data_dir, f"{KEYS_FILE} is missing, so every data key is gone")
        try:
            anchor = _audit.sealed_head(self._main)
        except ValueError:  # a damaged head is not copied; verify_audit() reports it
            anchor = None
        # Built aside and placed whole, never over a keys.db: the creation, or another session opening the store
        # now, may place one meanwhile, which is then used (its store id is checked next). Built in place, a
        # session opening the store meanwhile read a keys.db without its tables yet and called the store damaged.
        staging = Path(tempfile.mkdtemp(prefix=".unveil-new-", dir=self.data_dir))
        try:
            self._build_keys_db(staging / KEYS_FILE, self._store_id, self._timeout, anchor)
            with contextlib.suppress(FileExistsError):
                _place_new(staging / KEYS_FILE, keys_path)
        finally:
            for leftover in staging.iterdir():
                leftover.unlink()
            staging.rmdir()

    @staticmethod
    def _keys_file_of(path: Path, store_id: str) -> bool:
        """Whether the keys.db at `path` is the one of the store `store_id` names."""
        try:
            with contextlib.closing(sqlite3.connect(str(path), isolation_level=None)) as conn:
                row = conn.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()
        except sqlite3.Error:
            return False
        return row is not None and row[0] == store_id

    def now(self) -> float:
        """The store's clock (POSIX seconds): what it stamps rows and audit entries with."""
        return self._clock()

    @property
    def store_id(self) -> str:
        """The store's random id (plaintext in both files): an old store's, set aside, is named by it in the new
        store's audit log."""
        return self._store_id

    @property
    def is_unlocked(self) -> bool:
        return self._master is not None

    @_damage_is_typed
    def unlock(self, passphrase: str | None = None, *, key_file: str | os.PathLike[str] | None = None) -> None:
        """Derive the key encryption key from the passphrase (scrypt, with the parameters stored in
        the slot) or the key file, and unwrap the master key. A wrong secret raises
        WrongPassphraseError or KeyFileError and is counted in the audit log (repeated failures update
        one entry); nothing else is written. Slot parameters beyond twice the default cost are refused
        as tampering before any derivation."""
        if (passphrase is None) == (key_file is None):
            raise ValueError("unlock needs either a passphrase or a key file")
        kind = "passphrase" if passphrase is not None else "key_file"
        secret = _crypto.read_key_file(key_file) if key_file is not None else None
        with self._lock:
            # Another session may rotate the master key while this one unlocks (its slot was read just before the
            # rotation committed): the unlock is made again from the new slot, which the same secret opens when
            # the rotation kept it. A secret the new slot refuses is MasterKeyChangedError, not a failed unlock.
            for attempt in range(_UNLOCK_TRIES):
                try:
                    self._unlock_slot(kind, passphrase, secret, key_file, rotated=attempt > 0)
                    with self._snapshot():  # MasterKeyChangedError if a rotation committed since the slot was read
                        pass
                    return
                except MasterKeyChangedError:
                    if attempt == _UNLOCK_TRIES - 1:
                        raise

    def _unlock_slot(self, kind: str, passphrase: str | None, secret: bytes | None,
                     key_file: str | os.PathLike[str] | None, *, rotated: bool) -> None:
        row = self._conn().execute(
            "SELECT salt, n, r, p, check_tag, wrapped_master FROM slots WHERE kind = ?", (kind,)).fetchone()
        if row is None:
            if rotated:  # the rotation dropped the key-file slot
                raise MasterKeyChangedError()
            if kind == "passphrase":
                raise KeyFileError("this store has no passphrase: unlock it with its key file")
            raise KeyFileError("this store has no key file: unlock it with its passphrase")
        salt, n, r, p, check_tag, wrapped = row
        what = f"the {kind.replace('_', ' ')} slot"
        binding = _KEY_FILE_BINDING
        if kind == "passphrase":
            try:
                params = _crypto.ScryptParams(n=n, r=r, p=p)
            except (TypeError, ValueError):
                raise TamperedDataError(what) from None
            binding = params.label()
            kek = _crypto.passphrase_kek(passphrase, salt, params)
        else:
            kek = _crypto.key_file_kek(secret, salt)
        try:
            master = self._open_slot(kind, kek, binding, check_tag, wrapped, what, key_file, rotated=rotated)
        finally:
            _crypto.wipe(kek)
        self._set_master(master)
        _crypto.wipe(master)
        try:
            self._finish_rotation()
        except BaseException:
            # Left unlocked, this session's master (the rotation's new one) opened none of the data keys still
            # wrapped under the old one: check() called each "altered, corrupted or moved", and a rotation failed.
            self.lock()
            raise
        self._migrate_schema()
        self._require_seals()

    def _open_slot(self, kind: str, kek: bytearray, binding: str, check_tag: bytes, wrapped: bytes, what: str,
                   key_file: str | os.PathLike[str] | None, *, rotated: bool = False) -> bytearray:
        """The master key from a slot. Format 2 binds the slot's KDF parameters to its check tag and
        ciphertext; a format 1 slot (no binding) still opens and is rewritten in format 2."""
        if _crypto.same(_crypto.kek_check(kek, binding), check_tag):
            legacy = False
        elif _crypto.same(_crypto.kek_check(kek), check_tag):
            legacy = True
        elif rotated:  # the secret opened the slot a moment ago: the rotation gave the new one another
            raise MasterKeyChangedError()
        else:
            logged = self._log_failed_unlock(kind)
            if kind == "passphrase":
                raise WrongPassphraseError(logged=logged)
            outcome = "only the failed attempt was logged" if logged else "nothing was changed"
            raise KeyFileError(f"key file {key_file} does not unlock this store: it stays locked; {outcome}")
        master = bytearray(_crypto.unseal(kek, wrapped, self._slot_aad(self._store_id, kind, None if legacy else binding),
                                          what=what))
        if legacy:
            # A read-only store keeps format 1.
            with contextlib.suppress(*_WRITE_REFUSED), self.transaction():
                self._conn().execute("UPDATE slots SET check_tag = ?, wrapped_master = ? WHERE kind = ?",
                                     (_crypto.kek_check(kek, binding),
                                      _crypto.seal(kek, master, self._slot_aad(self._store_id, kind, binding)), kind))
        return master

    def lock(self) -> None:
        """Overwrite and forget every key held in memory."""
        with self._lock:
            _crypto.wipe(self._master)
            _crypto.wipe(self._audit_key)
            for key in self._data_keys.values():
                _crypto.wipe(key)
            self._data_keys.clear()
            self._master = self._audit_key = self._master_id = None
            self._key_replaced = False

    def close(self) -> None:
        with self._lock:
            self.lock()
            for conn in (self._main, self._keys):
                if conn is not None:
                    conn.close()
            self._main = self._keys = None

    def __enter__(self) -> FamilyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @_damage_is_typed
    def change_passphrase(self, new_passphrase: str, *, scrypt: _crypto.ScryptParams | None = None) -> None:
        """Set (or replace) the passphrase. Only the master key is re-wrapped: no data is re-encrypted.
        The store must be unlocked, which proves knowledge of the current secret. This does not help
        against a leaked passphrase: an old copy of unveil.db still holds the old slot, which opens the
        same master key. Use rotate_master_key() for that."""
        _crypto.check_new_passphrase(new_passphrase)
        with self.transaction():
            master = self._require_master()
            existed = self._conn().execute("SELECT 1 FROM slots WHERE kind = 'passphrase'").fetchone() is not None
            self._write_passphrase_slot(self._conn(), self._store_id, master, new_passphrase,
                                        scrypt or _crypto.ScryptParams(), self._clock())
            self.append_audit("key_change", details={"slot": "passphrase", "action": "replaced" if existed else "added"})

    @_damage_is_typed
    def rotate_master_key(self, new_passphrase: str, *, scrypt: _crypto.ScryptParams | None = None,
                          key_file: str | os.PathLike[str] | None = None) -> bool:
        """Replace the master key: every data key is re-wrapped under a new one, the audit seals are
        renewed, and the passphrase slot (and the key-file slot, when `key_file` is given; otherwise
        it is removed) wraps the new master. An old copy of unveil.db and the old passphrase then
        open only the old master, which unwraps nothing in today's keys.db. Returns whether the old
        slot and wrapped keys were also scrubbed from the files (see scrub())."""
        _crypto.check_new_passphrase(new_passphrase)
        secret = _crypto.read_key_file(key_file) if key_file is not None else None
        params = scrypt or _crypto.ScryptParams()
        new_master = _crypto.new_key()
        new_id = _master_id(new_master)
        new_audit = _crypto.derive_subkey(new_master, "audit mac")
        try:
            with self.transaction():
                old_master = self._require_master()
                conn, now = self._conn(), self._clock()
                self._stage_rewrap(old_master, new_master, new_id, new_audit)
                try:
                    _audit.reseal(conn, self._audit_key, new_audit)
                    if not self._retention_problems(conn):
                        self._seal_retention(conn, new_audit)
                except ValueError as exc:
                    raise StoreDamagedError(self.data_dir, [str(exc)]) from None
                self._write_passphrase_slot(conn, self._store_id, new_master, new_passphrase, params, now)
                had_key_file = conn.execute("DELETE FROM slots WHERE kind = 'key_file'").rowcount > 0
                if secret is not None:
                    self._write_key_file_slot(conn, self._store_id, new_master, secret, now)
                conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('master_id', ?)", (new_id,))
                # The old slot and the old wrapped keys must leave the files too: scrubbed below, or at next open.
                conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, '1')", (_SCRUB_PENDING,))
                key_file_action = "rewrapped" if secret is not None else "removed" if had_key_file else "none"
                _audit.append(conn, event="key_change", ts=now, person_id=None, seal_name=lambda _seq: None,
                              details={"slot": "master", "action": "rotated", "key_file": key_file_action}, mac_key=new_audit)
                self._sealed_appended = True
        except BaseException:
            # Staged keys are dropped only if the new slot surely did not commit; otherwise the next
            # unlock finishes the rotation with them.
            with contextlib.suppress(sqlite3.Error, StoreError):
                if self._meta_or_none(self._conn(), "master_id") != new_id:
                    self._drop_rewrap()
            _crypto.wipe(new_master)
            _crypto.wipe(new_audit)
            raise
        try:
            self._finish_rewrap(new_id)
        except (sqlite3.OperationalError, StoreBusyError) as exc:
            # Committed: the error must not say "nothing was changed", and the next unlock finishes it.
            self.lock()
            _crypto.wipe(new_master)
            _crypto.wipe(new_audit)
            detail = ("the disk is full" if isinstance(exc, sqlite3.OperationalError) and _is_full(exc)
                      else "another session was using the store" if isinstance(exc, StoreBusyError) else str(exc))
            raise RotationUnfinishedError(self.data_dir, detail) from None
        self._set_master(new_master)
        _crypto.wipe(new_master)
        _crypto.wipe(new_audit)
        return self.scrub()

    def _stage_rewrap(self, old_master: bytearray, new_master: bytearray, master_id: str, new_audit: bytearray) -> None:
        # Committed to keys.db before the new slot commits in unveil.db: whichever side a crash lands
        # on, the master key that the slot opens can find its data keys (see _finish_rotation). The
        # audit anchor is staged too, sealed under the new key, so that it verifies after a crash.
        head = _audit.sealed_head(self._conn())
        anchor = _audit.sign_head(head, new_audit) if head is not None else None
        keys = self._keys_conn()
        rows = keys.execute("SELECT owner, wrapped FROM data_keys").fetchall()
        staged = []
        for owner, wrapped in rows:
            key = bytearray(_crypto.unseal(old_master, wrapped, self._key_aad(owner), what=f"the data key of {owner}"))
            staged.append((owner, master_id, _crypto.seal(new_master, key, self._key_aad(owner))))
            _crypto.wipe(key)
        self._ensure_keys_bookkeeping()  # a version 1 keys.db whose first key change is this rotation
        with self._keys_transaction() as keys:
            keys.execute("DELETE FROM rewrap")
            keys.executemany("INSERT INTO rewrap (owner, master_id, wrapped) VALUES (?, ?, ?)", staged)
            keys.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                         (_REWRAP_ANCHOR, json.dumps({"master_id": master_id, "anchor": anchor}, sort_keys=True)))

    def _finish_rewrap(self, master_id: str) -> None:
        with self._keys_transaction() as keys:
            keys.execute("UPDATE data_keys SET wrapped = (SELECT wrapped FROM rewrap WHERE rewrap.owner = data_keys.owner) "
                         "WHERE owner IN (SELECT owner FROM rewrap WHERE master_id = ?)", (master_id,))
            staged = self._staged_anchor()
            if staged is not None and staged["master_id"] == master_id and staged["anchor"] is not None:
                # Unless an anchor sealed under the new key already moved past it (normal completion).
                current = self._audit_anchor()
                try:
                    behind = current is None or _audit.parse_head(current)["seq"] <= staged["anchor"]["seq"]
                except ValueError:
                    behind = True
                if behind:
                    keys.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_anchor', ?)",
                                 (json.dumps(staged["anchor"], sort_keys=True),))
            keys.execute("DELETE FROM rewrap")
            keys.execute("DELETE FROM meta WHERE key = ?", (_REWRAP_ANCHOR,))

    def _drop_rewrap(self) -> None:
        with self._keys_transaction() as keys:
            keys.execute("DELETE FROM rewrap")
            keys.execute("DELETE FROM meta WHERE key = ?", (_REWRAP_ANCHOR,))

    def _staged_anchor(self) -> dict[str, Any] | None:
        row = self._keys_conn().execute("SELECT value FROM meta WHERE key = ?", (_REWRAP_ANCHOR,)).fetchone()
        if row is None:
            return None
        try:
            staged = json.loads(row[0])
            return staged if isinstance(staged, dict) and "master_id" in staged and "anchor" in staged else None
        except ValueError:
            return None

    def _finish_rotation(self) -> None:
        """After an unlock: complete a rotation whose slot committed but whose keys.db swap did not, or
        drop the staged keys of one that never committed."""
        if not self._keys_table_exists("rewrap"):
            return
        staged = {row[0] for row in self._keys_conn().execute("SELECT DISTINCT master_id FROM rewrap")}
        anchor = self._staged_anchor()
        if anchor is not None:
            staged.add(anchor["master_id"])
        if not staged:
            return
        with self.transaction():
            current = self._meta_or_none(self._conn(), "master_id")
            if current in staged:
                self._finish_rewrap(current)
            else:
                self._drop_rewrap()

    def _require_readable_version(self, version: str) -> None:
        """StoreTooNewError for a store a later version of Unveil wrote, StoreCorruptError for a version that is
        none; both before anything is read or written."""
        if version in _schema.READABLE_SCHEMA_VERSIONS:
            return
        if version.isascii() and version.isdigit() and int(version) > int(_schema.SCHEMA_VERSION):
            raise StoreTooNewError(self.data_dir, version, _schema.SCHEMA_VERSION)
        raise StoreCorruptError(self.data_dir, "unknown schema version")

    def _migrate_schema(self) -> None:
        """Bring an older store to SCHEMA_VERSION: a version 1 store gets its manifests (from the rows it holds
        now) and a master key id; every older store is then marked version 3, which the code that read only
        versions 1 and 2 refuses (see _schema)."""
        if self._meta_or_none(self._conn(), "schema_version") == _schema.SCHEMA_VERSION:
            return
        # A read-only store keeps its version (version 1 is then read without manifest checks).
        with contextlib.suppress(*_WRITE_REFUSED, StoreReadOnlyError), self.transaction():
            conn = self._conn()
            version = self._meta_or_none(conn, "schema_version")
            if version == _schema.SCHEMA_VERSION:
                return
            if version == _schema.LEGACY_SCHEMA_VERSION:
                conn.execute(_schema.MANIFESTS)
                for (person_id,) in conn.execute("SELECT id FROM people").fetchall():
                    found = {kind: [r[0] for r in conn.execute(sql, (person_id,))] for kind, sql in _MANIFEST_KINDS.items()}
                    self._write_manifest(conn, person_id, found)
                conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('master_id', ?)", (self._master_id,))
                self._seal_retention(conn, self._audit_key)
            conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (_schema.SCHEMA_VERSION,))

    def _require_seals(self) -> None:
        """Bring a store from before HEAD_FORMAT 2 to it: anchor its audit log in keys.db and seal its
        retention settings if it has none, then seal its head in format 2, after which deleting either
        is tampering. Only a store whose log verifies and whose settings match their seal (or have none)
        is brought over: damage stays reported, not blessed. A read-only or busy store is left as is."""
        conn = self._conn()
        if self._seals_required(conn):
            return
        with contextlib.suppress(*_WRITE_REFUSED, StoreReadOnlyError), self.transaction():
            if self._seals_required(conn) or not self.verify_audit().ok:
                return
            if self._meta_or_none(conn, _RETENTION_SEAL) is None:
                if conn.execute("SELECT 1 FROM retention").fetchone() is not None:
                    return  # settings without a seal: damage, which check() reports
                self._seal_retention(conn, self._audit_key)
            elif self._retention_problems(conn):
                return
            if self._audit_anchor() is None:
                self._write_anchor()  # committed in keys.db before the format 2 head that requires it
            _audit.raise_head_format(conn, self._audit_key)

    @property
    def has_passphrase(self) -> bool:
        """Whether a passphrase can unlock this store (works while locked): not one made with a key file only."""
        return self._conn().execute("SELECT 1 FROM slots WHERE kind = 'passphrase'").fetchone() is not None

    @property
    def has_key_file(self) -> bool:
        """Whether a key file can unlock this store (works while locked)."""
        return self._conn().execute("SELECT 1 FROM slots WHERE kind = 'key_file'").fetchone() is not None

    def key_file_unlocks(self, key_file: str | os.PathLike[str]) -> bool:
        """Whether this key file opens the store's key-file slot (works while locked). Nothing is written, nor a
        failed attempt logged: for a command that made the file and must tell whether a failed key change needs it."""
        secret = _crypto.read_key_file(key_file)
        row = self._conn().execute("SELECT salt, check_tag FROM slots WHERE kind = 'key_file'").fetchone()
        if row is None:
            return False
        kek = _crypto.key_file_kek(secret, row[0])
        try:
            return _crypto.same(_crypto.kek_check(kek, _KEY_FILE_BINDING), row[1]) or _crypto.same(
                _crypto.kek_check(kek), row[1])
        finally:
            _crypto.wipe(kek)

    @_damage_is_typed
    def set_key_file(self, key_file: str | os.PathLike[str]) -> None:
        """Let this key file (see create_key_file) unlock the store, replacing any earlier key file."""
        secret = _crypto.read_key_file(key_file)
        with self.transaction():
            master = self._require_master()
            existed = self._conn().execute("SELECT 1 FROM slots WHERE kind = 'key_file'").fetchone() is not None
            self._write_key_file_slot(self._conn(), self._store_id, master, secret, self._clock())
            self.append_audit("key_change", details={"slot": "key_file", "action": "replaced" if existed else "added"})

    @staticmethod
    def _slot_aad(store_id: str, kind: str, binding: str | None) -> bytes:
        # Format 2 (binding given) authenticates the KDF parameters with the wrapped key; format 1 did not.
        if binding is None:
            return _crypto.aad(store_id, "slots", kind, "wrapped_master")
        return _crypto.aad(store_id, "slots", kind, "wrapped_master", "v2", binding)

    @classmethod
    def _write_passphrase_slot(cls, conn: sqlite3.Connection, store_id: str, master: bytearray, passphrase: str,
                               params: _crypto.ScryptParams, now: float) -> None:
        salt = os.urandom(16)
        kek = _crypto.passphrase_kek(passphrase, salt, params)
        try:
            conn.execute(
                "INSERT OR REPLACE INTO slots (kind, salt, n, r, p, check_tag, wrapped_master, created_at) VALUES (?,?,?,?,?,?,?,?)",
                ("passphrase", salt, params.n, params.r, params.p, _crypto.kek_check(kek, params.label()),
                 _crypto.seal(kek, master, cls._slot_aad(store_id, "passphrase", params.label())), now))
        finally:
            _crypto.wipe(kek)

    @classmethod
    def _write_key_file_slot(cls, conn: sqlite3.Connection, store_id: str, master: bytearray, secret: bytes, now: float) -> None:
        salt = os.urandom(16)
        kek = _crypto.key_file_kek(secret, salt)
        try:
            conn.execute(
                "INSERT OR REPLACE INTO slots (kind, salt, n, r, p, check_tag, wrapped_master, created_at) VALUES (?,?,NULL,NULL,NULL,?,?,?)",
                ("key_file", salt, _crypto.kek_check(kek, _KEY_FILE_BINDING),
                 _crypto.seal(kek, master, cls._slot_aad(store_id, "key_file", _KEY_FILE_BINDING)), now))
        finally:
            _crypto.wipe(kek)

    def _set_master(self, master: bytearray) -> None:
        self.lock()
        self._master = bytearray(master)
        self._master_id = _master_id(self._master)
        self._audit_key = _crypto.derive_subkey(self._master, "audit mac")

    def _log_failed_unlock(self, kind: str) -> bool:
        # Written by whoever failed, so without a MAC; it still joins the hash chain. False when it
        # could not be written (busy, read-only, full): the caller's message must then not claim it.
        try:
            with self.transaction():
                _audit.record_failed_unlock(self._conn(), ts=self._clock(), method=kind)
        except _WRITE_REFUSED:
            return False
        return True

    # ------------------------------------------------------------------ transactions

    def _conn(self) -> sqlite3.Connection:
        if self._main is None:
            raise StoreError("the store is closed")
        return self._main

    def _require_master(self) -> bytearray:
        if self._master is None:
            raise MasterKeyChangedError() if self._key_replaced else StoreLockedError()
        return self._master

    def _lock_replaced_key(self) -> None:
        # Locked because another session rotated the master key: until this session is unlocked (or locked) again,
        # what it is asked says so, rather than "unlock it first" to a program that was given the passphrase.
        self.lock()
        self._key_replaced = True

    def _check_master_current(self, conn: sqlite3.Connection) -> None:
        # Another session may have rotated the master key: this session's keys would then wrap new
        # data keys under a master that no slot opens any more.
        if self._master is not None:
            current = self._meta_or_none(conn, "master_id")
            if current is not None and current != self._master_id:
                self._lock_replaced_key()
                raise MasterKeyChangedError()

    def _master_replaced(self) -> bool:
        """Whether another session has replaced the master key since this one unlocked, read on a connection of its
        own: this session's open read may have begun before that rotation committed. A rotation commits unveil.db
        before it re-wraps keys.db's data keys, so a data key that this session finds wrapped under another master
        was re-wrapped by a rotation that this read sees."""
        if self._master_id is None:
            return False
        with contextlib.closing(sqlite3.connect(str(self.data_dir / DATA_FILE), timeout=self._timeout)) as conn:
            current = self._meta_or_none(conn, "master_id")
        return current is not None and current != self._master_id

    def _unwrap(self, owner: str, wrapped: bytes) -> bytearray:
        """A data key unwrapped by this session's master key. One that fails authentication because another session
        rotated the master key meanwhile (a read that began before the rotation committed) is MasterKeyChangedError,
        and this session is locked: it was never damage."""
        try:
            return bytearray(_crypto.unseal(self._require_master(), wrapped, self._key_aad(owner),
                                            what=f"the data key of {owner}"))
        except TamperedDataError:
            if self._master_replaced():
                self._lock_replaced_key()
                raise MasterKeyChangedError() from None
            raise

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes into one all-or-nothing unit. Holds the store's write lock, so sessions in
        other processes wait (up to busy_timeout) rather than interleave. A nested call is a savepoint:
        if it fails, its own writes are undone and the outer unit may carry on. Keys of people erased
        inside are destroyed right after the outermost commit."""
        with self._lock:
            if self._depth:
                savepoint = f"nested_{self._depth}"
                conn = self._conn()
                conn.execute(f"SAVEPOINT {savepoint}")
                self._depth += 1
                shred_mark, new_mark = len(self._shred_after_commit), len(self._new_owners)
                try:
                    yield
                except BaseException:
                    conn.execute(f"ROLLBACK TO {savepoint}")
                    conn.execute(f"RELEASE {savepoint}")
                    del self._shred_after_commit[shred_mark:]  # those erasures were undone
                    # Keys made for the rows just undone: left in keys.db they would be keys nothing uses
                    # and no note explains, which check() reports as damage once the outer unit commits.
                    self._delete_keys(self._new_owners[new_mark:])
                    del self._new_owners[new_mark:]
                    raise
                else:
                    conn.execute(f"RELEASE {savepoint}")
                finally:
                    self._depth -= 1
                return
            conn = self._conn()
            self._begin(conn)
            self._depth, self._new_owners, self._shred_after_commit, self._sealed_appended = 1, [], [], False
            self._chain_reset = False
            marked: list[str] = []
            staged_anchor = False
            blobs_before = len(self._shredded_blobs)
            try:
                self._check_master_current(conn)
                yield
                if self._shred_after_commit:
                    marked = self._mark_for_destruction(self._shred_after_commit)
                    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, '1')", (_SCRUB_PENDING,))
                if self._chain_reset and self._sealed_appended:
                    staged_anchor = self._stage_next_anchor()
                self._commit(conn)
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                # Keys made for rows that were never committed are deleted now rather than at next open. If
                # keys.db cannot be written either (busy, full, an I/O error), their notes stay: the next open
                # collects those keys and drops the notes of keys still in use, and the caller gets the first error.
                with contextlib.suppress(sqlite3.OperationalError, StoreBusyError):
                    self._delete_keys(self._new_owners)
                with contextlib.suppress(sqlite3.OperationalError):
                    self._clear_pending(marked)
                if staged_anchor:  # the old chain stays: so does its anchor (verify_audit tries both meanwhile)
                    with contextlib.suppress(sqlite3.OperationalError):
                        self._keys_conn().execute("DELETE FROM meta WHERE key = ?", (_NEXT_ANCHOR,))
                del self._shredded_blobs[blobs_before:]  # those keys were not destroyed after all
                # keys.db's own commits in the unit (an erasure's destruction notes) are made outside any method
                # that types SQLite's errors: a full disk there is StoreFullError too, and the unit was rolled back.
                if isinstance(exc, sqlite3.OperationalError) and (refused := _refused_write(self.data_dir, exc)):
                    raise refused from None
                raise
            else:
                self._after_commit()
            finally:
                self._depth, self._new_owners, self._shred_after_commit, self._sealed_appended = 0, [], [], False
                self._chain_reset = False

    def _begin(self, conn: sqlite3.Connection) -> None:
        """Take the file's write lock; StoreBusyError when another session holds it past the busy timeout."""
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise StoreBusyError(self._timeout) from None
            raise

    def _commit(self, conn: sqlite3.Connection) -> None:
        # The outermost unit is often opened by a caller (governance's purge, enrolment, consent), outside
        # any method that types SQLite's errors: a commit the disk refuses is typed here, and rolled back.
        try:
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if (refused := _refused_write(self.data_dir, exc)) is not None:
                raise refused from None
            raise

    def _after_commit(self) -> None:
        # Bookkeeping in keys.db once unveil.db committed. If it fails (a full disk, keys.db's write lock held by
        # another session past the busy timeout), the pending notes stay and the next open finishes it; scrub()
        # reports the key still on disk meanwhile. Never raised: the change is made, and StoreBusyError from here
        # told the caller "nothing was changed" of an erasure that was made, whose receipt was then never given.
        with contextlib.suppress(*_WRITE_REFUSED):
            self._delete_keys(self._shred_after_commit)
            self._clear_pending(self._new_owners)
            if self._sealed_appended:
                self._write_anchor()  # after delete_everything(), this replaces the old chain's anchor
                if self._chain_reset:
                    self._keys_conn().execute("DELETE FROM meta WHERE key = ?", (_NEXT_ANCHOR,))
            elif self._chain_reset:
                self._keys_conn().execute("DELETE FROM meta WHERE key = 'audit_anchor'")
        for owner in self._shred_after_commit:  # erased: not kept in memory until keys.db can be written
            _crypto.wipe(self._data_keys.pop(owner, None))

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction, so multi-query reads see one consistent state."""
        with self._lock:
            conn = self._conn()
            if self._depth:
                yield conn
                return
            conn.execute("BEGIN")
            try:
                self._check_master_current(conn)
                yield conn
            finally:
                conn.execute("COMMIT")

    # ------------------------------------------------------------------ keys.db bookkeeping

    @contextlib.contextmanager
    def _keys_transaction(self) -> Iterator[sqlite3.Connection]:
        # keys.db's write lock is taken while unveil.db's is held, except by another session's scrub() (its
        # checkpoint waits for keys.db's readers) or a program outside Unveil: busy past the timeout, the
        # caller's unveil.db transaction rolls back and nothing is changed, as when unveil.db is busy.
        keys = self._keys_conn()
        self._begin(keys)
        try:
            yield keys
            keys.execute("COMMIT")
        except BaseException:
            if keys.in_transaction:
                keys.execute("ROLLBACK")
            raise

    def _keys_table_exists(self, name: str) -> bool:
        return self._keys_conn().execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                         (name,)).fetchone() is not None

    def _ensure_keys_bookkeeping(self) -> None:
        # keys.db files made before the bookkeeping tables get them on their first write.
        if not self._keys_table_exists("pending"):
            for statement in filter(str.strip, _schema.KEYS_BOOKKEEPING.split(";")):
                self._keys_conn().execute(statement)

    def _mark_for_destruction(self, owners: Iterable[str]) -> list[str]:
        """Note in keys.db, before unveil.db commits the erasure, that these keys are to be destroyed,
        and keep their wrapped bytes so scrub() can check that they left the disk."""
        owners = list(dict.fromkeys(owners))
        self._ensure_keys_bookkeeping()
        with self._keys_transaction() as keys:
            keys.executemany("INSERT OR REPLACE INTO pending (owner, action) VALUES (?, 'destroy')", [(o,) for o in owners])
            self._shredded_blobs.extend(row[0] for o in owners
                                        for row in keys.execute("SELECT wrapped FROM data_keys WHERE owner = ?", (o,)))
        return owners

    def _clear_pending(self, owners: Iterable[str]) -> None:
        owners = list(owners)
        if owners and self._keys_table_exists("pending"):
            self._keys_conn().executemany("DELETE FROM pending WHERE owner = ?", [(o,) for o in owners])

    def _write_anchor(self) -> None:
        # The head is read and written in one keys.db write transaction. After a commit this runs without
        # unveil.db's lock, but an erase-everything or a rotation in another session writes keys.db (its staged
        # anchor) before it commits, so neither commits between this read and this write. Read before taking
        # keys.db, a head of the old chain (or sealed under the old key) was written over that session's new
        # anchor, and the log read as rolled back (or its anchor as forged) until the next entry.
        with self._keys_transaction() as keys:
            try:
                head = _audit.sealed_head(self._conn())
            except ValueError:  # a damaged head is not copied; verify_audit() reports it
                return
            if head is not None:
                keys.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_anchor', ?)",
                             (json.dumps(head, sort_keys=True),))

    def _audit_anchor(self) -> str | None:
        row = self._keys_conn().execute("SELECT value FROM meta WHERE key = 'audit_anchor'").fetchone()
        return row[0] if row else None

    def _staged_next_anchor(self) -> str | None:
        row = self._keys_conn().execute("SELECT value FROM meta WHERE key = ?", (_NEXT_ANCHOR,)).fetchone()
        return row[0] if row else None

    def _stage_next_anchor(self) -> bool:
        """delete_everything() began a new audit chain: its anchor is committed to keys.db beside the old one before
        unveil.db commits the chain, and moved in place after. Written only after the commit, a full disk there left
        keys.db naming an entry of the old chain, and verify_audit reported the log cut: tampering, after an erasure
        that had succeeded. Whether it was staged (False for a damaged head, which verify_audit reports)."""
        try:
            head = _audit.sealed_head(self._conn())
        except ValueError:
            return False
        if head is None:
            return False
        with self._keys_transaction() as keys:
            keys.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                         (_NEXT_ANCHOR, json.dumps(head, sort_keys=True)))
        return True

    def _finish_chain_reset(self) -> None:
        # An erase-everything whose staged anchor was not moved in place (a full disk, a crash): moved now when the
        # log holds the entry it names (the chain committed), else dropped; left for the next open if either file
        # cannot be written. Decided under unveil.db's write lock: another session's erase-everything stages its
        # anchor before it commits, and meanwhile the log does not hold that entry yet. An open in that moment took
        # the anchor for a crash's leftover and dropped it, and once the erasure committed keys.db named an entry of
        # the old chain: the log read as cut or rolled back (tampering) until that session wrote the new anchor,
        # and for good if it died first.
        if self._staged_next_anchor() is None:
            return
        with contextlib.suppress(*_WRITE_REFUSED), self.transaction():
            staged = self._staged_next_anchor()
            if staged is None:  # moved in place by the session that staged it
                return
            committed = _audit.verify(self._conn(), None, staged).ok
            with self._keys_transaction() as keys:
                if committed:
                    keys.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_anchor', ?)", (staged,))
                keys.execute("DELETE FROM meta WHERE key = ?", (_NEXT_ANCHOR,))

    def _key_census(self) -> tuple[set[str], set[str], set[str], set[str]]:
        """(orphans a pending note explains, orphans nothing explains, owners with rows but no key,
        pending notes that are stale) from one look at both files."""
        # Ids that are not text (NULL in a damaged row) name no key; the rows holding them fail elsewhere.
        # keys.db is read in one moment, before unveil.db. Another session's bookkeeping after its commit runs
        # without unveil.db's lock (a destroyed key goes with its note, after the rows), so read in between, a key
        # read before its deletion lost its note read after it, and a store being checked under the lock (the
        # retention sweep) was called damaged: a key that nothing uses and no note explains.
        with self._lock:  # keys.db's connection is this session's: no other thread's transaction on it meanwhile
            keys = self._keys_conn()
            own_read = not keys.in_transaction
            if own_read:
                keys.execute("BEGIN")
            try:
                owners = {row[0] for row in keys.execute("SELECT owner FROM data_keys") if isinstance(row[0], str)}
                pending = set()
                if self._keys_table_exists("pending"):
                    pending = {row[0] for row in keys.execute("SELECT owner FROM pending") if isinstance(row[0], str)}
            finally:
                if own_read:
                    keys.execute("COMMIT")
        used = {row[0] for row in self._conn().execute(
            "SELECT id FROM people UNION SELECT key_owner FROM analyses "
            f"UNION SELECT {self._thumbnail_owner_column(self._conn())} FROM thumbnails "
            "UNION SELECT value FROM meta WHERE key = 'household_key'") if isinstance(row[0], str)}
        orphans = owners - used
        return orphans & pending, orphans - pending, used - owners, pending - orphans

    def _files_pass_quick_check(self) -> bool:
        return all(conn.execute("PRAGMA quick_check").fetchall() == [("ok",)] for conn in (self._conn(), self._keys_conn()))

    def _collect_orphan_keys(self) -> None:
        """Delete data keys that no row uses and that a pending note explains: left by a crash between
        writing a key and its rows, or between erasing rows and their key. A key that nothing
        explains, or files that fail SQLite's quick_check, mean damage: nothing is deleted then
        (require_intact() and check() report it)."""
        explained, _, _, stale = self._key_census()
        if not (explained or stale):
            return
        with self.transaction():  # under the write lock, a key being written right now is not an orphan
            explained, _, _, stale = self._key_census()
            if not self._files_pass_quick_check():
                return
            self._clear_pending(stale)
            self._shred_after_commit.extend(explained)

    def _finish_pending_scrub(self) -> None:
        # An erasure committed but its scrub did not finish (another session was reading, the disk was
        # full, or the process died): finish it now, or leave the note for the next open.
        if self._meta_or_none(self._conn(), _SCRUB_PENDING) is not None:
            with contextlib.suppress(sqlite3.OperationalError):
                self.scrub()

    # ------------------------------------------------------------------ data keys and sealing

    def _keys_conn(self) -> sqlite3.Connection:
        if self._keys is None:
            raise StoreError("the store is closed")
        return self._keys

    def _key_aad(self, owner: str) -> bytes:
        return _crypto.aad(self._store_id, "data_keys", owner, "wrapped")

    def _data_key(self, owner: str) -> bytearray:
        self._require_master()
        key = self._data_keys.get(owner)
        if key is None:
            _require_stored_id(owner)
            row = self._keys_conn().execute("SELECT wrapped FROM data_keys WHERE owner = ?", (owner,)).fetchone()
            if row is None:
                raise KeyDestroyedError(owner)
            key = self._unwrap(owner, row[0])
            self._data_keys[owner] = key
        return key

    def _new_data_key(self, owner: str) -> bytearray:
        # Committed to keys.db at once (before the rows that will use it), while we hold the write lock,
        # with a pending note that lets the next open delete it if those rows never commit.
        master = self._require_master()
        key = _crypto.new_key()
        self._ensure_keys_bookkeeping()
        with self._keys_transaction() as keys:
            keys.execute("INSERT INTO data_keys (owner, wrapped, created_at) VALUES (?, ?, ?)",
                         (owner, _crypto.seal(master, key, self._key_aad(owner)), self._clock()))
            keys.execute("INSERT OR REPLACE INTO pending (owner, action) VALUES (?, 'create')", (owner,))
        self._new_owners.append(owner)
        self._data_keys[owner] = key
        return key

    def _delete_keys(self, owners: Iterable[str]) -> None:
        owners = list(dict.fromkeys(owners))
        if not owners:
            return
        with self._keys_transaction() as keys:
            keys.executemany("DELETE FROM data_keys WHERE owner = ?", [(o,) for o in owners])
            if self._keys_table_exists("pending"):
                keys.executemany("DELETE FROM pending WHERE owner = ?", [(o,) for o in owners])
        for owner in owners:
            _crypto.wipe(self._data_keys.pop(owner, None))

    def _field_aad(self, table: str, row: str, column: str, owner: str, times: tuple[Any, ...] = ()) -> bytes:
        # Times as stored (REAL); a damaged one (another value or type) gives different associated data.
        extra = ("times=" + ",".join(repr(t) for t in times),) if times else ()
        return _crypto.aad(self._store_id, table, row, column, owner, *extra)

    def _seal(self, owner: str, table: str, row: str, column: str, plaintext: bytes, times: tuple[float, ...] = ()) -> bytes:
        """Seal a value; `times` (the row's plaintext times, which retention acts on) are bound to it."""
        times = tuple(float(t) for t in times)
        return _crypto.seal(self._data_key(owner), plaintext, self._field_aad(table, row, column, owner, times), timed=bool(times))

    def _unseal(self, owner: str, table: str, row: str, column: str, sealed: bytes, times: tuple[Any, ...] = ()) -> bytes:
        """Unseal a value; `times` as read from its row (values sealed before times were bound ignore them)."""
        key = self._data_key(owner)
        bound = times if _crypto.is_timed(sealed) else ()
        return _crypto.unseal(key, sealed, self._field_aad(table, row, column, owner, bound), what=f"{table} row {row} ({column})")

    # ------------------------------------------------------------------ manifests

    def _keeps_manifests(self, conn: sqlite3.Connection) -> bool:
        return self._meta_or_none(conn, "schema_version") != _schema.LEGACY_SCHEMA_VERSION

    def _write_manifest(self, conn: sqlite3.Connection, person_id: str, manifest: Mapping[str, Iterable[str]]) -> None:
        body = _json_bytes({kind: list(dict.fromkeys(manifest.get(kind, ()))) for kind in _MANIFEST_KINDS})
        conn.execute("INSERT OR REPLACE INTO manifests (person_id, body) VALUES (?, ?)",
                     (person_id, self._seal(person_id, "manifests", person_id, "body", body)))

    def _read_manifest(self, conn: sqlite3.Connection, person_id: str) -> dict[str, list[str]] | None:
        """The person's sealed list of their rows; None in a version 1 store, which has none yet."""
        if not self._keeps_manifests(conn):
            return None
        _require_stored_id(person_id)
        row = conn.execute("SELECT body FROM manifests WHERE person_id = ?", (person_id,)).fetchone()
        if row is None:
            raise TamperedDataError(f"manifests row {person_id} (body)")
        return json.loads(self._unseal(person_id, "manifests", person_id, "body", row[0]))

    def _amend_manifest(self, conn: sqlite3.Connection, person_id: str, kind: str, *,
                        add: Iterable[str] = (), remove: Iterable[str] = ()) -> None:
        manifest = self._read_manifest(conn, person_id)
        if manifest is not None:
            gone = set(remove)
            manifest[kind] = [row_id for row_id in dict.fromkeys([*manifest[kind], *add]) if row_id not in gone]
            self._write_manifest(conn, person_id, manifest)

    def _check_rows(self, conn: sqlite3.Connection, person_id: str, kind: str, ids: Iterable[str],
                    manifest: Mapping[str, list[str]] | None = None) -> None:
        """RecordSetError unless `ids` (what the indexes found) are exactly the rows the manifest lists."""
        manifest = manifest if manifest is not None else self._read_manifest(conn, person_id)
        if manifest is None:
            return
        ids, listed = list(ids), manifest[kind]
        if kind == "analyses":
            # A saved analysis is household data that can be deleted on its own (its links go with it);
            # one that still exists must still be linked to everyone it names.
            listed = [row_id for row_id in listed if conn.execute("SELECT 1 FROM analyses WHERE id = ?", (row_id,)).fetchone()]
        if len(ids) != len(listed) or set(ids) != set(listed):
            raise RecordSetError(kind, person_id, len(listed), len(ids))

    def _checked_ids(self, conn: sqlite3.Connection, person_id: str) -> dict[str, list[str]]:
        """The ids of every kind of this person's rows, checked against their manifest."""
        manifest = self._read_manifest(conn, person_id)
        found = {kind: [row[0] for row in conn.execute(sql, (person_id,))] for kind, sql in _MANIFEST_KINDS.items()}
        for kind, ids in found.items():
            self._check_rows(conn, person_id, kind, ids, manifest)
        return found

    def _forget_analyses(self, conn: sqlite3.Connection, analysis_ids: Iterable[str], *, skip: str | None = None) -> None:
        # Every manifest that lists them, not only the links an index finds: a link row can be lost.
        analysis_ids = set(analysis_ids)
        if not analysis_ids or not self._keeps_manifests(conn):
            return
        for (person_id,) in conn.execute("SELECT id FROM people").fetchall():
            if person_id != skip and analysis_ids & set(self._read_manifest(conn, person_id)["analyses"]):
                self._amend_manifest(conn, person_id, "analyses", remove=analysis_ids)

    # ------------------------------------------------------------------ people

    def _name_of(self, person_id: str, sealed: bytes, created: Any, seen: Any) -> str:
        """The name, authenticated together with when they were enrolled and last seen."""
        return self._unseal(person_id, "people", person_id, "name", sealed, (created, seen)).decode("utf-8")

    def _require_person(self, conn: sqlite3.Connection, person_id: str) -> bytes:
        row = conn.execute("SELECT name FROM people WHERE id = ?", (person_id,)).fetchone()
        if row is None:
            raise PersonNotFoundError(person_id)
        return row[0]

    @_damage_is_typed
    def add_person(self, name: str) -> str:
        """Enrol a new person by name and return their random id. Their name is sealed under a data
        key of their own. PersonExistsError if a name that reads the same
        (fer_core.store._names: ignoring case, spacing, compatibility forms such as full-width letters, the
        Turkish dotless i and characters never drawn) is already enrolled; PersonNameError for a name the
        store refuses (_names.clean_name)."""
        name = _names.clean_name(name)
        with self.transaction():
            self._require_master()
            for person in self.people(errors="skip"):
                if _names.same_name(person.name, name):
                    raise PersonExistsError(person.name)
            person_id, now = _new_id(), float(self._clock())
            self._new_data_key(person_id)
            self._conn().execute("INSERT INTO people (id, name, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
                                 (person_id, self._seal(person_id, "people", person_id, "name", name.encode("utf-8"), (now, now)),
                                  now, now))
            if self._keeps_manifests(self._conn()):
                self._write_manifest(self._conn(), person_id, {})
            return person_id

    @_damage_is_typed
    def rename_person(self, person_id: str, name: str) -> str:
        """Give an enrolled person another name and return it as stored (_names.clean_name): sealed again under
        their own data key, bound to their times as before; their id, and everything keyed on it, stays.
        PersonExistsError if another member's name reads the same (as for add_person; their own may, to change
        its case or spacing), PersonNameError for a name the store refuses, PersonNotFoundError for an unknown id."""
        name = _names.clean_name(name)
        with self.transaction():
            self._require_master()
            conn = self._conn()
            row = conn.execute("SELECT created_at, last_seen_at FROM people WHERE id = ?", (person_id,)).fetchone()
            if row is None:
                raise PersonNotFoundError(person_id)
            others = (p for p in self.people(errors="skip") if p.id != person_id)
            other = next((p for p in others if _names.same_name(p.name, name)), None)
            if other is not None:
                raise PersonExistsError(other.name)
            conn.execute("UPDATE people SET name = ? WHERE id = ?",
                         (self._seal(person_id, "people", person_id, "name", name.encode("utf-8"), tuple(row)), person_id))
            return name

    def _person_from_row(self, conn: sqlite3.Connection, row: tuple) -> Person:
        person_id, sealed, created, seen = row
        name = self._name_of(person_id, sealed, created, seen)
        ids = self._checked_ids(conn, person_id)
        return Person(person_id, name, created, seen, len(ids["embeddings"]), len(ids["thumbnails"]), len(ids["consents"]))

    @_damage_is_typed
    def people(self, *, errors: Errors = "raise") -> list[Person]:
        """Everyone enrolled, oldest first. With errors="skip", a person whose name fails
        authentication (or whose key is gone) is left out instead of raising; check() lists them."""
        self._require_master()
        with self._snapshot() as conn:
            out = []
            for row in conn.execute("SELECT id, name, created_at, last_seen_at FROM people ORDER BY created_at, rowid").fetchall():
                try:
                    out.append(self._person_from_row(conn, row))
                except (TamperedDataError, KeyDestroyedError):
                    if errors == "raise":
                        raise
            return out

    @_damage_is_typed
    def person(self, person_id: str) -> Person:
        self._require_master()
        with self._snapshot() as conn:
            row = conn.execute("SELECT id, name, created_at, last_seen_at FROM people WHERE id = ?", (person_id,)).fetchone()
            if row is None:
                raise PersonNotFoundError(person_id)
            return self._person_from_row(conn, row)

    @_damage_is_typed
    def find_person(self, name: str) -> Person | None:
        """The person whose name reads the same as `name` (fer_core.store._names.same_name), or None.
        AmbiguousNameError, naming their ids, when several do (older versions let such names in): a
        lookup never picks one of them. Any text is looked up, compared as names are (a tab or a zero-width
        space typed with a name does not count)."""
        if not isinstance(name, str):
            raise PersonNameError(_names.NAME_NOT_TEXT.format(kind=type(name).__name__))
        found = [p for p in self.people(errors="skip") if _names.same_name(p.name, name)]
        if len(found) > 1:
            raise AmbiguousNameError(name, [p.id for p in found])
        return found[0] if found else None

    @_damage_is_typed
    def person_ids(self) -> list[str]:
        """Ids of everyone enrolled; works while locked (ids are random and say nothing)."""
        with self._snapshot() as conn:
            return [row[0] for row in conn.execute("SELECT id FROM people ORDER BY created_at, rowid")]

    @_damage_is_typed
    def mark_seen(self, person_ids: Iterable[str], *, when: float | None = None) -> None:
        """Record that these people were just recognised (resets their "not seen" retention clock).
        The name is sealed again, bound to the new time."""
        when = float(self._clock() if when is None else when)
        with self.transaction():
            self._require_master()
            conn = self._conn()
            for person_id in dict.fromkeys(person_ids):
                row = conn.execute("SELECT name, created_at, last_seen_at FROM people WHERE id = ?", (person_id,)).fetchone()
                if row is None or row[2] >= when:
                    continue
                name = self._name_of(person_id, *row).encode("utf-8")
                conn.execute("UPDATE people SET name = ?, last_seen_at = ? WHERE id = ?",
                             (self._seal(person_id, "people", person_id, "name", name, (row[1], when)), when, person_id))

    # ------------------------------------------------------------------ embeddings and thumbnails

    @_damage_is_typed
    def add_embeddings(self, person_id: str, embeddings: Any, *, model: str = "default") -> int:
        """Seal and store each row of an (n, d) array (float32) for this person; returns n. Rows from
        the same `model` must all have the same d."""
        array, model = _clean_embeddings(embeddings), _clean_model(model)
        with self.transaction():
            self._require_master()
            conn = self._conn()
            self._require_person(conn, person_id)
            row = conn.execute("SELECT length(vector) FROM embeddings WHERE person_id = ? AND model = ? LIMIT 1",
                               (person_id, model)).fetchone()
            if row is not None and (row[0] - _SEALED_OVERHEAD) // 4 != array.shape[1]:
                raise EmbeddingError(f"this person's {model!r} embeddings have {(row[0] - _SEALED_OVERHEAD) // 4} "
                                     f"dimensions, the new ones {array.shape[1]}; nothing was stored")
            now = float(self._clock())
            rows = []
            for vector in array:
                row_id = _new_id()
                rows.append((row_id, person_id, model, self._seal(person_id, "embeddings", row_id, "vector", vector.tobytes(), (now,)),
                             now))
            conn.executemany("INSERT INTO embeddings (id, person_id, model, vector, created_at) VALUES (?,?,?,?,?)", rows)
            self._amend_manifest(conn, person_id, "embeddings", add=[row[0] for row in rows])
            return len(rows)

    def _vectors(self, conn: sqlite3.Connection, person_id: str, model: str | None, errors: Errors) -> list[np.ndarray]:
        rows = conn.execute("SELECT id, model, vector, created_at FROM embeddings WHERE person_id = ? ORDER BY created_at, rowid",
                            (person_id,)).fetchall()
        self._check_rows(conn, person_id, "embeddings", (row[0] for row in rows))
        out = []
        for row_id, row_model, sealed, created in rows:
            if model and row_model != model:
                continue
            try:
                out.append(np.frombuffer(self._unseal(person_id, "embeddings", row_id, "vector", sealed, (created,)), dtype="<f4"))
            except (TamperedDataError, KeyDestroyedError):
                if errors == "raise":
                    raise
        return out

    @_damage_is_typed
    def embeddings(self, person_id: str, *, model: str | None = None) -> np.ndarray:
        """This person's embeddings as one (n, d) float32 array (n may be 0)."""
        self._require_master()
        with self._snapshot() as conn:
            self._require_person(conn, person_id)
            vectors = self._vectors(conn, person_id, model, "raise")
        if not vectors:
            return np.zeros((0, 0), dtype=np.float32)
        if len({v.shape[0] for v in vectors}) > 1:
            raise EmbeddingError("this person has embeddings from models of different sizes: pass model=")
        return np.stack(vectors)

    @_damage_is_typed
    def embedding_models(self) -> dict[str, set[str]]:
        """person id -> the models their embeddings were made by (the `model` each was stored with), for
        everyone with embeddings. Works while locked: model names say nothing about anyone."""
        out: dict[str, set[str]] = {}
        with self._snapshot() as conn:
            for person_id, model in conn.execute("SELECT DISTINCT person_id, model FROM embeddings"):
                out.setdefault(person_id, set()).add(model)
        return out

    @_damage_is_typed
    def first_embedded(self, model: str) -> dict[str, float]:
        """person id -> when their first embedding of `model` was stored, for everyone with one: from then on
        recognition with that model can name them. Works while locked, as embedding_models."""
        with self._snapshot() as conn:
            return dict(conn.execute("SELECT person_id, min(created_at) FROM embeddings WHERE model = ? "
                                     "GROUP BY person_id", (model,)).fetchall())

    @_damage_is_typed
    def gallery(self, *, model: str | None = None, errors: Errors = "raise") -> list[GalleryEntry]:
        """Everyone with embeddings of `model`, oldest first, each as their id, their name (decrypted here
        once, for display) and their (n, d) float32 embeddings: what recognition compares faces against.
        Embeddings of other models are left out, so two models' embeddings are never compared; a member
        with none of `model` is not in the gallery. `model` None is allowed only while every embedding
        comes from one model (EmbeddingError otherwise). errors="skip" leaves out values that fail
        authentication."""
        self._require_master()
        out: list[GalleryEntry] = []
        with self._snapshot() as conn:
            if model is None:
                models = sorted(row[0] for row in conn.execute("SELECT DISTINCT model FROM embeddings"))
                if len(models) > 1:
                    raise EmbeddingError(GALLERY_MIXES_MODELS.format(models=", ".join(models)))
            for row in conn.execute("SELECT id, name, created_at, last_seen_at FROM people ORDER BY created_at, rowid").fetchall():
                try:
                    name = self._name_of(*row)
                    vectors = self._vectors(conn, row[0], model, errors)
                except (TamperedDataError, KeyDestroyedError):
                    if errors == "raise":
                        raise
                    continue
                if vectors and len({v.shape[0] for v in vectors}) == 1:
                    out.append(GalleryEntry(row[0], name, np.stack(vectors)))
                elif vectors:
                    raise EmbeddingError("the gallery mixes embeddings of different sizes: pass model=")
        return out

    @_damage_is_typed
    def add_thumbnail(self, person_id: str, image: bytes) -> str:
        """Seal and keep one small image (e.g. JPEG bytes) of this person; only with their consent."""
        if not isinstance(image, bytes) or not image:
            raise TypeError("a thumbnail must be non-empty bytes (an encoded image)")
        with self.transaction():
            self._require_master()
            conn = self._conn()
            self._require_person(conn, person_id)
            if not self._has_thumbnail_keys(conn):
                conn.execute(_schema.THUMBNAIL_KEYS)
            # A key of its own, destroyed when the thumbnail is deleted (by retention, on the member's
            # request or with the member), so that a backup's copy of it can never be decrypted after that.
            owner = _THUMBNAIL + _new_id()
            self._new_data_key(owner)
            row_id, now = _new_id(), float(self._clock())
            conn.execute("INSERT INTO thumbnails (id, person_id, image, created_at, key_owner) VALUES (?, ?, ?, ?, ?)",
                         (row_id, person_id, self._seal(owner, "thumbnails", row_id, "image", image, (now,)), now, owner))
            self._amend_manifest(conn, person_id, "thumbnails", add=[row_id])
            return row_id

    @staticmethod
    def _has_thumbnail_keys(conn: sqlite3.Connection) -> bool:
        return conn.execute("SELECT 1 FROM pragma_table_info('thumbnails') WHERE name = 'key_owner'").fetchone() is not None

    def _thumbnail_owner_column(self, conn: sqlite3.Connection) -> str:
        # A store from before thumbnail keys gets the column with its first new thumbnail; until then
        # (and when opened read-only) every thumbnail is sealed under its person's key: NULL reads so.
        return "key_owner" if self._has_thumbnail_keys(conn) else "NULL"

    def _shred_thumbnail_keys(self, conn: sqlite3.Connection, owners: Iterable[Any]) -> None:
        """Destroy, once the deletion commits, these keys of thumbnails just deleted. Only thumbnail keys
        that no remaining row uses: a damaged key_owner naming a person or another thumbnail must not
        destroy that key."""
        in_use = {row[0] for row in conn.execute(f"SELECT {self._thumbnail_owner_column(conn)} FROM thumbnails")}
        self._shred_after_commit.extend(sorted({o for o in owners if isinstance(o, str) and o.startswith(_THUMBNAIL)} - in_use))

    @_damage_is_typed
    def thumbnails(self, person_id: str) -> list[Thumbnail]:
        self._require_master()
        with self._snapshot() as conn:
            self._require_person(conn, person_id)
            rows = conn.execute(f"SELECT id, image, created_at, {self._thumbnail_owner_column(conn)} FROM thumbnails "
                                "WHERE person_id = ? ORDER BY created_at, rowid", (person_id,)).fetchall()
            self._check_rows(conn, person_id, "thumbnails", (row[0] for row in rows))
            return [Thumbnail(rid, person_id, created,
                              self._unseal(owner or person_id, "thumbnails", rid, "image", sealed, (created,)))
                    for rid, sealed, created, owner in rows]

    @_damage_is_typed
    def delete_thumbnails(self, *, before: float | None = None, person_id: str | None = None) -> int:
        """Delete the thumbnails stored before this time, or of this person, or both; returns how many."""
        if before is None and person_id is None:
            raise ValueError("delete_thumbnails needs before=, person_id= or both")
        with self.transaction():
            self._require_master()
            conn = self._conn()
            # A person's thumbnails are the ones their manifest lists, as well as the ones the index finds.
            listed = self._read_manifest(conn, person_id)["thumbnails"] if person_id and self._keeps_manifests(conn) else []
            doomed = conn.execute(
                f"SELECT id, person_id, {self._thumbnail_owner_column(conn)} FROM thumbnails WHERE "
                "(:before IS NULL OR created_at < :before) AND "
                "(:pid IS NULL OR person_id = :pid OR id IN (SELECT value FROM json_each(:listed)))",
                {"before": before, "pid": person_id, "listed": json.dumps(listed)}).fetchall()
            conn.executemany("DELETE FROM thumbnails WHERE id = ?", [(row_id,) for row_id, _, _ in doomed])
            for owner in {owner for _, owner, _ in doomed}:
                self._amend_manifest(conn, owner, "thumbnails", remove=[row_id for row_id, o, _ in doomed if o == owner])
            self._shred_thumbnail_keys(conn, (key for _, _, key in doomed))
            return len(doomed)

    # ------------------------------------------------------------------ consent records

    @_damage_is_typed
    def add_consent(self, person_id: str, details: Mapping[str, Any]) -> str:
        """Append a consent record (any JSON-serialisable mapping, sealed under the person's key)."""
        plaintext = _json_bytes(details)
        with self.transaction():
            self._require_master()
            self._require_person(self._conn(), person_id)
            row_id, now = _new_id(), float(self._clock())
            self._conn().execute("INSERT INTO consents (id, person_id, details, recorded_at) VALUES (?, ?, ?, ?)",
                                 (row_id, person_id, self._seal(person_id, "consents", row_id, "details", plaintext, (now,)), now))
            self._amend_manifest(self._conn(), person_id, "consents", add=[row_id])
            return row_id

    @_damage_is_typed
    def consents(self, person_id: str) -> list[ConsentEntry]:
        """This person's consent records, oldest first (in the order their manifest lists them)."""
        self._require_master()
        with self._snapshot() as conn:
            self._require_person(conn, person_id)
            rows = conn.execute("SELECT id, details, recorded_at FROM consents WHERE person_id = ? ORDER BY recorded_at, rowid",
                                (person_id,)).fetchall()
            manifest = self._read_manifest(conn, person_id)
            self._check_rows(conn, person_id, "consents", (row[0] for row in rows), manifest)
            if manifest is not None:
                order = {row_id: i for i, row_id in enumerate(manifest["consents"])}
                rows.sort(key=lambda row: order[row[0]])
            return [ConsentEntry(rid, person_id, recorded,
                                 json.loads(self._unseal(person_id, "consents", rid, "details", sealed, (recorded,))))
                    for rid, sealed, recorded in rows]

    # ------------------------------------------------------------------ saved analyses

    def _delete_analysis_rows(self, conn: sqlite3.Connection, analysis_ids: Iterable[str], *,
                              skip: str | None = None) -> int:
        """Delete these saved analyses, forget them in every manifest (but `skip`'s), and destroy the
        keys they were sealed under once the deletion commits; returns how many rows went."""
        analysis_ids = sorted(set(analysis_ids))
        chosen = "SELECT value FROM json_each(?)"
        owners = {row[0] for row in conn.execute(f"SELECT key_owner FROM analyses WHERE id IN ({chosen})",
                                                 (json.dumps(analysis_ids),))}
        count = conn.execute(f"DELETE FROM analyses WHERE id IN ({chosen})", (json.dumps(analysis_ids),)).rowcount
        self._forget_analyses(conn, analysis_ids, skip=skip)
        # Stores before per-result keys sealed every result under one household key named in meta: it
        # goes with the last result that uses it, as it could decrypt old copies of all of them.
        legacy = self._meta_or_none(conn, "household_key")
        if legacy is not None:
            owners.add(legacy)
        in_use = {row[0] for row in conn.execute("SELECT DISTINCT key_owner FROM analyses")}
        # Only keys of saved analyses: a damaged key_owner naming a person must not destroy their key.
        doomed = sorted(o for o in owners - in_use if isinstance(o, str) and o.startswith(_HOUSEHOLD))
        if legacy in doomed:
            conn.execute("DELETE FROM meta WHERE key = 'household_key'")
        self._shred_after_commit.extend(doomed)
        return count

    @_damage_is_typed
    def add_analysis(self, result: Mapping[str, Any], *, person_ids: Iterable[str] = ()) -> str:
        """Keep an analysis result the user chose to save (sealed). Linking the people it names means
        erasing one of them erases this result too."""
        plaintext = _json_bytes(result)
        person_ids = list(dict.fromkeys(person_ids))
        with self.transaction():
            self._require_master()
            conn = self._conn()
            for pid in person_ids:
                self._require_person(conn, pid)
            # A key of its own, destroyed when the result is deleted (on its own, by retention or with a
            # member it names), so that a backup's copy of it can never be decrypted after that.
            owner = _HOUSEHOLD + _new_id()
            self._new_data_key(owner)
            row_id, now = _new_id(), float(self._clock())
            conn.execute("INSERT INTO analyses (id, key_owner, result, created_at) VALUES (?, ?, ?, ?)",
                         (row_id, owner, self._seal(owner, "analyses", row_id, "result", plaintext, (now,)), now))
            conn.executemany("INSERT INTO analysis_people (analysis_id, person_id) VALUES (?, ?)", [(row_id, p) for p in person_ids])
            for pid in person_ids:
                self._amend_manifest(conn, pid, "analyses", add=[row_id])
            return row_id

    @_damage_is_typed
    def analyses(self) -> list[AnalysisEntry]:
        self._require_master()
        with self._snapshot() as conn:
            out = []
            for rid, owner, sealed, created in conn.execute(
                    "SELECT id, key_owner, result, created_at FROM analyses ORDER BY created_at, rowid").fetchall():
                _require_stored_id(rid)
                people = tuple(r[0] for r in conn.execute("SELECT person_id FROM analysis_people WHERE analysis_id = ?", (rid,)))
                out.append(AnalysisEntry(rid, created, json.loads(self._unseal(owner, "analyses", rid, "result", sealed, (created,))),
                                         people))
            return out

    @_damage_is_typed
    def delete_analysis(self, analysis_id: str) -> bool:
        """Delete one saved analysis (its links to people go with it); False when there is none with this id."""
        with self.transaction():
            self._require_master()
            return self._delete_analysis_rows(self._conn(), [analysis_id]) == 1

    @_damage_is_typed
    def count_older(self, table: Literal["thumbnails", "analyses"], *, before: float) -> int:
        """How many thumbnails or saved analyses were stored before this time: what delete_thumbnails(before=)
        or delete_analyses(before=) would delete now."""
        if table not in ("thumbnails", "analyses"):
            raise ValueError(f"count_older counts thumbnails or analyses, not {table!r}")
        with self._snapshot() as conn:
            return conn.execute(f"SELECT count(*) FROM {table} WHERE created_at < ?", (before,)).fetchone()[0]

    @_damage_is_typed
    def delete_analyses(self, *, before: float) -> int:
        """Delete every saved analysis made before this time; returns how many."""
        with self.transaction():
            self._require_master()
            conn = self._conn()
            doomed = [row[0] for row in conn.execute("SELECT id FROM analyses WHERE created_at < ?", (before,))]
            return self._delete_analysis_rows(conn, doomed)

    @_damage_is_typed
    def clamp_future_times(self, now: float) -> dict[str, int]:
        """Set every time later than `now` of people (enrolled, last seen), embeddings, thumbnails and saved analyses
        to `now`, each value sealed again bound to its new time; returns how many rows changed per table. Consent
        records are left as they are (governance.retention says why). Nothing is deleted. A row whose value does not
        authenticate is left as it is (check() reports it)."""
        now = float(now)
        changed = dict.fromkeys(("people", "embeddings", "thumbnails", "analyses"), 0)
        with self.transaction():
            self._require_master()
            conn = self._conn()
            for person_id, sealed, created, seen in conn.execute(
                    "SELECT id, name, created_at, last_seen_at FROM people WHERE created_at > :now OR last_seen_at > :now",
                    {"now": now}).fetchall():
                try:
                    name = self._unseal(person_id, "people", person_id, "name", sealed, (created, seen))
                except (TamperedDataError, KeyDestroyedError):
                    continue
                times = (min(created, now), min(seen, now))
                conn.execute("UPDATE people SET name = ?, created_at = ?, last_seen_at = ? WHERE id = ?",
                             (self._seal(person_id, "people", person_id, "name", name, times), *times, person_id))
                changed["people"] += 1
            owners = {"embeddings": ("person_id", "vector"), "analyses": ("key_owner", "result"),
                      "thumbnails": (f"coalesce({self._thumbnail_owner_column(conn)}, person_id)", "image")}
            for table, (owner_column, column) in owners.items():
                for row_id, owner, sealed, created in conn.execute(
                        f"SELECT id, {owner_column}, {column}, created_at FROM {table} WHERE created_at > ?",
                        (now,)).fetchall():
                    try:
                        value = self._unseal(owner, table, row_id, column, sealed, (created,))
                    except (TamperedDataError, KeyDestroyedError):
                        continue
                    conn.execute(f"UPDATE {table} SET {column} = ?, created_at = ? WHERE id = ?",
                                 (self._seal(owner, table, row_id, column, value, (now,)), now, row_id))
                    changed[table] += 1
        return changed

    # ------------------------------------------------------------------ retention settings

    @_damage_is_typed
    def set_retention(self, kind: str, days: int | None) -> None:
        """Store how many days data of this kind is kept (None: kept until erased)."""
        if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 0):
            raise ValueError(f"retention days must be a whole number >= 0 or None, got {days!r}")
        with self.transaction():
            self._require_master()
            self._conn().execute("INSERT OR REPLACE INTO retention (kind, days, updated_at) VALUES (?, ?, ?)",
                                 (kind, days, self._clock()))
            self._seal_retention(self._conn(), self._audit_key)

    @staticmethod
    def _retention_mac(conn: sqlite3.Connection, mac_key: bytearray) -> str:
        # The settings decide what the sweep deletes, so they are sealed: an edited or damaged period
        # must not make it delete more.
        settings = [list(row) for row in conn.execute("SELECT kind, days FROM retention ORDER BY kind")]
        return _crypto.mac(mac_key, b"retention|" + json.dumps(settings).encode()).hex()

    @classmethod
    def _seal_retention(cls, conn: sqlite3.Connection, mac_key: bytearray) -> None:
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (_RETENTION_SEAL, cls._retention_mac(conn, mac_key)))

    @staticmethod
    def _seals_required(conn: sqlite3.Connection) -> bool:
        # Whether the sealed audit head (its MAC covers its format) says this store keeps a retention
        # seal and an audit anchor, so that a missing one was deleted; a damaged head fails verify_audit().
        try:
            return _audit.head_format(_audit.sealed_head(conn)) >= 2
        except ValueError:
            return True

    def _retention_problems(self, conn: sqlite3.Connection) -> list[str]:
        sealed = self._meta_or_none(conn, _RETENTION_SEAL)
        if sealed is None and conn.execute("SELECT 1 FROM retention").fetchone() is None and not self._seals_required(conn):
            return []  # a store from before retention seals were required, nothing set yet: the defaults apply
        expected = self._retention_mac(conn, self._audit_key).encode()
        if sealed is None or not _crypto.same(sealed.encode("utf-8", "surrogateescape"), expected):
            return ["the retention settings do not match their seal: they were edited or damaged"]
        return []

    @_damage_is_typed
    def retention_settings(self) -> dict[str, int | None]:
        """The stored retention settings (kinds never set are absent)."""
        with self._snapshot() as conn:
            return {kind: days for kind, days in conn.execute("SELECT kind, days FROM retention ORDER BY kind")}

    # ------------------------------------------------------------------ erasure

    @_damage_is_typed
    def delete_person(self, person_id: str) -> dict[str, int]:
        """Delete every row of this person (and saved analyses that name them) and destroy their data
        key and those analyses' keys once the deletion commits: copies of their ciphertexts elsewhere
        (backups of unveil.db) can then never be decrypted. The rows are the ones their sealed manifest lists together with
        any the indexes find, so a lost link or a damaged index does not leave rows behind. Returns
        the number of records removed per kind. Call scrub() afterwards so freed pages and the WAL
        keep no old bytes."""
        with self.transaction():
            self._require_master()
            conn = self._conn()
            self._require_person(conn, person_id)
            try:
                manifest = self._read_manifest(conn, person_id) or {}
            except (TamperedDataError, KeyDestroyedError):
                manifest = {}  # erasure still goes ahead: the key is destroyed whatever the list says
            counts = {"person": 1}
            doomed = {table: json.dumps(sorted(set(manifest.get(table, ())) |
                                               {row[0] for row in conn.execute(_MANIFEST_KINDS[table], (person_id,))}))
                      for table in _schema.PERSON_TABLES}
            thumbnail_keys = [row[0] for row in conn.execute(
                f"SELECT {self._thumbnail_owner_column(conn)} FROM thumbnails WHERE id IN (SELECT value FROM json_each(?))",
                (doomed["thumbnails"],))]
            for table, ids in doomed.items():
                counts[table] = conn.execute(f"DELETE FROM {table} WHERE id IN (SELECT value FROM json_each(?))", (ids,)).rowcount
            self._shred_thumbnail_keys(conn, thumbnail_keys)
            analyses = set(manifest.get("analyses", ())) | {row[0] for row in conn.execute(_MANIFEST_KINDS["analyses"], (person_id,))}
            counts["analyses"] = self._delete_analysis_rows(conn, analyses, skip=person_id)
            conn.execute("DELETE FROM people WHERE id = ?", (person_id,))  # cascades to its manifest and anything left
            _audit.forget_names(conn, person_id)
            counts["data_key"] = 1
            self._shred_after_commit.append(person_id)
            return counts

    @_damage_is_typed
    def delete_everything(self) -> dict[str, int]:
        """Delete every person, every saved analysis and the whole audit log, and destroy every data
        key; the passphrase, key file and retention settings stay so the empty store remains usable.
        The caller writes the first entry of the new audit log in the same transaction."""
        with self.transaction():
            self._require_master()
            conn = self._conn()
            # Every row of every table, not only what a person row leads to: in a damaged store a row or
            # key can be cut off from its person, and the receipt counts what was really deleted.
            deleted = {table: conn.execute(f"DELETE FROM {table}").rowcount
                       for table in ("analysis_people", "manifests", *_schema.PERSON_TABLES, "analyses", "people")}
            counts = {table: deleted[table] for table in ("people", *_schema.PERSON_TABLES, "analyses")}
            counts["audit"] = conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
            conn.execute("DELETE FROM meta WHERE key = 'household_key'")
            owners = [row[0] for row in self._keys_conn().execute("SELECT owner FROM data_keys") if isinstance(row[0], str)]
            counts["data_keys"] = len(owners)
            _audit.reset(conn)
            self._chain_reset = True
            self._shred_after_commit.extend(owners)
            return counts

    def _scrub_connection(self, conn: sqlite3.Connection) -> bool:
        try:
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            conn.execute("VACUUM")
            busy |= conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.OperationalError as exc:
            # Unfinished, not failed: the erasure or rotation before it committed, and the note makes the
            # next open try again. Raising here would lose the caller's receipt for a change that happened.
            if _is_busy(exc) or _is_full(exc) or _is_io_error(exc):
                return False
            raise
        return busy == 0

    def _shredded_keys_on_disk(self) -> bool:
        """Whether a wrapped key deleted by this session is still in keys.db or its WAL."""
        if not self._shredded_blobs:
            return False
        for path in (self.data_dir / KEYS_FILE, self.data_dir / f"{KEYS_FILE}-wal"):
            with contextlib.suppress(FileNotFoundError):
                content = _read_raw(path)  # never read_bytes(): its close would drop SQLite's locks on the file
                if any(blob in content for blob in self._shredded_blobs):
                    return True
        return False

    @property
    def scrub_pending(self) -> bool:
        """True while an erasure's old bytes (or destroyed key) may still be in the files: scrub() has
        not yet finished since it committed. The next open retries it."""
        return self._meta_or_none(self._conn(), _SCRUB_PENDING) is not None

    @_damage_is_typed
    def scrub(self) -> bool:
        """Checkpoint the WAL into the database files, VACUUM them and truncate the WALs, so deleted
        values survive neither in free pages nor in old WAL frames (deleted cells are already zeroed by
        secure_delete), then check that every data key this session destroyed is gone from keys.db's
        files. False when another session's open read, or a full disk, kept part of it from finishing:
        the rows are deleted either way, `scrub_pending` stays set, and the next open finishes it."""
        with self._lock:
            if self._depth:
                raise StoreError("scrub() cannot run inside a transaction")
            keys_done = self._scrub_connection(self._keys_conn()) and not self._shredded_keys_on_disk()
            main_done = self._scrub_connection(self._conn())
            if not (keys_done and main_done):
                return False
            self._shredded_blobs = []
            if self.scrub_pending:
                try:
                    with self.transaction():
                        self._conn().execute("DELETE FROM meta WHERE key = ?", (_SCRUB_PENDING,))
                except _WRITE_REFUSED:
                    return False
                with contextlib.suppress(sqlite3.OperationalError):  # the note's own deletion leaves no WAL behind
                    self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return True

    # ------------------------------------------------------------------ backup

    @_damage_is_typed
    def back_up(self, target: str | os.PathLike[str]) -> dict[str, int]:
        """Write a copy of the store into `target`, a new folder (BackupExistsError if anything is there), and return
        the copy's counts(). Both files are copied in one moment, each by SQLite's VACUUM INTO under the store's
        write lock: no session commits to either meanwhile, so the copy is one state of the store, its WAL included,
        compacted (no free page or old WAL frame goes with it).
        (Copying the folder while a session writes can pair an unveil.db with a keys.db of another moment.) The
        lock is held only while copying; then the copy is opened, as after a crash (keys an erasure had yet to
        destroy are destroyed in it), must pass check() and verify_audit() under this session's master key
        (BackupDamagedError otherwise), and is scrubbed. It is built in a hidden folder beside `target`
        (.unveil-backup-partial-*, 0700) and renamed to `target` only once whole, so a crash never leaves a
        half backup under the name given. Files 0600, folder 0700. It opens with the passphrases and key file that
        open this store now."""
        master = self._require_master()
        target = Path(target).expanduser()
        if os.path.lexists(target):
            raise BackupExistsError(target)
        try:
            staging = Path(tempfile.mkdtemp(prefix=".unveil-backup-partial-", dir=target.parent))
        except OSError as exc:
            raise BackupFolderError(target, os_detail(exc)) from None
        try:
            with self.transaction():  # the write lock: both files are copied in the same state
                for name in (DATA_FILE, KEYS_FILE):
                    self._copy_database(self.data_dir / name, staging / name, target)
            counts = self._check_backup(staging, master, target)
            for name in (DATA_FILE, KEYS_FILE):
                _fsync_file(staging / name)
            _fsync_dir(staging)
            try:
                os.rename(staging, target)  # replaces at most an empty folder made meanwhile
            except OSError as exc:
                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                    raise BackupExistsError(target) from None
                raise BackupFolderError(target, os_detail(exc)) from None
            _fsync_dir(target.parent)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return counts

    def _copy_database(self, source: Path, path: Path, target: Path) -> None:
        """`source` as committed now, written to `path` (made 0600 first) by VACUUM INTO: one read of one state,
        compacted, so no free page or WAL frame of the source travels with it. Read on a connection of its own:
        this session's holds the write lock, and SQLite vacuums nothing inside a transaction."""
        try:
            _new_db_file(path)
            with contextlib.closing(sqlite3.connect(str(source), timeout=self._timeout, isolation_level=None)) as reader:
                reader.execute("VACUUM INTO ?", (str(path),))
        except OSError as exc:
            raise BackupFolderError(target, os_detail(exc)) from None
        except sqlite3.OperationalError as exc:
            # The copy's disk refused it; a source SQLite cannot read is damage (typed by _damage_is_typed).
            if _is_full(exc) or _is_io_error(exc) or _is_read_only(exc):
                raise BackupFolderError(target, str(exc)) from None
            raise

    def _check_backup(self, staging: Path, master: bytearray, target: Path) -> dict[str, int]:
        copy = FamilyStore(staging, busy_timeout=self._timeout, clock=self._clock)
        try:
            copy._set_master(master)
            problems = [item.message for item in copy.check()]
            audit = copy.verify_audit()
            if not audit.ok:
                problems.append(f"audit log broken at entry {audit.first_broken}: {audit.reason}")
            if problems:
                raise BackupDamagedError(target, problems)
            if not copy.scrub():  # nobody else has the copy open: only its disk can refuse
                raise BackupFolderError(target, "the disk refused a write, or is full")
            return copy.counts()
        finally:
            copy.close()

    # ------------------------------------------------------------------ audit log

    @_damage_is_typed
    def append_audit(self, event: str, *, person_id: str | None = None, details: Mapping[str, Any] | None = None) -> int:
        """Append an entry to the hash-chained audit log (joining the current transaction, if any) and
        return its sequence number. `details` holds only flat, non-personal values (counts, kinds);
        a person is named by their opaque id, and their name is sealed under their own data key."""
        with self.transaction():
            self._require_master()
            conn = self._conn()

            def seal_name(seq: int) -> bytes | None:
                if person_id is None:
                    return None
                row = conn.execute("SELECT name, created_at, last_seen_at FROM people WHERE id = ?", (person_id,)).fetchone()
                if row is None:
                    return None
                try:
                    name = self._name_of(person_id, *row).encode("utf-8")
                except (TamperedDataError, KeyDestroyedError):
                    return None  # a damaged name: the entry names them by id only, so erasing them still works
                return self._seal(person_id, "audit", str(seq), "name", name)

            seq = _audit.append(conn, event=event, ts=self._clock(), person_id=person_id, seal_name=seal_name,
                                details=details, mac_key=self._audit_key)
            self._sealed_appended = True
            return seq

    _AUDIT_COLUMNS = "seq, ts, event, person_id, name, name_digest, details, mac"

    @_damage_is_typed
    def audit_entries(self, *, newest: int | None = None, person_id: str | None = None) -> list[AuditEntry]:
        """The audit log, oldest first; with `newest`, only that many of its latest entries; with `person_id`, only
        the entries about that person (chosen by SQLite: read whole, 100,000 entries took 7 s, each turned into an
        AuditEntry). Names show only while the store is unlocked and the person is still enrolled."""
        with self._snapshot() as conn:
            rows = conn.execute(f"SELECT {self._AUDIT_COLUMNS} FROM (SELECT * FROM audit WHERE :pid IS NULL OR "
                                "person_id = :pid ORDER BY seq DESC LIMIT :newest) ORDER BY seq",
                                {"pid": person_id, "newest": -1 if newest is None else newest}).fetchall()
        return [self._audit_entry(*row) for row in rows]

    @_damage_is_typed
    def latest_sealed_audit(self, events: Collection[str] | None = None) -> AuditEntry | None:
        """The newest entry that carries a MAC, that is one the unlocked store wrote (not a failed unlock, which
        anyone who reaches the file can write), of these events if given; None when there is none."""
        events = None if events is None else sorted(events)
        with self._snapshot() as conn:
            row = conn.execute(
                f"SELECT {self._AUDIT_COLUMNS} FROM audit WHERE mac IS NOT NULL "
                "AND (:events IS NULL OR event IN (SELECT value FROM json_each(:events))) ORDER BY seq DESC LIMIT 1",
                {"events": None if events is None else json.dumps(events)}).fetchone()
        return None if row is None else self._audit_entry(*row)

    @_damage_is_typed
    def sealed_audit_times(self, *, since: int = 0) -> list[float]:
        """The times of the entries that carry a MAC (see latest_sealed_audit), from sequence number `since` on,
        oldest first: when the unlocked store was used, as its clock read then."""
        with self._snapshot() as conn:
            return [row[0] for row in conn.execute(
                "SELECT ts FROM audit WHERE mac IS NOT NULL AND seq >= ? ORDER BY seq", (since,))]

    @_damage_is_typed
    def newest_sealed_audit_time(self, *, since: int = 0) -> float | None:
        """The latest of sealed_audit_times(since=since), or None when there is none. Found by SQLite: the list of
        every entry's time took 0.55 s at a million entries, inside the retention sweep's write lock."""
        with self._snapshot() as conn:
            return conn.execute("SELECT MAX(ts) FROM audit WHERE mac IS NOT NULL AND seq >= ?", (since,)).fetchone()[0]

    def _audit_entry(self, seq: int, ts: float, event: str, person_id: str | None, sealed: bytes | None,
                     name_digest: bytes | None, details: str, entry_mac: bytes | None) -> AuditEntry:
        name, status = None, "none"
        if sealed is None and name_digest is not None:
            status = "erased"
        elif sealed is not None:
            if not self.is_unlocked:
                status = "locked"
            else:
                try:
                    name, status = self._unseal(person_id, "audit", str(seq), "name", sealed).decode("utf-8"), "shown"
                except KeyDestroyedError:
                    status = "erased"
                except TamperedDataError:
                    status = "damaged"
        try:
            parsed = json.loads(details)
        except ValueError:
            parsed = {}
        return AuditEntry(seq, ts, event, person_id, name, status, parsed, entry_mac is not None)

    @_damage_is_typed
    def verify_audit(self) -> _audit.AuditVerification:
        """Check the audit chain; when unlocked, also every entry's MAC and the sealed head; and that
        the log still holds the entry its anchor in keys.db names (a log cut or rolled back with
        its heads in unveil.db does not)."""
        # The anchor is read before the log: another session writes it just after its entry commits, so an anchor
        # read during this read could name an entry committed after the read began, which is no rollback. Read
        # first, it names an entry the log already held, unless the log was reset or resealed meanwhile (erase
        # everything, a rotation): then the anchor has changed since, and the check is made again.
        for _ in range(3):
            anchor, staged = self._audit_anchor(), self._staged_next_anchor()
            with self._snapshot() as conn:
                result = _audit.verify(conn, self._audit_key, anchor)
                # An erase-everything committed whose new anchor is not yet in place (_stage_next_anchor).
                if not result.ok and staged is not None and (new_chain := _audit.verify(conn, self._audit_key, staged)).ok:
                    result = new_chain
            if result.ok or self._audit_anchor() == anchor:
                break
        return result

    # ------------------------------------------------------------------ integrity and counts

    @_damage_is_typed
    def counts(self) -> dict[str, int]:
        """Rows per table and data keys held; works while locked."""
        with self._snapshot() as conn:
            counts = {table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                      for table in ("people", *_schema.PERSON_TABLES, "analyses", "audit")}
        counts["data_keys"] = self._keys_conn().execute("SELECT COUNT(*) FROM data_keys").fetchone()[0]
        return counts

    # What traces_of counts, by the key it reports: rows of unveil.db that still hold a person's id, each row once.
    _TRACES = {
        "people": "SELECT COUNT(*) FROM people WHERE id = ?",
        "manifests": "SELECT COUNT(*) FROM manifests WHERE person_id = ?",
        **{table: f"SELECT COUNT(*) FROM {table} WHERE person_id = ?" for table in _schema.PERSON_TABLES},
        "analyses": "SELECT COUNT(*) FROM analysis_people WHERE person_id = ?",
        "audit_names": "SELECT COUNT(*) FROM audit WHERE person_id = ? AND name IS NOT NULL",
    }

    @_damage_is_typed
    def traces_of(self, person_id: str) -> dict[str, int]:
        """What the store still holds under a person's id, per kind, only kinds with rows: their row, manifest,
        embeddings, thumbnails, consents, kept analyses naming them, audit entries still holding their sealed name,
        and their data key in keys.db. Empty once they are erased (their audit entries keep the id itself, which the
        hash chain covers, but no name). Works while locked: it counts rows, reading nothing sealed."""
        with self._snapshot() as conn:
            found = {kind: conn.execute(sql, (person_id,)).fetchone()[0] for kind, sql in self._TRACES.items()}
        found["data_keys"] = self._keys_conn().execute("SELECT COUNT(*) FROM data_keys WHERE owner = ?",
                                                       (person_id,)).fetchone()[0]
        return {kind: count for kind, count in found.items() if count}

    def _integrity_damage(self, *, main_checked: bool = False) -> list[Damage]:
        # SQLite's integrity_check compares every table with its indexes (quick_check does not). `main_checked`:
        # unveil.db's passed on a read snapshot of the file as it still is (intact_transaction).
        damage = []
        for name, conn in ((DATA_FILE, self._conn()), (KEYS_FILE, self._keys_conn())):
            if name == DATA_FILE and main_checked:
                continue
            found = [row[0] for row in conn.execute("PRAGMA integrity_check(20)")]
            if found != ["ok"]:
                damage += [Damage("sqlite", name, "integrity_check", f"{name}: {line}") for line in found]
        damage += [Damage(table, str(rowid), "foreign key", f"{DATA_FILE}: row {rowid} of {table} points to a missing row of {parent}")
                   for table, rowid, parent, _ in self._conn().execute("PRAGMA foreign_key_check")]
        damage += self._implausible_times()
        _, unexplained, keyless, _ = self._key_census()
        damage += [Damage("data_keys", owner, "owner", f"{KEYS_FILE} holds a data key ({owner}) that nothing in {DATA_FILE} uses")
                   for owner in sorted(unexplained)]
        damage += [Damage(_KEY_OWNER_TABLES.get(owner.split(":")[0] + ":", "people"), owner, "data key",
                          f"{owner} has rows in {DATA_FILE} but no data key in {KEYS_FILE}") for owner in sorted(keyless)]
        return damage

    def _implausible_times(self) -> list[Damage]:
        # Rows sealed before times were bound to their values (format 1) keep plaintext times that
        # nothing authenticates. A damaged one must not make data look old enough to delete: it must
        # be a number between the store's creation and now, and nobody seen before they were enrolled.
        # Bound rows need no such check (and a wrong system clock does not make them look damaged).
        try:
            low, high = float(self._meta(self._conn(), "created_at")) - _TIME_SLACK, self._clock() + _TIME_SLACK
        except ValueError:
            return [Damage("meta", "created_at", "value", "meta row created_at: the store's creation time is not a number")]
        damage = []
        for table, column, sealed in _TIMES:
            for row_id, value, kind in self._conn().execute(
                    f"SELECT id, {column}, typeof({column}) FROM {table} WHERE substr({sealed}, 1, 1) != x'02'"):
                if kind != "real" or not low <= value <= high:
                    damage.append(Damage(table, row_id, column, f"{table} row {row_id}: {column} is not a plausible time"))
        damage += [Damage("people", row_id, "last_seen_at", f"people row {row_id}: last seen before they were enrolled")
                   for (row_id,) in self._conn().execute(
                       "SELECT id FROM people WHERE last_seen_at < created_at AND substr(name, 1, 1) != x'02'")]
        return damage

    @_damage_is_typed
    def integrity_problems(self) -> list[str]:
        """What SQLite's integrity_check (tables against their indexes, page structure), its foreign
        key check, and the cross-checks between the two files find (keys that nothing uses and no
        pending note explains, rows whose key is missing); empty when all is well. Works while locked."""
        return [item.message for item in self._found_on_a_still_store(self._integrity_damage)]

    @_damage_is_typed
    def require_intact(self) -> None:
        """StoreDamagedError, listing what is wrong, unless check() finds nothing (SQLite's integrity
        checks, the cross-checks between the files, every sealed value with the times bound to it,
        every manifest, the retention settings' seal) and the audit log verifies against its anchor.
        Run before anything that deletes data on its own (the retention sweep, through intact_transaction()),
        so that damage never causes an erasure."""
        with self.intact_transaction():
            pass

    @contextlib.contextmanager
    def intact_transaction(self) -> Iterator[None]:
        """transaction() that begins with require_intact()'s checks, for writes that must not run on a damaged
        store. The audit log is verified on a read snapshot before the write lock is taken, and inside the lock
        only the entries appended since (_audit.verify_since): the whole walk grows with the log (about 40 s at a
        million entries, docs/reports/audit_log_growth.md), and other sessions' writes wait for the lock only as
        long as their busy timeout (1 s in unveil watch). Nested in another transaction, the lock is already held: the whole log is verified in it."""
        self._require_master()
        with self._lock:
            nested = bool(self._depth)
        verified = None if nested else (self._master_id, self.verify_audit())
        # SQLite's integrity_check of unveil.db reads the whole file, most of it the log (0.3-1.1 s at a million
        # entries): run on a read snapshot too, and again inside the lock only if the file changed since.
        main_checked = None if nested else self._main_file_intact()
        with self.transaction():
            self._require_intact(verified, main_checked)
            yield

    def _main_file_state(self) -> tuple[object, ...]:
        """What changes with any change to unveil.db: a commit by another connection (PRAGMA data_version), one by
        this connection (total_changes), and any write to the file or its write-ahead log, a raw edit included
        (their inode, size and modification time; checkpoints change them too). Read inside a transaction."""
        conn = self._conn()
        files = []
        for path in (self.data_dir / DATA_FILE, self.data_dir / f"{DATA_FILE}-wal"):
            try:
                stat = os.stat(path)
            except FileNotFoundError:
                files.append(None)
            else:
                files.append((stat.st_ino, stat.st_size, stat.st_mtime_ns))
        return conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes, *files

    @_damage_is_typed
    def _main_file_intact(self) -> tuple[object, ...] | None:
        """unveil.db's state (_main_file_state) when SQLite's integrity_check passed it on a read snapshot, or None
        when it found anything: the check is then made again inside the lock, which reports it."""
        with self._snapshot() as conn:
            before = self._main_file_state()
            found = [row[0] for row in conn.execute("PRAGMA integrity_check(20)")]
            # The file's stat read before and after the check: a raw write during it is not taken for checked.
            return before if found == ["ok"] and self._main_file_state() == before else None

    @_damage_is_typed
    def _require_intact(self, verified: tuple[str | None, _audit.AuditVerification] | None,
                        main_checked: tuple[object, ...] | None = None) -> None:
        # unveil.db's integrity_check counts only for the file as it was checked: any change since (a commit by any
        # session, a raw write) runs it again here, under the lock, so that damage never causes an erasure.
        unchanged = main_checked is not None and main_checked == self._main_file_state()
        problems = [item.message for item in self._damage(main_checked=unchanged)]
        audit = None
        # Verified under the master key this session holds now: a rotation by another session since then
        # stopped transaction() already (MasterKeyChangedError), one by this session (another thread) is seen here.
        if verified is not None and verified[0] == self._master_id and verified[1].end is not None:
            audit = _audit.verify_since(self._conn(), self._audit_key, self._audit_anchor(), verified[1].end)
        if audit is None:  # nothing verified before the lock, or the log changed other than by appending
            audit = self.verify_audit()
        if not audit.ok:
            problems.append(f"audit log broken at entry {audit.first_broken}: {audit.reason}")
        if problems:
            raise StoreDamagedError(self.data_dir, problems)

    @_damage_is_typed
    def check(self) -> list[Damage]:
        """Authenticate every sealed value in the store, check every person's rows against their
        manifest, and run integrity_problems(); list what fails (none when intact)."""
        return self._found_on_a_still_store(self._damage)

    def _found_on_a_still_store(self, find: Callable[[], list[Damage]]) -> list[Damage]:
        """find()'s damage, looked for again while it finds some and another session committed to unveil.db
        meanwhile (_CHECK_TRIES looks at most). Outside the write lock its reads of unveil.db (a read snapshot) and
        of keys.db (each key as it is read) are not one moment: rows of a kept result that another session then
        deleted, its key destroyed after the commit, were read with no key to open them, and `unveil family check`
        said that the store was damaged and to restore it from a backup. Damage is found again on a still store."""
        for _ in range(_CHECK_TRIES):
            before = self._conn().execute("PRAGMA data_version").fetchone()[0]
            found = find()
            if not found or self._conn().execute("PRAGMA data_version").fetchone()[0] == before:
                break
        return found

    def _damage(self, *, main_checked: bool = False) -> list[Damage]:
        """check()'s findings; `main_checked`: see _integrity_damage."""
        self._require_master()
        damage = self._integrity_damage(main_checked=main_checked)
        with self._snapshot() as conn:
            damage += [Damage("retention", "-", "seal", problem) for problem in self._retention_problems(conn)]

        def probe(table: str, row: str, column: str, attempt: Callable[[], object]) -> None:
            try:
                attempt()
            except (TamperedDataError, KeyDestroyedError) as exc:
                damage.append(Damage(table, row, column, str(exc)))

        for owner, wrapped in self._keys_conn().execute("SELECT owner, wrapped FROM data_keys").fetchall():
            probe("data_keys", owner, "wrapped", lambda o=owner, w=wrapped: _crypto.wipe(self._unwrap(o, w)))
        with self._snapshot() as conn:
            for pid, sealed, created, seen in conn.execute("SELECT id, name, created_at, last_seen_at FROM people").fetchall():
                probe("people", pid, "name", lambda p=pid, s=sealed, c=created, n=seen: self._name_of(p, s, c, n))
                probe("manifests", pid, "rows", lambda p=pid: self._checked_ids(conn, p))
            for table, column, when in (("embeddings", "vector", "created_at"), ("thumbnails", "image", "created_at"),
                                        ("consents", "details", "recorded_at")):
                key_owner = self._thumbnail_owner_column(conn) if table == "thumbnails" else "NULL"
                for rid, pid, sealed, at, owner in conn.execute(
                        f"SELECT id, person_id, {column}, {when}, {key_owner} FROM {table}").fetchall():
                    probe(table, rid, column,
                          lambda t=table, c=column, r=rid, o=owner or pid, s=sealed, a=at: self._unseal(o, t, r, c, s, (a,)))
            for rid, owner, sealed, at in conn.execute("SELECT id, key_owner, result, created_at FROM analyses").fetchall():
                probe("analyses", rid, "result",
                      lambda r=rid, o=owner, s=sealed, a=at: self._unseal(o, "analyses", r, "result", s, (a,)))
            live = {row[0] for row in conn.execute("SELECT id FROM people")}
            for seq, pid, sealed in conn.execute("SELECT seq, person_id, name FROM audit WHERE name IS NOT NULL").fetchall():
                if pid in live:  # names of erased people are meant to be unreadable
                    probe("audit", str(seq), "name", lambda q=seq, p=pid, s=sealed: self._unseal(p, "audit", str(q), "name", s))
        return damage

    @staticmethod
    def _meta(conn: sqlite3.Connection, key: str) -> str:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise sqlite3.DatabaseError(f"meta entry {key!r} is missing")
        return row[0]

    @staticmethod
    def _meta_or_none(conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def data_version(self) -> tuple[int, int]:
        """A value that differs after any change to unveil.db: a commit by another session (another process,
        or another FamilyStore on this folder: SQLite's PRAGMA data_version) or a write by this one. It
        reads two counters SQLite keeps, nothing personal, so a front end that runs for days can check it on
        every frame and build its gallery again only when something changed (an erasure, an enrolment, a
        consent). Works while locked."""
        with self._lock:
            conn = self._conn()
            version = conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes
            if version != self._keys_checked_at:
                self._forget_destroyed_keys()
                self._keys_checked_at = version
            return version

    def _forget_destroyed_keys(self) -> None:
        """Wipe the data keys held in memory whose only stored copy another session destroyed (an erasure, a deleted
        thumbnail or kept result): this session's own deletions wipe theirs at once (_delete_keys), but a front end
        that runs for weeks (unveil watch, unveil serve, the app) kept a key read before someone else's erasure for as
        long as it ran, key material the erasure exists to destroy. Checked whenever data_version sees a change."""
        if not self._data_keys or self._keys is None:
            return
        held = list(self._data_keys)
        present = set()
        for start in range(0, len(held), 500):  # SQLite's default limit on parameters is 999
            chunk = held[start:start + 500]
            present.update(owner for (owner,) in self._keys.execute(
                f"SELECT owner FROM data_keys WHERE owner IN ({', '.join('?' * len(chunk))})", chunk))
        for owner in held:
            if owner not in present and owner not in self._new_owners:
                _crypto.wipe(self._data_keys.pop(owner))
