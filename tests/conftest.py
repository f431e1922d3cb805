"""Shared fixtures: paths to the shared data sets that every checkout finds at ../shared."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def fer4_dir() -> Path:
    """../shared/data/fer4: 48x48 grayscale FER2013 faces, train/validation/test x 4 classes."""
    return SHARED_DATA / "fer4"


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    """../shared/data/faces: LFW photos of 16 enrolled people (8 each) and 50 unknown people."""
    return SHARED_DATA / "faces"
