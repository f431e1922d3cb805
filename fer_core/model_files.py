"""Model files for code outside fer_core: where the shipped models live, loading one on CPU with its
metadata, and a file's SHA-256.

fer_core keeps these in private modules (_paths, _onnx); this module is their public name, so
governance, the front ends, scripts and tests do not depend on fer_core's layout. onnxruntime is taken
from here too (`ort`): fer_core switches its telemetry off before the library first loads.
"""
from __future__ import annotations

import hashlib
import os

from fer_core._onnx import load_session, metadata, metadata_json, ort, session_from_bytes
from fer_core._paths import identity_model_name, models_dir

__all__ = [
    "identity_model_name", "load_session", "metadata", "metadata_json", "models_dir", "ort", "session_from_bytes",
    "sha256_file",
]


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The hex SHA-256 of the file at `path`, read in chunks: a model of hundreds of MB is never held
    in memory whole. FileNotFoundError (an OSError) when there is no such file."""
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()
