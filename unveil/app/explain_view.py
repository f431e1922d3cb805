"""The Explain page's glue: one analysed face's heatmaps (governance.explain) laid back onto the photo."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from fer_core.render import FaceLike

if TYPE_CHECKING:
    from governance.explain import Faithfulness


@dataclass(frozen=True)
class EmotionHeatmap:
    """One emotion's explanation of one face: the probability and the photo around the face with the
    heatmap laid over it (RGB uint8)."""

    emotion: str
    probability: float
    picture: np.ndarray


def explain_photo_face(
    cam_model: Any, photo: np.ndarray, face: FaceLike, template: np.ndarray, *, method: str | None = None,
    margin: float = 0.35,
) -> list[EmotionHeatmap]:
    """A heatmap per emotion for one analysed face (governance.explain), shown on the photo around it.
    `method` is one of governance.explain.METHODS; None means its DEFAULT_METHOD.

    The face is re-aligned exactly as the emotion model saw it (its 5 landmarks onto the model's
    `template`), explained once for all classes, and each class's map is carried back onto the
    photo; the picture is cropped to the face box plus `margin` of its size on every side, and shrunk
    to at most fer_core.render.DISPLAY_MAX_SIDE on its longest side. The maps are drawn on that
    picture only, never on the whole photo: on a 6000x4000 photo that took 11 s and 2.8 GB for a small face."""
    from fer_core.alignment import align
    from fer_core.render import display_copy
    from governance.explain import DEFAULT_METHOD, explain_face, heatmap_to_photo, overlay

    aligned = align(photo, face.landmarks, template, cam_model.input_size)  # the crop and its matrix, at once
    explanation = explain_face(cam_model, aligned.crop, method=method or DEFAULT_METHOD)
    x, y, w, h = (float(v) for v in face.box)
    top, bottom = max(0, int(y - margin * h)), min(photo.shape[0], math.ceil(y + h + margin * h))
    left, right = max(0, int(x - margin * w)), min(photo.shape[1], math.ceil(x + w + margin * w))
    picture, _ = display_copy(photo[top:bottom, left:right])
    # photo -> picture: the crop's corner to 0, then each axis scaled as the resize did (pixel centres kept,
    # as cv2.resize places them); the aligned face's matrix then starts from the picture's pixels.
    sy, sx = picture.shape[0] / (bottom - top), picture.shape[1] / (right - left)
    to_picture = np.array([[sx, 0, (sx - 1) / 2 - sx * left], [0, sy, (sy - 1) / 2 - sy * top], [0, 0, 1]])
    matrix = np.asarray(aligned.matrix, np.float64) @ np.linalg.inv(to_picture)
    out = []
    for emotion, probability in zip(explanation.classes, explanation.probabilities):
        heat = heatmap_to_photo(explanation.heatmap(emotion), matrix, picture.shape)
        out.append(EmotionHeatmap(emotion, float(probability), overlay(picture, heat)))
    return out


# The Explain page's methods in the order it prefers them when all are equally trusted: one-pass methods first,
# LayerCAM (governance.explain.DEFAULT_METHOD) leading; occlusion last of the trusted, for its cost.
METHOD_LABELS = {
    "layercam": "LayerCAM (one pass)",
    "hirescam": "HiResCAM (one pass)",
    "gradcam": "Grad-CAM (one pass)",
    "gradcam++": "Grad-CAM++ (one pass)",
    "occlusion": "Occlusion (about 120 passes: slower)",
}
# What the page says with no face to explain: none analysed yet, or every face analysed without an emotion reading
# (its mouth outside the photo, fer_core.emotion.mouth_outside), where "analyse a photo with a face" would be untrue.
NO_FACE_YET = "Analyse a photo with at least one face on the Analyze page first; its faces can then be explained here."
NO_FACE_READ = ("No face analysed has an emotion reading to explain: each one's mouth is outside its photo. Analyse a "
                "photo that shows a whole face on the Analyze page.")
# Each map is normalised to its own maximum (governance.explain): without this, a map of an emotion the model gives 1%
# reads as strong evidence for it.
# Its colours are the scale's ends, as alt_text.HEAT_STRONG and HEAT_NONE name them.
HOW_TO_READ = ("Yellow marks the parts of the face that pushed the model towards an emotion, dark blue those that did "
               "not, grey in between. Each map is scaled to its own strongest point, so the map of an unlikely emotion "
               "can look as yellow as the predicted one's: the percentage under each map says how likely the model "
               "finds that emotion.")
# How far to trust the map, said first in words a household reads (the deletion test below, put plainly: hiding the
# parts a map marks first should make the model less sure of its answer faster than hiding parts picked at random).
# The measured figures follow in the page's "How this was measured" (the notes below, from the model's card).
TRUSTED_SUMMARY = ("A fair guide to what the model relied on: in a test on this model, hiding the parts this map marks "
                   "made the model less sure of its answer faster than hiding parts picked at random.")
UNTRUSTED_SUMMARY = ("Do not trust this map: in a test on this model, the parts it marks mattered less to the model's "
                     "answer than parts picked at random.")
UNSURE_SUMMARY = ("Read this map with caution: in a test on this model, the parts it marks did not clearly matter more "
                  "to the model's answer than parts picked at random.")
NOT_MEASURED_SUMMARY = "Not tested on this model: how far this map shows what the model relied on is unknown."
MEASURED_HOW = "How this was measured"
# Where the figures come from: the model card beside the model file (governance.explain.measured_faithfulness), made by
# benchmarks/gradcam_faithfulness.py (docs/gradcam/deletion.md).
MEASURED_WHERE = "From this model's card (Governance page, Model cards)."
METHOD_HELP = ("Ways of working out the map, each named after a published method. Those measured as a fair guide on "
               "this model come first. A one-pass method reads the model once; occlusion hides each part of the face "
               "in turn (about 120 passes), so it is slower.")
NOT_MEASURED = ("Not measured on this model file (its card does not describe it): how far this map shows the "
                "model's evidence is unknown.")
TRUSTED_NOTE = ("Measured on {data}, on the map of each face's predicted emotion: removing the pixels this map "
                "marks first makes the model's confidence fall faster than removing them in random order (deletion "
                "AUC {auc:.2f} against {random:.2f}, {relative:.0%} lower; lower is better).")
UNTRUSTED_NOTE = ("Less faithful than random order on this model, measured on {data} on the map of each face's "
                  "predicted emotion: removing the pixels this map marks first lowers the model's confidence more "
                  "slowly than removing random pixels (deletion AUC {auc:.2f} against {random:.2f}). Do not read "
                  "this map as the model's evidence.")
UNSURE_NOTE = ("Not distinguishable from random order on this model, measured on {data} on the map of each face's "
               "predicted emotion (deletion AUC {auc:.2f} against {random:.2f}): read this map with caution.")


@dataclass(frozen=True)
class MethodChoice:
    """An explanation method as the Explain page offers it: its label, what its measurement says (`note`, and
    `summary` in plain words, which the page shows first), and whether
    it was measured more faithful than random order (False: measured, and it was not; None: not measured on
    this model file)."""

    method: str
    label: str
    note: str  # the measurement, with its figures and the faces it was measured on
    trusted: bool | None
    summary: str = NOT_MEASURED_SUMMARY  # what the note means for reading the map, in plain words


def method_choices(model_path: str | os.PathLike[str]) -> tuple[list[MethodChoice], str | None]:
    """The methods for the emotion model file at `model_path`, those measured faithful first and those
    measured less faithful than random last, and why its card could not be read (None if it could or has no
    measurement). An unreadable card leaves every method offered as not measured: explaining still works."""
    from governance.explain import ExplanationError, measured_faithfulness

    try:
        measured, problem = measured_faithfulness(model_path), None
    except ExplanationError as exc:
        measured, problem = {}, str(exc)
    choices = [_choice(method, label, measured.get(method)) for method, label in METHOD_LABELS.items()]
    rank = {True: 0, None: 1, False: 2}
    return sorted(choices, key=lambda c: rank[c.trusted]), problem


def _choice(method: str, label: str, faithfulness: Faithfulness | None) -> MethodChoice:
    if faithfulness is None:
        return MethodChoice(method, label, NOT_MEASURED, None)
    numbers = {"data": faithfulness.measured_on, "auc": faithfulness.deletion_auc,
               "random": faithfulness.random_auc, "relative": -faithfulness.relative}
    if faithfulness.beats_random:
        return MethodChoice(method, label, TRUSTED_NOTE.format(**numbers), True, TRUSTED_SUMMARY)
    if faithfulness.worse_than_random:
        return MethodChoice(method, f"{label}, less faithful than random here", UNTRUSTED_NOTE.format(**numbers), False,
                            UNTRUSTED_SUMMARY)
    return MethodChoice(method, label, UNSURE_NOTE.format(**numbers), False, UNSURE_SUMMARY)
