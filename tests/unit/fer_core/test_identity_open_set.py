"""Open-set identification: named only within the threshold AND clearly closer than the runner-up; else unknown."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from fer_core import UnveilError
from fer_core.identity import Gallery, IdentityError, Match, load_embedding_model
from tests.support.identity import reference_embeddings


def v(*xs: float) -> np.ndarray:
    return np.array(xs, dtype=np.float32)


def test_named_at_the_threshold_and_unknown_just_beyond():
    gallery = Gallery({"Ana": v(0, 0)[None], "Ben": v(10, 0)[None]}, threshold=1.0)
    assert gallery.identify(v(1.0, 0)) == Match("Ana", "Ana", 1.0, "Ana", "Ben", 9.0, "match")
    beyond = gallery.identify(v(1.25, 0))
    assert beyond == Match(None, None, 1.25, "Ana", "Ben", 8.75, "beyond threshold")


def test_people_are_identified_by_id_and_labelled_by_name():
    # Two members may look alike in name only: the match carries the id, the label is for display.
    entries = [SimpleNamespace(person_id="7f3a", name="Ana", embeddings=v(0, 0)[None]),
               SimpleNamespace(person_id="c21b", name="ana", embeddings=v(10, 0)[None])]
    gallery = Gallery.from_entries(entries, threshold=1.0)
    assert gallery.person_ids == ["7f3a", "c21b"] and gallery.labels == {"7f3a": "Ana", "c21b": "ana"}
    assert gallery.identify(v(9.5, 0)) == Match("c21b", "ana", 0.5, "c21b", "7f3a", 9.5, "match")
    unknown = gallery.identify(v(5, 0))
    assert (unknown.person_id, unknown.label, unknown.nearest) == (None, None, "7f3a")


def test_a_face_about_as_close_to_two_people_is_unknown():
    gallery = Gallery({"Parent": v(0, 0)[None], "Child": v(1, 0)[None]}, threshold=1.0)
    assert gallery.margin == pytest.approx(0.1)  # default: 0.1 x threshold
    between = gallery.identify(v(0.5, 0.25))
    assert (between.person_id, between.nearest, between.runner_up, between.reason) == (None, "Parent", "Child", "ambiguous")
    closer = gallery.identify(v(0.25, 0))  # 0.25 vs 0.75: clearly the parent
    assert (closer.person_id, closer.reason) == ("Parent", "match")


def test_margin_can_be_set_explicitly():
    people = {"Parent": v(0, 0)[None], "Child": v(1, 0)[None]}
    probe = v(0.25, 0)  # 0.25 from Parent, 0.75 from Child: a gap of 0.5
    assert Gallery(people, threshold=1.0, margin=0.49).identify(probe).person_id == "Parent"
    assert Gallery(people, threshold=1.0, margin=0.51).identify(probe).reason == "ambiguous"


def test_each_person_is_represented_by_the_centre_of_their_photos():
    gallery = Gallery({"Ana": np.stack([v(0, 0), v(2, 0)]), "Ben": v(10, 10)[None]}, threshold=0.6)
    match = gallery.identify(v(1, 0.5))  # 0.5 from the centre (1, 0), > 1 from either photo
    assert (match.person_id, match.distance) == ("Ana", pytest.approx(0.5))
    centre = gallery.centre("Ana")
    np.testing.assert_allclose(centre[:2], [1, 0])
    centre[:] = 99  # a copy: the gallery is not changed through it
    np.testing.assert_allclose(gallery.centre("Ana")[:2], [1, 0])
    with pytest.raises(IdentityError, match=r"^'Cleo' is not in this gallery$"):
        gallery.centre("Cleo")


def test_single_enrolled_person_has_no_runner_up():
    match = Gallery({"Ana": v(0, 0)[None]}, threshold=1.0).identify(v(0, 0.5))
    assert match == Match("Ana", "Ana", 0.5, "Ana", None, math.inf, "match")


def test_empty_gallery_names_nobody():
    assert Gallery({}, threshold=1.0).identify(v(0, 0)) == Match(None, None, math.inf, None, None, math.inf, "empty gallery")


def test_cosine_distance_ignores_length():
    gallery = Gallery({"Ana": v(3, 0)[None], "Ben": v(0, 1)[None]}, threshold=0.1, distance="cosine")
    match = gallery.identify(v(0.5, 0))
    assert (match.person_id, match.distance) == ("Ana", pytest.approx(0.0, abs=1e-6))
    assert gallery.identify(v(1, 1)).person_id is None  # 45 degrees from both: cosine distance 0.29


def test_real_faces_known_person_named_stranger_not():
    threshold = load_embedding_model().threshold
    halle_1, halle_2, karzai, chan = reference_embeddings()
    family = Gallery({"Halle": halle_1[None], "Hamid": karzai[None], "Jackie": chan[None]}, threshold=threshold)
    assert family.identify(halle_2).person_id == "Halle"
    without_her = Gallery({"Hamid": karzai[None], "Jackie": chan[None]}, threshold=threshold)
    stranger = without_her.identify(halle_2)
    assert (stranger.person_id, stranger.reason) == (None, "beyond threshold")


@pytest.mark.parametrize(
    ("people", "kwargs", "message"),
    [
        ({"Ana": np.zeros((1, 2))}, {"threshold": 0.0}, "threshold must be a positive number, got 0.0"),
        ({"Ana": np.zeros((1, 2))}, {"threshold": 1.0, "distance": "manhattan"},
         "distance must be one of euclidean, cosine, got 'manhattan'"),
        ({"Ana": np.zeros((1, 2))}, {"threshold": 1.0, "margin": -0.1}, "margin must be a number >= 0, got -0.1"),
        ({" ": np.zeros((1, 2))}, {"threshold": 1.0}, "person ids must be non-empty strings, got ' '"),
        ({"p1": np.zeros((1, 2))}, {"threshold": 1.0, "labels": {"p2": "Ana"}},
         "p1: the display label must be a non-empty string, got None"),
        ({"Ana": np.zeros((0, 2))}, {"threshold": 1.0},
         "Ana: embeddings must be a non-empty finite [n, d] array, got shape (0, 2)"),
        ({"Ana": np.zeros((1, 2)), "Ben": np.zeros((1, 3))}, {"threshold": 1.0},
         "Ben: embeddings have 3 dimensions, others have 2"),
    ],
)
def test_bad_galleries_are_refused(people, kwargs, message):
    with pytest.raises(IdentityError) as caught:
        Gallery(people, **kwargs)
    assert str(caught.value) == message
    assert isinstance(caught.value, UnveilError)


def test_embedding_of_the_wrong_length_is_refused():
    gallery = Gallery({"Ana": np.zeros((1, 128))}, threshold=0.5)
    with pytest.raises(IdentityError) as caught:
        gallery.identify(np.zeros(64))
    assert str(caught.value) == "embedding must be a finite vector of length 128, got shape (64,)"


def test_a_zero_embedding_is_refused_by_a_cosine_gallery_not_named():
    # Its cosine distance to everyone is NaN, which passed both the threshold and the margin: it was named.
    gallery = Gallery({"p1": np.array([[1.0, 0.0]]), "p2": np.array([[0.0, 1.0]])}, threshold=0.3, distance="cosine")
    with pytest.raises(IdentityError) as caught:
        gallery.identify(np.zeros(2))
    assert str(caught.value) == "a zero embedding has no direction to compare by cosine"
    assert Gallery({"p1": np.array([[1.0, 0.0]])}, threshold=0.3).identify(np.zeros(2)).distance == 1.0  # euclidean
