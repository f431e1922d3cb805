"""unveil.app.renaming without Streamlit: the Family page renames a member through governance.family.rename and
says what it did in words asserted here; then the renewal form (unveil.app.consents) gives their consent as their
own under the new name."""
from __future__ import annotations

import pytest

from fer_core.store import PersonNotFoundError
from governance import family
from tests.support import privacy_harness as h
from unveil.app import consents, renaming


def _member(store, name: str) -> family.Member:
    (member,) = [m for m in family.members(store) if m.name == name]
    return member


def test_the_form_says_who_is_renamed_and_a_renewal_by_themself_is_theirs(store):
    h.enrol(store, "Jonh")
    said = renaming.rename(store, _member(store, "Jonh"), "John")
    assert said == renaming.RENAMED.format(before="Jonh", name="John") + renaming.CONSENT_RESTATED
    john = _member(store, "John")
    assert consents.giver_on_record(john) == consents.Giver(guardian=False, name="", child=False)
    renewed = consents.renew(store, john, 30, giver=consents.giver_on_record(john))
    assert renewed.startswith("The consent of John now runs until ") and "given by John (self)." in renewed


def test_a_member_erased_in_another_session_is_not_renamed(store):
    h.enrol(store, "Jonh")
    member = _member(store, "Jonh")
    family.purge(store, member.person_id)
    with pytest.raises(PersonNotFoundError):
        renaming.rename(store, member, "John")
    assert store.people() == []
