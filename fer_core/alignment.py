"""Five-point face alignment: a similarity transform from detected landmarks to a model's template.

Landmark order everywhere in Unveil (MTCNN's): left eye, right eye, nose tip, left mouth corner,
right mouth corner, as (x, y) pixels, "left" meaning the left side of the image.
"""
from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class AlignedFace:
    """A face cut from a photo onto a template: the (h, w, 3) `crop` and the 2x3 `matrix` (photo pixels
    -> crop pixels) that cut it, whose inverse carries anything computed on the crop back to the photo."""

    crop: np.ndarray
    matrix: np.ndarray


def align(
    image: np.ndarray,
    landmarks: np.ndarray,
    template: np.ndarray,
    size: tuple[int, int],
    *,
    antialias: bool = True,
) -> AlignedFace:
    """Warp `image` (HxWx3 uint8 RGB) so the 5 `landmarks` land on `template` in a (h, w) crop.

    Pixels outside the photo are filled by edge replication, so a face at the border does not
    get a black band that a classifier would read as a feature. With `antialias` (see warp_to_crop)
    a face larger than the crop is averaged down instead of point-sampled.
    """
    matrix = similarity_transform(np.asarray(landmarks, dtype=np.float32), template)
    return AlignedFace(crop=warp_to_crop(image, matrix, size, antialias=antialias), matrix=matrix)


def align_face(
    image: np.ndarray,
    landmarks: np.ndarray,
    template: np.ndarray,
    size: tuple[int, int],
    *,
    antialias: bool = True,
) -> np.ndarray:
    """`align`'s crop alone, for a model that only reads it (nothing goes back onto the photo)."""
    return align(image, landmarks, template, size, antialias=antialias).crop


def supersampling_factor(matrix: np.ndarray) -> int:
    """How many times larger than the crop to warp so that no source pixel is skipped: ceil(1 / scale),
    1 when the similarity `matrix` (2x3) enlarges the face."""
    scale = float(np.sqrt(abs(np.linalg.det(np.asarray(matrix, dtype=np.float64)[:, :2]))))
    return max(1, int(np.ceil(1.0 / scale - 1e-6))) if scale > 0 else 1


def warp_to_crop(image: np.ndarray, matrix: np.ndarray, size: tuple[int, int], *, antialias: bool = True) -> np.ndarray:
    """The (h, w) crop that the 2x3 `matrix` (photo -> crop pixels) cuts from `image`.

    A bilinear warp from a 150-250 px face straight into 48x48 reads only the 4 pixels around each
    sample point and skips the rest, which aliases fine texture into noise; FER2013's faces were
    downscaled properly. With `antialias`, a face that shrinks is warped at k times the crop size
    (k = supersampling_factor, so every source pixel is read) and then averaged k x k down with
    INTER_AREA: a box filter over the same footprint. The big warp is at most about the photo's own
    size, since the face fits in the photo. Pixel centres line up: crop pixel i is the mean of big
    pixels k*i .. k*i + k - 1, whose centre is k*i + (k - 1) / 2.
    """
    height, width = size
    matrix = np.asarray(matrix, dtype=np.float64)
    factor = supersampling_factor(matrix) if antialias else 1
    if factor == 1:
        return cv2.warpAffine(
            image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
    big = matrix * factor
    big[:, 2] += (factor - 1) / 2
    warped = cv2.warpAffine(
        image, big, (width * factor, height * factor), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return cv2.resize(warped, (width, height), interpolation=cv2.INTER_AREA)


def scale_template(template: np.ndarray, from_size: tuple[int, int], to_size: tuple[int, int]) -> np.ndarray:
    """The same template for another crop size (h, w): points scale with the crop."""
    fy = to_size[0] / from_size[0]
    fx = to_size[1] / from_size[1]
    return (np.asarray(template, dtype=np.float32) * np.array([fx, fy], dtype=np.float32)).astype(np.float32)
