"""Backups of the family store, for a disk that dies or a move to a new computer.

    done = back_up(store, "/media/usb/unveil-2026-12-07")    # a new folder: unveil.db and keys.db, 0600
    done.counts                                              # what the copy holds, per kind

The copy is one state of the store (fer_core.store.FamilyStore.back_up: SQLite's online backup API under the
store's write lock, checked, then renamed into place), and is audit-logged in the store it was taken from:
the event "backup" with the copy's counts, never a name nor where the copy went (a folder's name can hold one).

A backup is a copy that erasure cannot reach. Whoever has it, and the passphrase (or key file) of the day it
was made, reads everything it holds, members erased since included: purging a person destroys their data key
in the store, not in copies. Each purge's receipt says what was erased from the store; BACKUP_REACH says what
to tell the household of the backups made before it.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from fer_core.store import DATA_FILE, KEYS_FILE, FamilyStore
from governance import audit_log

# What the copy's counts() holds that the audit entry records: how much personal data now lives in one more
# place. The audit log's own length and the number of data keys say nothing more to a reader of the log.
LOGGED_COUNTS = ("people", "embeddings", "thumbnails", "consents", "analyses")

# Said after every backup, and in the README: erasure does not reach a copy.
BACKUP_REACH = ("a backup is a copy that erasure cannot reach: whoever holds it and the passphrase (or key file) "
                "of today reads everything in it, members erased later included. Keep it as safe as the computer, "
                "and delete it when it is no longer needed")


@dataclass(frozen=True)
class Backup:
    path: Path
    counts: dict[str, int]  # the copy's, per kind (LOGGED_COUNTS)
    audit_seq: int  # the "backup" entry in the store's audit log


def back_up(store: FamilyStore, target: str | os.PathLike[str]) -> Backup:
    """Write a backup of the unlocked `store` into `target`, a folder that must not exist yet, and log it (counts
    only). If the entry cannot be written (a busy store, a full disk), the backup is removed again and the error
    raised: no copy exists that the log does not record."""
    target = Path(target).expanduser()
    copied = store.back_up(target)
    counts = {kind: copied[kind] for kind in LOGGED_COUNTS}
    try:
        seq = audit_log.record(store, "backup", details=counts)
    except BaseException:
        _remove(target)
        raise
    return Backup(target, counts, seq)


def _remove(target: Path) -> None:
    # Only what FamilyStore.back_up put there, never anything else.
    for name in (DATA_FILE, KEYS_FILE):
        with contextlib.suppress(FileNotFoundError):
            (target / name).unlink()
    with contextlib.suppress(OSError):
        target.rmdir()
