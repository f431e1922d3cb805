"""Results as people read and keep them: one flat record per face, CSV and JSON, and annotated photos
that stay readable in a crowd.

An annotated photo has a box and a number on every face, each number put where it covers no face (nor
another number), and the details of each face (emotion, name) in a legend beside the photo, where a long
name hides nothing. The photo is framed by a white margin one number high, so there is always a free
place for a number: above the photo if nowhere closer. Numbers go as close to their face as a free place
allows, above it first. Plain functions on arrays and Pillow images.
"""
from __future__ import annotations

import functools
import importlib.util
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFont

# Box colours, one per face number, from matplotlib's "tab10" cycle. With colour blindness some look alike (orange and
# green with protanopia: benchmarks/accessibility_colour.py), so a face is told by its number, on its tag and in the
# legend, never by its colour alone.
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 in canvas pixels


@dataclass(frozen=True)
class Layout:
    """Where everything goes on the annotated canvas: the photo's top-left corner (`margin`, `margin`),
    each face's box as drawn (outline included) and each number's tag, in canvas pixels."""

    margin: int
    line: int
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont
    faces: list[Rect]
    tags: list[Rect]


# Pillow's own font (Aileron) has 113 characters, ASCII and a few signs: every other letter of a name (the "é" of
# "José", the "ş" of "Ayşe", all of "Мария") was drawn as an empty box. DejaVu Sans, which matplotlib (a dependency)
# ships as its default font, draws Latin letters with every accent, Greek, Cyrillic, Armenian, Georgian, Hebrew and
# Arabic; not Chinese, Japanese, Korean, Thai, the Indic scripts nor emoji.
LABEL_FONT = "DejaVuSans.ttf"


@functools.cache
def _label_font_path() -> str:
    # Found without importing matplotlib (a tenth of a second, and it makes its cache folder): its data folder is
    # the package's mpl-data (matplotlib.get_data_path).
    (package,) = importlib.util.find_spec("matplotlib").submodule_search_locations
    return os.path.join(package, "mpl-data", "fonts", "ttf", LABEL_FONT)


def label_font(size: int) -> ImageFont.FreeTypeFont:
    """LABEL_FONT at `size` pixels: the numbers and labels drawn on pictures (a new font object each call, as a
    live video draws from another thread than the page)."""
    return ImageFont.truetype(_label_font_path(), size)


def _style(photo_size: tuple[int, int]) -> tuple[int, ImageFont.FreeTypeFont | ImageFont.ImageFont]:
    # Line width and font size follow the photo's size so labels stay readable on a 250 px LFW crop
    # and on a 4000 px phone photo alike.
    side = max(photo_size)
    return max(2, round(side / 250)), label_font(max(12, round(side / 30)))


def _text_size(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, text: str) -> tuple[int, int]:
    left, top, right, bottom = font.getbbox(text)
    return right - left, bottom - top


def layout(photo_size: tuple[int, int], boxes: Sequence[Sequence[float]]) -> Layout:
    """Tags for the numbers 1..len(boxes) of the (x, y, w, h) `boxes` of a photo of `photo_size`
    (width, height): none overlaps a face's box, and none another tag while a free place is left."""
    line, font = _style(photo_size)
    sizes = [_text_size(font, str(number)) for number in range(1, len(boxes) + 1)]
    tag_height = max((h for _, h in sizes), default=0) + 2 * line
    margin = tag_height + 2 * line
    faces = [(x + margin - line, y + margin - line, x + w + margin + line, y + h + margin + line)
             for x, y, w, h in ((float(v) for v in box) for box in boxes)]
    area = (photo_size[0] + 2 * margin, photo_size[1] + 2 * margin)
    tags: list[Rect] = []
    for face, (text_w, _) in zip(faces, sizes):
        tags.append(_free_place(face, (text_w + 2 * line, tag_height), area, faces, tags))
    return Layout(margin=margin, line=line, font=font, faces=faces, tags=tags)


def _free_place(face: Rect, size: tuple[float, float], area: tuple[int, int], faces: Sequence[Rect],
                tags: Sequence[Rect]) -> Rect:
    """The place for a tag of `size` nearest to `face`, preferring above it, then flush with its left
    edge: clear of every face, and of every tag placed so far when it can be.

    Places are searched on a grid of half a tag's height aligned with the face (so that the places
    just above, below and beside it are on the grid), plus the frame's top row, always free of faces."""
    width, height = size
    step = max(1.0, height / 2)
    xs = _grid(face[0], step, area[0] - width, extra=(face[2] - width, face[2], face[0] - width))
    ys = _grid(face[1] - height, step, area[1] - height, extra=(0.0, face[3]))
    x, y = (grid.ravel() for grid in np.meshgrid(xs, ys))
    clear_of_faces = ~_overlaps(x, y, size, faces)
    free = clear_of_faces & ~_overlaps(x, y, size, tags)
    if not free.any():
        free = clear_of_faces  # a crowd that fills the frame: numbers may touch, faces stay clear
    gap_x = np.maximum.reduce([face[0] - (x + width), x - face[2], np.zeros_like(x)])
    gap_y = np.maximum.reduce([face[1] - (y + height), y - face[3], np.zeros_like(y)])
    above = (y + height <= face[1]).astype(float)
    # Nearest first, counted in grid steps; among equally near places, above the face, then the
    # place nearest its top-left corner.
    order = np.lexsort((np.hypot(x - face[0], y + height - face[1]), -above, np.floor(np.hypot(gap_x, gap_y) / step)))
    best = order[free[order]][0]
    return float(x[best]), float(y[best]), float(x[best] + width), float(y[best] + height)


def _grid(anchor: float, step: float, last: float, extra: Sequence[float]) -> np.ndarray:
    """Positions from 0 to `last` every `step` through `anchor`, plus the `extra` ones inside that range."""
    below = np.arange(anchor, -step, -step)
    above = np.arange(anchor + step, last + step, step)
    values = np.concatenate([below, above, np.asarray(extra, dtype=float)])
    return np.unique(values[(values >= 0) & (values <= last)])


def _overlaps(x: np.ndarray, y: np.ndarray, size: tuple[float, float], rects: Sequence[Rect]) -> np.ndarray:
    hit = np.zeros(x.shape, dtype=bool)
    for x0, y0, x1, y1 in rects:
        hit |= (x < x1) & (x + size[0] > x0) & (y < y1) & (y + size[1] > y0)
    return hit


def draw(image: np.ndarray | Image.Image, boxes: Sequence[Sequence[float]],
         details: Sequence[str] = ()) -> Image.Image:
    """A new picture: the RGB photo framed, a coloured box and number on each (x, y, w, h) box, and
    when `details` (one line per face) are given, a legend beside the photo: each number, in its
    colour, with its line. The photo itself is not changed."""
    photo = (image.copy() if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))).convert("RGB")
    placed = layout(photo.size, boxes)
    line, font, margin = placed.line, placed.font, placed.margin
    row = margin - line  # one legend row: a tag's height and a gap
    numbers = [str(n) for n in range(1, len(boxes) + 1)]
    entries = [(n, _text_size(font, n)[0] + 2 * line, text) for n, text in zip(numbers, details)]
    legend = max((tag_w + 2 * line + _text_size(font, text)[0] for _, tag_w, text in entries), default=0)
    width = photo.width + 2 * margin + (legend + margin if entries else 0)
    height = max(photo.height + 2 * margin, margin + row * len(entries))
    canvas = Image.new("RGB", (width, height), "white")
    canvas.paste(photo, (margin, margin))
    pen = ImageDraw.Draw(canvas)
    for index, (face, tag) in enumerate(zip(placed.faces, placed.tags)):
        colour = COLOURS[index % len(COLOURS)]
        outlined_box(pen, (face[0] + line, face[1] + line, face[2] - line, face[3] - line), colour, line)
        _tag(pen, tag, numbers[index], colour, font, line)
    left = photo.width + 2 * margin
    for index, (number, tag_w, text) in enumerate(entries):
        top = margin + index * row
        _tag(pen, (left, top, left + tag_w, top + row - line), number, COLOURS[index % len(COLOURS)], font, line)
        text_top = font.getbbox(text)[1]
        pen.text((left + tag_w + 2 * line, top + line - text_top), text, fill="black", font=font)
    return canvas


def _luminance(colour: str) -> float:
    """WCAG's relative luminance of a "#rrggbb" colour: 0 for black, 1 for white."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """WCAG's contrast ratio of two "#rrggbb" colours, from 1 (the same) to 21 (black on white). Text needs
    4.5 to be read by people with low vision (WCAG 2 AA)."""
    high, low = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def ink(fill: str) -> str:
    """The colour of a number written on `fill`: black or white, whichever contrasts more with it. White on
    tab10's orange, olive or cyan is under 2.5:1, unreadable with low vision; black on them is over 8:1."""
    return max(("#000000", "#ffffff"), key=lambda text: contrast_ratio(text, fill))


def halo_width(line: int) -> int:
    """The width of the halo edging a box's line of width `line` on each side, and a tag."""
    return max(1, line // 2)


def outlined_box(pen: ImageDraw.ImageDraw, rect: Rect, colour: str, line: int) -> None:
    """A box's line `line` px wide in `colour`, inside `rect`, edged on both sides by a halo in `ink(colour)`
    (halo_width px). On a photo region of the box's own colour (a green shirt under a green box) the line alone
    vanished (1:1); the halo is 4.5:1 or more against every colour, so the line is always told from what it
    is next to (WCAG 1.4.11 asks 3:1), as map and camera apps draw."""
    halo = halo_width(line)
    pen.rectangle((rect[0] - halo, rect[1] - halo, rect[2] + halo, rect[3] + halo), outline=ink(colour),
                  width=line + 2 * halo)
    pen.rectangle(rect, outline=colour, width=line)


def haloed_patch(pen: ImageDraw.ImageDraw, rect: Rect, colour: str, line: int) -> None:
    """A rectangle filled with `colour`, edged outside by a halo in `ink(colour)`: a label's background, seen on a
    photo of its own colour as outlined_box's line is."""
    halo = halo_width(line)
    pen.rectangle((rect[0] - halo, rect[1] - halo, rect[2] + halo, rect[3] + halo), fill=ink(colour))
    pen.rectangle(rect, fill=colour)


def _tag(pen: ImageDraw.ImageDraw, rect: Rect, text: str, colour: str,
         font: ImageFont.FreeTypeFont | ImageFont.ImageFont, line: int) -> None:
    """A number on a filled rectangle of its face's colour (haloed_patch), in black or white as contrasts more
    (`ink`)."""
    left, top, _, _ = font.getbbox(text)
    haloed_patch(pen, rect, colour, line)
    pen.text((rect[0] + line - left, rect[1] + line - top), text, fill=ink(colour), font=font)


UNKNOWN = "unknown"
# What every front end shows for a face whose emotion was not read (fer_core.emotion.mouth_outside).
EMOTION_NOT_READ = "emotion not read: mouth outside the photo"


class FaceLike(Protocol):
    """What results are made of (fer_core.analyzer.Face): box (x, y, w, h), emotion, and the family
    member matched (`person_id`, `identity` their display name), both None for "unknown"."""

    box: tuple[float, float, float, float]
    score: float
    emotion: str | None
    emotion_probs: dict[str, float]
    embedding: np.ndarray | None

    @property
    def person_id(self) -> str | None: ...

    @property
    def identity(self) -> str | None: ...


def face_details(face: FaceLike, *, recognition: bool) -> str:
    """What the legend beside an annotated photo says of a face: "happy 87%" (or EMOTION_NOT_READ), plus the name
    (or "unknown") when a family gallery was consulted."""
    parts = [EMOTION_NOT_READ if face.emotion is None else f"{face.emotion} {face.emotion_probs[face.emotion]:.0%}"]
    if recognition:
        parts.append(face.identity or UNKNOWN)
    return " ".join(parts)


def face_records(faces: Sequence[FaceLike], *, source: str, recognition: bool) -> list[dict[str, Any]]:
    """One flat row per face, numbered from 1 in the analyzer's (reading) order.

    Columns: source, face, x, y, w, h (pixels of the photo as uploaded, after EXIF rotation), score
    (detector confidence), emotion, then one `p_<emotion>` column per class, then `identity` (the
    family member's name or "unknown") only when `recognition` is on: without an open gallery
    "unknown" would be a claim nobody checked.
    """
    rows = []
    for number, face in enumerate(faces, start=1):
        x, y, w, h = (float(v) for v in face.box)
        row: dict[str, Any] = {
            "source": source,
            "face": number,
            "x": round(x, 1),
            "y": round(y, 1),
            "w": round(w, 1),
            "h": round(h, 1),
            "score": round(float(face.score), 4),
            "emotion": face.emotion,
        }
        for label, p in face.emotion_probs.items():
            row[f"p_{label}"] = round(float(p), 4)
        if recognition:
            row["identity"] = face.identity or UNKNOWN
        rows.append(row)
    return rows


# What a spreadsheet reads as the start of a formula in a cell of a CSV file it opens: a photo named
# '=HYPERLINK("http://...";"open").jpg' became a live link in the source column, sending the sheet's cells on a click.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def spreadsheet_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet reads as text: a text starting as a formula does gets a "'" before it (which
    spreadsheets show as text, and do not show); anything else, numbers included, is given back as it is.
    For every text in a CSV file written from names (files, members, manifest cells)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def records_csv(records: Sequence[dict[str, Any]]) -> bytes:
    """The rows as UTF-8 CSV with a header (columns in first-seen order), each text a spreadsheet reads as
    text (spreadsheet_cell)."""
    table = pd.DataFrame(list(records))
    return table.map(spreadsheet_cell).to_csv(index=False).encode("utf-8")


def records_json(records: Sequence[dict[str, Any]]) -> bytes:
    """The rows as a UTF-8 JSON array, indented for reading."""
    return json.dumps(list(records), indent=2, ensure_ascii=False).encode("utf-8")


def annotate(image: np.ndarray | Image.Image, faces: Sequence[FaceLike], *, recognition: bool) -> Image.Image:
    """A new picture of the RGB photo with a numbered box on every face, no number over any face, and
    the details of each face (see `face_details`) in a legend beside the photo (`draw`)."""
    return draw(image, [face.box for face in faces],
                           [face_details(face, recognition=recognition) for face in faces])


def number_faces(image: np.ndarray | Image.Image, boxes: Sequence[Sequence[float]]) -> Image.Image:
    """A new picture of the RGB photo with each (x, y, w, h) box drawn and numbered from 1, for picking a face."""
    return draw(image, boxes)


def png_bytes(image: Image.Image) -> bytes:
    """The image encoded as PNG, in memory."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# The longest side of the picture the Analyze page shows. A phone photo (4000x3000) is shown at most
# about 1,460 px wide in Streamlit's wide layout; encoding and sending all 12 MP on every rerun is what
# made each click take seconds.
DISPLAY_MAX_SIDE = 1400


DISPLAY_JPEG_QUALITY = 90


def display_copy(image: np.ndarray, max_side: int = DISPLAY_MAX_SIDE) -> tuple[np.ndarray, float]:
    """The RGB photo shrunk so its longest side is at most `max_side` (never enlarged), and the factor
    applied to its coordinates."""
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale == 1.0:
        return image, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # INTER_AREA averages every source pixel: no aliasing on a 3x reduction, and fast.
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale
