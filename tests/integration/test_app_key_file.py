"""The Family page unlocks a store with its key file, given by its path on this computer: a store made with
`unveil family init --key-file F --no-passphrase` has nothing else, and the page asked it for a passphrase, answering
every try with "this store has no passphrase: unlock it with its key file" and offering to start over. A wrong key
file is refused and counted in the audit log as a wrong passphrase is; where the app cannot tell whose browser it
serves, it reads no file by a typed path."""
from __future__ import annotations

import shutil

from streamlit.testing.v1 import AppTest

from fer_core.store import FamilyStore, create_key_file, set_aside_folders
from governance import starting_over
from tests.support.app import FAMILY_PASSPHRASE, copy_with_key_file, logged
from tests.support.paths import REPO
from unveil.app import forgotten, peer, unlocking
from unveil.app.text import shown

TIMEOUT = 120
UNLOCK = "FormSubmitter:unlock_store-Unlock"
UNLOCKED = "Family store unlocked"


def _family() -> AppTest:
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).switch_page(
        "unveil/app/pages/family.py").run()


def _try(at: AppTest, *, key_file: str = "", passphrase: str | None = None) -> AppTest:
    if passphrase is not None:
        at.text_input(key="unlock_passphrase").input(passphrase)
    at.text_input(key="unlock_key_file").input(key_file)
    return at.button(key=UNLOCK).click().run()



def test_a_store_only_a_key_file_opens_unlocks_with_its_path_and_a_wrong_one_is_refused_and_logged(
        app_env, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    key = create_key_file(tmp_path / "unveil.key")
    FamilyStore.create(app_env, key_file=key).close()
    at = _family()
    assert not at.exception
    assert [t.label for t in at.text_input][0] == unlocking.KEY_FILE_LABEL  # and no passphrase field
    assert "Passphrase" not in [t.label for t in at.text_input]
    assert unlocking.ONLY_KEY_FILE in [c.value for c in at.caption]
    # Nothing to forget but the key file: not "Forgot the passphrase?", nor a tick that a passphrase is forgotten.
    assert [e.label for e in at.expander] == [forgotten.LOST_KEY_FILE_HEADING]
    assert [c.label for c in at.checkbox] == [forgotten.KEY_FILE_ONLY_SURE]
    assert forgotten.KEY_FILE_ONLY_LOST in [m.value for m in at.markdown]

    for typed, message in [("", unlocking.NO_KEY_FILE_GIVEN),
                           ("unveil.key", unlocking.NOT_A_FULL_PATH.format(path="unveil.key"))]:
        _try(at, key_file=typed)
        assert [e.value for e in at.error] == [f"Unlocking the store: {shown(message)}"]
    assert logged(app_env, "unlock_failed") == []  # nothing was tried

    wrong = create_key_file(tmp_path / "another.key")
    _try(at, key_file=str(wrong))
    assert not at.exception
    assert [e.value for e in at.error] == [shown(
        f"Unlocking the store: key file {wrong} does not unlock this store: it stays locked; "
        "only the failed attempt was logged")]
    assert logged(app_env, "unlock_failed") == [{"method": "key_file"}]  # as `unveil ... --key-file` logs it
    assert UNLOCKED not in [s.value for s in at.sidebar.success]
    assert not [i.value for i in at.info if "did not open the store" in i.value]  # no passphrase was tried

    _try(at, key_file="  ~/unveil.key ")
    assert not at.exception and not at.error
    assert [s.value for s in at.sidebar.success] == [UNLOCKED]
    assert [t.label for t in at.tabs][0] == "Members"
    # The app held the path, never the key: no value in the session is the key file's bytes.
    secret = key.read_bytes()
    assert not any(isinstance(value, bytes | bytearray) and secret in value
                   for value in at.session_state.to_dict().values())
    assert set_aside_folders(app_env) == []


def test_a_store_with_a_passphrase_and_a_key_file_points_to_the_key_file_before_starting_over(
        app_env, family_store_dir, tmp_path):
    key = copy_with_key_file(family_store_dir, app_env, create_key_file(tmp_path / "unveil.key"))
    at = _family()
    assert [t.label for t in at.text_input][:2] == ["Passphrase", unlocking.KEY_FILE_LABEL]
    assert unlocking.ALSO_KEY_FILE in [c.value for c in at.caption]
    assert [e.label for e in at.expander] == [forgotten.FORGOT_HEADING]
    assert forgotten.KEY_FILE_FIRST.format(how=unlocking.KEY_FILE_HERE) in [i.value for i in at.info]

    _try(at, key_file=str(key), passphrase=FAMILY_PASSPHRASE)
    assert [e.value for e in at.error] == [unlocking.BOTH_GIVEN]
    assert UNLOCKED not in [s.value for s in at.sidebar.success]

    _try(at, passphrase="not the passphrase")
    assert [e.value for e in at.error] == [
        "Unlocking the store: wrong passphrase: the store stays locked; only the failed attempt was logged"]
    # The wrong try points to the key file, not to starting over.
    hint = forgotten.WRONG_PASSPHRASE_KEY_FILE_HINT.format(tries=1, how=unlocking.KEY_FILE_HERE)
    assert hint in [i.value for i in at.info]
    assert forgotten.WRONG_PASSPHRASE_HINT.format(tries=1) not in [i.value for i in at.info]

    _try(at, key_file=str(key), passphrase="")
    assert not at.exception and not at.error
    assert [s.value for s in at.sidebar.success] == [UNLOCKED]
    assert logged(app_env, "unlock_failed")[-1]["method"] == "passphrase"


def test_where_the_app_cannot_tell_whose_browser_it_is_it_reads_no_key_file_by_path(
        app_env, family_store_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(peer, "TCP_TABLES", (tmp_path / "no_proc" / "tcp",))  # macOS, Windows: every session served
    key = create_key_file(tmp_path / "unveil.key")
    FamilyStore.create(app_env, key_file=key).close()
    at = _family()
    assert not at.exception
    assert [w.value for w in at.warning][0] == unlocking.KEY_FILE_ONLY_NOT_HERE
    assert unlocking.KEY_FILE_LABEL not in [t.label for t in at.text_input]
    assert UNLOCK not in [b.key for b in at.button]

    shutil.rmtree(app_env)
    copy_with_key_file(family_store_dir, app_env, key)
    at = _family()
    assert [w.value for w in at.warning][0] == unlocking.KEY_FILE_NOT_HERE
    assert [t.label for t in at.text_input][0] == "Passphrase"
    assert unlocking.KEY_FILE_LABEL not in [t.label for t in at.text_input]
    assert forgotten.KEY_FILE_FIRST.format(how=unlocking.KEY_FILE_IN_A_TERMINAL) in [i.value for i in at.info]
    assert starting_over.FORGOTTEN in [m.value for m in at.markdown]


def test_a_store_only_a_key_file_opens_starts_over_once_the_key_file_is_said_lost(app_env, tmp_path):
    FamilyStore.create(app_env, key_file=create_key_file(tmp_path / "unveil.key")).close()
    at = _family()
    start = f"FormSubmitter:start_over_0-{forgotten.START_OVER_BUTTON}"
    for lost in (False, True):
        at.checkbox(key="start_over_0_lost").set_value(lost)
        at.text_input(key="start_over_0_typed").input(forgotten.START_OVER_PHRASE)
        at.text_input(key="start_over_0_new").input("a new passphrase, written down")
        at.text_input(key="start_over_0_again").input("a new passphrase, written down")
        at.button(key=start).click().run()
        if not lost:
            assert [e.value for e in at.error] == [forgotten.START_OVER_UNCONFIRMED]
            assert set_aside_folders(app_env) == []
    assert not at.exception and not at.error
    assert len(set_aside_folders(app_env)) == 1
    assert [s.value for s in at.sidebar.success] == [UNLOCKED]  # the new store, with the passphrase
