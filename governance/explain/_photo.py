"""From the aligned face back to the photo: undo the alignment warp, then colour and blend."""
from __future__ import annotations

import cv2
import matplotlib
import numpy as np

from fer_core import ImageError
from fer_core.alignment import warp_to_crop
from governance.explain._errors import ExplanationError
from governance.explain._explain import DEFAULT_METHOD, explain_face
from governance.explain._model import ModelLike, load_cam_model

# Share of the heatmap colour in a blended pixel: 0.5 keeps the face readable under the colours.
DEFAULT_ALPHA = 0.5
# Matplotlib's cividis: dark blue (no evidence) through grey to yellow (the strongest), perceptually uniform and made
# to read alike with the common red-green colour blindness (Nunez, Anderton & Renslow 2018). It replaced jet (the
# Grad-CAM paper's), whose middle colours (green, yellow, orange) many colour-blind people cannot tell apart and
# whose bright bands show edges that are not in the map. The app's texts name the two ends
# (unveil.app.alt_text.HEAT_STRONG, HEAT_NONE). The figures already published under docs/gradcam were drawn with jet.
DEFAULT_COLORMAP = "cividis"


def _matrix(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (2, 3):
        raise ExplanationError(f"the alignment matrix must be 2x3 (photo -> aligned face), got shape {matrix.shape}")
    return matrix


def heatmap_to_photo(heatmap: np.ndarray, matrix: np.ndarray, photo_shape: tuple[int, ...]) -> np.ndarray:
    """A heatmap over the aligned face (h, w), drawn in the photo's pixels (H, W).

    `matrix` is the 2x3 transform that made the aligned face from the photo (fer_core.alignment.align's
    AlignedFace.matrix); its inverse carries every heatmap
    pixel back to where that part of the face is in the photo. Pixels outside the aligned crop's
    footprint are NaN, meaning "not explained" (np.fmax combines the maps of several faces)."""
    heatmap = np.asarray(heatmap, dtype=np.float32)
    if heatmap.ndim != 2:
        raise ExplanationError(f"a heatmap must be 2-D (h, w), got shape {heatmap.shape}")
    height, width = int(photo_shape[0]), int(photo_shape[1])
    inverse = cv2.invertAffineTransform(_matrix(matrix))
    warp = dict(dsize=(width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    heat = cv2.warpAffine(heatmap, inverse, **warp)
    footprint = cv2.warpAffine(np.ones_like(heatmap), inverse, **warp)
    # Along the crop's edge bilinear sampling mixes heat with the zero border; dividing by the
    # footprint's own coverage undoes that dimming, and under half coverage is outside the crop.
    inside = footprint >= 0.5
    return np.where(inside, heat / np.maximum(footprint, 0.5), np.nan).astype(np.float32)


def overlay(
    image: np.ndarray, heatmap: np.ndarray, *, alpha: float = DEFAULT_ALPHA, colormap: str = DEFAULT_COLORMAP
) -> np.ndarray:
    """`image` (H, W, 3) or (H, W) 0-255 with `heatmap` (H, W) in [0, 1] coloured by a matplotlib
    colormap and alpha-blended on top; NaN heatmap pixels leave the image as it is. RGB uint8 (H, W, 3)."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ImageError(f"overlay needs an RGB (H, W, 3) or grayscale (H, W) image, got shape {image.shape}")
    heatmap = np.asarray(heatmap, dtype=np.float32)
    if heatmap.shape != image.shape[:2]:
        raise ExplanationError(f"heatmap shape {heatmap.shape} does not match the image's {image.shape[:2]}")
    if not 0.0 <= alpha <= 1.0:
        raise ExplanationError(f"alpha must be within [0, 1], got {alpha}")
    if colormap not in matplotlib.colormaps:
        raise ExplanationError(f"unknown matplotlib colormap {colormap!r}")
    missing = np.isnan(heatmap)
    colours = matplotlib.colormaps[colormap](np.clip(np.where(missing, 0, heatmap), 0, 1))[..., :3] * 255.0
    weight = np.where(missing, 0.0, alpha)[..., None]
    blended = (1 - weight) * image.astype(np.float32) + weight * colours
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def explain_on_photo(
    model: ModelLike,
    photo: np.ndarray,
    matrix: np.ndarray,
    emotion: str | None = None,
    *,
    method: str = DEFAULT_METHOD,
    alpha: float = DEFAULT_ALPHA,
    colormap: str = DEFAULT_COLORMAP,
) -> np.ndarray:
    """What the app shows for one face and one emotion: the photo (H, W, 3) RGB uint8 with that
    emotion's heatmap over the face that `matrix` (photo -> aligned face, 2x3) aligns; `emotion`
    None means the predicted one. Returns RGB uint8 (H, W, 3); the rest of the photo is unchanged.

    The face is cut by fer_core.alignment's own warp, so with the matrix of fer_core.alignment.align the
    explained crop is the one the model classified. A caller that holds the AlignedFace already explains
    its crop with explain_face and maps the maps back with heatmap_to_photo, as the app does."""
    photo = np.asarray(photo)
    if photo.dtype != np.uint8 or photo.ndim != 3 or photo.shape[2] != 3:
        raise ImageError(f"the photo must be RGB uint8 (H, W, 3), got {photo.dtype} {photo.shape}")
    cam_model = load_cam_model(model)
    aligned = warp_to_crop(photo, _matrix(matrix), cam_model.input_size)
    explanation = explain_face(cam_model, aligned, method=method)
    heat = heatmap_to_photo(explanation.heatmap(emotion), matrix, photo.shape)
    return overlay(photo, heat, alpha=alpha, colormap=colormap)
