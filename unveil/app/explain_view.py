"""The Explain page's glue: one analysed face's heatmaps (governance.explain) laid back onto the photo."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from fer_core.render import FaceLike


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
    photo; the picture is cropped to the face box plus `margin` of its size on every side."""
    from fer_core.alignment import align
    from governance.explain import DEFAULT_METHOD, explain_face, heatmap_to_photo, overlay

    aligned = align(photo, face.landmarks, template, cam_model.input_size)  # the crop and its matrix, at once
    explanation = explain_face(cam_model, aligned.crop, method=method or DEFAULT_METHOD)
    x, y, w, h = (float(v) for v in face.box)
    top, bottom = max(0, int(y - margin * h)), min(photo.shape[0], math.ceil(y + h + margin * h))
    left, right = max(0, int(x - margin * w)), min(photo.shape[1], math.ceil(x + w + margin * w))
    out = []
    for emotion, probability in zip(explanation.classes, explanation.probabilities):
        heat = heatmap_to_photo(explanation.heatmap(emotion), aligned.matrix, photo.shape)
        out.append(EmotionHeatmap(emotion, float(probability), overlay(photo, heat)[top:bottom, left:right]))
    return out
