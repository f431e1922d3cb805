"""The Family page's "Back up the store", without Streamlit: what `unveil family backup FOLDER` does
(governance.backup.back_up: one state of the store copied while the app is in use, checked, audit-logged with its
counts only), for a household that only uses the app.

The folder is given by its full path on this computer, as the key file is (unveil.app.unlocking), not downloaded:
the copy is written by the app's user, files 0600 in a folder 0700, and never passes through the browser. A path
typed in any browser the app serves writes only where that user can write, and nothing there is readable by another
account; the session must be unlocked, by someone who can read the store anyway. The path is logged nowhere (the
audit entry holds counts only).
"""
from __future__ import annotations

from pathlib import Path

from fer_core.store import FamilyStore
from governance import backup
from unveil.app.typed_paths import full_path

TITLE = "Back up the store"
HOW = ("A whole copy of the store (its two files, unveil.db and keys.db, readable by you alone) in a new folder, for "
       "a disk that dies or a move to a new computer: on a USB disk, say. It is made safely while the app is in use, "
       "and checked before it is kept. It opens with today's passphrase or key file, not with a later one. To restore "
       "it: README, \"Backups\".")
FOLDER = "The new folder's full path on this computer"
FOLDER_HELP = ("A folder that does not exist yet, in one that does (e.g. /media/usb/unveil-2026-12-07): a backup is "
               "never written over anything.")
BUTTON = "Write the backup"
# After "Backing up the store: " (the page's friendly_errors).
NO_FOLDER = "give the new folder's full path on this computer; nothing was written"
NOT_A_FULL_PATH = ("{path} is not a full path: give the folder's path from the top of this computer's folders "
                   "(starting with / or ~); nothing was written")
DONE = ("Backup written to {path}: {people} member(s), {embeddings} face print(s), {thumbnails} thumbnail(s), "
        "{consents} consent record(s) and {analyses} kept result(s). The audit log records it (counts only).")
# The key file is not in the copy (FamilyStore.back_up copies the two database files).
KEY_FILE_APART = " The key file is not in it: keep a copy of the key file apart from both."


def folder_path(typed: str) -> Path:
    """The folder's path as typed (typed_paths.full_path: NO_FOLDER when empty, NOT_A_FULL_PATH when relative)."""
    return full_path(typed, empty=NO_FOLDER, not_full=NOT_A_FULL_PATH)


def back_up(store: FamilyStore, typed: str) -> str:
    """Back the unlocked `store` up into the folder typed (folder_path) with governance.backup.back_up; returns what
    to tell the user: DONE, KEY_FILE_APART for a store with a key file, and governance.backup.BACKUP_REACH. The
    store's own errors (the folder exists, cannot be written, the copy fails its checks) leave nothing there."""
    done = backup.back_up(store, folder_path(typed))
    said = DONE.format(path=done.path, **done.counts) + (KEY_FILE_APART if store.has_key_file else "")
    return f"{said} Note: {backup.BACKUP_REACH}."
