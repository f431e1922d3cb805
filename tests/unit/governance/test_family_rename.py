"""Renaming a member (governance.family.rename): a name mistyped at enrolment, or one that changed, without erasing
them. Before it, the only way was to erase and enrol them again: their consent history, face prints and the results
kept that name them went, and their photos were needed again."""
from __future__ import annotations

import dataclasses
import json
import unicodedata
from datetime import timedelta

import pytest

from fer_core.store import (
    MAX_NAME_CHARS,
    NAME_HIDDEN_CHARACTER,
    NAME_LENGTH,
    NAME_NOTHING_VISIBLE,
    PersonExistsError,
    PersonNameError,
)
from governance import consent, family, kept_results
from governance.consent import ConsentError, ConsentRecord
from tests.support import privacy_harness as h


def _enrol_as_child(store, name: str, guardian: str) -> str:
    record = ConsentRecord.new(subject=name, given_by=guardian, relation="guardian", subject_is_child=True,
                               purpose="family photos", days=365, now=consent.store_now(store))
    return family.enroll(store, name, h.person_embeddings(name), record).person_id


def _state(store) -> tuple:
    """Everything a refused rename must leave as it was."""
    return ([(p.id, p.name, p.consents) for p in store.people()], len(store.audit_entries()))


def test_a_mistyped_name_is_corrected_and_everything_of_theirs_stays_linked(store, clock):
    jonh, ana = h.enrol(store, "Jonh Okafor"), h.enrol(store, "Ana")
    kept, _ = kept_results.keep_analysis(store, [{"identity": "Jonh Okafor", "emotion": "happy"}], person_ids=[jonh])
    given = consent.latest(store, jonh)
    clock.advance(days=3)

    done = family.rename(store, "jonh okafor", "John Okafor")

    assert done == family.Renamed(jonh, "Jonh Okafor", "John Okafor", consent_restated=True)
    person = store.person(jonh)
    assert (person.name, person.embeddings, person.thumbnails, person.consents) == ("John Okafor", 5, 1, 2)
    assert family.resolve(store, "JOHN OKAFOR").id == jonh and store.find_person("Jonh Okafor") is None
    # The consent they gave, restated under their new name: its dates, purpose, scope and giver kept; the record
    # given at enrolment stays in the ledger as it was given.
    first, restated = (consent.ConsentRecord.from_details(e.details) for e in store.consents(jonh))
    assert first == given
    assert restated == dataclasses.replace(given, subject="John Okafor", given_by="John Okafor")
    assert [m.consent_status for m in family.members(store)] == ["active", "active"]
    assert kept_results.find(store, kept.id).person_ids == (jonh,)
    assert {e.person_id: e.name for e in store.gallery()} == {jonh: "John Okafor", ana: "Ana"}
    assert store.check() == []


def test_the_rename_is_logged_by_id_with_no_name_in_its_details_and_no_name_on_disk(store, tmp_path):
    maria = h.enrol(store, "Mariana Schmidt")
    family.rename(store, maria, "Mariana Okonkwo")
    entry = store.audit_entries()[-1]
    assert (entry.event, entry.person_id, entry.details) == ("renamed", maria, {"consent_restated": True})
    assert entry.name == "Mariana Okonkwo"  # sealed under her key, as every entry about a member
    logged = json.dumps([e.details for e in store.audit_entries()], ensure_ascii=False)
    assert "Mariana" not in logged and "Schmidt" not in logged and "Okonkwo" not in logged
    store.close()
    needles = h.text_needles("old", "Mariana Schmidt") | h.text_needles("new", "Mariana Okonkwo")
    assert h.scan(tmp_path, needles) == []
    with h.open_store(tmp_path) as again:  # sealed bound to her times, as before: it reads back after an unlock
        again.mark_seen([maria])
        assert again.person(maria).name == "Mariana Okonkwo" and again.verify_audit().ok


def test_after_a_rename_a_renewal_by_themself_is_their_own_consent_not_a_guardians(store):
    # With the record still in the old name, "given by John" for subject "Jonh" read as a guardian's consent.
    jonh = h.enrol(store, "Jonh")
    family.rename(store, jonh, "John")
    renewed = consent.renew(store, jonh, expires_at=consent.store_now(store) + timedelta(days=30), given_by="John")
    assert (renewed.subject, renewed.given_by, renewed.relation) == ("John", "John", "self")


def test_a_child_renamed_keeps_their_guardians_consent(store):
    child = _enrol_as_child(store, "Lea", "Mara")
    family.rename(store, child, "Léa")
    record = consent.latest(store, child)
    assert (record.subject, record.given_by, record.relation, record.subject_is_child) == ("Léa", "Mara", "guardian", True)


def test_a_member_whose_consent_ended_is_renamed_and_their_consent_stays_ended(store, clock):
    gone = h.enrol_briefly(store, "Jonh", seconds=60)
    clock.advance(days=1)
    family.rename(store, gone, "John")
    (member,) = family.members(store)
    assert (member.name, member.consent_status, member.consent.expires_at) == (
        "John", "expired", consent.ConsentRecord.from_details(store.consents(gone)[0].details).expires_at)


@pytest.mark.parametrize("typed", ["Ana", "ana", " ANA ", "Ａｎａ"])
def test_the_name_of_another_member_however_typed_is_refused_and_nothing_changes(store, typed):
    h.enrol(store, "Ana")
    jonh = h.enrol(store, "Jonh")
    before = _state(store)
    with pytest.raises(family.RenameError) as refused:
        family.rename(store, jonh, typed)
    assert str(refused.value).endswith(" reads as the name of Ana, another member; nothing was changed")
    assert _state(store) == before


def test_an_nfd_name_matches_the_member_enrolled_in_nfc(store):
    h.enrol(store, "José")
    jonh = h.enrol(store, "Jonh")
    typed = unicodedata.normalize("NFD", "JOSÉ")
    with pytest.raises(family.RenameError) as refused:
        family.rename(store, jonh, typed)
    assert str(refused.value) == family.NAME_TAKEN.format(name=unicodedata.normalize("NFC", typed), other="José")


def test_their_own_name_may_change_case_or_spacing_but_the_same_name_is_said_to_be_unchanged(store):
    anna = h.enrol(store, "anna  maria")  # stored "anna maria"
    assert family.rename(store, anna, "Anna Maria").name == "Anna Maria"
    before = _state(store)
    with pytest.raises(family.RenameError) as refused:
        family.rename(store, anna, " Anna   Maria ")
    assert str(refused.value) == family.NAME_UNCHANGED.format(name="Anna Maria")
    assert _state(store) == before


@pytest.mark.parametrize(("typed", "message"), [
    ("", NAME_LENGTH.format(most=MAX_NAME_CHARS, count=0)),
    ("   ", NAME_LENGTH.format(most=MAX_NAME_CHARS, count=0)),
    ("J" * (MAX_NAME_CHARS + 1), NAME_LENGTH.format(most=MAX_NAME_CHARS, count=MAX_NAME_CHARS + 1)),
    ("Jo\u202ehn", NAME_HIDDEN_CHARACTER.format(code="U+202E", position=3)),
    ("\u3164", NAME_HIDDEN_CHARACTER.format(code="U+3164", position=1)),
    ("\u0640", NAME_NOTHING_VISIBLE),
])
def test_a_name_enrolment_refuses_is_refused_the_same_way(store, typed, message):
    jonh = h.enrol(store, "Jonh")
    before = _state(store)
    for refuse in (lambda: family.rename(store, jonh, typed), lambda: h.enrol(store, typed)):
        with pytest.raises(PersonNameError) as refused:
            refuse()
        assert str(refused.value) == message
    assert _state(store) == before


def test_a_rename_whose_restated_consent_is_inconsistent_changes_nothing(store):
    # Renamed to the name of the guardian who consented for them: a guardian's consent "for themself".
    child = _enrol_as_child(store, "Lea", "Mara")
    before = _state(store)
    with pytest.raises(ConsentError):
        family.rename(store, child, "mara")
    assert _state(store) == before and store.check() == []


def test_the_store_itself_refuses_another_members_name(store):
    h.enrol(store, "Ana")
    jonh = h.enrol(store, "Jonh")
    with pytest.raises(PersonExistsError):
        store.rename_person(jonh, "ANA")
    assert store.rename_person(jonh, "jonh") == "jonh"
