"""Where the shipped models live. `UNVEIL_MODELS_DIR` overrides it (tests, packaged installs)."""
import os
from pathlib import Path


def models_dir() -> Path:
    """The folder holding the shipped ONNX models and their cards."""
    override = os.environ.get("UNVEIL_MODELS_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "models"
