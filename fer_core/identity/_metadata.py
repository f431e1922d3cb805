"""The contract an identity embedding model carries in its ONNX metadata_props.

Converters write it with `identity_metadata`; `parse_identity_metadata` reads and checks it at load
time, so any embedding network (dlib ResNet, a user's VGGFace, ...) can be swapped in without code
changes as long as its file describes itself.

Keys (all values are strings; JSON where noted):
- input_size: JSON [h, w], the aligned crop the network takes.
- template: JSON 5x2, where the 5 landmarks (left eye, right eye, nose tip, left and right mouth
  corner) land in that crop, in input pixels.
- distance: "euclidean" (raw embeddings) or "cosine" (1 - cosine similarity).
- threshold: JSON number, the calibrated operating point: two faces whose distance is <= threshold
  are taken as the same person.
- embedding_dim: JSON int, the length of one embedding.
- version, source, licence: free text for the model card (provenance travels with the file).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from fer_core._errors import ModelError
from fer_core._onnx import metadata_json

DISTANCES = ("euclidean", "cosine")
REQUIRED_KEYS = ("input_size", "template", "distance", "threshold", "embedding_dim", "version", "source", "licence")


@dataclass(frozen=True)
class IdentityContract:
    """What an embedding model's metadata promises: how to align its input and compare its output."""

    input_size: tuple[int, int]
    template: np.ndarray
    distance: str
    threshold: float
    embedding_dim: int
    version: str
    source: str
    licence: str


def identity_metadata(
    *,
    input_size: tuple[int, int],
    template: np.ndarray,
    distance: str,
    threshold: float,
    embedding_dim: int,
    version: str,
    source: str,
    licence: str,
) -> dict[str, str]:
    """The metadata_props for an identity model, checked with the same rules the loader applies."""
    meta = {
        "input_size": json.dumps([int(v) for v in input_size]),
        "template": json.dumps(np.round(np.asarray(template, dtype=np.float64), 4).tolist()),
        "distance": distance,
        "threshold": json.dumps(float(threshold)),
        "embedding_dim": json.dumps(int(embedding_dim)),
        "version": version,
        "source": source,
        "licence": licence,
    }
    parse_identity_metadata(meta, model="(being written)")
    return meta


def parse_identity_metadata(meta: dict[str, str], *, model: str) -> IdentityContract:
    """Read and check the identity contract; ModelError naming the model and the bad key otherwise."""
    for key in REQUIRED_KEYS:
        if key not in meta:
            raise ModelError(f"model {model} has no '{key}' in its metadata")

    size = metadata_json(meta, "input_size", model=model)
    if not (isinstance(size, list) and len(size) == 2 and all(_is_int(v) and v > 0 for v in size)):
        raise ModelError(f"model {model}: metadata 'input_size' must be [height, width] in pixels, got {meta['input_size']}")
    height, width = int(size[0]), int(size[1])

    template = metadata_json(meta, "template", model=model)
    try:
        points = np.asarray(template, dtype=np.float32)
    except (TypeError, ValueError):
        points = np.zeros(0, dtype=np.float32)
    if points.shape != (5, 2) or not np.isfinite(points).all():
        raise ModelError(f"model {model}: metadata 'template' must be 5 (x, y) points, got {meta['template']}")
    if (points[:, 0] < 0).any() or (points[:, 0] > width).any() or (points[:, 1] < 0).any() or (points[:, 1] > height).any():
        raise ModelError(f"model {model}: metadata 'template' has points outside the {height}x{width} input")

    distance = meta["distance"]
    if distance not in DISTANCES:
        raise ModelError(f"model {model}: metadata 'distance' must be one of {', '.join(DISTANCES)}, got {distance!r}")

    threshold = metadata_json(meta, "threshold", model=model)
    if not (isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and math.isfinite(threshold) and threshold > 0):
        raise ModelError(f"model {model}: metadata 'threshold' must be a positive number, got {meta['threshold']}")

    dim = metadata_json(meta, "embedding_dim", model=model)
    if not (_is_int(dim) and dim > 0):
        raise ModelError(f"model {model}: metadata 'embedding_dim' must be a positive integer, got {meta['embedding_dim']}")

    return IdentityContract(
        input_size=(height, width),
        template=points,
        distance=distance,
        threshold=float(threshold),
        embedding_dim=int(dim),
        version=meta["version"],
        source=meta["source"],
        licence=meta["licence"],
    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
