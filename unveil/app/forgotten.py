"""The Family page for a household that forgot its passphrase (or lost the key file of a store that has no passphrase):
what a wrong one means, "Forgot the passphrase?" ("Lost the key file?") with the form that starts over
(governance.starting_over: the old store set aside unopened, a new empty one made), and, until they are destroyed,
the stores set aside in the data folder, each with the form that destroys it.

Nothing here follows from a wrong passphrase: however often one is tried, nothing is moved or deleted, and for a store
that a key file also opens, the page points to the key file first. Starting over takes a tick for each secret that
could open the store, said lost, and a typed phrase; destroying a store set aside, a tick, and the new store unlocked
(its audit log records it).
"""
from __future__ import annotations

import streamlit as st

from fer_core.store import MIN_PASSPHRASE_CHARS, default_data_dir
from governance import starting_over
from unveil.app import session as app_session
from unveil.app import widgets as _ui
from unveil.app.text import shown

# Under the unlock form after a wrong passphrase (the store's own error above it says it stays locked).
WRONG_PASSPHRASE_HINT = ("That passphrase did not open the store ({tries} in this session). Nothing is deleted or "
                         "changed however often one is tried. If it is forgotten, see \"Forgot the passphrase?\" below.")
# The same, for a store that a key file also opens: the key file, not starting over ({how}: unveil.app.unlocking's
# KEY_FILE_HERE or KEY_FILE_IN_A_TERMINAL).
WRONG_PASSPHRASE_KEY_FILE_HINT = ("That passphrase did not open the store ({tries} in this session). Nothing is deleted "
                                  "or changed however often one is tried. If it is forgotten, this store's key file "
                                  "opens it: {how}")
FORGOT_HEADING = "Forgot the passphrase?"
# Before starting over a store that a key file also opens.
KEY_FILE_FIRST = "Before starting over: this store's key file opens it without the passphrase, so {how}"
# A store made with a key file only (`unveil family init --key-file F --no-passphrase`) has no passphrase to forget.
LOST_KEY_FILE_HEADING = "Lost the key file?"
KEY_FILE_ONLY_LOST = ("No one can open this store without its key file: it has no passphrase, and there is no recovery "
                      "key and no way around it, by design (a way in that Unveil could use, anyone holding the files "
                      "could use too). Look for the key file and its copies (another folder or computer, a USB stick, "
                      "a backup kept apart from the store's). A backup of the store opens only with the key file of "
                      "its day. If it is gone for good, start over: the old store is set aside unopened in the data "
                      "folder, a new empty store is made, with a passphrase, and the members are enrolled again with "
                      "their consent. Destroy the old store once you are sure.")
KEY_FILE_ONLY_SURE = "The key file is lost: no copy of it is left anywhere"
# What starting over does to this store, with what its files say it holds (governance.starting_over.HELD).
START_OVER_WHAT = ("Starting over sets this store aside, unopened and unchanged, in a folder of its own in the data "
                   "folder, and makes a new, empty store here. What it holds ({held}) stays unreadable without its "
                   "passphrase or key file; the members must be enrolled again, with their consent. Nothing is "
                   "deleted: the page keeps saying where the old store is until you destroy it.")
FORGOT_SURE = "The passphrase is forgotten: it is not written down anywhere, and no one else knows it"
KEY_FILE_LOST = "This store can also be opened with a key file, and that is lost too"
START_OVER_PHRASE = "start over"
START_OVER_TYPE = f'Type "{START_OVER_PHRASE}" to confirm'
START_OVER_BUTTON = "Set this store aside and start over"
START_OVER_UNCONFIRMED = ("Nothing was set aside: tick what is true above and type \"" + START_OVER_PHRASE
                          + "\" to confirm.")
START_OVER_DIFFER = "The two passphrases differ; nothing was set aside."
START_OVER_DONE = ("The old store was set aside, unopened, in {folder}, and a new, empty store made and unlocked. "
                   "Its audit log records this.")
DESTROY_SURE = "I am sure neither its passphrase nor its key file will turn up"
DESTROY_BUTTON = "Destroy the old store"
DESTROY_UNCONFIRMED = "Nothing was deleted: tick the box above to confirm."
DESTROYED = "The store set aside in {folder} was destroyed; the audit log records it."
_TRIES = "unveil_wrong_passphrases"  # wrong passphrases typed in this session


def count_wrong_passphrase() -> None:
    """Count a wrong passphrase typed on the unlock form, for wrong_passphrase_hint."""
    st.session_state[_TRIES] = st.session_state.get(_TRIES, 0) + 1


def wrong_passphrase_hint(key_file_how: str | None) -> None:
    """How many passphrases typed in this session were wrong, and, for a store a key file also opens (`key_file_how`:
    how it is used from the page), that the key file opens it."""
    if tries := st.session_state.get(_TRIES):
        st.info(WRONG_PASSPHRASE_HINT.format(tries=tries) if key_file_how is None
                else WRONG_PASSPHRASE_KEY_FILE_HINT.format(tries=tries, how=key_file_how))


def start_over_form(flash: str, *, has_passphrase: bool, key_file_how: str | None) -> None:
    """FORGOT_HEADING (LOST_KEY_FILE_HEADING for a store with no passphrase): what can still open the store (for one
    a key file also opens, KEY_FILE_FIRST with `key_file_how`), and the form that starts over once the user says the
    passphrase and a key file that can open it are lost and types START_OVER_PHRASE. What was done is left in
    session state under `flash`, for the page to say after the rerun."""
    with st.expander(FORGOT_HEADING if has_passphrase else LOST_KEY_FILE_HEADING):
        st.write(starting_over.FORGOTTEN if has_passphrase else KEY_FILE_ONLY_LOST)
        if has_passphrase and key_file_how is not None:
            st.info(KEY_FILE_FIRST.format(how=key_file_how))
        with _ui.friendly_errors("Reading the store"):
            old = starting_over.current(default_data_dir())
            st.warning(shown(START_OVER_WHAT.format(held=old.held())))
            key = app_session.widget_key(st.session_state, "start_over")
            with st.form(key):
                if has_passphrase:
                    sure = st.checkbox(FORGOT_SURE, key=f"{key}_sure")
                    lost = st.checkbox(KEY_FILE_LOST, key=f"{key}_lost") if old.has_key_file else False
                else:  # nothing but the key file to lose
                    sure = lost = st.checkbox(KEY_FILE_ONLY_SURE, key=f"{key}_lost")
                typed = st.text_input(START_OVER_TYPE, key=f"{key}_typed")
                first = st.text_input("New passphrase", type="password", key=f"{key}_new",
                                      help=f"At least {MIN_PASSPHRASE_CHARS} characters. It cannot be recovered if lost.")
                second = st.text_input("Repeat the new passphrase", type="password", key=f"{key}_again")
                if st.form_submit_button(START_OVER_BUTTON):
                    _start_over(sure and (lost or not old.has_key_file) and typed.strip().lower() == START_OVER_PHRASE,
                                first, second, lost, flash)


def _start_over(confirmed: bool, first: str, second: str, key_file_lost: bool, flash: str) -> None:
    if not confirmed:
        st.error(START_OVER_UNCONFIRMED)
        return
    if first != second:
        st.error(START_OVER_DIFFER)
        return
    with _ui.friendly_errors("Starting over"), st.spinner("Setting the old store aside..."):
        done = _ui.start_over(first, key_file_lost=key_file_lost)
        app_session.renew(st.session_state, "start_over")
        st.session_state.pop(_TRIES, None)
        st.session_state[flash] = START_OVER_DONE.format(folder=done.old.folder)
        st.rerun()


def set_aside_stores(*, destroyable: bool, flash: str = "") -> None:
    """starting_over.SET_ASIDE_REMINDER for each store set aside in the data folder; with `destroyable` (the store
    unlocked) the form that destroys it, which leaves what it did under `flash` as start_over_form does."""
    for old in starting_over.set_aside(default_data_dir()):
        st.warning(shown(starting_over.SET_ASIDE_REMINDER.format(day=old.set_aside_at.date(), folder=old.folder,
                                                                 held=old.held()) + "."))
        if not destroyable:
            continue
        key = app_session.widget_key(st.session_state, "destroy_old", old.folder.name)
        with st.form(key):
            sure = st.checkbox(DESTROY_SURE, key=f"{key}_sure")
            if st.form_submit_button(DESTROY_BUTTON):
                if not sure:
                    st.error(DESTROY_UNCONFIRMED)
                    continue
                with _ui.friendly_errors("Destroying the old store"):
                    starting_over.destroy_old(_ui.store(), old.folder)
                    app_session.renew(st.session_state, "destroy_old")
                    st.session_state[flash] = DESTROYED.format(folder=old.folder)
                    st.rerun()
