"""The Family page's "Change the passphrase", without Streamlit: what `unveil family passwd` (and `--rotate`) does,
for a household that only uses the app (someone who knew the passphrase moved out, or it may have leaked).

The unlocked session is no proof: a tab left open is unlocked for whoever sits at it. As `passwd`, which unlocks the
store before it asks for the new passphrase, the current passphrase (or, for a store a key file opens, the key
file's path, where the unlock form offers it) is asked again and tried on a store of its own (FamilyStore.open): a
wrong one is refused and counted in the audit log (`unlock_failed`) as at unlock, and nothing changes. The change is
then made on the session's store by the store itself (FamilyStore.change_passphrase, rotate_master_key), which
audit-logs it (`key_change`) as it does for `passwd`; rotating keeps the session unlocked under the new master key.

The new passphrase is typed twice and refused, before the current one is tried, when the store would refuse it
(check_new_passphrase: its own WeakPassphraseError). No secret is kept: the page's form clears its fields when it is
submitted, and nothing here logs or returns one.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

from fer_core import UnveilError
from fer_core.store import (
    WRONG_PASSPHRASE_LOGGED,
    FamilyStore,
    KeyFileError,
    WrongPassphraseError,
    check_new_passphrase,
)

TITLE = "Change the passphrase"
HOW = ("For a passphrase that someone who moved out knows, or that may have leaked, or just a new one. The current "
       "passphrase is asked again, whoever unlocked this session. Only the master key is re-wrapped: nothing else is "
       "re-encrypted, and backups made before keep opening with the passphrase of their day.")
HOW_KEY_FILE_ONLY = ("This store has no passphrase: only its key file opens it. A passphrase set here opens it too, "
                     "beside the key file, and is asked for on the unlock form. Give the key file's path to prove it "
                     "is yours.")
CURRENT = "Current passphrase"
CURRENT_KEY_FILE = "Or the key file's full path on this computer, instead of the current passphrase"
KEY_FILE_PROOF = "The key file's full path on this computer"
NEW = "New passphrase"
AGAIN = "Repeat the new passphrase"
ROTATE = "Also replace the master key (someone who knew the passphrase moved out, or it may have leaked)"
ROTATE_HELP = ("Every data key is re-wrapped under a new master key, so a copy of the store made before now opens "
               "nothing of today's data with the old passphrase. Takes a little longer.")
# Rotating drops the key-file slot (FamilyStore.rotate_master_key): said before, and again once done.
ROTATE_DROPS_KEY_FILE = ("Replacing the master key also stops this store's key file from unlocking it: only the new "
                         "passphrase will. `unveil family passwd --add-key-file FILE` in a terminal adds a key file "
                         "again.")
BUTTON = "Change the passphrase"
# The keys of the form's typed fields: dropped from the session's widget state once read (FIELD_KEYS).
CURRENT_KEY, KEY_FILE_KEY, NEW_KEY, AGAIN_KEY = ("change_passphrase_current", "change_passphrase_key_file",
                                                 "change_passphrase_new", "change_passphrase_again")
FIELD_KEYS = (CURRENT_KEY, KEY_FILE_KEY, NEW_KEY, AGAIN_KEY)

# After "Changing the passphrase: " (the page's friendly_errors).
DIFFER = "the two new passphrases differ; nothing was changed"
NO_PROOF = "give the current passphrase: changing it needs it again, whoever unlocked this session; nothing was changed"
NO_KEY_FILE_PROOF = "give the key file's full path: changing the passphrase needs it; nothing was changed"
BOTH_GIVEN = "give the current passphrase or the key file's path, not both; nothing was tried or changed"
# The store's WrongPassphraseError says "the store stays locked", which this session's is not.
WRONG_CURRENT = "that is not the current passphrase; nothing was changed, and the failed attempt was logged"
WRONG_CURRENT_UNLOGGED = "that is not the current passphrase; nothing was changed"
# The store's KeyFileError says "it stays locked" too.
WRONG_KEY_FILE = "the key file {path} does not open this store; nothing was changed"

CHANGED = "The passphrase was changed: unlock with the new one from now on. The audit log records it."
ROTATED = ("The passphrase was changed and the master key replaced: a copy of the store made before now opens nothing "
           "of today's data, with either passphrase. Backups made before still open with the old passphrase, as they "
           "were then: delete them, or keep them where the person who knew it cannot reach them. The audit log "
           "records it.")
# rotate_master_key returned False: the old slot's bytes are still in the files, until the store is next opened.
ROTATION_SCRUB_PENDING = (" The old key slot and wrapped keys are still in the store's files because another program "
                          "was reading them or the disk is full; they are wiped the next time the store is opened.")
KEY_FILE_DROPPED = " The key file no longer unlocks the store (`unveil family passwd --add-key-file FILE` adds one)."


class NewPassphraseError(UnveilError):
    """The form's input cannot change the passphrase (the new ones differ, no proof given, the current one wrong);
    nothing was changed."""


def change(store: FamilyStore, *, current: str, key_file: Path | None, new: str, again: str, rotate: bool) -> str:
    """Change the passphrase of the session's unlocked `store` to `new` (typed twice: `again`), replacing the master
    key too with `rotate`, once `current` (the current passphrase) or `key_file` (a key file that opens the store)
    proves it; returns what to tell the user (CHANGED or ROTATED, with the notes that apply). NewPassphraseError,
    the store's WeakPassphraseError, or its KeyFileError for a file that is no usable key file, with nothing
    changed."""
    if new != again:
        raise NewPassphraseError(DIFFER)
    check_new_passphrase(new)
    if current and key_file is not None:
        raise NewPassphraseError(BOTH_GIVEN)
    if not current and key_file is None:
        raise NewPassphraseError(NO_PROOF if store.has_passphrase else NO_KEY_FILE_PROOF)
    _prove(store.data_dir, current, key_file)
    if not rotate:
        store.change_passphrase(new)
        return CHANGED
    had_key_file = store.has_key_file
    scrubbed = store.rotate_master_key(new)
    return (ROTATED + ("" if scrubbed else ROTATION_SCRUB_PENDING)
            + (KEY_FILE_DROPPED if had_key_file else ""))


def _prove(data_dir: Path, current: str, key_file: Path | None) -> None:
    """Unlock the store in `data_dir` with the proof given, on a store object of its own, closed again: a wrong
    secret is logged by the store as a failed unlock, as `unveil family passwd` logs it."""
    with FamilyStore.open(data_dir) as proof:
        if key_file is not None:
            # A file that is missing, readable by others or no key file is refused by the store, in its own words.
            if not proof.key_file_unlocks(key_file):
                with contextlib.suppress(KeyFileError):
                    proof.unlock(key_file=key_file)  # counted as a failed unlock, as passwd --key-file counts it
                raise NewPassphraseError(WRONG_KEY_FILE.format(path=key_file))
            proof.unlock(key_file=key_file)
            return
        try:
            proof.unlock(current)
        except WrongPassphraseError as exc:
            raise NewPassphraseError(WRONG_CURRENT if str(exc) == WRONG_PASSPHRASE_LOGGED
                                     else WRONG_CURRENT_UNLOGGED) from None
