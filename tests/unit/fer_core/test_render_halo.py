"""Boxes and tags drawn on pictures (fer_core.render.draw, the live video's draw_in_frame) stay visible on a photo
region of their own colour: a halo in black or white edges them (WCAG 1.4.11: 3:1 against adjacent colours)."""
from __future__ import annotations

import numpy as np
import pytest

from fer_core import render
from unveil.app import live

BOX = (40, 40, 80, 80)  # x, y, w, h


def _rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)], np.uint8)


def _hex(pixel: np.ndarray) -> str:
    return "#" + "".join(f"{int(v):02x}" for v in pixel)


def _flat(colour: str) -> np.ndarray:
    return np.tile(_rgb(colour), (200, 240, 1))


@pytest.mark.parametrize("colour", render.COLOURS)
def test_a_box_on_a_photo_of_its_own_colour_is_edged_at_3_to_1(colour):
    index = render.COLOURS.index(colour)
    # The box of face number index + 1 is drawn in `colour`; the others are set far off so as not to cover it.
    boxes = [(5 + 20 * i, 180, 4, 4) for i in range(index)] + [BOX]
    drawn = np.asarray(render.draw(_flat(colour), boxes))
    margin = render.layout((240, 200), boxes).margin
    # The box's left line starts at the box's left edge, halfway down it; the pixel just outside the line.
    x, y = BOX[0] + margin, BOX[1] + margin + BOX[3] // 2
    assert _hex(drawn[y, x]) == colour
    assert render.contrast_ratio(colour, _hex(drawn[y, x - 1])) >= 3, _hex(drawn[y, x - 1])


@pytest.mark.parametrize("colour", render.COLOURS)
def test_a_live_box_and_its_label_on_a_frame_of_their_own_colour_are_edged_at_3_to_1(colour):
    index = render.COLOURS.index(colour)
    boxes = [(5 + 20 * i, 180, 4, 4) for i in range(index)] + [BOX]
    drawn = live.draw_in_frame(_flat(colour), boxes, [""] * index + ["happy 87%"])
    x, y, w, h = BOX
    # Just outside the box's left line, halfway down; just below and left of its tag (above the box).
    for outside in (drawn[y + h // 2, x - 1], drawn[y - 3, x - 1]):
        assert render.contrast_ratio(colour, _hex(outside)) >= 3, _hex(outside)
