"""An identity model file declaring another version than the shipped one, under the shipped file's name: what a
household has after models/ is given a new release of that model (fer_core.identity.stored_name)."""
from __future__ import annotations

from pathlib import Path

import onnx

from fer_core.model_files import models_dir


def another_version(folder: Path, file: str, version: str) -> Path:
    """`folder`/`file`: the shipped `file` with its metadata's version replaced by `version` (same weights: only the
    declared version tells the two apart, as it does for a model with new weights)."""
    model = onnx.load(str(models_dir() / file))
    (declared,) = [prop for prop in model.metadata_props if prop.key == "version"]
    declared.value = version
    onnx.save(model, str(folder / file))
    return folder / file
