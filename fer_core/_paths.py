"""Where the shipped models live, and which identity model is used. `UNVEIL_MODELS_DIR` overrides the folder
(tests, other model sets); `UNVEIL_IDENTITY_MODEL` the identity model's file name in it."""
import os
from pathlib import Path

# MobileFaceNet: on LFW's own pairs (less the development set's people) it rejects 1.7% of same-person
# pairs where dlib rejects 4.9%, both accepting 0.1% of different-person pairs (difference -3.1 points,
# 95% interval [-44.6, -1.1]): `python benchmarks/identity_lfw_pairs.py --model models/face_recognition_dlib.onnx
# --model models/face_recognition_mobilefacenet.onnx`. dlib stays selectable with UNVEIL_IDENTITY_MODEL.
DEFAULT_IDENTITY_MODEL = "face_recognition_mobilefacenet.onnx"


def models_dir() -> Path:
    """The folder holding the shipped ONNX models and their cards: fer_core/models, which in a checkout
    links to the repository's models/ and in an installed wheel holds copies of its files."""
    override = os.environ.get("UNVEIL_MODELS_DIR")
    if override:
        return Path(override)
    return (Path(__file__).parent / "models").resolve()


def identity_model_name() -> str:
    """The file name, in models_dir(), of the identity model the app, CLI and API load:
    `UNVEIL_IDENTITY_MODEL` (for example face_recognition_dlib.onnx) or DEFAULT_IDENTITY_MODEL.

    Embeddings are stored per model (FamilyStore), so after a change the Family page and
    `unveil family list` say who must be re-enrolled or re-embedded."""
    return os.environ.get("UNVEIL_IDENTITY_MODEL") or DEFAULT_IDENTITY_MODEL
