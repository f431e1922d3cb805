"""How pixels are "removed" when an explanation is tested or computed by perturbation.

Setting a pixel to black or grey gives the face an edge the model never saw in training, and the
probability then moves because of that artefact rather than because evidence left. Replacing a pixel
with a heavily blurred copy of the same face (Petsiuk et al. 2018 blur their images for the same
reason) keeps brightness and colour and takes away only the local detail: eyes, mouth, wrinkles.
"""
from __future__ import annotations

import cv2
import numpy as np

from governance.explain._errors import ExplanationError

# Gaussian sigma as a share of the face's side: 0.1 is 4.8 px on a 48x48 face, wider than an eye or
# a mouth corner there, so the blurred copy keeps no expression detail.
BLUR_SIGMA_FRACTION = 0.1
FILLS = ("blur", "mean")


def fill_image(image: np.ndarray, fill: str | np.ndarray) -> np.ndarray:
    """The replacement pixels for `image` (h, w, 3) float32: "blur" (see above), "mean" (the image's
    mean colour everywhere) or an explicit array of the image's shape."""
    image = np.asarray(image, dtype=np.float32)
    if isinstance(fill, np.ndarray):
        if fill.shape != image.shape:
            raise ExplanationError(f"fill array has shape {fill.shape}, the image {image.shape}")
        return fill.astype(np.float32)
    if fill == "blur":
        sigma = BLUR_SIGMA_FRACTION * max(image.shape[:2])
        return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)
    if fill == "mean":
        return np.broadcast_to(image.mean(axis=(0, 1), keepdims=True), image.shape).astype(np.float32)
    raise ExplanationError(f"unknown fill {fill!r}; expected one of {list(FILLS)} or an array")
