"""Five-point face alignment: a similarity transform from detected landmarks to a model's template.

Landmark order everywhere in Unveil (MTCNN's): left eye, right eye, nose tip, left mouth corner,
right mouth corner, as (x, y) pixels, "left" meaning the left side of the image.
"""
from __future__ import annotations

import cv2
import numpy as np

# dlib's 150x150 face chip (padding 0.25), as used by the face-api.js / dlib ResNet embedding.
DLIB_150_TEMPLATE = np.array(
    [[47.0, 46.2], [100.1, 46.4], [73.7, 75.9], [48.6, 103.2], [98.5, 103.5]], dtype=np.float32
)

# ArcFace / insightface 112x112 template, the usual reference for 5-point alignment.
ARCFACE_112_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) mapping `src` onto `dst`.

    Umeyama's closed form; returns the 2x3 matrix for cv2.warpAffine. Both arrays are Nx2, N >= 2.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError(f"need two matching Nx2 point sets, got {src.shape} and {dst.shape}")
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:  # a reflection is not a similarity
        d[-1] = -1
    rotation = u @ np.diag(d) @ vt
    src_var = (src_c**2).sum() / len(src)
    scale = (s * d).sum() / src_var if src_var > 0 else 1.0
    translation = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, translation[:, None]]).astype(np.float32)


def align_face(
    image: np.ndarray, landmarks: np.ndarray, template: np.ndarray, size: tuple[int, int]
) -> np.ndarray:
    """Warp `image` (HxWx3 uint8 RGB) so the 5 `landmarks` land on `template` in a (h, w) crop.

    Pixels outside the photo are filled by edge replication, so a face at the border does not
    get a black band that a classifier would read as a feature.
    """
    matrix = similarity_transform(np.asarray(landmarks, dtype=np.float32), template)
    height, width = size
    return cv2.warpAffine(
        image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def scale_template(template: np.ndarray, from_size: tuple[int, int], to_size: tuple[int, int]) -> np.ndarray:
    """The same template for another crop size (h, w): points scale with the crop."""
    fy = to_size[0] / from_size[0]
    fx = to_size[1] / from_size[1]
    return (np.asarray(template, dtype=np.float32) * np.array([fx, fy], dtype=np.float32)).astype(np.float32)
