"""The Family page backs the store up, as `unveil family backup FOLDER` does: before, a household that only uses the
app had no way to keep a whole copy (copying the data folder while the app runs can pair an unveil.db with a keys.db
of another moment). The copy opens with today's passphrase, the audit log records it with counts only, and a folder
that is there already, or a path that is not a full one, is refused with nothing written."""
from __future__ import annotations

import shutil

from streamlit.testing.v1 import AppTest

from fer_core.store import BACKUP_EXISTS, DATA_FILE, KEYS_FILE, FamilyStore
from governance import backup
from tests.support.app import FAMILY_PASSPHRASE, unlocked_family_page
from unveil.app import backups
from unveil.app.text import shown

SUBMIT = f"FormSubmitter:back_up-{backups.BUTTON}"


def _write(at: AppTest, typed: str) -> AppTest:
    at.text_input(key="backup_folder").input(typed)
    return at.button(key=SUBMIT).click().run()


def test_a_household_backs_the_store_up_from_the_app(app_env, family_store_dir, tmp_path):
    shutil.copytree(family_store_dir, app_env)
    at = unlocked_family_page()
    assert backups.TITLE in [t.label for t in at.tabs] and backups.HOW in [c.value for c in at.caption]

    for typed, message in [(" ", backups.NO_FOLDER), ("usb/copy", backups.NOT_A_FULL_PATH.format(path="usb/copy"))]:
        _write(at, typed)
        assert not at.exception
        assert [e.value for e in at.error] == [f"Backing up the store: {shown(message)}"]
    assert not (tmp_path / "usb").exists()

    target = tmp_path / "usb" / "unveil-copy"
    target.parent.mkdir()
    _write(at, f" {target} ")
    assert not at.exception and not at.error
    said = backups.DONE.format(path=target, people=1, embeddings=4, thumbnails=0, consents=1, analyses=0)
    assert [s.value for s in at.main.success] == [shown(f"{said} Note: {backup.BACKUP_REACH}.")]
    assert sorted(p.name for p in target.iterdir()) == [KEYS_FILE, DATA_FILE]
    with FamilyStore.open(target) as copy:
        copy.unlock(FAMILY_PASSPHRASE)
        assert [p.name for p in copy.people()] == ["Colin Powell"]
    with FamilyStore.open(app_env) as store:
        entry = store.audit_entries()[-1]
    assert (entry.event, entry.details) == ("backup", {"people": 1, "embeddings": 4, "thumbnails": 0, "consents": 1,
                                                       "analyses": 0})

    before = {name: (target / name).read_bytes() for name in (DATA_FILE, KEYS_FILE)}
    _write(at, str(target))  # never written over
    assert [e.value for e in at.error] == [f"Backing up the store: {shown(BACKUP_EXISTS.format(path=target))}"]
    assert {name: (target / name).read_bytes() for name in (DATA_FILE, KEYS_FILE)} == before
