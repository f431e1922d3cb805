"""unveil.watch.household: the gallery `unveil watch` names faces with follows the store while the loop runs
for days: an erasure or an enrolment made by another process, and a consent that ends, count at once."""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pytest

from fer_core.store import MasterKeyChangedError
from governance import consent, family
from governance.consent import ConsentRecord
from tests.support import privacy_harness as h
from unveil.watch import household as household_module
from unveil.watch.household import GALLERY_KEY_CHANGED, LEFT_GALLERY, Household

FACES = np.eye(4, dtype=np.float32) * 5  # one well-separated embedding per member


@dataclass(frozen=True)
class Model:
    """An identity model whose embedding of a face is the face itself."""

    name: str = "fake"
    threshold: float = 1.0
    distance: str = "euclidean"

    def embed_face(self, rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        return rgb


@pytest.fixture
def other(store, clock):
    """A second session on the same store: the app or the CLI, in another process on the same machine (its clock)."""
    with h.open_store(store.data_dir, clock=clock) as opened:
        yield opened


def _enrol(store, name: str, row: int, days: int = 365) -> str:
    record = ConsentRecord.new(subject=name, purpose="name family members", days=days, now=consent.store_now(store))
    return family.enroll(store, name, FACES[row:row + 1], record, model=Model.name).person_id


def _names(household) -> list[str | None]:
    return [household(face, None).label for face in FACES[:3]]


def test_a_member_erased_in_another_session_is_not_named_from_the_next_check(store, other, caplog):
    ana, _ = _enrol(store, "Ana Lima", 0), _enrol(store, "Bruno Lima", 1)
    household = Household(store, Model())
    assert _names(household) == ["Ana Lima", "Bruno Lima", None]
    family.purge(other, "Ana Lima")
    with caplog.at_level(logging.INFO, logger="unveil.watch"):
        assert household.departed() == {ana}
    assert [r.getMessage() for r in caplog.records] == [LEFT_GALLERY.format(count=1)]
    assert _names(household) == [None, "Bruno Lima", None]
    assert household.departed() == frozenset()  # each departure is told once


def test_identify_checks_the_store_itself_and_departed_still_reports_who_left(store, other):
    ana = _enrol(store, "Ana Lima", 0)
    _enrol(store, "Bruno Lima", 1)
    household = Household(store, Model())
    family.purge(other, "Ana Lima")
    assert _names(household) == [None, "Bruno Lima", None]  # no departed() call in between
    assert household.departed() == {ana}


def test_a_member_enrolled_meanwhile_is_named_without_a_restart(store, other):
    _enrol(store, "Ana Lima", 0)
    household = Household(store, Model())
    _enrol(other, "Caio Lima", 2)
    assert _names(household) == ["Ana Lima", None, "Caio Lima"]


def test_a_member_renamed_in_another_session_is_named_anew_from_the_next_check(store, other):
    # `unveil family rename` while `unveil watch` runs: no member leaves, the next face is named as they are now,
    # and `names` (what the MQTT sink calls their sensor at its next start) follows.
    ana, bruno = _enrol(store, "Ana Lima", 0), _enrol(store, "Bruno Lima", 1)
    household = Household(store, Model())
    assert household.names == {ana: "Ana Lima", bruno: "Bruno Lima"}
    family.rename(other, "Ana Lima", "Ana Souza")
    assert _names(household) == ["Ana Souza", "Bruno Lima", None]
    assert household.departed() == frozenset() and household.names == {ana: "Ana Souza", bruno: "Bruno Lima"}


def test_a_member_is_named_no_more_once_their_consent_ends_with_no_change_to_the_store(store, clock):
    ana = _enrol(store, "Ana Lima", 0, days=30)
    _enrol(store, "Bruno Lima", 1, days=365)
    household = Household(store, Model())
    clock.advance(days=29)
    assert household.departed() == frozenset()
    clock.advance(days=2)
    assert household.departed() == {ana}
    assert _names(household) == [None, "Bruno Lima", None]


def test_the_gallery_is_built_again_only_when_something_changed(store, other, monkeypatch):
    _enrol(store, "Ana Lima", 0)
    household = Household(store, Model())
    builds = []
    real = family.gallery
    monkeypatch.setattr(household_module.family, "gallery", lambda *args: builds.append(1) or real(*args))
    for _ in range(5):
        household.departed()
        household(FACES[0], None)
    assert builds == []
    _enrol(other, "Bruno Lima", 1)
    household.departed()
    household.departed()
    assert builds == [1]


def test_a_gallery_that_cannot_be_read_names_nobody(store, other, caplog):
    ana, bruno = _enrol(store, "Ana Lima", 0), _enrol(store, "Bruno Lima", 1)
    household = Household(store, Model())
    other.rotate_master_key(h.PASSPHRASE + " again", scrypt=h.FAST_SCRYPT)  # this session's key is stale now
    with pytest.raises(MasterKeyChangedError):  # the watch loop's count meets the new key first, and locks the store
        family.count_recognitions(store, [ana])
    with caplog.at_level(logging.WARNING, logger="unveil.watch"):
        assert household.departed() == {ana, bruno}
        _enrol(other, "Carla Lima", 2)  # each later change reads the store again, and says nothing more
        assert household.departed() == frozenset()
    assert [r.getMessage() for r in caplog.records] == [GALLERY_KEY_CHANGED]
    assert _names(household) == [None, None, None]


def test_nobody_to_name_names_nobody_until_someone_may_be(store, clock):
    household = Household(store, Model())
    assert household.person_ids == frozenset()
    ana = _enrol(store, "Ana Lima", 0, days=1)  # enrolled while the loop runs: named without a restart
    assert _names(household) == ["Ana Lima", None, None] and household.person_ids == {ana}
    clock.advance(days=2)
    assert Household(store, Model()).person_ids == frozenset()


def test_a_member_whose_consent_was_dated_ahead_of_a_clock_put_back_is_named_once_it_is_in_force(store, clock):
    """Enrolled while the clock ran an hour ahead, then put back (an NTP step): the consent is not yet in force, so
    the member is left out. Before, a gallery kept for days was built again only when the store changed or a consent
    in it ended: the member was never named while `unveil watch` ran."""
    _enrol(store, "Bruno Lima", 1)
    clock.now += 3600
    ana = _enrol(store, "Ana Lima", 0)
    clock.now -= 3600
    household = Household(store, Model())
    assert _names(household) == [None, "Bruno Lima", None]
    clock.now += 3600 - 5 * 60 - 1  # the consent counts from 5 minutes before it is dated (clock skew)
    assert _names(household) == [None, "Bruno Lima", None]
    clock.now += 1
    assert _names(household) == ["Ana Lima", "Bruno Lima", None]
    assert ana in household.person_ids


def test_nobody_in_force_yet_is_named_once_their_consent_is(store, clock):
    """With no one else enrolled, the gallery is empty when built, and is built again all the same."""
    clock.now += 3600
    _enrol(store, "Ana Lima", 0)
    clock.now -= 3600
    household = Household(store, Model())
    assert _names(household) == [None, None, None]
    clock.now += 3600
    assert _names(household) == ["Ana Lima", None, None]
