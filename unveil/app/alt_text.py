"""What a screen reader says for each picture the app shows (st.image's `alt`): the picture's content in
words, so that someone who cannot see it misses nothing it shows. Plain functions, tested without Streamlit.

A caption is not read as the picture's text alternative: without `alt` a screen reader announces an
image with no name at all (axe-core's rule image-alt), or reads its file address.
"""
from __future__ import annotations

from collections.abc import Sequence

from fer_core.analyzer import face_rows
from fer_core.render import FaceLike, face_details


def annotated_photo(title: str, faces: Sequence[FaceLike], *, recognition: bool) -> str:
    """The Analyze page's picture of a photo: its faces, each boxed and numbered, and what each number
    stands for (emotion and probability, and the name or "unknown" when names were checked).

    >>> annotated_photo("party.jpg", [], recognition=False)
    'party.jpg: no face found.'
    """
    if not faces:
        return f"{title}: no face found."
    count = f"{len(faces)} face" + ("s" if len(faces) != 1 else "")
    each = "; ".join(f"face {number}: {face_details(face, recognition=recognition)}"
                     for number, face in enumerate(faces, start=1))
    return f"{title}, {count} boxed and numbered. {each}."


def faces_to_pick(label: str, boxes: Sequence[Sequence[float]], width: int) -> str:
    """An enrolment photo with several faces, numbered for the person to pick theirs in the choice beside it:
    where each numbered face is across the photo (`width` pixels wide), and in a photo of several rows which row
    it is in (rows as the faces are numbered: fer_core.analyzer.face_rows), so the numbers can be told apart unseen.

    >>> faces_to_pick("two.jpg", [(10, 5, 40, 40), (150, 8, 40, 40)], 200)
    'two.jpg: 2 faces, each boxed and numbered: face 1 at the left, face 2 at the right. Pick the person by number.'
    """
    rows = face_rows(boxes)
    count = max(rows, default=0) + 1
    if count == 1:
        where = ", ".join(f"face {number} {_across(box, width)}" for number, box in enumerate(boxes, start=1))
        return f"{label}: {len(boxes)} faces, each boxed and numbered: {where}. Pick the person by number."
    said = []
    for row in range(count):
        where = ", ".join(f"face {number} {_across(box, width)}"
                          for number, (box, its_row) in enumerate(zip(boxes, rows), start=1) if its_row == row)
        said.append(f"{_row_name(row, count).capitalize()}: {where}.")
    return (f"{label}: {len(boxes)} faces in {count} rows, each boxed and numbered row by row. {' '.join(said)} "
            "Pick the person by number.")


_ROW_NAMES = {2: ("top row", "bottom row"), 3: ("top row", "middle row", "bottom row")}


def _row_name(row: int, count: int) -> str:
    """Row `row` (0 at the top) of `count` rows of faces."""
    return _ROW_NAMES[count][row] if count in _ROW_NAMES else f"row {row + 1} of {count} from the top"


def _across(box: Sequence[float], width: int) -> str:
    centre = (float(box[0]) + float(box[2]) / 2) / max(1, width)
    return "at the left" if centre < 1 / 3 else "in the middle" if centre < 2 / 3 else "at the right"


# The heatmaps' colour scale (governance.explain's DEFAULT_COLORMAP, cividis) in words: its top colour marks the
# strongest evidence, its bottom none. The Explain page's caption (explain_view.HOW_TO_READ) says the same.
HEAT_STRONG = "yellow"
HEAT_NONE = "dark blue"


def heatmap(emotion: str, probability: float, *, face: str, predicted: bool) -> str:
    """One emotion's heatmap on the Explain page; `face` names it as the page does ("party.jpg, face 1")."""
    read_as = ", the emotion the model read" if predicted else ""
    return (f"Heatmap for {emotion} ({probability:.0%}{read_as}) over {face}: {HEAT_STRONG} where the face pushed the "
            f"model towards {emotion}, {HEAT_NONE} where it did not.")


def numbered(what: str, count: int) -> list[str]:
    """One alt text per picture of a row of small pictures of one kind: "<what> 1 of 3", ..."""
    return [f"{what} {number} of {count}" for number in range(1, count + 1)]


def probabilities(number: int, probs: dict[str, float]) -> str:
    """The Analyze page's bar chart of one face's emotions, in words (Vega-Lite's `description`, which the
    chart's SVG carries as its accessible name): every bar's value, not only the highest."""
    bars = ", ".join(f"{emotion} {p:.0%}" for emotion, p in probs.items())
    return f"Probability of each emotion for face {number}: {bars}."


# A frame of the face whose emotion was not read (its mouth outside the frame), in the timeline's words.
NOT_READ = "emotion not read"


def timeline(face: str, times: Sequence[float], emotions: Sequence[str | None]) -> str:
    """The Video page's chart of one face's emotions over time, in words (Vega-Lite's `description`, the chart's
    accessible name): when the face was seen and the emotion read in how many of its frames, most frames first.
    A line per emotion drawn in colours is otherwise a picture a screen reader cannot say.

    >>> timeline("Face 1", [0.0, 0.5, 1.0], ["happy", "sad", "happy"])
    'Emotion probabilities over time for Face 1, seen in 3 frames from 0.0 s to 1.0 s: happy in 2 frames, sad in 1.'
    """
    counts: dict[str, int] = {}
    for emotion in emotions:
        key = emotion if isinstance(emotion, str) else NOT_READ  # None, or NaN where pandas held the column
        counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: -item[1])  # stable: ties keep the order first seen
    said = [f"{emotion} in {count}" for emotion, count in ranked]
    said[0] += " frame" + ("s" if ranked[0][1] != 1 else "")
    read = ", ".join(said)
    frames = f"{len(times)} frame" + ("s" if len(times) != 1 else "")
    return (f"Emotion probabilities over time for {face}, seen in {frames} from {min(times):.1f} s to "
            f"{max(times):.1f} s: {read}.")
