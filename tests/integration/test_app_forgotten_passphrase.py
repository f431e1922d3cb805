"""The Family page when the household forgot its passphrase: wrong tries are counted and change nothing, "Forgot the
passphrase?" says that nothing recovers it and starts over only when ticked and typed, the old store is set aside
unopened, and the page says where it is until it is destroyed."""
from __future__ import annotations

import shutil

from streamlit.testing.v1 import AppTest

from fer_core.store import DATA_FILE, KEYS_FILE, FamilyStore, set_aside_folders
from governance import starting_over
from tests.support.app import FAMILY_PASSPHRASE, copy_with_key_file
from tests.support.paths import REPO
from unveil.app import forgotten

TIMEOUT = 120
NEW = "a new passphrase, written down this time"
START = f"FormSubmitter:start_over_0-{forgotten.START_OVER_BUTTON}"


def _family(at: AppTest) -> AppTest:
    return at.switch_page("unveil/app/pages/family.py").run()


def _fill(at: AppTest, *, sure: bool, typed: str) -> None:
    at.checkbox(key="start_over_0_sure").set_value(sure)
    at.text_input(key="start_over_0_typed").input(typed)
    at.text_input(key="start_over_0_new").input(NEW)
    at.text_input(key="start_over_0_again").input(NEW)


def test_a_forgotten_passphrase_starts_over_only_when_confirmed_and_the_old_store_is_kept_until_destroyed(
        app_env, family_store_dir):
    shutil.copytree(family_store_dir, app_env)
    at = _family(AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT))
    for guess in ("correct horse battery staple", "Correct horse battery staple, at home", "at home"):
        at.text_input(key="unlock_passphrase").input(guess)
        at.button(key="FormSubmitter:unlock_store-Unlock").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Unlocking the store: wrong passphrase: the store stays locked; only the failed attempt was logged"]
    assert forgotten.WRONG_PASSPHRASE_HINT.format(tries=3) in [i.value for i in at.info]
    assert [e.label for e in at.expander] == [forgotten.FORGOT_HEADING]
    assert starting_over.FORGOTTEN in [m.value for m in at.markdown]
    held = starting_over.current(app_env).held()
    assert [w.value for w in at.warning] == [forgotten.START_OVER_WHAT.format(held=held)]
    assert sorted(p.name for p in app_env.iterdir()) == [KEYS_FILE, DATA_FILE]  # three wrong tries moved nothing

    _fill(at, sure=True, typed="start")  # not the phrase
    at.button(key=START).click().run()
    assert [e.value for e in at.error] == [forgotten.START_OVER_UNCONFIRMED]
    _fill(at, sure=False, typed="start over")
    at.button(key=START).click().run()
    assert [e.value for e in at.error] == [forgotten.START_OVER_UNCONFIRMED]
    assert set_aside_folders(app_env) == []

    _fill(at, sure=True, typed="Start over")
    at.button(key=START).click().run()
    assert not at.exception and not at.error
    (folder,) = set_aside_folders(app_env)
    assert forgotten.START_OVER_DONE.format(folder=folder) in [s.value for s in at.success], [s.value for s in at.success]
    (old,) = starting_over.set_aside(app_env)
    reminder = starting_over.SET_ASIDE_REMINDER.format(day=old.set_aside_at.date(), folder=folder, held=held) + "."
    assert reminder in [w.value for w in at.warning]
    with FamilyStore(folder) as kept:  # the old passphrase still opens it, set aside
        kept.unlock(FAMILY_PASSPHRASE)
        assert [p.name for p in kept.people()] == ["Colin Powell"]

    destroy = f"FormSubmitter:destroy_old_{folder.name}_0-{forgotten.DESTROY_BUTTON}"
    at.button(key=destroy).click().run()
    assert [e.value for e in at.error] == [forgotten.DESTROY_UNCONFIRMED] and folder.exists()
    at.checkbox(key=f"destroy_old_{folder.name}_0_sure").check()
    at.button(key=destroy).click().run()
    assert not at.exception and not at.error and not folder.exists()
    assert forgotten.DESTROYED.format(folder=folder) in [s.value for s in at.success]
    assert reminder not in [w.value for w in at.warning]
    with FamilyStore(app_env) as new:
        new.unlock(NEW)
        assert [e.event for e in new.audit_entries()][:2] == ["store_created", "store_set_aside"]
        assert new.audit_entries()[-1].event == "old_store_destroyed"


def test_a_store_a_key_file_opens_is_set_aside_only_once_the_key_file_is_said_lost(app_env, family_store_dir, tmp_path):
    from fer_core.store import create_key_file

    copy_with_key_file(family_store_dir, app_env, create_key_file(tmp_path / "unveil.key"))
    at = _family(AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT))
    assert [c.label for c in at.checkbox] == [forgotten.FORGOT_SURE, forgotten.KEY_FILE_LOST]
    _fill(at, sure=True, typed="start over")
    at.button(key=START).click().run()
    assert [e.value for e in at.error] == [forgotten.START_OVER_UNCONFIRMED] and set_aside_folders(app_env) == []
    _fill(at, sure=True, typed="start over")
    at.checkbox(key="start_over_0_lost").check()
    at.button(key=START).click().run()
    assert not at.exception and not at.error and len(set_aside_folders(app_env)) == 1
