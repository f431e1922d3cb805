"""Where the shipped models live. `UNVEIL_MODELS_DIR` overrides it (tests, other model sets)."""
import os
from pathlib import Path


def models_dir() -> Path:
    """The folder holding the shipped ONNX models and their cards: fer_core/models, which in a checkout
    links to the repository's models/ and in an installed wheel holds copies of its files."""
    override = os.environ.get("UNVEIL_MODELS_DIR")
    if override:
        return Path(override)
    return (Path(__file__).parent / "models").resolve()
