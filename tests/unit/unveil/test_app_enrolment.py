"""unveil.app.enrolment without Streamlit: the Family form's camera shots, photo labels and consent end, and
the ways it offers to re-embed a member the installed identity model cannot name."""
from __future__ import annotations

import io
from datetime import UTC, date, datetime
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from governance import enrolment, family
from governance.consent import ConsentError, ConsentRecord, store_now
from tests.support.time_zones import machine_time_zone
from unveil.app import enrolment as app_enrolment

# 03:00 UTC on 1 May is 23:00 on 30 April in New York: the user's today is still 30 April.
NEW_YORK_EVENING = datetime(2026, 5, 1, 3, 0, tzinfo=UTC)


def _consent(expires_on: date, zone) -> ConsentRecord:
    return app_enrolment.consent_from_form(name="Ana", given_by="", guardian=False, child=False, purpose="photos",
                                           scope="recognition", expires_on=expires_on, now=NEW_YORK_EVENING,
                                           zone=zone)


def test_a_camera_shot_kept_twice_is_kept_once_until_cleared():
    shots = app_enrolment.CameraShots()
    shots.keep(b"frame a")
    shots.keep(b"frame a")  # "Keep this shot" clicked again on the same frame
    shots.keep(b"frame b")
    assert len(shots) == 2 and shots.shots() == [b"frame a", b"frame b"]
    shots.clear()
    assert not shots and shots.shots() == []


def test_uploads_with_one_name_are_each_used_under_a_label_of_their_own():
    uploads = [("IMG_0001.jpg", b"phone a"), ("IMG_0001.jpg", b"phone b"), ("IMG_0001.jpg", b"phone c"),
               ("IMG_0002.jpg", b"phone a, next")]
    assert app_enrolment.form_photos(uploads, [b"shot 1", b"shot 2"]) == {
        "IMG_0001.jpg": b"phone a", "IMG_0001.jpg (2)": b"phone b", "IMG_0001.jpg (3)": b"phone c",
        "IMG_0002.jpg": b"phone a, next", "camera shot 1": b"shot 1", "camera shot 2": b"shot 2"}


def test_a_consent_ending_on_the_users_today_ends_at_their_midnight_and_is_in_force():
    zone = app_enrolment.user_zone("America/New_York")
    today = app_enrolment.today(NEW_YORK_EVENING, zone)
    assert today == date(2026, 4, 30)  # the first day the picker offers
    record = _consent(today, zone)
    assert record.expires_at == datetime(2026, 5, 1, 3, 59, 59, 999999, tzinfo=UTC)
    record.validate(now=NEW_YORK_EVENING)  # not refused as expired
    # Stored and read back, it still ends on the day the user picked (the Members table shows that date).
    assert ConsentRecord.from_details(record.to_details()).expires_at.strftime("%Y-%m-%d") == "2026-04-30"
    with pytest.raises(ConsentError, match="the consent must expire after it was given"):
        _consent(date(2026, 4, 29), zone).validate(now=NEW_YORK_EVENING)  # the day before the user's today


@pytest.fixture()
def machine_in_new_york():
    with machine_time_zone("America/New_York"):  # also where the system has no time zone database
        yield


@pytest.mark.parametrize("browser_zone", [None, "", "Not/A_Zone", "../etc/passwd"])
def test_without_a_known_browser_zone_the_days_are_this_machines(machine_in_new_york, browser_zone):
    assert app_enrolment.user_zone(browser_zone) is None
    assert app_enrolment.today(NEW_YORK_EVENING, None) == date(2026, 4, 30)
    assert _consent(date(2026, 4, 30), None).expires_at == datetime(2026, 5, 1, 3, 59, 59, 999999, tzinfo=UTC)


# ----------------------------------------------------------------------------- re-embedding a member


class _Model:
    """An identity model's interface (fer_core.identity.EmbeddingModel): what re-embedding calls."""

    name = "new_model.onnx"

    def align(self, image, landmarks):
        return np.zeros((112, 112, 3), np.uint8)

    def embed(self, crops):
        return np.ones((len(crops), 8), np.float32)


def _face(x: float):
    return SimpleNamespace(box=(x, 10.0, 40.0, 40.0), landmarks=np.zeros((5, 2), np.float32))


def _enrol_with(store, name: str, *, scope: str, thumbnails=(), model: str = "old_model.onnx", days: int = 365) -> str:
    record = ConsentRecord.new(subject=name, purpose="name family members in our photos", scope=scope, days=days,
                               now=store_now(store))
    return family.enroll(store, name, np.ones((1, 8), np.float32), record, thumbnails=list(thumbnails),
                         model=model).person_id


def test_a_member_the_model_cannot_name_is_offered_new_photos_and_their_thumbnails_only_where_usable(store, clock):
    aligned = enrolment.thumbnails(np.zeros((1, 112, 112, 3), np.uint8), template=np.ones((5, 2)))
    before_0_3_0 = io.BytesIO()
    Image.new("RGB", (96, 96), (120, 100, 90)).save(before_0_3_0, format="JPEG")  # records no alignment
    _enrol_with(store, "Ana", scope="recognition+thumbnails", thumbnails=aligned)
    _enrol_with(store, "Ben", scope="recognition+thumbnails", thumbnails=[before_0_3_0.getvalue()])
    _enrol_with(store, "Cy", scope="recognition")
    _enrol_with(store, "Dee", scope="recognition", model=_Model.name)  # named by the model installed: nothing to do
    _enrol_with(store, "Eve", scope="recognition", days=1)
    clock.advance(days=2)  # Eve's consent has ended: re-embedding needs one in force
    ways = app_enrolment.reembeddings(store, family.members(store), _Model.name)
    assert {way.member.name: way.from_thumbnails for way in ways} == {"Ana": True, "Ben": False, "Cy": False}


def test_re_embedding_from_photos_says_from_how_many_and_why_each_other_photo_was_left_out(store):
    cy = _enrol_with(store, "Cy", scope="recognition")
    (member,) = family.members(store)
    photos = [enrolment.EnrolmentPhoto("cy.webp", np.zeros((80, 80, 3), np.uint8), [_face(10)],
                                       not_read="only frame 1 of its 2 frames was analysed"),  # an animation
              enrolment.EnrolmentPhoto("two people.jpg", np.zeros((80, 160, 3), np.uint8), [_face(10), _face(90)]),
              enrolment.EnrolmentPhoto("group.jpg", np.zeros((80, 160, 3), np.uint8), [_face(10), _face(90)]),
              enrolment.EnrolmentPhoto("wall.png", np.zeros((80, 80, 3), np.uint8), []),
              enrolment.EnrolmentPhoto("broken.jpg", None, [], error="not an image")]
    done = app_enrolment.reembed_from_photos(store, member, photos, {"two people.jpg": 1, "group.jpg": None},
                                             model=_Model())
    assert done == ("Cy's face prints were updated from 2 of 5 photo(s): they are named again from now on. "
                    "cy.webp: only frame 1 of its 2 frames was analysed. "
                    "group.jpg: 2 faces and none picked, so it is not used. "
                    "wall.png: no face found, so it is not used. "
                    "broken.jpg could not be read (not an image): it is not used.")
    (entry,) = store.gallery(model=_Model.name)
    assert (entry.person_id, len(entry.embeddings)) == (cy, 2)

    with pytest.raises(enrolment.NoFaceToEnrolError):  # nothing stored
        app_enrolment.reembed_from_photos(store, member, photos[3:], None, model=_Model())
    assert len(store.gallery(model=_Model.name)[0].embeddings) == 2


def test_re_embedding_from_photos_needs_a_consent_in_force(store, clock):
    _enrol_with(store, "Eve", scope="recognition", days=1)
    clock.advance(days=2)
    (member,) = family.members(store)
    photo = enrolment.EnrolmentPhoto("eve.jpg", np.zeros((80, 80, 3), np.uint8), [_face(10)])
    with pytest.raises(ConsentError):
        app_enrolment.reembed_from_photos(store, member, [photo], None, model=_Model())
    assert store.gallery(model=_Model.name) == []


def test_a_look_alike_refusal_stands_for_the_very_photos_and_faces_refused_and_names_that_member_only():
    photos, picks = {"a.jpg": b"first", "b.jpg": b"second"}, {"a.jpg": None, "b.jpg": 1}
    members = [SimpleNamespace(person_id="p1", name="Ana"), SimpleNamespace(person_id="p2", name="Ben")]
    refused = app_enrolment.Lookalike("p2", app_enrolment.photos_key(photos, picks))
    assert app_enrolment.looked_like(refused, photos, picks, members) is members[1]
    assert app_enrolment.looked_like(None, photos, picks, members) is None
    assert app_enrolment.looked_like(refused, {**photos, "c.jpg": b"third"}, picks, members) is None
    assert app_enrolment.looked_like(refused, photos, {**picks, "b.jpg": 0}, members) is None
    assert app_enrolment.looked_like(refused, photos, picks, members[:1]) is None  # that member erased meanwhile
