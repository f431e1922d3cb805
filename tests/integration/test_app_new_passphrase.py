"""The Family page changes the passphrase, as `unveil family passwd` (and `--rotate`) does: before, a household that
only uses the app could not, after someone who knew it moved out. The current passphrase is asked again (the
unlocked session is no proof), a wrong one is refused and logged as a failed unlock, a weak or mistyped new one is
refused with nothing changed, the change is audit-logged by the store, and no passphrase stays in the session."""
from __future__ import annotations

import shutil

from streamlit.testing.v1 import AppTest

from fer_core.store import FamilyStore, WeakPassphraseError, WrongPassphraseError, create_key_file
from tests.support.app import FAMILY_PASSPHRASE, copy_with_key_file, logged
from tests.support.paths import REPO
from unveil.app import new_passphrase
from unveil.app.text import shown

TIMEOUT = 120
NEW = "a new passphrase, after Sam moved out"
SUBMIT = f"FormSubmitter:change_passphrase-{new_passphrase.BUTTON}"
ERROR = "Changing the passphrase: {}"


def _unlocked(passphrase: str = FAMILY_PASSPHRASE) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).switch_page(
        "unveil/app/pages/family.py").run()
    at.text_input(key="unlock_passphrase").input(passphrase)
    at.button(key="FormSubmitter:unlock_store-Unlock").click().run()
    assert not at.exception and not at.error
    return at


def _change(at: AppTest, *, current: str = "", key_file: str = "", new: str = NEW, again: str = NEW,
            rotate: bool = False) -> AppTest:
    if current or "change_passphrase_current" in [t.key for t in at.text_input]:
        at.text_input(key="change_passphrase_current").input(current)
    if key_file:
        at.text_input(key="change_passphrase_key_file").input(key_file)
    at.text_input(key="change_passphrase_new").input(new)
    at.text_input(key="change_passphrase_again").input(again)
    at.checkbox(key="change_passphrase_rotate").set_value(rotate)
    return at.button(key=SUBMIT).click().run()




def _opens(data_dir, passphrase: str) -> bool:
    with FamilyStore.open(data_dir) as store:
        try:
            store.unlock(passphrase)
        except WrongPassphraseError:
            return False
        return True


def _no_secret_kept(at: AppTest, *secrets: str) -> None:
    held = [value for value in at.session_state.to_dict().values() if isinstance(value, str)]
    assert not [value for value in held if any(secret in value for secret in secrets)]


def test_a_household_changes_its_passphrase_in_the_app_after_proving_the_current_one(app_env, family_store_dir):
    shutil.copytree(family_store_dir, app_env)
    at = _unlocked()
    assert new_passphrase.TITLE in [t.label for t in at.tabs]
    assert new_passphrase.HOW in [c.value for c in at.caption]

    # Refused, nothing tried: the new ones differ, one is too short (the store's own message), no current one.
    for kwargs, message in [({"current": FAMILY_PASSPHRASE, "again": NEW + "!"}, new_passphrase.DIFFER),
                            ({"current": FAMILY_PASSPHRASE, "new": "short", "again": "short"},
                             str(WeakPassphraseError(8))),
                            ({}, new_passphrase.NO_PROOF)]:
        _change(at, **kwargs)
        assert not at.exception
        assert [e.value for e in at.error] == [ERROR.format(shown(message))]
    assert str(WeakPassphraseError(8)) == "a passphrase needs at least 8 characters; nothing was changed"
    assert logged(app_env, "unlock_failed") == []

    # A wrong current passphrase, in a session that is unlocked all the same: refused and logged as at unlock.
    _change(at, current="what Sam knew, wrongly typed")
    assert [e.value for e in at.error] == [ERROR.format(new_passphrase.WRONG_CURRENT)]
    assert logged(app_env, "unlock_failed")[-1]["method"] == "passphrase"
    assert logged(app_env, "key_change") == [] and _opens(app_env, FAMILY_PASSPHRASE)
    _no_secret_kept(at, "what Sam knew", NEW)  # the form cleared its fields on the submit

    _change(at, current=FAMILY_PASSPHRASE)
    assert not at.exception and not at.error
    assert [s.value for s in at.main.success] == [new_passphrase.CHANGED]
    assert logged(app_env, "key_change") == [{"slot": "passphrase", "action": "replaced"}]
    assert _opens(app_env, NEW) and not _opens(app_env, FAMILY_PASSPHRASE)
    assert [s.value for s in at.sidebar.success] == ["Family store unlocked"]  # the session goes on
    _no_secret_kept(at, FAMILY_PASSPHRASE, NEW)


def test_rotating_replaces_the_master_key_and_the_session_works_on(app_env, family_store_dir):
    shutil.copytree(family_store_dir, app_env)
    at = _unlocked()
    _change(at, current=FAMILY_PASSPHRASE, rotate=True)
    assert not at.exception and not at.error
    assert [s.value for s in at.main.success] == [new_passphrase.ROTATED]
    # The store's own entry, as for `unveil family passwd --rotate` (no key file to keep or drop).
    assert logged(app_env, "key_change") == [{"slot": "master", "action": "rotated", "key_file": "none"}]
    assert _opens(app_env, NEW) and not _opens(app_env, FAMILY_PASSPHRASE)
    # This session holds the new master key: its pages read the store as before, without unlocking again.
    at.run()
    assert not at.exception and not at.error
    assert "Colin Powell" in at.dataframe[0].value["name"].tolist()
    _no_secret_kept(at, FAMILY_PASSPHRASE, NEW)


def test_a_store_with_a_key_file_proves_with_it_and_rotating_says_the_key_file_is_dropped(
        app_env, family_store_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    key = copy_with_key_file(family_store_dir, app_env, create_key_file(tmp_path / "unveil.key"))
    at = _unlocked()
    assert new_passphrase.ROTATE_DROPS_KEY_FILE in [c.value for c in at.caption]
    _change(at, current=FAMILY_PASSPHRASE, key_file=str(key))
    assert [e.value for e in at.error] == [ERROR.format(new_passphrase.BOTH_GIVEN)]
    _change(at, key_file="~/unveil.key", rotate=True)
    assert not at.exception and not at.error
    assert [s.value for s in at.main.success] == [shown(new_passphrase.ROTATED + new_passphrase.KEY_FILE_DROPPED)]
    with FamilyStore.open(app_env) as store:
        assert store.has_passphrase and not store.has_key_file


def test_a_store_only_a_key_file_opens_gets_a_passphrase_proved_by_the_key_file(app_env, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    key = create_key_file(tmp_path / "unveil.key")
    FamilyStore.create(app_env, key_file=key).close()
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).switch_page(
        "unveil/app/pages/family.py").run()
    at.text_input(key="unlock_key_file").input(str(key))
    at.button(key="FormSubmitter:unlock_store-Unlock").click().run()
    assert new_passphrase.HOW_KEY_FILE_ONLY in [c.value for c in at.caption]
    assert "change_passphrase_current" not in [t.key for t in at.text_input]
    _change(at)
    assert [e.value for e in at.error] == [ERROR.format(new_passphrase.NO_KEY_FILE_PROOF)]
    _change(at, key_file=str(key))
    assert not at.exception and not at.error
    assert [s.value for s in at.main.success] == [new_passphrase.CHANGED]
    assert logged(app_env, "key_change") == [{"slot": "passphrase", "action": "added"}]
    assert _opens(app_env, NEW)
    with FamilyStore.open(app_env) as store:
        assert store.has_key_file  # kept beside the new passphrase
