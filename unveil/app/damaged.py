"""The Family page for a store that fails its checks, and for restoring a backup (governance.restoring), for a household
that only uses the app: before, the page refused a damaged store at unlock and said to run `unveil family check`, then
to restore the damaged file from a backup, which meant moving files by hand in a terminal.

Damage never triggers a destructive action. Once this session met a damaged store (unveil.app.unlocking.DAMAGE_MET),
the page lists what the checks found and says what to do; the two steps it offers change nothing of a store: setting
it aside, unchanged, in a folder of its own in the data folder (listed with the stores set aside by starting over,
until it is destroyed), then restoring a backup into the data folder, or making a new, empty store. A backup's folder
is given by its full path on this computer, as the one a backup is written into (unveil.app.backups), and only read.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from fer_core.store import default_data_dir
from governance import restoring
from unveil.app import peer, unlocking
from unveil.app import widgets as _ui
from unveil.app.text import shown
from unveil.app.typed_paths import full_path

FOUND = "What the store's checks found ({count}):"
WHAT_TO_DO = ("The store failed its checks, so the app does not open it; nothing in it was deleted or changed. To go on: "
              "1. set it aside below (give its passphrase or key file, so that it is checked once more): its files are "
              "moved, unchanged, into a folder of their own in the data folder and kept there, and this page says "
              "where until you destroy it; 2. then, with no store left here, restore your latest backup from its folder "
              "(\"Restore from a backup\"), or create a new, empty store and enrol the members again with their "
              "consent.")
# Said instead of "Forgot the passphrase?" (unveil.app.forgotten), which the page leaves out once damage is met: its
# passphrase or key file opened the store for the checks, or its files open as no store at all, so nothing is
# forgotten; starting over would set it aside as below, but under a forgotten passphrase (its audit entry, the
# household's next steps), and leave a new store where a backup is to be restored (restoring.STORE_THERE).
NOT_FORGOTTEN = ("\"Forgot the passphrase?\" is not offered for a damaged store: what is wrong is damage, not a "
                 "forgotten passphrase. Setting the store aside below keeps it, unchanged, as starting over would, and "
                 "then leaves the choice of a backup or a new, empty store.")
# For a restore that has not finished (unlocking.RESTORE_MET): the store is not damaged, and may be whole in a moment.
RESTORE_STOPPED = ("A backup's restore into this data folder has not finished: its unveil.db is in place, its keys.db not "
                   "yet, so the app does not open it; nothing in it was deleted or changed. If a restore is running now "
                   "(another tab, a terminal), wait and reload this page. If none is, it was stopped: 1. set the store "
                   "aside below: its files are moved, unchanged, into a folder of their own in the data folder; 2. then "
                   "restore the backup again (\"Restore from a backup\").")
SET_ASIDE_SURE = "Set the damaged store aside: nothing in it is deleted"
SET_ASIDE_BUTTON = "Set the damaged store aside"
SET_ASIDE_UNCONFIRMED = "Nothing was set aside: tick the box above to confirm."
SET_ASIDE_DONE = ("The damaged store was set aside, unchanged, in {folder}. Now restore your latest backup (\"Restore "
                  "from a backup\" below), or create a new, empty store.")
RESTORE_TITLE = "Restore from a backup"
RESTORE_HOW = ("A backup written by \"Back up the store\" or `unveil family backup`: give its folder's full path on this "
               "computer (on a USB disk, say) and the passphrase, or the key file, that opened the store on the day it "
               "was made. The copy is checked before it is kept, and the backup itself is only read. It restores only "
               "where there is no store: set a damaged one aside first.")
RESTORE_FOLDER = "The backup's folder: its full path on this computer"
RESTORE_BUTTON = "Restore the backup"
# After "Restoring the backup: " (the page's friendly_errors).
NO_FOLDER = "give the backup's folder: its full path on this computer; nothing was restored"
NOT_A_FULL_PATH = ("{path} is not a full path: give the folder's path from the top of this computer's folders "
                   "(starting with / or ~); nothing was restored")
NO_SECRET = "Give the passphrase, or the key file's path, of the backup's day: nothing was restored."
RESTORED = ("The backup in {folder} was restored, checked and unlocked: {people} member(s), {embeddings} face print(s), "
            "{thumbnails} thumbnail(s), {consents} consent record(s) and {analyses} kept result(s). Its audit log "
            "records it (counts only).")
_SET_ASIDE_FIELDS = ("set_aside_damaged_passphrase", "set_aside_damaged_key_file")
_RESTORE_FIELDS = ("restore_passphrase", "restore_key_file")


def known() -> bool:
    """Whether this session met a damaged store that has not been set aside or replaced by an open one since."""
    return bool(st.session_state.get(unlocking.DAMAGE_MET))


def what_to_do(ways: _ui.UnlockWays, flash: str) -> None:
    """Once this session met a damaged store: what its checks found, WHAT_TO_DO, NOT_FORGOTTEN, and the form that
    sets it aside (with the passphrase, or the key file's path where the unlock form offers it, for the checks). What
    was done is left in session state under `flash`, for the page to say after the rerun."""
    problems = st.session_state.get(unlocking.DAMAGE_MET)
    if not problems:
        return
    if st.session_state.get(unlocking.RESTORE_MET):
        st.warning(RESTORE_STOPPED)
    else:
        st.warning(WHAT_TO_DO)
        st.caption(NOT_FORGOTTEN)
    with st.expander(FOUND.format(count=len(problems))):
        st.markdown("\n".join(f"- {shown(problem)}" for problem in problems))
    offered = ways.key_file and peer.tells_whose_browser()
    with st.form("set_aside_damaged", clear_on_submit=True):
        passphrase = st.text_input("Passphrase", type="password", key=_SET_ASIDE_FIELDS[0]) if ways.passphrase else ""
        typed = st.text_input(unlocking.KEY_FILE_LABEL, key=_SET_ASIDE_FIELDS[1],
                              help=unlocking.KEY_FILE_HELP) if offered else ""
        sure = st.checkbox(SET_ASIDE_SURE, key="set_aside_damaged_sure")
        if st.form_submit_button(SET_ASIDE_BUTTON):
            for field in _SET_ASIDE_FIELDS:  # dropped from the session as soon as read, right or wrong
                st.session_state.pop(field, None)
            if not sure:
                st.error(SET_ASIDE_UNCONFIRMED)
                return
            with _ui.friendly_errors("Setting the damaged store aside"):
                key_file = unlocking.key_file_path(typed) if typed.strip() else None
                old = restoring.set_aside_damaged(default_data_dir(), key_file=key_file,
                                                  passphrase=passphrase or None if key_file is None else None)
                unlocking.forget_damage()
                st.session_state[flash] = SET_ASIDE_DONE.format(folder=old.folder)
                st.rerun()


def restore_form(flash: str) -> None:
    """RESTORE_TITLE, for a data folder with no store: the backup's folder and the passphrase, or the key file's path
    where the unlock form offers one, of its day. The restored store is this session's, unlocked; what was restored is
    left under `flash`, as what_to_do leaves what it did."""
    offered = peer.tells_whose_browser()
    with st.expander(RESTORE_TITLE):
        st.caption(RESTORE_HOW)
        with st.form("restore_backup", clear_on_submit=True):
            folder = st.text_input(RESTORE_FOLDER, key="restore_folder")
            passphrase = st.text_input("Passphrase of the backup's day", type="password", key=_RESTORE_FIELDS[0])
            typed = st.text_input(unlocking.KEY_FILE_LABEL, key=_RESTORE_FIELDS[1],
                                  help=unlocking.KEY_FILE_HELP) if offered else ""
            if st.form_submit_button(RESTORE_BUTTON):
                for field in _RESTORE_FIELDS:
                    st.session_state.pop(field, None)
                if bool(passphrase) == bool(typed.strip()):
                    st.error(unlocking.BOTH_GIVEN if passphrase else NO_SECRET)
                    return
                with _ui.friendly_errors("Restoring the backup"), st.spinner("Copying and checking the backup..."):
                    path = backup_folder(folder)
                    key_file = unlocking.key_file_path(typed) if typed.strip() else None
                    done = _ui.restore(path, passphrase=passphrase or None, key_file=key_file)
                    st.session_state[flash] = RESTORED.format(folder=path, **done.counts)
                    st.rerun()


def backup_folder(typed: str) -> Path:
    """The backup's folder as typed (typed_paths.full_path: NO_FOLDER when empty, NOT_A_FULL_PATH when relative)."""
    return full_path(typed, empty=NO_FOLDER, not_full=NOT_A_FULL_PATH)
