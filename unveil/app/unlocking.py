"""The Family page's unlock form: the passphrase, and the key file of a store that has one. `unveil family init
--key-file F --no-passphrase` makes a store that only the key file opens (for `unveil serve` and `unveil watch` left
running), `unveil family passwd --add-key-file F` adds one beside the passphrase.

The key file is given by its path on this computer, not uploaded:
- Its 32 bytes stay where they are. fer_core.store reads them there, as for the command line's --key-file, refusing a
  file that other users can read (an upload carries no mode to check), and holds them only while it unwraps the master
  key; the app holds the path alone. An upload would pass them through the browser into Streamlit's memory (its
  UploadedFileManager: immutable bytes, which nothing can overwrite, kept until released or the session ends), and
  `unveil app` on a Raspberry Pi, opened through an SSH tunnel, would need a copy of the key on the browser's computer.
- A typed path has the app read a file, as the user who started it, for whoever is at the browser. The router serves
  that user's browser only (unveil.app.peer), and the server answers only requests addressed to localhost
  (launch.SETTINGS "server.allowedHosts": no page of another site drives a session), so the field reads nothing the
  person typing could not read. Where the machine cannot tell whose browser it is (no /proc/net/tcp: macOS, Windows),
  every session is served, and the field would let another account's browser open the household's store with a key
  file it cannot read itself: it is not offered there (KEY_FILE_NOT_HERE, KEY_FILE_ONLY_NOT_HERE).

A key file that does not open the store is refused and counted in the store's audit log, as a wrong passphrase is
(fer_core.store: `unlock_failed`, method key_file); one that is missing, readable by others or not a key file is
refused before it is tried. The path is logged nowhere; the error shown names it, to the user who typed it.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import streamlit as st

from fer_core.store import StoreCorruptError, StoreDamagedError, StoreRestoringError, WrongPassphraseError
from unveil.app import forgotten, new_passphrase, peer
from unveil.app import widgets as _ui
from unveil.app.typed_paths import full_path

KEY_FILE_LABEL = "Key file: its full path on this computer"
KEY_FILE_HELP = ("The file that `unveil family init --key-file` or `unveil family passwd --add-key-file` made, readable "
                 "by you alone (mode 0600). It is read where it is, only to unlock: not uploaded, copied or kept.")
ALSO_KEY_FILE = "This store also unlocks with its key file: give the key file's path instead of the passphrase."
ONLY_KEY_FILE = "This store has no passphrase: only its key file unlocks it. Give the key file's path."
# Where the app cannot tell whose browser it serves (unveil.app.peer.tells_whose_browser), for a store that has a key file.
KEY_FILE_NOT_HERE = ("This store also unlocks with its key file, but not in this app on this computer: the app cannot "
                     "tell whose browser it serves here (it can on Linux), so it reads no file by a path typed in it, "
                     "which would let another account's browser open your store with your key file. Unlock it with "
                     "the passphrase.")
KEY_FILE_ONLY_NOT_HERE = ("This store has no passphrase: only its key file unlocks it, and this app reads no key file on "
                          "this computer: it cannot tell whose browser it serves here (it can on Linux), and a path typed "
                          "in it would let another account's browser open your store with your key file. Give the store "
                          "a passphrase with the key file, `unveil family passwd --key-file FILE` in a terminal, and "
                          "unlock it here with that.")
# What the Family page says after a wrong passphrase, and before starting over, of a store that has a key file:
# where the field is offered, and where it is not.
KEY_FILE_HERE = ("give its path in the unlock form above instead of the passphrase; then \"" + new_passphrase.TITLE
                 + "\" on this page sets a new passphrase, with the key file's path as proof.")
KEY_FILE_IN_A_TERMINAL = ("`unveil family passwd --key-file FILE` in a terminal sets a new passphrase with it, to unlock "
                          "here with.")
BOTH_GIVEN = "Give the passphrase or the key file's path, not both: nothing was tried."
# After "Unlocking the store: " (widgets.friendly_errors).
NO_KEY_FILE_GIVEN = "give the key file's full path on this computer; nothing was tried"
NOT_A_FULL_PATH = ("{path} is not a full path: give the key file's path from the top of this computer's folders "
                   "(starting with / or ~); nothing was tried")


# What the checks found when this session last met a damaged store (at unlock, or reading what unlocks it), for
# unveil.app.damaged to list with what to do; dropped when the store is set aside or the session unlocks one.
DAMAGE_MET = "unveil_damage_met"
# Set beside DAMAGE_MET when what was met is a restore that has not finished (StoreRestoringError): unveil.db placed,
# keys.db not. Under way, the next try opens the store; stopped (a crash, a power cut), only setting the store aside
# and restoring again goes on, and a household that only uses the app needs that form here, not a terminal.
RESTORE_MET = "unveil_restore_met"


@contextlib.contextmanager
def noting_damage() -> Iterator[None]:
    """Keep what a StoreDamagedError (every problem its checks found), a StoreCorruptError (files that do not open as
    a store) or a StoreRestoringError (a restore not finished) raised inside says, under DAMAGE_MET (and RESTORE_MET
    for the last), and let it go on to the page's friendly_errors."""
    try:
        yield
    except StoreDamagedError as exc:
        st.session_state[DAMAGE_MET] = exc.problems
        raise
    except StoreCorruptError as exc:
        st.session_state[DAMAGE_MET] = [str(exc)]
        raise
    except StoreRestoringError as exc:
        st.session_state[DAMAGE_MET] = [str(exc)]
        st.session_state[RESTORE_MET] = True
        raise


def forget_damage() -> None:
    """Drop what noting_damage kept: the store it was met in is set aside, or another store is open."""
    st.session_state.pop(DAMAGE_MET, None)
    st.session_state.pop(RESTORE_MET, None)


def key_file_path(typed: str) -> Path:
    """The key file's path as typed (typed_paths.full_path: NO_KEY_FILE_GIVEN when empty, NOT_A_FULL_PATH when
    relative)."""
    return full_path(typed, empty=NO_KEY_FILE_GIVEN, not_full=NOT_A_FULL_PATH)


def key_file_how(ways: _ui.UnlockWays) -> str | None:
    """How the key file of this store is used from this page (KEY_FILE_HERE, KEY_FILE_IN_A_TERMINAL), or None for a
    store that has none."""
    if not ways.key_file:
        return None
    return KEY_FILE_HERE if peer.tells_whose_browser() else KEY_FILE_IN_A_TERMINAL


def unlock_form(ways: _ui.UnlockWays) -> None:
    """The form that unlocks the data folder's store with what `ways` says opens it: a passphrase field for a store
    that has a passphrase, a key file's path for one that has a key file (where it is offered: the module's
    docstring). A wrong passphrase is counted for forgotten.wrong_passphrase_hint."""
    offered = ways.key_file and peer.tells_whose_browser()
    if ways.key_file and not offered:
        st.warning(KEY_FILE_NOT_HERE if ways.passphrase else KEY_FILE_ONLY_NOT_HERE)
    elif ways.key_file:
        st.caption(ALSO_KEY_FILE if ways.passphrase else ONLY_KEY_FILE)
    if not ways.passphrase and not offered:
        return
    with st.form("unlock_store"):
        passphrase = st.text_input("Passphrase", type="password", key="unlock_passphrase") if ways.passphrase else ""
        typed = st.text_input(KEY_FILE_LABEL, key="unlock_key_file", help=KEY_FILE_HELP) if offered else ""
        if st.form_submit_button("Unlock", type="primary"):
            _unlock(passphrase, typed, with_key_file=bool(typed.strip()) or not ways.passphrase)


def _unlock(passphrase: str, typed: str, *, with_key_file: bool) -> None:
    if with_key_file and passphrase:
        st.error(BOTH_GIVEN)
        return
    with _ui.friendly_errors("Unlocking the store"), noting_damage():
        if with_key_file:
            path = key_file_path(typed)
            with st.spinner("Checking the key file..."):
                _ui.unlock_store(key_file=path)
        else:
            with st.spinner("Checking the passphrase..."):
                try:
                    _ui.unlock_store(passphrase)
                except WrongPassphraseError:
                    forgotten.count_wrong_passphrase()
                    raise
        forget_damage()
        st.rerun()
