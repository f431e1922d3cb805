"""The app on a store a later version of Unveil wrote (a downgrade, or a data folder shared with a newer install):
the Family page showed an unlock form and a start-over expander, each meeting the store's refusal again (the same
message three times), where nothing but installing that version helps."""
from __future__ import annotations

import contextlib
import shutil
import sqlite3

from fer_core.store import DATA_FILE, TOO_NEW_MESSAGE
from tests.support.app import run_app


def test_the_family_page_says_once_that_the_store_is_a_later_versions_and_offers_nothing_else(
        app_env, family_store_dir):
    shutil.copytree(family_store_dir, app_env)
    with contextlib.closing(sqlite3.connect(app_env / DATA_FILE, isolation_level=None)) as conn:
        conn.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    before = {path.name: path.read_bytes() for path in app_env.iterdir()}
    at = run_app("family")
    refusal = TOO_NEW_MESSAGE.format(data_dir=app_env, found="4", known="3")
    assert not at.exception and [e.value for e in at.error][-1] == refusal
    assert sum(refusal in e.value for e in at.error) == 2  # the session's notice, above every page, and here
    assert not at.text_input and not at.button and not at.expander
    assert {path.name: path.read_bytes() for path in app_env.iterdir()} == before
