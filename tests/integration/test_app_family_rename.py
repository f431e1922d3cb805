"""The Family page's rename form, through streamlit.testing.v1.AppTest with a member enrolled from real photos:
a member's name corrected without erasing them, and the photo already analysed named with the new name at once.
Before it the page offered no way but erasing them (their consent history and kept results with them) and
enrolling them again from new photos."""
from __future__ import annotations

import json
import shutil

from streamlit.testing.v1 import AppTest

from fer_core.store import FamilyStore
from governance import audit_log, family
from tests.support import privacy_harness as h
from tests.support.app import FAMILY_PASSPHRASE, MEMBER, photo_bytes
from tests.support.paths import REPO
from unveil.app import renaming

TIMEOUT = 120  # model loading and scrypt on a loaded 2-core machine, as tests/integration/test_app_pages.py


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error if "unexpected error" in e.value]


def _face_lines(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**Face ")]


def _rename(at: AppTest, who: str, name: str) -> None:
    at.selectbox(key="rename_member").set_value(who).run()
    (typed,) = [w for w in at.text_input if w.key and w.key.startswith(f"rename_name_{who}_")]
    typed.input(name)
    at.button(key="rename_submit").click().run()
    _no_exception(at)


def test_a_member_is_renamed_on_the_family_page_and_their_photo_is_named_anew(app_env, faces_dir, family_store_dir):
    shutil.copytree(family_store_dir, app_env)
    with FamilyStore(app_env) as other:  # another member, enrolled elsewhere (the command line)
        other.unlock(FAMILY_PASSPHRASE)
        colin = family.resolve(other, "Colin Powell").id
        ana = family.enroll(other, "Ana", h.person_embeddings("Ana"), h.consent_for(other, "Ana")).person_id
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.switch_page("unveil/app/pages/family.py").run()
    at.text_input(key="unlock_passphrase").input(FAMILY_PASSPHRASE)
    at.button[0].click().run()
    at.switch_page("unveil/app/pages/analyze.py").run()
    (uploads,) = [w for w in at.get("file_uploader") if w.key and w.key.startswith("analyze_inputs_uploads_")]
    uploads.set_value([("colin.jpg", photo_bytes(faces_dir, MEMBER, 6), "image/jpeg")]).run()
    assert _face_lines(at)[0].endswith("· **Colin Powell**")
    at.switch_page("unveil/app/pages/family.py").run()
    _no_exception(at)

    _rename(at, colin, "  ")
    assert [e.value for e in at.error] == [renaming.ENTER_NEW_NAME]
    _rename(at, colin, "ANA")  # Ana's name, however typed
    assert [e.value for e in at.error] == [f"Renaming Colin Powell: {family.NAME_TAKEN.format(name='ANA', other='Ana')}"]
    _rename(at, colin, "Colin Luther Powell")
    said = renaming.RENAMED.format(before="Colin Powell", name="Colin Luther Powell") + renaming.CONSENT_RESTATED
    assert said in [s.value for s in at.success]
    # Drawn again empty, on the member renamed: nothing typed for one is given to another.
    at.selectbox(key="rename_member").set_value(ana).run()
    assert [w.value for w in at.text_input if w.key and w.key.startswith("rename_name_")] == [""]

    at.switch_page("unveil/app/pages/analyze.py").run()
    _no_exception(at)
    assert _face_lines(at)[0].endswith("· **Colin Luther Powell**")
    with FamilyStore(app_env) as other:
        other.unlock(FAMILY_PASSPHRASE)
        assert [p.name for p in other.people()] == ["Colin Luther Powell", "Ana"]
        entries = audit_log.entries(other)
        assert [(e.event, e.person_id) for e in entries if e.event == "renamed"] == [("renamed", colin)]
        assert "Colin" not in json.dumps([e.details for e in entries])
