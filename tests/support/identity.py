"""Shared helpers of the identity tests: the JS reference fixture."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from fer_core.training.convert_mobilefacenet import parity_chips
from tests.support.paths import REPO

FIXTURES = REPO / "tests" / "fixtures" / "identity"
# Same order as faceapi_reference_embeddings.npy (tools/make_identity_reference.py).
REFERENCE_PHOTOS = ["Halle_Berry_0001", "Halle_Berry_0002", "Hamid_Karzai_0001", "Jackie_Chan_0001"]


def aligned_fixture_faces() -> np.ndarray:
    """[4, 150, 150, 3] uint8: the aligned dlib chips the reference embeddings were computed on."""
    return np.stack([np.asarray(Image.open(FIXTURES / f"aligned_{name}.png").convert("RGB")) for name in REFERENCE_PHOTOS])


def reference_embeddings() -> np.ndarray:
    """[4, 128] float32: @vladmandic/face-api 1.7.15's own JavaScript output on those chips."""
    return np.load(FIXTURES / "faceapi_reference_embeddings.npy")


def mobilefacenet_fixture_faces() -> np.ndarray:
    """[4, 112, 112, 3] uint8: those chips resized (Lanczos) to MobileFaceNet's input, as
    tools/convert_mobilefacenet.py fed them to the TFLite interpreter."""
    return parity_chips(aligned_fixture_faces())


def mobilefacenet_reference_embeddings() -> np.ndarray:
    """[4, 192] float32: the TFLite model's own output on those chips (tools/convert_mobilefacenet.py --reference)."""
    return np.load(FIXTURES / "mobilefacenet_reference_embeddings.npy")


def read_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))
