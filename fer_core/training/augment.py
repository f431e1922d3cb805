"""Training-time augmentation (never at inference): small, label-preserving changes a webcam or phone
photo would show: mirror, a little rotation, shift and zoom, lighting. Kept small: at 48x48 a large shift
crops the mouth or eyes away.

One implementation, OpenCV on numpy batches, for every backend. Keras' preprocessing layers were the
TensorFlow path until 2026-11 and differed from this recipe in two ways that were measured: RandomContrast(0.2)
parses to a factor in [1.0, 1.2] (contrast only ever raised, never lowered), and rotation, shift and zoom
as three layers resample a face three times, which halved its fine detail (mean |Laplacian| 51 -> 23,
against 34 for the single warp here). On JAX those layers also could not be compiled with XLA (60x
slower VGG16 steps on an H100).

`domain=True` adds what separates a real photo's aligned face from a FER2013 face (issue 20): focus blur,
a face that was small in the photo (downscaled, then enlarged), JPEG at phone and web qualities, gamma
(exposure), and a small occluder (a hand, glasses' glare). Colour jitter before greying does not apply:
fer4 is grayscale already. Alignment jitter of the kind MTCNN's landmarks produce is the warp above."""
from __future__ import annotations

import cv2
import numpy as np

ROTATION = 0.03  # fraction of a full turn: about +-11 degrees
SHIFT = 0.08  # fraction of the side
ZOOM = 0.1  # +-10 % scale
BRIGHTNESS = 0.15  # +- this fraction of the 0-255 range, added
CONTRAST = 0.2  # contrast factor in [1 - CONTRAST, 1 + CONTRAST] around each image's mean
# Domain-gap changes: each applied to an image with probability DOMAIN_P, independently.
DOMAIN_P = 0.3
BLUR_SIGMA = (0.3, 1.2)  # Gaussian sigma in pixels of the 48-px face
DOWNSCALE = (0.35, 0.8)  # the face was this fraction of the crop's size before it was enlarged
JPEG_QUALITY = (25, 90)
GAMMA = (0.6, 1.6)
OCCLUDER = (0.12, 0.3)  # side of a grey rectangle, as a fraction of the face's side


def augment_batch(images: np.ndarray, rng: np.random.Generator, *, domain: bool = False) -> np.ndarray:
    """The recipe on a (N, h, w) uint8 grayscale batch; returns (N, h, w) float32 0-255.
    Flip, rotation, shift and zoom are one affine warp per image, with reflected borders; `domain` adds the
    real-photo changes (module docstring) after it."""
    n, height, width = images.shape
    out = np.empty((n, height, width), np.float32)
    angles = rng.uniform(-ROTATION, ROTATION, n) * 360.0
    scales = 1.0 + rng.uniform(-ZOOM, ZOOM, n)
    shifts = rng.uniform(-SHIFT, SHIFT, (n, 2)) * (width, height)
    flips = rng.random(n) < 0.5
    contrast = 1.0 + rng.uniform(-CONTRAST, CONTRAST, (n, 1, 1))
    brightness = rng.uniform(-BRIGHTNESS, BRIGHTNESS, (n, 1, 1)) * 255.0
    centre = ((width - 1) / 2.0, (height - 1) / 2.0)
    for i in range(n):
        source = images[i, :, ::-1] if flips[i] else images[i]
        matrix = cv2.getRotationMatrix2D(centre, float(angles[i]), float(scales[i]))
        matrix[:, 2] += shifts[i]
        out[i] = cv2.warpAffine(np.ascontiguousarray(source), matrix, (width, height), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT_101)
    if domain:
        for i in range(n):
            out[i] = _photo_like(out[i], rng)
    means = out.mean(axis=(1, 2), keepdims=True)
    return np.clip((out - means) * contrast + means + brightness, 0.0, 255.0).astype(np.float32)


def _photo_like(face: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One float32 0-255 face with each domain-gap change applied with probability DOMAIN_P."""
    height, width = face.shape
    apply = rng.random(5) < DOMAIN_P
    if apply[0]:
        face = cv2.GaussianBlur(face, (0, 0), float(rng.uniform(*BLUR_SIGMA)))
    if apply[1]:
        scale = rng.uniform(*DOWNSCALE)
        small = cv2.resize(face, (max(8, round(width * scale)), max(8, round(height * scale))), interpolation=cv2.INTER_AREA)
        face = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    if apply[2]:
        quality = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
        _, encoded = cv2.imencode(".jpg", np.clip(face, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, quality])
        face = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE).astype(np.float32)
    if apply[3]:
        face = 255.0 * (np.clip(face, 0, 255) / 255.0) ** rng.uniform(*GAMMA)
    if apply[4]:
        side_h = round(height * rng.uniform(*OCCLUDER))
        side_w = round(width * rng.uniform(*OCCLUDER))
        top, left = int(rng.integers(0, height - side_h + 1)), int(rng.integers(0, width - side_w + 1))
        face = face.copy()
        face[top:top + side_h, left:left + side_w] = rng.uniform(0, 255)
    return face.astype(np.float32)
