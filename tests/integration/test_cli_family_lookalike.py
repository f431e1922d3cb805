"""`unveil family enroll` refuses photos that look like a member already enrolled, naming them and saying how to enrol
someone else who looks like them (--not-the-same-as); nothing is stored. Before it, the second enrolment went through
and the member was then mostly not named at all (python experiments/duplicate_enrolment.py). Real LFW photos, the
shipped identity model."""
from __future__ import annotations

import shutil

import pytest

from fer_core.store import PERSON_EXISTS, FamilyStore
from governance import audit_log, family
from tests.support.app import FAMILY_PASSPHRASE, MEMBER, STRANGER, photo_path
from tests.support.privacy_harness import run_cli as run
from unveil.cli.family import NOT_THE_SAME_HOW


@pytest.fixture
def data_dir(tmp_path, monkeypatch, family_store_dir, app_models_dir):
    """A copy of the family store: Colin Powell enrolled from his photos 2-5 with the shipped identity model."""
    monkeypatch.setenv("UNVEIL_PASSPHRASE", FAMILY_PASSPHRASE)
    monkeypatch.setenv("UNVEIL_MODELS_DIR", str(app_models_dir))
    monkeypatch.delenv("UNVEIL_DATA_DIR", raising=False)
    shutil.copytree(family_store_dir, tmp_path / "data")
    return tmp_path / "data"


def _state(data_dir) -> tuple:
    with FamilyStore(data_dir) as store:
        store.unlock(FAMILY_PASSPHRASE)
        return store.counts(), [(p.id, p.name) for p in store.people()], len(audit_log.entries(store))


def _enroll(capsys, data_dir, name: str, person: str, *extra: str, faces_dir) -> tuple[int, str, str]:
    photos = [str(photo_path(faces_dir, person, n)) for n in (1, 6)]
    return run(capsys, "family", "enroll", name, *photos, "--purpose", "family photos", "--data-dir", str(data_dir),
               *extra)


def test_photos_of_a_member_are_refused_under_another_name_and_enrolled_when_said_to_be_someone_else(
        data_dir, faces_dir, capsys):
    before = _state(data_dir)
    code, out, err = _enroll(capsys, data_dir, "Colin P", MEMBER, faces_dir=faces_dir)
    assert (code, out) == (1, "")
    assert err == ("error: " + family.LOOKS_ENROLLED.format(name="Colin Powell")
                   + NOT_THE_SAME_HOW.format(who="'Colin Powell'") + "\n")
    assert err.startswith("error: These photos look like Colin Powell, who is already enrolled: nothing was stored.")
    assert err.endswith(" (unveil family rename 'Colin Powell' NEW_NAME renames them; for someone else, add "
                        "--not-the-same-as 'Colin Powell')\n")
    assert _state(data_dir) == before

    # A twin, say: enrolled once the user says so, naming the member (however typed); the log keeps the flag only.
    code, out, err = _enroll(capsys, data_dir, "Colin P", MEMBER, "--not-the-same-as", "colin powell",
                             faces_dir=faces_dir)
    assert (code, err) == (0, "") and out.startswith("enrolled Colin P (")
    code, out, _ = run(capsys, "audit", "list", "--data-dir", str(data_dir))
    (line,) = [row for row in out.splitlines() if "not_the_same_person" in row]
    assert " enrol " in line and line.endswith("Colin P                      embeddings=2, not_the_same_person=True, "
                                               "thumbnails=0")


def test_someone_else_is_enrolled_and_a_name_taken_is_refused_naming_the_member_as_enrolled(
        data_dir, faces_dir, capsys):
    before = _state(data_dir)
    code, _, err = _enroll(capsys, data_dir, "colin powell", STRANGER, faces_dir=faces_dir)
    assert (code, err) == (1, "error: " + PERSON_EXISTS.format(name="Colin Powell") + "\n")  # not 'colin powell'
    assert _state(data_dir) == before
    code, out, err = _enroll(capsys, data_dir, "Serena Williams", STRANGER, faces_dir=faces_dir)
    assert (code, err) == (0, "") and out.startswith("enrolled Serena Williams (")


def test_reembed_refuses_photos_of_another_member_and_takes_them_when_said_to_be_someone_else(
        data_dir, faces_dir, capsys):
    # Before, `family reembed` compared nothing: Colin Powell's photos given for Halle Berry were stored as hers.
    from tests.support import privacy_harness as h

    with FamilyStore(data_dir) as store:
        store.unlock(FAMILY_PASSPHRASE)
        h.enrol(store, "Halle Berry")  # embeddings of another model ("default"): she must be re-embedded
    before = _state(data_dir)
    photos = [str(photo_path(faces_dir, MEMBER, n)) for n in (1, 6)]
    code, out, err = run(capsys, "family", "reembed", "Halle Berry", *photos, "--data-dir", str(data_dir))
    assert (code, out) == (1, "")
    assert err == ("error: " + family.LOOKS_ENROLLED.format(name="Colin Powell")
                   + NOT_THE_SAME_HOW.format(who="'Colin Powell'") + "\n")
    assert _state(data_dir) == before
    code, out, err = run(capsys, "family", "reembed", "Halle Berry", *photos, "--not-the-same-as", "colin powell",
                         "--data-dir", str(data_dir))
    assert (code, err) == (0, "") and out.startswith("re-embedded Halle Berry from 2 photo(s) with ")


def test_reembed_from_thumbnails_with_not_the_same_as_is_refused_as_meaningless(data_dir, capsys):
    # It was ignored without a word: thumbnails are the member's own faces and are not compared.
    from unveil.cli.family import REEMBED_NOT_THE_SAME_NEEDS_PHOTOS

    before = _state(data_dir)
    code, out, err = run(capsys, "family", "reembed", "Colin Powell", "--not-the-same-as", "Halle Berry",
                         "--data-dir", str(data_dir))
    assert (code, out, err) == (2, "", f"error: {REEMBED_NOT_THE_SAME_NEEDS_PHOTOS}\n")
    assert _state(data_dir) == before
