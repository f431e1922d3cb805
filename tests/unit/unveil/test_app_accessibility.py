"""What people who do not see the app's colours or pictures as others do are given: numbers on the annotated
photo that contrast with their tag, captions readable with low vision, and every picture said in words."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from fer_core import render
from fer_core.analyzer import reading_order
from unveil.app import alt_text, charts, launch

WCAG_AA_TEXT = 4.5


def _luminance(rgb) -> float:
    channels = [c / 255 for c in rgb]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(first, second) -> float:
    high, low = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _hex(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def test_every_face_number_contrasts_with_its_coloured_tag():
    # Ten faces, one in each box colour, on a photo large enough for thick glyphs: the ink of each number is
    # the pixel of its tag farthest from the tag's colour. White on tab10's orange, olive or cyan was 2-2.5:1.
    photo = np.full((900, 1500, 3), 128, np.uint8)
    boxes = [(40 + 145 * i, 300, 100, 120) for i in range(10)]
    placed = render.layout((1500, 900), boxes)
    canvas = np.asarray(render.draw(photo, boxes)).astype(int)
    for index, tag in enumerate(placed.tags):
        fill = _hex(render.COLOURS[index])
        x0, y0, x1, y1 = (round(v) for v in tag)
        pixels = canvas[y0 + 1:y1 - 1, x0 + 1:x1 - 1].reshape(-1, 3)
        ink = pixels[np.abs(pixels - fill).sum(axis=1).argmax()]
        assert _contrast(ink, fill) >= WCAG_AA_TEXT, (index + 1, render.COLOURS[index], tuple(ink))
    assert all(render.contrast_ratio(render.ink(colour), colour) >= WCAG_AA_TEXT for colour in render.COLOURS)


def test_the_face_numbers_grow_with_the_photo():
    # A number is about a thirtieth of the photo's longest side (never under 12 px), so it reads the same on a
    # 250 px crop and on a phone photo shrunk to fit the page.
    for side in (250, 1400, 4000):
        placed = render.layout((side, side * 3 // 4), [(side // 4, side // 4, side // 5, side // 5)])
        number_height = placed.tags[0][3] - placed.tags[0][1] - 2 * placed.line
        assert number_height >= max(12, side / 30) * 0.6, (side, number_height)


def test_captions_drawn_in_the_light_theme_s_text_colour_are_readable_with_low_vision():
    # Streamlit draws captions in the text colour at 60% opacity: over the page (white) and the sidebar and
    # widgets (#f8f8f7, Streamlit's secondary background). Its default #2f2d2b gave 3.9:1.
    text = _hex(launch.SETTINGS["theme.light.textColor"])
    for background in ((255, 255, 255), (248, 248, 247)):
        caption = [0.6 * t + 0.4 * b for t, b in zip(text, background)]
        assert _contrast(caption, background) >= WCAG_AA_TEXT, background


def _face(emotion: str, probs: dict[str, float], identity: str | None = None):
    return SimpleNamespace(emotion=emotion, emotion_probs=probs, identity=identity, person_id=identity)


def test_the_annotated_photo_is_said_in_words_face_by_face():
    faces = [_face("happy", {"happy": 0.87, "sad": 0.13}, "Grace Hopper"), _face("sad", {"happy": 0.2, "sad": 0.8})]
    assert alt_text.annotated_photo("party.jpg", faces, recognition=True) == (
        "party.jpg, 2 faces boxed and numbered. face 1: happy 87% Grace Hopper; face 2: sad 80% unknown.")
    assert alt_text.annotated_photo("a.jpg", faces[:1], recognition=False) == (
        "a.jpg, 1 face boxed and numbered. face 1: happy 87%.")
    assert alt_text.annotated_photo("lawn.png", [], recognition=True) == "lawn.png: no face found."
    assert alt_text.probabilities(2, {"happy": 0.2, "sad": 0.8}) == (
        "Probability of each emotion for face 2: happy 20%, sad 80%.")


def test_a_face_s_emotion_timeline_is_said_in_words():
    """The Video page's chart of a face's emotions over time was an SVG of coloured lines with no words: a screen
    reader announced a graphic and nothing of what it showed. It says when the face was seen and what was read."""
    assert alt_text.timeline("Face 2 (Ann)", [1.5, 2.0, 2.5, 3.0], ["sad", None, "happy", "sad"]) == (
        "Emotion probabilities over time for Face 2 (Ann), seen in 4 frames from 1.5 s to 3.0 s: sad in 2 frames, "
        "emotion not read in 1, happy in 1.")
    assert alt_text.timeline("Face 1", [0.5], [float("nan")]) == (
        "Emotion probabilities over time for Face 1, seen in 1 frame from 0.5 s to 0.5 s: emotion not read in 1 "
        "frame.")


def test_the_video_timeline_s_lines_show_on_the_page_and_are_told_apart_without_colour():
    """Streamlit's palette drew two of the shipped model's four emotions in #83c9ff and #ffabab, 1.8:1 on the white
    page (WCAG 1.4.11 asks 3:1 of a graphic), and the lines differed by colour alone. A line must show in the dark
    theme as well."""
    classes = ["happy", "neutral", "sad", "surprise"]
    encoding = charts.timeline(classes, 3.0, "said")["encoding"]
    colours = encoding["color"]["scale"]["range"]
    assert colours == charts.TIMELINE_COLOURS
    assert charts.BACKGROUNDS[0] == "#ffffff"  # and the dark theme's, which a black line would vanish into
    assert all(render.contrast_ratio(colour, page) >= 3 for colour in colours for page in charts.BACKGROUNDS), colours
    for cue in ("strokeDash", "shape"):
        assert (encoding[cue]["field"], encoding[cue]["sort"]) == ("emotion", classes)


def test_a_photo_to_pick_a_face_from_says_where_each_number_is():
    said = alt_text.faces_to_pick("three.jpg", [(0, 0, 50, 50), (280, 0, 50, 50), (520, 0, 60, 60)], 600)
    assert said == ("three.jpg: 3 faces, each boxed and numbered: face 1 at the left, face 2 in the middle, "
                    "face 3 at the right. Pick the person by number.")
    assert alt_text.numbered("Thumbnail of Ann", 2) == ["Thumbnail of Ann 1 of 2", "Thumbnail of Ann 2 of 2"]
    assert alt_text.heatmap("sad", 0.8, face="a.jpg, face 1", predicted=True).startswith(
        "Heatmap for sad (80%, the emotion the model read) over a.jpg, face 1: yellow where")


def test_a_photo_of_two_rows_to_pick_a_face_from_says_the_row_of_each_number():
    """Faces are numbered row by row (fer_core.analyzer.reading_order), but the description said only left, middle
    or right: in a photo of two rows, 'face 1 at the left, face 2 at the right, face 3 at the left' told a screen
    reader's user nothing of which left. It says the rows, grouped as the numbers are."""
    back, front = [(40, 20, 60, 60), (420, 30, 60, 70)], [(10, 200, 70, 80), (270, 190, 70, 80), (520, 210, 60, 70)]
    detections = [SimpleNamespace(box=box) for box in (front[2], back[1], front[0], back[0], front[1])]
    assert [d.box for d in reading_order(detections)] == [*back, *front]  # the numbers drawn on the photo
    assert alt_text.faces_to_pick("family.jpg", [*back, *front], 600) == (
        "family.jpg: 5 faces in 2 rows, each boxed and numbered row by row. Top row: face 1 at the left, face 2 at "
        "the right. Bottom row: face 3 at the left, face 4 in the middle, face 5 at the right. Pick the person by "
        "number.")
    rows = [[(x, y, 40, 40) for x in (10, 300)] for y in (0, 100, 200, 300)]
    assert alt_text.faces_to_pick("team.jpg", [box for row in rows for box in row], 600).split(". ")[1:3] == [
        "Row 1 of 4 from the top: face 1 at the left, face 2 in the middle",
        "Row 2 of 4 from the top: face 3 at the left, face 4 in the middle"]


def _colour_name(rgb) -> str:
    """The plain name of a heat map's end colour, as a sighted reader would say it (None when it is neither)."""
    r, g, b = (int(c) for c in rgb)
    if r > 200 and g > 200 and b < 100:
        return "yellow"
    if b > r and b > g and max(r, g, b) < 128:
        return "dark blue"
    return "something else"


def test_the_heatmap_texts_name_the_colours_the_scale_draws():
    """The Explain page's caption and each heatmap's alt text name the colours the overlay draws for the strongest
    evidence and for none (they said red and blue, from jet, whose middle colour-blind people cannot read)."""
    from governance.explain import overlay
    from unveil.app.explain_view import HOW_TO_READ

    ends = overlay(np.zeros((1, 2, 3), np.uint8), np.array([[1.0, 0.0]], np.float32), alpha=1.0)[0]
    assert (_colour_name(ends[0]), _colour_name(ends[1])) == (alt_text.HEAT_STRONG, alt_text.HEAT_NONE)
    assert HOW_TO_READ.startswith(f"{alt_text.HEAT_STRONG.capitalize()} marks the parts of the face that pushed")
    assert f"{alt_text.HEAT_NONE} those that did not" in HOW_TO_READ
    assert f"as {alt_text.HEAT_STRONG} as the predicted one's" in HOW_TO_READ
    said = alt_text.heatmap("sad", 0.8, face="a.jpg, face 1", predicted=False)
    assert said.endswith(f": {alt_text.HEAT_STRONG} where the face pushed the model towards sad, "
                         f"{alt_text.HEAT_NONE} where it did not.")
    assert not any(" red" in text.lower() or text.lower().startswith("red") for text in (HOW_TO_READ, said))
