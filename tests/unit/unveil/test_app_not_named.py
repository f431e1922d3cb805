"""Why a face on the Analyze page is "unknown" although it is close to the family (unveil.app.photos.not_named_why):
the gallery's reason for a face about as close to two members (fer_core.identity.AMBIGUOUS) was never shown, so a
household with twins, or one person enrolled twice, saw "unknown" as for a stranger. Said without naming either."""
from __future__ import annotations

import numpy as np

from fer_core.identity import AMBIGUOUS, Gallery
from unveil.app import photos

ANA, BEN = np.array([1.0, 0.0, 0.0], np.float32), np.array([0.0, 1.0, 0.0], np.float32)


def _gallery(**people) -> Gallery:
    return Gallery({f"id-{name}": rows for name, rows in people.items()}, labels={f"id-{n}": n for n in people},
                   threshold=0.54, distance="cosine")


def test_only_a_face_about_as_close_to_two_members_is_said_and_neither_is_named():
    gallery = _gallery(Ana=ANA[None], Ben=BEN[None])
    between = np.array([1.0, 0.95, 0.0], np.float32)  # 0.275 from Ana, 0.311 from Ben: within the margin, 0.054
    match = gallery.identify(between)
    assert (match.person_id, match.reason) == (None, AMBIGUOUS)
    assert photos.not_named_why(match) == photos.NOT_NAMED_AMBIGUOUS == (
        "Not named: this face is about as close to two members, and a wrong name is worse than none. Members who look "
        "alike (twins) are often not told apart; if two members are one person enrolled twice, erase one of them on "
        "the Family page.")
    assert "Ana" not in photos.NOT_NAMED_AMBIGUOUS and "Ben" not in photos.NOT_NAMED_AMBIGUOUS

    named = gallery.identify(np.array([1.0, 0.1, 0.0], np.float32))
    stranger = gallery.identify(np.array([0.0, 0.0, 1.0], np.float32))
    nobody = _gallery().identify(ANA)
    assert [m.reason for m in (named, stranger, nobody)] == ["match", "beyond threshold", "empty gallery"]
    assert [photos.not_named_why(m) for m in (named, stranger, nobody, None)] == [None, None, None, None]
