"""The Family page checks the store, as `unveil family check` does (governance.checking, the same lines): before, a
household that only uses the app could not run the check that the README's restore steps ask for, nor see which values
a damaged store fails on. Damage is listed with what to do next, and nothing is deleted or changed."""
from __future__ import annotations

import contextlib
import shutil
import sqlite3

from fer_core.store import DATA_FILE, FamilyStore
from governance import checking, family
from tests.support.app import FAMILY_PASSPHRASE, unlocked_family_page
from unveil.app import store_check
from unveil.app.text import shown


def test_the_family_page_checks_the_store_and_says_what_to_do_when_it_is_damaged(app_env, family_store_dir):
    shutil.copytree(family_store_dir, app_env)
    at = unlocked_family_page()
    assert store_check.TITLE in [t.label for t in at.tabs] and store_check.HOW in [c.value for c in at.caption]

    at.button(key="check_store").click().run()
    assert not at.exception and not at.error
    assert [s.value for s in at.main.success] == [checking.CHECK_OK.format(people=1, embeddings=4)]

    with FamilyStore.open(app_env) as store:
        store.unlock(FAMILY_PASSPHRASE)
        colin = family.resolve(store, "Colin Powell").id
    with contextlib.closing(sqlite3.connect(app_env / DATA_FILE, isolation_level=None)) as conn:  # one bit flipped
        (name,) = conn.execute("SELECT name FROM people WHERE id = ?", (colin,)).fetchone()
        conn.execute("UPDATE people SET name = ? WHERE id = ?", (bytes([name[0] ^ 1]) + name[1:], colin))
    at.button(key="check_store").click().run()
    assert not at.exception and not at.main.success
    with FamilyStore.open(app_env) as store:
        store.unlock(FAMILY_PASSPHRASE)
        lines = checking.check(store).lines()
        assert store.person_ids() == [colin]  # nothing deleted
    assert any(line.startswith(f"DAMAGED people {colin} name: ") for line in lines)
    assert [e.value for e in at.error] == ["\n\n".join([*(shown(line) for line in lines), store_check.DAMAGED_NEXT])]
