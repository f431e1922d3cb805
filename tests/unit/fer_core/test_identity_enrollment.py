"""Enrolment from a few photos: one embedding per photo; photos with no face or several faces are refused by name."""
from __future__ import annotations

import numpy as np
import pytest

from fer_core import UnveilError
from fer_core.detection import FaceDetector
from fer_core.identity import (
    EMBED_BATCH,
    EnrollmentError,
    Gallery,
    IdentityError,
    embed_enrollment_photos,
    load_embedding_model,
)
from tests.support.identity import read_rgb
from tests.support.sessions import RowCounter


@pytest.fixture(scope="module")
def model():
    return load_embedding_model()


@pytest.fixture(scope="module")
def detect():
    return FaceDetector().detect


def photo(faces_dir, name: str, index: int) -> np.ndarray:
    return read_rgb(faces_dir / name / f"{name}_{index:04d}.jpg")


def side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """A group photo made of two real single-face photos pasted next to each other."""
    return np.concatenate([left, right], axis=1)


def test_four_photos_give_four_embeddings_that_recognise_the_person(faces_dir, model, detect):
    photos = {f"colin_{i}.jpg": photo(faces_dir, "Colin_Powell", i) for i in (1, 2, 3, 4)}
    embeddings = embed_enrollment_photos(photos, detect=detect, model=model)
    assert embeddings.shape == (4, model.embedding_dim) and embeddings.dtype == np.float32

    others = embed_enrollment_photos({"serena.jpg": photo(faces_dir, "Serena_Williams", 1)}, detect=detect, model=model)
    gallery = Gallery({"Colin": embeddings, "Serena": others}, threshold=model.threshold, distance=model.distance)
    probe = photo(faces_dir, "Colin_Powell", 5)
    assert gallery.identify(model.embed_face(probe, detect(probe)[0].landmarks)).person_id == "Colin"


def test_photo_without_a_face_is_refused_by_name(faces_dir, model, detect):
    photos = {"ok.jpg": photo(faces_dir, "Colin_Powell", 1), "wall.jpg": np.full((250, 250, 3), 128, np.uint8)}
    with pytest.raises(EnrollmentError) as caught:
        embed_enrollment_photos(photos, detect=detect, model=model)
    assert str(caught.value) == "wall.jpg: no face found (enrolment needs photos that each show exactly one face)"
    assert caught.value.refused == {"wall.jpg": "no face found"}
    assert isinstance(caught.value, UnveilError)


def test_photo_with_two_faces_is_refused_by_name(faces_dir, model, detect):
    pair = side_by_side(photo(faces_dir, "Colin_Powell", 1), photo(faces_dir, "Serena_Williams", 1))
    assert len(detect(pair)) == 2
    photos = {"colin.jpg": photo(faces_dir, "Colin_Powell", 2), "with_serena.jpg": pair}
    with pytest.raises(EnrollmentError) as caught:
        embed_enrollment_photos(photos, detect=detect, model=model)
    assert str(caught.value) == "with_serena.jpg: 2 faces found (enrolment needs photos that each show exactly one face)"


def test_every_refused_photo_is_named_at_once(faces_dir, model, detect):
    pair = side_by_side(photo(faces_dir, "Colin_Powell", 1), photo(faces_dir, "Serena_Williams", 1))
    photos = {
        "empty.png": np.zeros((120, 160, 3), np.uint8),
        "fine.jpg": photo(faces_dir, "Colin_Powell", 2),
        "group.jpg": pair,
    }
    with pytest.raises(EnrollmentError) as caught:
        embed_enrollment_photos(photos, detect=detect, model=model)
    assert caught.value.refused == {"empty.png": "no face found", "group.jpg": "2 faces found"}
    assert str(caught.value) == (
        "empty.png: no face found; group.jpg: 2 faces found (enrolment needs photos that each show exactly one face)"
    )


def test_no_photos_is_refused(model, detect):
    with pytest.raises(IdentityError) as caught:
        embed_enrollment_photos({}, detect=detect, model=model)
    assert str(caught.value) == "no enrolment photos given"


def test_embed_runs_at_most_embed_batch_faces_at_a_time_and_keeps_their_order(faces_dir, detect):
    model = load_embedding_model()
    people = sorted(p for p in faces_dir.iterdir() if p.is_dir())[:EMBED_BATCH + 3]
    crops = []
    for person in people:
        rgb = photo(faces_dir, person.name, 1)
        crops.append(model.align(rgb, detect(rgb)[0].landmarks))
    crops = np.stack(crops)
    one_by_one = np.concatenate([model.embed(crop[None]) for crop in crops])
    model._session = counter = RowCounter(model._session)
    embeddings = model.embed(crops)
    assert counter.rows == [2 * EMBED_BATCH, 2 * 3]  # each face with its mirror image
    np.testing.assert_allclose(embeddings, one_by_one, atol=1e-4)
