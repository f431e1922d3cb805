"""A damaged store met at unlock, for a household that only uses the app. Before, the Family page said the store is
damaged, "Run `unveil family check` to list every problem, then restore the damaged file from a backup", and offered
nothing but starting over (for a forgotten passphrase, which it is not): restoring meant moving files by hand in a
terminal. Now it lists what the checks found, says what to do, sets the damaged store aside unchanged (never deleting
anything) and restores a backup given by its folder's full path, checked first."""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3

from streamlit.testing.v1 import AppTest

from fer_core.store import (
    DATA_FILE,
    KEYS_FILE,
    RESTORE_STAGING_PREFIX,
    FamilyStore,
    StoreRestoringError,
    set_aside_folders,
)
from governance import backup, restoring, starting_over
from tests.support.app import FAMILY_PASSPHRASE, logged, unlocked_family_page
from tests.support.paths import REPO
from unveil.app import damaged, forgotten
from unveil.app.text import shown

TIMEOUT = 120  # model loading and scrypt on a loaded 2-core machine, as tests/integration/test_app_pages.py
SET_ASIDE = f"FormSubmitter:set_aside_damaged-{damaged.SET_ASIDE_BUTTON}"
RESTORE = f"FormSubmitter:restore_backup-{damaged.RESTORE_BUTTON}"


def _digests(folder) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in (DATA_FILE, KEYS_FILE)}


def _restore(at: AppTest, folder: str, passphrase: str) -> AppTest:
    at.text_input(key="restore_folder").input(folder)
    at.text_input(key="restore_passphrase").input(passphrase)
    return at.button(key=RESTORE).click().run()


def test_a_damaged_store_is_set_aside_from_the_app_and_a_backup_restored(app_env, family_store_dir, tmp_path):
    shutil.copytree(family_store_dir, app_env)
    (tmp_path / "usb").mkdir()
    with FamilyStore.open(app_env) as store:
        store.unlock(FAMILY_PASSPHRASE)
        backup.back_up(store, tmp_path / "usb" / "backup")
    with contextlib.closing(sqlite3.connect(app_env / DATA_FILE, isolation_level=None)) as conn:
        conn.execute("DELETE FROM consents")  # a consent lost to damage: only the checks see it
    damaged_files = _digests(app_env)

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).switch_page(
        "unveil/app/pages/family.py").run()
    assert damaged.WHAT_TO_DO not in [w.value for w in at.warning]  # nothing said before damage is met
    at.text_input(key="unlock_passphrase").input(FAMILY_PASSPHRASE)
    at.button(key="FormSubmitter:unlock_store-Unlock").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "is damaged" in at.error[0].value
    assert damaged.WHAT_TO_DO in [w.value for w in at.warning]
    assert damaged.FOUND.format(count=1) in [e.label for e in at.expander]

    at.text_input(key="set_aside_damaged_passphrase").input(FAMILY_PASSPHRASE)
    at.button(key=SET_ASIDE).click().run()  # not ticked: nothing moved
    assert [e.value for e in at.error][-1] == damaged.SET_ASIDE_UNCONFIRMED and set_aside_folders(app_env) == []
    at.text_input(key="set_aside_damaged_passphrase").input(FAMILY_PASSPHRASE)
    at.checkbox(key="set_aside_damaged_sure").check()
    at.button(key=SET_ASIDE).click().run()
    assert not at.exception and not at.error
    (folder,) = set_aside_folders(app_env)
    assert _digests(folder) == damaged_files  # moved, unchanged
    assert at.header[0].value == "Create the family store"
    assert [s.value for s in at.success] == [shown(damaged.SET_ASIDE_DONE.format(folder=folder))]
    (old,) = starting_over.set_aside(app_env)  # said until destroyed, as a store set aside by starting over
    assert shown(starting_over.SET_ASIDE_REMINDER.format(day=old.set_aside_at.date(), folder=folder, held=old.held())
                 + ".") in [w.value for w in at.warning]

    _restore(at, "usb/backup", FAMILY_PASSPHRASE)
    assert [e.value for e in at.error] == [
        f"Restoring the backup: {shown(damaged.NOT_A_FULL_PATH.format(path='usb/backup'))}"]
    _restore(at, str(tmp_path / "usb" / "backup"), "a wrong guess")
    assert [e.value for e in at.error] == ["Restoring the backup: " + shown(restoring.BACKUP_NOT_OPENED.format(
        secret="passphrase", folder=tmp_path / "usb" / "backup"))]
    assert not (app_env / DATA_FILE).exists()

    _restore(at, str(tmp_path / "usb" / "backup"), FAMILY_PASSPHRASE)
    assert not at.exception and not at.error
    counts = {"people": 1, "embeddings": 4, "thumbnails": 0, "consents": 1, "analyses": 0}
    assert shown(damaged.RESTORED.format(folder=tmp_path / "usb" / "backup", **counts)) in [s.value for s in at.success]
    assert list(at.dataframe[0].value["name"]) == ["Colin Powell"]
    assert logged(app_env, "store_restored") == [counts]
    assert set_aside_folders(app_env) == [folder] and _digests(folder) == damaged_files  # still there, unchanged


def test_a_store_that_does_not_open_as_one_is_set_aside_from_the_app(app_env, family_store_dir):
    shutil.copytree(family_store_dir, app_env)
    with contextlib.closing(sqlite3.connect(app_env / DATA_FILE, isolation_level=None)) as conn:
        conn.execute("DROP TABLE analyses")
    at = unlocked_family_page()
    assert not at.exception
    assert damaged.WHAT_TO_DO in [w.value for w in at.warning]
    at.checkbox(key="set_aside_damaged_sure").check()
    at.button(key=SET_ASIDE).click().run()  # no passphrase needed: nothing opens it
    assert not at.exception and not at.error
    (folder,) = set_aside_folders(app_env)
    assert at.header[0].value == "Create the family store"
    assert [s.value for s in at.success] == [shown(damaged.SET_ASIDE_DONE.format(folder=folder))]


def test_forgot_the_passphrase_is_not_offered_beside_a_damaged_store(app_env, family_store_dir):
    """Starting over takes a store whose damage only the checks see; offered beside the damaged-store help, it let a
    household set the store aside as a forgotten passphrase, which it is not (the passphrase had just opened it), and
    leave a new store where a backup should be restored."""
    shutil.copytree(family_store_dir, app_env)
    with contextlib.closing(sqlite3.connect(app_env / DATA_FILE, isolation_level=None)) as conn:
        conn.execute("DELETE FROM consents")
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).switch_page(
        "unveil/app/pages/family.py").run()
    at.text_input(key="unlock_passphrase").input("a wrong guess")
    at.button(key="FormSubmitter:unlock_store-Unlock").click().run()
    assert forgotten.FORGOT_HEADING in [e.label for e in at.expander]  # a wrong passphrase: offered, as before
    assert forgotten.WRONG_PASSPHRASE_HINT.format(tries=1) in [i.value for i in at.info]
    at.text_input(key="unlock_passphrase").input(FAMILY_PASSPHRASE)
    at.button(key="FormSubmitter:unlock_store-Unlock").click().run()
    assert not at.exception
    assert damaged.WHAT_TO_DO in [w.value for w in at.warning]
    assert damaged.NOT_FORGOTTEN in [c.value for c in at.caption]
    assert forgotten.FORGOT_HEADING not in [e.label for e in at.expander]
    assert not [i.value for i in at.info if "did not open the store" in i.value]  # the last one did
    at.run()  # and on every run after, until it is set aside
    assert forgotten.FORGOT_HEADING not in [e.label for e in at.expander]


def test_what_the_checks_found_is_not_said_again_once_another_store_is_open(app_env, family_store_dir, tmp_path):
    shutil.copytree(family_store_dir, app_env)
    with contextlib.closing(sqlite3.connect(app_env / DATA_FILE, isolation_level=None)) as conn:
        conn.execute("DELETE FROM consents")
    at = unlocked_family_page()
    assert damaged.WHAT_TO_DO in [w.value for w in at.warning]
    for name in (DATA_FILE, KEYS_FILE):  # the household moves the damaged files away in a terminal instead
        shutil.move(app_env / name, tmp_path / name)
    new = "a new passphrase, written down this time"
    at.run().text_input(key="create_passphrase").input(new)
    at.text_input(key="create_passphrase_again").input(new)
    at.button(key="FormSubmitter:create_store-Create the store").click().run()
    assert not at.exception and not at.error
    at.button(key="sidebar_lock").click().run()
    assert at.header[0].value == "Unlock the family store"
    assert damaged.WHAT_TO_DO not in [w.value for w in at.warning]


def test_a_restore_stopped_midway_is_set_aside_and_restored_again_from_the_app(app_env, family_store_dir, tmp_path):
    """A crash between a restore's two placements leaves unveil.db without keys.db, and the restore's folder: every
    open says a restore is under way (StoreRestoringError). The message says to set the store aside and restore
    again if it stays; before, the page then offered no set-aside form (the CLI's set-aside-damaged was the only
    way), and "Forgot the passphrase?" instead."""
    backup_dir = tmp_path / "usb" / "backup"
    backup_dir.parent.mkdir()
    shutil.copytree(family_store_dir, tmp_path / "before")
    with FamilyStore.open(tmp_path / "before") as store:
        store.unlock(FAMILY_PASSPHRASE)
        backup.back_up(store, backup_dir)
    staging = app_env / f"{RESTORE_STAGING_PREFIX}stopped"
    staging.mkdir(parents=True)
    for name in (DATA_FILE, KEYS_FILE):
        shutil.copyfile(backup_dir / name, staging / name)
    os.link(staging / DATA_FILE, app_env / DATA_FILE)

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).switch_page(
        "unveil/app/pages/family.py").run()
    assert not at.exception
    assert shown(f"Reading what unlocks the store: {StoreRestoringError(app_env)}") in [e.value for e in at.error]
    assert [w.value for w in at.warning] == [damaged.RESTORE_STOPPED]
    assert forgotten.FORGOT_HEADING not in [e.label for e in at.expander]
    at.checkbox(key="set_aside_damaged_sure").check()
    at.button(key=SET_ASIDE).click().run()  # no passphrase needed: nothing opens it
    assert not at.exception and not at.error
    (folder,) = set_aside_folders(app_env)
    assert sorted(p.name for p in folder.iterdir()) == [DATA_FILE]
    assert at.header[0].value == "Create the family store"
    at = _restore(at, str(backup_dir), FAMILY_PASSPHRASE)
    assert not at.exception and not at.error
    with FamilyStore.open(app_env) as store:
        store.unlock(FAMILY_PASSPHRASE)
        store.require_intact()
        assert [p.name for p in store.people()] == ["Colin Powell"]
