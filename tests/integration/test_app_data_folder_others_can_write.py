"""The app opens a store whose folder other users of the computer can write, and says so in the sidebar on every
page with the fix (fer_core.store.OTHERS_CAN_WRITE_WARNING), changing nothing. Before, it said nothing. Through
streamlit.testing.v1.AppTest."""
from __future__ import annotations

import os
import shlex
import shutil
import stat

import pytest
from streamlit.testing.v1 import AppTest

from fer_core.store import OTHERS_CAN_WRITE_WARNING
from tests.support.paths import REPO

pytestmark = pytest.mark.skipif(os.name != "posix", reason="folder modes say who may write only on POSIX")
TIMEOUT = 120  # model loading on a loaded 2-core machine, as tests/integration/test_app_pages.py


def test_the_sidebar_warns_of_a_store_folder_others_can_write_and_changes_nothing(app_env, family_store_dir):
    shutil.copytree(family_store_dir, app_env)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    assert not [w for w in at.sidebar.warning if "Other users" in w.value]
    app_env.chmod(0o777)
    at.run()
    warning = OTHERS_CAN_WRITE_WARNING.format(folder=app_env, mode=0o777, fix=f"chmod 700 {shlex.quote(str(app_env))}")
    assert [w.value for w in at.sidebar.warning if "Other users" in w.value] == [warning]
    assert stat.S_IMODE(os.stat(app_env).st_mode) == 0o777
