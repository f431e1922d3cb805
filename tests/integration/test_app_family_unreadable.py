"""The Family page says when members cannot be read (a damaged row; a destroyed key reads the same), as `unveil family
list` does (MEMBERS_NOT_READ), with what to do. A store damaged before it is unlocked is refused at unlock (its sweep's
checks); damage met while a session stays unlocked (a tab left open for days) was silent: governance.family.members
left those members out, and the page listed the others, or said "No one is enrolled yet.", so the household took them
for not stored, with no hint how to erase them."""
from __future__ import annotations

import contextlib
import shutil
import sqlite3

from streamlit.testing.v1 import AppTest

from fer_core.store import DATA_FILE, FamilyStore
from governance import family
from tests.support import privacy_harness as h
from tests.support.app import FAMILY_PASSPHRASE, unlocked_family_page
from unveil.app.tables import MEMBERS_NOT_READ


def _damage(data_dir, person_id: str) -> None:
    """One bit of the person's sealed name flipped, as tests/integration/test_cli_privacy.py damages it."""
    with contextlib.closing(sqlite3.connect(data_dir / DATA_FILE, isolation_level=None)) as conn:
        (name,) = conn.execute("SELECT name FROM people WHERE id = ?", (person_id,)).fetchone()
        conn.execute("UPDATE people SET name = ? WHERE id = ?", (bytes([name[0] ^ 1]) + name[1:], person_id))


def _family_page() -> AppTest:
    at = unlocked_family_page()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_family_page_says_members_cannot_be_read_and_deletes_nothing(app_env, family_store_dir):
    shutil.copytree(family_store_dir, app_env)
    with FamilyStore(app_env) as store:
        store.unlock(FAMILY_PASSPHRASE)
        colin = family.resolve(store, "Colin Powell").id
        ana = family.enroll(store, "Ana", h.person_embeddings("Ana"), h.consent_for(store, "Ana")).person_id

    at = _family_page()
    assert not [w.value for w in at.warning if "could not be read" in w.value]
    assert list(at.dataframe[0].value["name"]) == ["Colin Powell", "Ana"]

    _damage(app_env, ana)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    # On the Members tab and where members are erased (which the page cannot do for them: the command line can).
    assert [w.value for w in at.warning if w.value == MEMBERS_NOT_READ.format(count=1)] == [
        MEMBERS_NOT_READ.format(count=1)] * 2
    assert list(at.dataframe[0].value["name"]) == ["Colin Powell"]

    _damage(app_env, colin)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [w.value for w in at.warning if w.value == MEMBERS_NOT_READ.format(count=2)] == [
        MEMBERS_NOT_READ.format(count=2)] * 2
    assert not [i.value for i in at.info if "No one is enrolled" in i.value]  # someone is, unreadable

    with FamilyStore(app_env) as store:  # damage deleted nothing
        assert store.person_ids() == [colin, ana]
