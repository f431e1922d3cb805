"""Where faces sit in the training crops, measured, so the app's aligned faces look like them.

FER2013 crops are looser than recognition chips (forehead and chin included). Aligning a face from a
photo to a generic template would hand the model a differently framed face than it trained on; the
template here is the median of MTCNN's landmarks over training images, in model-input pixels, and is
written into the exported model's metadata (`template`).
"""
from __future__ import annotations

import numpy as np

# FER crops are 48 px; MTCNN finds faces from 20 px but its landmarks are steadier on larger faces.
_UPSCALE = 3


def measure_template(images: np.ndarray, *, size: tuple[int, int], sample: int = 1000, seed: int = 0) -> dict:
    """Median landmarks of the single-face detections in a random sample of (N, h, w) gray images,
    scaled to `size` (h, w). Returns {"template": 5x2 list, "faces": count used, "sampled": count}."""
    import cv2

    from fer_core.detection import FaceDetector

    detector = FaceDetector(min_face_size=40.0)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(images), size=min(sample, len(images)), replace=False)
    points = []
    for index in chosen:
        gray = images[index]
        big = cv2.resize(gray, None, fx=_UPSCALE, fy=_UPSCALE, interpolation=cv2.INTER_CUBIC)
        faces = detector.detect(np.repeat(big[..., None], 3, axis=-1))
        if len(faces) == 1:
            scale = np.array([size[1] / gray.shape[1], size[0] / gray.shape[0]], dtype=np.float32) / _UPSCALE
            points.append(faces[0].landmarks * scale)
    if not points:
        raise RuntimeError("no face found in the sampled training images: cannot measure a template")
    template = np.median(np.stack(points).astype(np.float64), axis=0)
    return {"template": np.round(template, 2).tolist(), "faces": len(points), "sampled": int(len(chosen))}
