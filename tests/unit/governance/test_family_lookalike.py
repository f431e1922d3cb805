"""Enrolment compares a new member's face prints with the members': photos of a member enrolled under another name
are refused, naming that member (governance.family.LooksEnrolledError), unless the user says the person is someone
else. Before it, nothing stopped the second enrolment, and the person was then mostly not named at all (23 of 32
probes "unknown" on the development set: python experiments/duplicate_enrolment.py). Real LFW photos, the shipped
identity model and the analyzer's detector settings."""
from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest

from fer_core.analyzer import default_detector
from fer_core.identity import load_embedding_model
from governance import audit_log, consent, enrolment, family
from governance.consent import ConsentRecord
from tests.support import privacy_harness as h
from tests.support.app import MEMBER, STRANGER, photo_path


@pytest.fixture(scope="module")
def reader():
    """(the installed identity model, a function reading PERSON's photos NUMBERS as enrolment reads them)."""
    model, detect = load_embedding_model(threads=1), default_detector().detect

    def read(faces_dir, person: str, numbers) -> list[enrolment.EnrolmentPhoto]:
        return [enrolment.read_photo(photo_path(faces_dir, person, n), f"{person}_{n}", detect) for n in numbers]

    return model, read


def _enrol(store, name: str, photos, model, **kwargs) -> family.Enrolment:
    record = ConsentRecord.new(subject=name, purpose="family photos", days=365, now=consent.store_now(store))
    return family.enrol_from_photos(store, name, photos, record, model=model, **kwargs)


def _state(store) -> tuple:
    """Everything a refused enrolment must leave as it was."""
    return store.counts(), [(e.seq, e.event) for e in audit_log.entries(store)]


def test_photos_of_a_member_under_another_name_are_refused_naming_them_and_nothing_is_stored(store, reader, faces_dir):
    model, read = reader
    anna = _enrol(store, "Anna", read(faces_dir, MEMBER, range(1, 4)), model).person_id  # a mistyped name, say
    before = _state(store)
    with pytest.raises(family.LooksEnrolledError) as refused:
        _enrol(store, "Colin Powell", read(faces_dir, MEMBER, range(4, 7)), model)
    assert str(refused.value) == family.LOOKS_ENROLLED.format(name="Anna")
    assert str(refused.value).startswith("These photos look like Anna, who is already enrolled: nothing was stored.")
    assert (refused.value.person_id, refused.value.name) == (anna, "Anna")
    assert _state(store) == before
    # Someone else is enrolled as before, and is compared with both members next.
    serena = _enrol(store, "Serena Williams", read(faces_dir, STRANGER, range(1, 4)), model)
    assert (serena.name, serena.embeddings) == ("Serena Williams", 3)
    with pytest.raises(family.LooksEnrolledError) as again:
        _enrol(store, "Serena W", read(faces_dir, STRANGER, range(4, 6)), model)
    assert again.value.person_id == serena.person_id


def test_someone_else_said_to_be_not_the_same_person_is_enrolled_and_the_override_logged(store, reader, faces_dir):
    model, read = reader
    anna = _enrol(store, "Anna", read(faces_dir, MEMBER, range(1, 4)), model).person_id
    serena = _enrol(store, "Serena Williams", read(faces_dir, STRANGER, range(1, 4)), model).person_id
    twin = read(faces_dir, MEMBER, range(4, 7))
    # Said of another member, it does not count for the member the photos look like.
    with pytest.raises(family.LooksEnrolledError) as refused:
        _enrol(store, "Anna's twin", twin, model, not_the_same_as=serena)
    assert refused.value.person_id == anna
    done = _enrol(store, "Anna's twin", twin, model, not_the_same_as=anna)
    last = audit_log.entries(store)[-1]
    assert (last.event, last.person_id) == ("enrol", done.person_id)
    assert last.details == {"embeddings": 3, "thumbnails": 0, "not_the_same_person": True}
    logged = json.dumps([entry.details for entry in audit_log.entries(store)])
    assert "Anna" not in logged and anna not in logged
    # An enrolment that looks like no one logs no override, whatever it was told.
    halle = _enrol(store, "Halle Berry", read(faces_dir, "Halle_Berry", range(1, 3)), model, not_the_same_as=anna)
    assert audit_log.entries(store)[-1].details == {"embeddings": 2, "thumbnails": 0}
    assert halle.name == "Halle Berry"


def test_members_of_another_identity_model_or_without_consent_in_force_are_not_compared(store, reader, faces_dir,
                                                                                          clock):
    model, read = reader
    h.enrol(store, "Halle Berry")  # embeddings of another model ("default"): they must be re-embedded first
    record = ConsentRecord.new(subject="Anna", purpose="family photos", days=365, now=consent.store_now(store))
    record = dataclasses.replace(record, expires_at=record.given_at + timedelta(seconds=60))
    family.enrol_from_photos(store, "Anna", read(faces_dir, MEMBER, range(1, 4)), record, model=model)
    # Anna's consent ends; until the sweep erases her, her face prints are used for nothing, this comparison included.
    clock.advance(days=1)
    assert family.gallery(store, model) is None
    done = _enrol(store, "Colin Powell", read(faces_dir, MEMBER, range(4, 7)), model)
    assert done.embeddings == 3


def test_a_name_already_enrolled_is_refused_naming_the_member_as_enrolled(store, reader, faces_dir):
    from fer_core.store import PERSON_EXISTS, PersonExistsError

    model, read = reader
    _enrol(store, "Serena Williams", read(faces_dir, STRANGER, range(1, 3)), model)
    with pytest.raises(PersonExistsError) as refused:
        _enrol(store, "serena  williams", read(faces_dir, MEMBER, range(1, 3)), model)
    assert str(refused.value) == PERSON_EXISTS.format(name="Serena Williams")


def test_a_member_re_embedded_from_photos_of_another_member_is_refused_unless_said_to_be_someone_else(
        store, reader, faces_dir):
    # Re-embedding from new photos compared nothing: photos of Anna given for Halle (enrolled with another model,
    # so re-embedded from photos) made the same duplicate an enrolment is refused for.
    model, read = reader
    anna = _enrol(store, "Anna", read(faces_dir, MEMBER, range(1, 4)), model).person_id
    halle = h.enrol(store, "Halle Berry")  # embeddings of another model ("default"): she must be re-embedded
    before = _state(store)
    with pytest.raises(family.LooksEnrolledError) as refused:
        family.reembed_from_photos(store, "Halle Berry", read(faces_dir, MEMBER, range(4, 7)), model=model)
    assert str(refused.value) == family.LOOKS_ENROLLED.format(name="Anna")
    assert (refused.value.person_id, refused.value.name) == (anna, "Anna")
    assert _state(store) == before
    # The member re-embedded is not compared with themself: more photos of Anna are hers.
    assert family.reembed_from_photos(store, anna, read(faces_dir, MEMBER, range(7, 9)), model=model) == 2
    assert audit_log.entries(store)[-1].details == {"embeddings": 2, "from": "photos", "model": model.name}
    assert family.reembed_from_photos(store, halle, read(faces_dir, MEMBER, range(4, 7)), model=model,
                                      not_the_same_as=anna) == 3
    last = audit_log.entries(store)[-1]
    assert (last.event, last.person_id) == ("embeddings_added", halle)
    assert last.details == {"embeddings": 3, "from": "photos", "model": model.name, "not_the_same_person": True}
