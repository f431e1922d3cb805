"""The app opens a store whose folder is on a file system held in memory (tmpfs) or a network one, or beside copies
of its files (a cloud client's conflicted copies), and says so in the sidebar (fer_core.store.MEMORY_FILE_SYSTEM_WARNING,
NETWORK_FILE_SYSTEM_WARNING, STRAY_COPIES_WARNING). Before, it said nothing, and a family enrolled there was gone at the
next restart. The mount list (/proc/self/mountinfo) is faked. Through
streamlit.testing.v1.AppTest."""
from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from fer_core.store import (
    DATA_FILE,
    MEMORY_FILE_SYSTEM_WARNING,
    NETWORK_FILE_SYSTEM_WARNING,
    STRAY_COPIES_WARNING,
    _paths,  # noqa: PLC2701 (where the mount list is read from, faked)
)
from tests.support.paths import REPO
from tests.support.store import mountinfo_line
from unveil.app.text import shown

TIMEOUT = 120  # model loading on a loaded 2-core machine, as tests/integration/test_app_pages.py


@pytest.mark.parametrize(("kind", "text"), [("tmpfs", MEMORY_FILE_SYSTEM_WARNING),
                                            ("nfs4", NETWORK_FILE_SYSTEM_WARNING)])
def test_the_sidebar_says_the_store_is_in_memory_or_on_a_network_share(app_env, family_store_dir, tmp_path,
                                                                        monkeypatch, kind, text):
    shutil.copytree(family_store_dir, app_env)
    listing = tmp_path / "mountinfo"
    listing.write_text(mountinfo_line(1, "/", "ext4", "/dev/sda1") + mountinfo_line(2, str(app_env.parent), kind, "none"))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    assert [w for w in at.sidebar.warning if str(app_env) in w.value] == []  # no mount list: nothing said
    monkeypatch.setattr(_paths, "MOUNTINFO", listing)
    at.run()
    warning = shown(text.format(data_dir=app_env, fs_type=kind, mount_point=app_env.parent))
    assert [w.value for w in at.sidebar.warning if kind in w.value] == [warning]


def test_the_sidebar_names_copies_of_the_store_beside_it(app_env, family_store_dir):
    shutil.copytree(family_store_dir, app_env)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    assert not [w for w in at.sidebar.warning if "database files" in w.value]
    shutil.copyfile(app_env / DATA_FILE, app_env / "unveil (1).db")
    at.run()
    warning = shown(STRAY_COPIES_WARNING.format(data_dir=app_env, names="unveil (1).db"))
    assert [w.value for w in at.sidebar.warning if "database files" in w.value] == [warning]
    assert (app_env / "unveil (1).db").is_file()
