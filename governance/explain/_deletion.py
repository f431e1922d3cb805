"""The deletion metric (Petsiuk, Das and Saenko 2018, "RISE"): is a heatmap faithful to the model?

Remove the pixels the heatmap calls most important first, a step at a time, and record the class
probability after each step. If the heatmap found the evidence the model uses, the probability falls
fast and the area under the curve (probability against share of pixels removed) is small; a random
order sets the level a heatmap must beat. Lower is better.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from governance.explain._errors import ExplanationError
from governance.explain._perturb import fill_image

# 24 steps on a 48x48 face remove 96 pixels (two rows' worth, about 4%) per step: a smooth enough
# curve for 25 forward passes, which matters when 200 faces x 4 methods run on two CPU cores.
DELETION_STEPS = 24


@dataclass(frozen=True)
class DeletionCurve:
    """fractions: (S+1,) share of pixels removed, 0 to 1; scores: (S+1,) class probability after each step."""

    fractions: np.ndarray
    scores: np.ndarray

    @property
    def auc(self) -> float:
        """Area under the curve by the trapezoid rule, in [0, 1] for probabilities. Lower is better."""
        # Written out: np.trapezoid is numpy >= 2 only and np.trapz is deprecated there.
        return float(np.sum((self.scores[1:] + self.scores[:-1]) / 2 * np.diff(self.fractions)))


def deletion_order(saliency: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Flat pixel indices, most salient first. Ties (a Grad-CAM map is often 0 over large areas) are
    broken at random, so a flat region is removed in no systematic order (e.g. not top rows first)."""
    flat = np.asarray(saliency, dtype=np.float64).ravel()
    return np.lexsort((rng.permutation(flat.size), -flat))


def deletion_curve(
    predict: Callable[[np.ndarray], np.ndarray],
    image: np.ndarray,
    saliency: np.ndarray,
    class_index: int,
    *,
    steps: int = DELETION_STEPS,
    fill: str | np.ndarray = "blur",
    rng: np.random.Generator | None = None,
) -> DeletionCurve:
    """The deletion curve of `saliency` (h, w) for `image` (h, w, 3) and class `class_index`.

    `predict` maps a batch (N, h, w, 3) float32 to probabilities (N, C), e.g. CamModel.predict.
    Removed pixels take their value from `fill` ("blur", "mean" or an array; see _perturb.py).
    `rng` breaks ties in the saliency order (default: seeded, so results repeat)."""
    image = np.asarray(image, dtype=np.float32)
    saliency = np.asarray(saliency)
    if image.ndim != 3 or saliency.shape != image.shape[:2]:
        raise ExplanationError(f"saliency shape {saliency.shape} does not match the image's {image.shape[:2]}")
    if steps < 1:
        raise ExplanationError(f"steps must be at least 1, got {steps}")
    height, width = saliency.shape
    n_pixels = height * width
    order = deletion_order(saliency, rng if rng is not None else np.random.default_rng(0))
    filled = fill_image(image, fill).reshape(n_pixels, -1)
    counts = np.unique(np.round(np.linspace(0, n_pixels, steps + 1)).astype(int))
    batch = np.repeat(image.reshape(1, n_pixels, -1), len(counts), axis=0)
    for row, count in zip(batch, counts):
        removed = order[:count]
        row[removed] = filled[removed]
    probs = np.asarray(predict(batch.reshape(len(counts), *image.shape)))
    return DeletionCurve(fractions=counts / n_pixels, scores=probs[:, class_index].astype(np.float64))
