"""Export the MTCNN P-, R- and O-nets shipped in the PyPI `mtcnn` 1.0.0 wheel to ONNX (how:
fer_core/training/export_mtcnn.py), checking ONNX Runtime against Keras on real face crops before writing.

    python tools/export_mtcnn.py [--out models] [--check-images ../shared/data/faces]

Prints each file's SHA-256 for models/SHA256SUMS and models/mtcnn.md.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from fer_core.training.export_mtcnn import (
    MTCNN_VERSION,
    NETWORKS,
    PARITY_TOLERANCE,
    add_metadata,
    build_keras,
    real_inputs,
    to_onnx,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "models")
    parser.add_argument("--check-images", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "data" / "faces")
    args = parser.parse_args(argv)
    installed = importlib.metadata.version("mtcnn")
    if installed != MTCNN_VERSION:
        raise SystemExit(f"need mtcnn {MTCNN_VERSION}, found {installed}")
    args.out.mkdir(parents=True, exist_ok=True)
    for name, cls, weights, shape, outputs in NETWORKS:
        model = build_keras(cls, weights)
        proto = to_onnx(model, shape, outputs)
        add_metadata(proto, name, outputs)
        onnx.checker.check_model(proto)
        data = proto.SerializeToString()
        session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        x = real_inputs(shape, args.check_images)
        diff = max(float(np.abs(np.asarray(k) - o).max())
                   for k, o in zip(model(x), session.run(list(outputs), {"input": x})))
        if diff > PARITY_TOLERANCE:
            raise SystemExit(f"{name}: ONNX differs from Keras by {diff:.2e} > {PARITY_TOLERANCE}")
        path = args.out / f"mtcnn_{name}.onnx"
        path.write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        print(f"{path.name}: {len(data):,} bytes, max |ONNX - Keras| = {diff:.2e} on {len(x)} real inputs")
        print(f"{digest}  {path.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
