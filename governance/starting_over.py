"""Starting over when the store's passphrase is forgotten (and no key file opens it), and destroying the old store.

    done = start_over(data_dir, "a new passphrase")     # the old store set aside, a new empty one made, unlocked
    set_aside(data_dir)                                 # the stores set aside there, with what they hold
    destroy_old(store, done.folder)                     # later, on request: the old store's files deleted

There is no way into a store without its passphrase or key file: no recovery key, no back door (one that Unveil
could use, anyone holding the files could). So nothing here opens the old store, and nothing proves that whoever
starts over was entitled to it; they get an empty store, never the old one's data. A wrong passphrase is no proof
that it is forgotten, so starting over destroys nothing: it moves the old store's files, unopened, into a folder of
their own in the data folder (fer_core.store.set_aside_store), where the front ends keep saying it is until it is
destroyed, a second explicit, confirmed step. It is refused while a key file given opens the store, and, for a
store that a key file can open, until the user says that the key file is lost too.

The new store's audit log records both steps, with what the old store's files say without the key: its id and its
counts (members, face prints, thumbnails, consents, kept results), how many backups its log records (they open with
its passphrase or key file too) and its failed unlocks. The old log stays in the old store: readable without the key
as the threat model says (events, counts, opaque ids; never names), its seals checkable only with the key.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from fer_core.store import (
    FamilyStore,
    ScryptParams,
    StoreError,
    WrongPassphraseError,
    check_new_passphrase,
    destroy_set_aside,
    put_back_set_aside,
    resolve_data_dir,
    set_aside_at,
    set_aside_folders,
    set_aside_store,
)
from governance import audit_log

# What a household that forgot its passphrase reads first (the app's "Forgot the passphrase?", the CLI's note after
# a wrong passphrase, the README).
FORGOTTEN = ("No one can open the family store without its passphrase or its key file: there is no recovery key "
             "and no way around them, by design (a way in that Unveil could use, anyone holding the files could "
             "use too). Try the passphrase as first typed (capitals, keyboard layout), look for a key file, if one"
             " was made (`unveil family passwd --key-file FILE` then sets a new passphrase), ask whoever set the "
             "store up, check a password manager. A backup opens only with the passphrase or key file of its day. "
             "If it is gone for good, start over: the old store is set aside unopened in the data folder, a new "
             "empty store is made, and the members are enrolled again with their consent. Destroy the old store "
             "once you are sure.")

# Starting over is refused: the key file given opens the store, so nothing is forgotten.
KEY_FILE_OPENS = ("the key file {key_file} opens this store, so nothing was set aside: set a new passphrase with it "
                  "(unveil family passwd --key-file {key_file})")
# Starting over is refused: the passphrase given as the store's (UNVEIL_PASSPHRASE) opens it.
PASSPHRASE_OPENS = ("the passphrase given opens this store, so nothing was set aside: unlock it with it, and change it "
                    "if it must change (unveil family passwd)")
# Starting over is refused: a key file can open this store, and the user has not said it is lost too.
KEY_FILE_NOT_SAID_LOST = ("this store can also be opened with a key file: look for it first, then set a new passphrase "
                          "with it (unveil family passwd --key-file FILE). Nothing was set aside; if the key file is "
                          "lost too, say so (unveil family start-over --key-file-lost, or the tick on the Family page)")
# The same, for a store that only its key file opens (`unveil family init --no-passphrase`): nothing else opens it.
KEY_FILE_ONLY_NOT_SAID_LOST = ("this store has no passphrase: only its key file opens it, so look for the key file "
                               "first (with it the store opens as before). Nothing was set aside; if it is lost, say "
                               "so (unveil family start-over --key-file-lost, or the tick on the Family page)")
# The new store could not be made after the old one was set aside: the old one was put back.
NOT_STARTED_OVER = "no new store was made ({detail}); the old store was put back where it was, unchanged"
# Destroying a folder that is not a store set aside in this store's data folder.
NOT_SET_ASIDE = "{folder} is not a store set aside in {data_dir}; nothing was deleted"

# What a store holds, as its files say without the key: the question before starting over, the reminders.
HELD = ("{people} member(s), {embeddings} face print(s), {thumbnails} thumbnail(s), {consents} consent record(s), "
        "{analyses} kept result(s), and {backups} backup(s) recorded in its audit log (they open with its {opens} "
        "too)")
# HELD's {opens}: what opens the store, and so its backups (of their day), by (has a passphrase, has a key file).
OPENS = {(True, False): "passphrase", (True, True): "passphrase or key file", (False, True): "key file"}
UNREADABLE = "files that no longer open as a store (damaged since it was set aside)"
# Said, until it is destroyed, wherever the data folder's store is used (the Family page, `unveil family list`).
SET_ASIDE_REMINDER = ("A store set aside on {day} is still in {folder}: {held}. Without its passphrase or key file "
                      "no one can read it; if either turns up, it opens there as it was. Once you are sure neither "
                      "will, destroy it")
SET_ASIDE_EVENT = "store_set_aside"
DESTROYED_EVENT = "old_store_destroyed"
# What the entries hold of the old store, from its files, without its key.
COUNTED = ("people", "embeddings", "thumbnails", "consents", "analyses")


@dataclass(frozen=True)
class OldStore:
    """A store set aside in the data folder: where, when, and what its files say without the key."""

    folder: Path
    set_aside_at: datetime
    store_id: str | None  # None, with the counts below, for files that no longer open as a store (damaged since)
    counts: dict[str, int] | None  # COUNTED, from the old store's tables
    backups: int | None  # "backup" entries in its audit log: copies that open with its passphrase or key file too
    failed_unlocks: int | None  # wrong passphrases or key files its log counts
    has_key_file: bool
    has_passphrase: bool = True  # False for a store that only its key file opens

    def held(self) -> str:
        """What it holds, in words (HELD, or UNREADABLE for files that no longer open as a store)."""
        if self.counts is None:
            return UNREADABLE
        return HELD.format(**self.counts, backups=self.backups, opens=OPENS[self.has_passphrase, self.has_key_file])

    def details(self) -> dict[str, str | int | None]:
        """What the new store's audit entries hold of it (no name, nothing sealed, no folder)."""
        counts = self.counts if self.counts is not None else dict.fromkeys(COUNTED)
        return {"old_store": self.store_id, **counts, "backups": self.backups, "failed_unlocks": self.failed_unlocks}


@dataclass(frozen=True)
class StartedOver:
    store: FamilyStore  # the new store, empty, unlocked
    old: OldStore
    audit_seq: int


def _read_old(store: FamilyStore, folder: Path, when: datetime) -> OldStore:
    counts = store.counts()
    entries = store.audit_entries()
    failed = sum(entry.details.get("attempts", 1) for entry in entries if entry.event == "unlock_failed"
                 and type(entry.details.get("attempts", 1)) is int)
    return OldStore(folder, when, store.store_id, {kind: counts[kind] for kind in COUNTED},
                    sum(entry.event == "backup" for entry in entries), failed, store.has_key_file, store.has_passphrase)


def key_file_not_said_lost(*, has_passphrase: bool) -> str:
    """Why starting over is refused for a store a key file opens, not said lost: KEY_FILE_NOT_SAID_LOST, or
    KEY_FILE_ONLY_NOT_SAID_LOST for a store with no passphrase."""
    return KEY_FILE_NOT_SAID_LOST if has_passphrase else KEY_FILE_ONLY_NOT_SAID_LOST


def _opens(store: FamilyStore, passphrase: str) -> bool:
    try:
        store.unlock(passphrase)
    except WrongPassphraseError:
        return False
    store.lock()
    return True


def current(data_dir: str | os.PathLike[str] | None) -> OldStore:
    """What the store in `data_dir` holds, read without its key, for the question that confirms starting over."""
    data_dir = resolve_data_dir(data_dir)
    with FamilyStore.open(data_dir) as store:
        return _read_old(store, data_dir, datetime.fromtimestamp(store.now(), UTC))


def start_over(data_dir: str | os.PathLike[str] | None, new_passphrase: str, *, passphrase: str | None = None,
               key_file: str | os.PathLike[str] | None = None, key_file_lost: bool = False,
               scrypt: ScryptParams | None = None) -> StartedOver:
    """Set the store in `data_dir` aside, unopened, and make a new empty store there that `new_passphrase` unlocks;
    its first entries record the old store (SET_ASIDE_EVENT). The caller has had the user confirm it. Refused,
    with nothing moved: a new passphrase too short; the `passphrase` or `key_file` given as the store's (a front
    end's configured one) opens it (PASSPHRASE_OPENS, KEY_FILE_OPENS: a wrong one is logged as any); a key
    file can open it and `key_file_lost` is not set (KEY_FILE_NOT_SAID_LOST, KEY_FILE_ONLY_NOT_SAID_LOST); a store that does not open as a store
    (damaged, written by a newer Unveil: their own errors say what to do) or that another program has open."""
    check_new_passphrase(new_passphrase)
    data_dir = resolve_data_dir(data_dir)
    with FamilyStore.open(data_dir) as old:
        if key_file is not None and old.key_file_unlocks(key_file):
            raise StoreError(KEY_FILE_OPENS.format(key_file=key_file))
        if passphrase is not None and _opens(old, passphrase):
            raise StoreError(PASSPHRASE_OPENS)
        if old.has_key_file and not key_file_lost:
            raise StoreError(key_file_not_said_lost(has_passphrase=old.has_passphrase))
        now = old.now()
        record = _read_old(old, data_dir, datetime.fromtimestamp(now, UTC))
    # Closed first: its own open connection would count as another program's (StoreInUseError).
    folder = set_aside_store(data_dir, now)
    record = replace(record, folder=folder, set_aside_at=set_aside_at(folder))
    try:
        store = FamilyStore.create(data_dir, passphrase=new_passphrase, scrypt=scrypt)
    except StoreError as exc:
        put_back_set_aside(folder, data_dir)
        raise StoreError(NOT_STARTED_OVER.format(detail=exc)) from None
    try:
        seq = audit_log.record(store, SET_ASIDE_EVENT, details=record.details())
    except BaseException:
        store.close()
        raise
    return StartedOver(store, record, seq)


def set_aside(data_dir: str | os.PathLike[str] | None) -> list[OldStore]:
    """The stores set aside in `data_dir` that are still there, oldest first, read without their key. One whose
    files no longer open as a store (damaged since) is listed too, with nothing known of it, so that it can still be
    destroyed and is never forgotten."""
    found = []
    for folder in set_aside_folders(resolve_data_dir(data_dir)):
        try:
            with FamilyStore.open(folder) as old:
                found.append(_read_old(old, folder, set_aside_at(folder)))
        except StoreError:
            found.append(OldStore(folder, set_aside_at(folder), None, None, None, None, False))
    return found


def destroy_old(store: FamilyStore, folder: str | os.PathLike[str]) -> int:
    """Delete the store set aside in `folder` (fer_core.store.destroy_set_aside: keys.db first, every file
    overwritten), recording DESTROYED_EVENT in the unlocked `store`, whose data folder must hold it; the caller has
    had the user confirm it. Returns the entry's sequence number. The entry and the deletion go together: when the
    files cannot be deleted the entry is not written."""
    folder = Path(folder).absolute()
    old = next((found for found in set_aside(store.data_dir) if found.folder == folder), None)
    if old is None:
        raise StoreError(NOT_SET_ASIDE.format(folder=folder, data_dir=store.data_dir))
    with store.transaction():
        seq = audit_log.record(store, DESTROYED_EVENT, details=old.details())
        destroy_set_aside(folder)
    return seq
