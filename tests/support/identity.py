"""Shared helpers of the identity tests: the JS reference fixture and importing scripts/ modules."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image

from tests.support.paths import REPO

FIXTURES = REPO / "tests" / "fixtures" / "identity"
# Same order as faceapi_reference_embeddings.npy (scripts/make_identity_reference.py).
REFERENCE_PHOTOS = ["Halle_Berry_0001", "Halle_Berry_0002", "Hamid_Karzai_0001", "Jackie_Chan_0001"]


def aligned_fixture_faces() -> np.ndarray:
    """[4, 150, 150, 3] uint8: the aligned dlib chips the reference embeddings were computed on."""
    return np.stack([np.asarray(Image.open(FIXTURES / f"aligned_{name}.png").convert("RGB")) for name in REFERENCE_PHOTOS])


def reference_embeddings() -> np.ndarray:
    """[4, 128] float32: @vladmandic/face-api 1.7.15's own JavaScript output on those chips."""
    return np.load(FIXTURES / "faceapi_reference_embeddings.npy")


def load_script(name: str) -> ModuleType:
    """Import scripts/<name>.py as a module (scripts/ is not a package; its modules import each other)."""
    scripts = str(REPO / "scripts")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    # registered before running it, as a normal import would: dataclasses look their module up there
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def read_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))
