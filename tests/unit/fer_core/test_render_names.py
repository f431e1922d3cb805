"""Members' names drawn on pictures (the legend of an annotated photo, fer_core.render.draw): each letter is drawn
as itself, in every script LABEL_FONT has, never as the empty box a font draws for a character it lacks."""
from __future__ import annotations

import numpy as np
import pytest

from fer_core import render

# The names' letters LABEL_FONT has: accented Latin (French, Spanish, Turkish, Polish, Vietnamese), Greek,
# Cyrillic, Armenian, Georgian, Hebrew and Arabic.
NAMES = ["José María", "Zoë François", "Ayşe Yılmaz", "Łukasz Żółć", "Nguyễn Thị", "Ελένη", "Мария Їжак", "Հայկ",
         "ნინო", "שרה", "محمد"]
NO_GLYPH = "\u0378"  # unassigned: every font draws it as its empty box

PHOTO = np.full((120, 160, 3), 128, np.uint8)


def _legend(text: str) -> np.ndarray:
    return np.asarray(render.draw(PHOTO, [(20, 20, 60, 60)], [f"happy 87% {text}"]))


@pytest.mark.parametrize("name", NAMES)
def test_every_letter_of_a_name_is_drawn_in_the_legend(name):
    # Pillow's own font has 113 characters: the "é" of "José", the "ş" of "Ayşe" and all of "Мария" came out as the
    # empty box it draws for a character it lacks, so the annotated photo named no one readably.
    empty_box = _legend(NO_GLYPH)
    for letter in dict.fromkeys(name.replace(" ", "")):
        assert not np.array_equal(_legend(letter), empty_box), (name, letter)
