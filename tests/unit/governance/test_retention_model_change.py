"""The unseen_people period after an identity model change (governance.retention._unseen_since). Recognition names
members with face prints of the installed identity model only, so a member enrolled before the change is recognised
nowhere until new prints are made for them. The reproduction: Ana and Ben, enrolled under dlib, then MobileFaceNet
installed (UNVEIL_IDENTITY_MODEL unset, as an update changing the default does); 351 days on, both were said to go
"unless recognised" (a photo of them on the Analyze page: which cannot name them), Ben re-embedded on day 360 still
went on day 365, and a sweep after that erased both as "not seen"."""
from __future__ import annotations

from datetime import UTC, date, timedelta

import numpy as np
import pytest

from fer_core.model_files import identity_model_name
from governance import consent, family, retention
from governance.consent import ConsentRecord

VECTORS = np.random.default_rng(7).standard_normal((4, 128)).astype(np.float32)
OLD_MODEL = "face_recognition_dlib.onnx"


@pytest.fixture
def installed(monkeypatch) -> str:
    """The identity model a front end loads now: the default, UNVEIL_IDENTITY_MODEL unset."""
    monkeypatch.delenv("UNVEIL_IDENTITY_MODEL", raising=False)
    assert identity_model_name() != OLD_MODEL
    return identity_model_name()


def _enrol(store, name: str, model: str, *, days: int = 1000) -> str:
    record = ConsentRecord.new(subject=name, purpose="family photos", days=days, now=consent.store_now(store), zone=UTC)
    return family.enroll(store, name, VECTORS + len(name), record, model=model).person_id


def _days_on(store, clock, days: int) -> None:
    """`days` days on, a sweep every 10 (as the app, `unveil watch` and `unveil serve` sweep daily)."""
    for _ in range(days // 10):
        clock.advance(days=10)
        retention.sweep(store)
    clock.advance(days=days % 10)


def _unseen(store) -> list[tuple[str, int]]:
    return [(u.name, u.days_left) for u in retention.unseen_soon(store, zone=UTC)]


def _names(store) -> list[str]:
    return sorted(person.name for person in store.people())


def test_a_member_the_installed_model_cannot_name_is_neither_warned_of_nor_erased_as_unseen(store, clock, installed):
    ana = _enrol(store, "Ana Lima", OLD_MODEL)
    _enrol(store, "Caio Lima", installed)  # enrolled the same day with the installed model: his period runs
    assert [m.name for m in family.members(store) if m.must_reenrol(installed)] == ["Ana Lima"]
    assert set(store.first_embedded(installed)) == set(store.person_ids()) - {ana}

    _days_on(store, clock, 351)
    assert _unseen(store) == [("Caio Lima", 14)]  # the old code also said Ana, whom no photo of her could keep
    _days_on(store, clock, 15)
    report = retention.sweep(store)
    assert report.removed["unseen_people"] == 1 and list(report.names.values()) == ["Caio Lima"]
    assert _names(store) == ["Ana Lima"]
    assert retention.date_check(store) is None

    _days_on(store, clock, 600)  # two years unrecognisable: still kept, as her consent is in force
    assert _names(store) == ["Ana Lima"] and _unseen(store) == []
    _days_on(store, clock, 50)  # her consent ends (1000 days): that still erases her
    assert _names(store) == []


def test_new_face_prints_start_the_period_as_an_enrolment_does(store, clock, installed):
    """Ben is re-embedded on day 360 (from his thumbnails or new photos: prints of the installed model). His period
    counts from then, not from his enrolment under the old model; prints added later do not start it again."""
    ben = _enrol(store, "Ben Lima", OLD_MODEL)
    _days_on(store, clock, 360)
    reembedded = consent.local_day(consent.store_now(store), UTC)
    family.add_embeddings(store, ben, VECTORS + 99, model=installed)
    _days_on(store, clock, 351)
    assert _unseen(store) == [("Ben Lima", 14)]
    (said,) = retention.unseen_soon(store, zone=UTC)
    assert (said.last_seen, said.erased_from) == (reembedded, reembedded + timedelta(days=365))

    family.add_embeddings(store, ben, VECTORS + 98, model=installed)  # more photos: not a recognition
    assert _unseen(store) == [("Ben Lima", 14)]
    family.note_recognition(store, [ben], faces=1)  # now the app can name him, and does
    assert _unseen(store) == []
    _days_on(store, clock, 366)
    assert _names(store) == []  # not recognised since: the period ran out as for anyone


def test_a_model_change_back_names_them_again_and_their_period_runs_from_their_last_recognition(
        store, clock, installed, monkeypatch):
    """Choosing the old model again (UNVEIL_IDENTITY_MODEL) makes its members nameable, and their period is the one
    they had: the days they could not be named count, as the days of any member not recognised do."""
    enrolled: date = consent.local_day(consent.store_now(store), UTC)
    _enrol(store, "Ana Lima", OLD_MODEL)
    _days_on(store, clock, 360)
    assert _unseen(store) == []
    monkeypatch.setenv("UNVEIL_IDENTITY_MODEL", OLD_MODEL)
    (said,) = retention.unseen_soon(store, zone=UTC)
    assert (said.name, said.last_seen, said.days_left) == ("Ana Lima", enrolled, 5)
