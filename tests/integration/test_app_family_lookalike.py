"""The Family page's enrolment refuses photos that look like a member already enrolled, naming them, through
streamlit.testing.v1.AppTest with real photos: the tick box that says the person is someone else (a twin) is offered
only then, for those photos, and the enrolment it lets through is audit-logged as such. Before it, the second
enrolment went through and the member was then mostly not named at all (python experiments/duplicate_enrolment.py)."""
from __future__ import annotations

import shutil

from streamlit.testing.v1 import AppTest

from fer_core.store import FamilyStore
from governance import audit_log, family
from tests.support.app import FAMILY_PASSPHRASE, MEMBER, STRANGER, photo_bytes
from tests.support.paths import REPO
from unveil.app import enrolment as app_enrolment
from unveil.app import renaming

TIMEOUT = 120  # model loading and scrypt on a loaded 2-core machine, as tests/integration/test_app_pages.py


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error if "unexpected error" in e.value]


def _enrol(at: AppTest, kind: str, field: str):
    """The enrolment form's widget of `kind` for `field` (keys renewed with a generation number at the end)."""
    found = [w for w in at.get(kind) if w.key and w.key.startswith(f"enrol_{field}_")]
    assert len(found) <= 1
    return found[0] if found else None


def _refusals(at: AppTest) -> list[str]:
    """The enrolment tab's warnings that photos look like a member (the consent tab warns of other things)."""
    return [w.value for w in at.warning if w.value.startswith("These photos look like ")]


def _photos(faces_dir, person: str, numbers) -> list[tuple[str, bytes, str]]:
    return [(f"{person}_{n}.jpg", photo_bytes(faces_dir, person, n), "image/jpeg") for n in numbers]


def test_photos_of_a_member_are_refused_then_enrolled_once_ticked_as_someone_else(app_env, faces_dir, family_store_dir):
    shutil.copytree(family_store_dir, app_env)  # Colin Powell enrolled from his photos 2-5
    with FamilyStore(app_env) as other:
        other.unlock(FAMILY_PASSPHRASE)
        colin = family.resolve(other, "Colin Powell").id
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.switch_page("unveil/app/pages/family.py").run()
    at.text_input(key="unlock_passphrase").input(FAMILY_PASSPHRASE)
    at.button[0].click().run()
    _no_exception(at)

    _enrol(at, "text_input", "name").input("Colin P")
    _enrol(at, "file_uploader", "photos").set_value(_photos(faces_dir, MEMBER, (1, 6)))
    _enrol(at, "checkbox", "agreed").check().run()
    assert _enrol(at, "checkbox", "not_the_same") is None  # offered only after a refusal
    at.button(key="enrol_submit").click().run()
    _no_exception(at)
    said = family.LOOKS_ENROLLED.format(name="Colin Powell") + app_enrolment.NOT_THE_SAME_HOW
    assert _refusals(at) == [said] and not [s for s in at.success if s.value.startswith("Enrolled")]
    assert said.startswith("These photos look like Colin Powell, who is already enrolled: nothing was stored.")
    assert f'"{renaming.RENAME_TITLE}" on the Members tab' in said
    tick = _enrol(at, "checkbox", "not_the_same")
    assert tick.key.startswith(f"enrol_not_the_same_{colin}_") and tick.value is False
    assert tick.label == app_enrolment.NOT_THE_SAME_TICK.format(name="Colin Powell")
    assert list(at.dataframe[0].value["name"]) == ["Colin Powell"]  # nothing stored

    # Other photos were not compared: the refusal, and its tick box, are not theirs.
    _enrol(at, "file_uploader", "photos").set_value(_photos(faces_dir, MEMBER, (7,))).run()
    assert not _refusals(at) and _enrol(at, "checkbox", "not_the_same") is None
    _enrol(at, "file_uploader", "photos").set_value(_photos(faces_dir, MEMBER, (1, 6))).run()
    _enrol(at, "checkbox", "not_the_same").check()
    at.button(key="enrol_submit").click().run()
    _no_exception(at)
    assert at.success[0].value.startswith("Enrolled Colin P with 2 face print(s)")
    assert list(at.dataframe[0].value["name"]) == ["Colin Powell", "Colin P"]
    assert not _refusals(at) and _enrol(at, "checkbox", "not_the_same") is None  # the form is drawn again empty

    # Someone who looks like no member is enrolled at the first click.
    _enrol(at, "text_input", "name").input("Serena Williams")
    _enrol(at, "file_uploader", "photos").set_value(_photos(faces_dir, STRANGER, (1, 2)))
    _enrol(at, "checkbox", "agreed").check()
    at.button(key="enrol_submit").click().run()
    _no_exception(at)
    assert at.success[0].value.startswith("Enrolled Serena Williams with 2 face print(s)")

    with FamilyStore(app_env) as other:
        other.unlock(FAMILY_PASSPHRASE)
        enrols = [(e.person_id, e.details) for e in audit_log.entries(other) if e.event == "enrol"]
    colin_p = [pid for pid, details in enrols if details.get("not_the_same_person")]
    assert len(colin_p) == 1 and colin_p[0] != colin
    assert [details for _, details in enrols][-2:] == [{"embeddings": 2, "thumbnails": 0, "not_the_same_person": True},
                                                       {"embeddings": 2, "thumbnails": 0}]


def test_new_photos_of_another_member_for_a_member_updated_are_refused_then_taken_once_ticked(app_env, faces_dir,
                                                                                              family_store_dir):
    """Halle Berry, enrolled by an older identity model (recognition only), is updated from new photos: Colin
    Powell's, which look like Colin, are refused naming him; ticked as Halle's, they are taken and logged as such.
    Before, they were stored as hers without a word (governance.family.reembed_from_photos compared nothing)."""
    import numpy as np

    from governance.consent import ConsentRecord, store_now

    shutil.copytree(family_store_dir, app_env)  # Colin Powell enrolled from his photos 2-5
    with FamilyStore(app_env) as other:
        other.unlock(FAMILY_PASSPHRASE)
        colin = family.resolve(other, "Colin Powell").id
        record = ConsentRecord.new(subject="Halle Berry", purpose="family photos", scope="recognition", days=30,
                                   now=store_now(other))
        halle = family.enroll(other, "Halle Berry", np.ones((1, 192), np.float32), record,
                              model="older_model.onnx").person_id
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.switch_page("unveil/app/pages/family.py").run()
    at.text_input(key="unlock_passphrase").input(FAMILY_PASSPHRASE)
    at.button[0].click().run()
    _no_exception(at)

    def widget(kind: str, field: str):
        found = [w for w in at.get(kind) if w.key and w.key.startswith(f"reenrol_{halle}_{field}")]
        assert len(found) <= 1
        return found[0] if found else None

    widget("file_uploader", "photos").set_value(_photos(faces_dir, MEMBER, (1, 6))).run()
    assert widget("checkbox", "not_the_same") is None
    at.button(key=f"reenrol_submit_{halle}").click().run()
    _no_exception(at)
    said = (family.LOOKS_ENROLLED.format(name="Colin Powell")
            + app_enrolment.REEMBED_NOT_THE_SAME_HOW.format(member="Halle Berry"))
    updated = [s.value for s in at.success if "face prints were updated" in s.value]
    assert _refusals(at) == [said] and not updated
    tick = widget("checkbox", "not_the_same")
    assert tick.key.startswith(f"reenrol_{halle}_not_the_same_{colin}_") and tick.value is False
    assert tick.label == app_enrolment.NOT_THE_SAME_TICK.format(name="Colin Powell")
    tick.check()
    at.button(key=f"reenrol_submit_{halle}").click().run()
    _no_exception(at)
    assert [s.value for s in at.success if "face prints were updated" in s.value] == [
        app_enrolment.REEMBED_FROM_PHOTOS_DONE.format(name="Halle Berry", count=2, total=2)]
    assert not _refusals(at)
    with FamilyStore(app_env) as other:
        other.unlock(FAMILY_PASSPHRASE)
        last = audit_log.entries(other)[-1]
    assert (last.event, last.person_id) == ("embeddings_added", halle)
    assert last.details["not_the_same_person"] is True
