"""Grad-CAM and Grad-CAM++ from the model's own outputs, and occlusion sensitivity from forward passes.

Every method returns one map per class over the aligned face, float32 in [0, 1] at the model's input
size: 0 is "no evidence for this class here", 1 the strongest evidence in this face. A map is divided
by its own maximum, so maps compare within a face, not across faces or classes.
"""
from __future__ import annotations

import cv2
import numpy as np

from governance.explain._model import CamModel
from governance.explain._perturb import fill_image

# Occlusion: the square patch's side as a share of the face's side (8 px on a 48x48 face, about an eye),
# moved by half a patch so every pixel is covered by up to four patch positions.
OCCLUSION_PATCH_FRACTION = 1 / 6


def _upsample_normalise(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(C, fh, fw) non-negative maps -> (C, h, w) in [0, 1]: bilinear upsampling (as in the Grad-CAM
    paper), then each map over its maximum. An all-zero map (no positive evidence) stays zero."""
    height, width = size
    out = np.stack([cv2.resize(m.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR) for m in maps])
    peak = out.max(axis=(1, 2), keepdims=True)
    return np.divide(out, peak, out=np.zeros_like(out), where=peak > 0)


def gradcam_plus_plus_channel_weights(features: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Grad-CAM++ (Chattopadhyay et al. 2018, eq. 19) channel weights from Grad-CAM's outputs.

    With the exponential of the class score and a score that is piecewise linear in the feature map
    (GAP -> Dense(ReLU) -> Dense), the higher derivatives are powers of the first, and the per-cell
    gradient g is the same in every cell (GAP spreads it evenly), so
    alpha_k = g_k^2 / (2 g_k^2 + g_k^3 * sum_ij A_ijk) and w_k = alpha_k * relu(g_k) (times the number of
    cells, a constant the normalisation removes). Where the denominator vanishes alpha is 0, as in the
    reference implementations.
    """
    g = gradients.astype(np.float64)  # (C, k)
    activation_sums = features.astype(np.float64).sum(axis=(0, 1))  # (k,)
    denominator = 2 * g**2 + g**3 * activation_sums[None, :]
    alpha = np.divide(g**2, denominator, out=np.zeros_like(g), where=denominator != 0)
    return (alpha * np.maximum(g, 0)).astype(np.float32)


def cam_maps(features: np.ndarray, channel_weights: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """relu(sum_k w[c, k] * A[..., k]) for every class c: (fh, fw, k) and (C, k) -> (C, h, w) in [0, 1].
    Grad-CAM (Selvaraju et al. 2017) uses the class score's gradient averaged over the map's cells as
    w, which is exactly the exported cam_weights."""
    maps = np.maximum(np.einsum("hwk,ck->chw", features, channel_weights), 0)
    return _upsample_normalise(maps, size)


def hirescam_maps(features: np.ndarray, gradients: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """HiResCAM (Draelos and Carin 2020): relu(sum_k g[c, i, j, k] * A[i, j, k]), each cell weighted by
    its own gradient instead of the gradient averaged over the map as in Grad-CAM. (fh, fw, k) and
    (C, fh, fw, k) -> (C, h, w) in [0, 1]. At the last map of a GAP head the two are the same."""
    maps = np.maximum(np.einsum("hwk,chwk->chw", features, gradients), 0)
    return _upsample_normalise(maps, size)


def layercam_maps(features: np.ndarray, gradients: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """LayerCAM (Jiang et al. 2021): relu(sum_k relu(g[c, i, j, k]) * A[i, j, k]): like HiResCAM, but a
    channel's negative gradient in a cell counts as no evidence rather than evidence against."""
    return hirescam_maps(features, np.maximum(gradients, 0), size)


def occlusion_maps(model: CamModel, face: np.ndarray, probs: np.ndarray, *, fill: str = "blur") -> np.ndarray:
    """Occlusion sensitivity (Zeiler and Fergus 2014): slide a patch of blurred face over the face; a
    pixel's value for class c is the mean drop of c's probability over the patch positions covering it.
    Needs only forward passes (about 120 at 48x48), so it makes no assumption about gradients."""
    height, width = model.input_size
    patch = max(1, round(OCCLUSION_PATCH_FRACTION * min(height, width)))
    stride = max(1, patch // 2)
    ys = np.unique(np.r_[np.arange(0, height - patch + 1, stride), height - patch])
    xs = np.unique(np.r_[np.arange(0, width - patch + 1, stride), width - patch])
    face = np.asarray(face, dtype=np.float32)
    filled = fill_image(face, fill)
    occluded = np.repeat(face[None], len(ys) * len(xs), axis=0)
    windows = [(y, x) for y in ys for x in xs]
    for image, (y, x) in zip(occluded, windows):
        image[y : y + patch, x : x + patch] = filled[y : y + patch, x : x + patch]
    drops = probs[None, :] - model.predict(occluded)  # (positions, C)
    total = np.zeros((len(probs), height, width), np.float64)
    count = np.zeros((height, width), np.float64)
    for drop, (y, x) in zip(drops, windows):
        total[:, y : y + patch, x : x + patch] += drop[:, None, None]
        count[y : y + patch, x : x + patch] += 1
    maps = np.maximum(total / count, 0)
    peak = maps.max(axis=(1, 2), keepdims=True)
    return np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0).astype(np.float32)
