"""Enrolment: embeddings of one person from a few photos, refusing photos that do not show exactly one face."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import numpy as np

from fer_core.identity._errors import EnrollmentError, IdentityError
from fer_core.identity._model import EmbeddingModel


class _HasLandmarks(Protocol):
    landmarks: np.ndarray  # 5x2 (x, y): left eye, right eye, nose, mouth left, mouth right


# Any face detector: image (HxWx3 uint8 RGB) -> the faces found, each with 5 landmarks, e.g.
# fer_core.detection.FaceDetector().detect or fer_core.detection.detect_faces.
Detector = Callable[[np.ndarray], Sequence[_HasLandmarks]]


def embed_enrollment_photos(
    photos: Mapping[str, np.ndarray], *, detect: Detector, model: EmbeddingModel
) -> np.ndarray:
    """Embeddings [n, d] of one person, one row per photo, in the order given.

    `photos` maps a name the user recognises (usually the file name) to an RGB uint8 image.
    Every photo must show exactly one face: with none there is nothing to enrol, and with
    several there is no safe way to tell which is the person (enrolling a bystander would later
    name that stranger as family). All photos are checked before anything is embedded; if any is
    refused, EnrollmentError names each refused photo and why, and nothing is returned.
    """
    if not photos:
        raise IdentityError("no enrolment photos given")
    refused: dict[str, str] = {}
    crops = []
    for name, image in photos.items():
        faces = detect(image)
        if len(faces) == 0:
            refused[name] = "no face found"
        elif len(faces) > 1:
            refused[name] = f"{len(faces)} faces found"
        elif not refused:
            crops.append(model.align(image, faces[0].landmarks))
    if refused:
        raise EnrollmentError(refused)
    return model.embed(np.stack(crops))
