"""The shipped identity model against the JavaScript it was converted from, as an evaluation for its card.

tests/fixtures/identity holds 4 aligned LFW face chips and the embeddings @vladmandic/face-api 1.7.15's own
computeFaceDescriptor gave for them (tools/make_identity_reference.py; tfjs cpu backend). This runs the
ONNX model on the same chips, without flip averaging as the JavaScript has none, and reports the largest
difference. tests/unit/fer_core/training/test_identity_converter.py holds the model to < 1e-5.

    python benchmarks/identity_conversion_parity.py [--model models/face_recognition_dlib.onnx] [--json PATH]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from fer_core.identity import DEFAULT_MODEL, load_embedding_model
from fer_core.model_files import models_dir
from fer_core.training.convert_faceapi import REFERENCE_PHOTOS as PHOTOS
from fer_core.training.convert_faceapi import TFJS
from governance.model_cards import write_evaluation

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "identity"
# The order of faceapi_reference_embeddings.npy: the photos tools/make_identity_reference.py aligned.
REFERENCE_PHOTOS = tuple(Path(photo).stem for photo in PHOTOS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=models_dir() / DEFAULT_MODEL)
    parser.add_argument("--json", type=Path, help="write the figures for the model card here")
    args = parser.parse_args(argv)

    chips = np.stack([np.asarray(Image.open(FIXTURES / f"aligned_{name}.png").convert("RGB"))
                      for name in REFERENCE_PHOTOS])
    reference = np.load(FIXTURES / "faceapi_reference_embeddings.npy")
    ours = load_embedding_model(args.model, flip_average=False).embed(chips)
    difference = np.abs(ours - reference)
    print("| face | max abs difference | reference norm |")
    print("|---|---|---|")
    for name, diff, ref in zip(REFERENCE_PHOTOS, difference, reference):
        print(f"| {name} | {diff.max():.2e} | {np.linalg.norm(ref):.3f} |")
    print(f"\nlargest difference over {difference.size} values: {difference.max():.2e}")
    if args.json:
        write_evaluation(
            args.json, kind="identity", models=[args.model],
            evaluation_data={
                "name": "conversion check against face-api's JavaScript",
                "faces": f"{len(REFERENCE_PHOTOS)} aligned LFW chips: {', '.join(REFERENCE_PHOTOS)}",
                "reference": f"@vladmandic/face-api 1.7.15 computeFaceDescriptor on the same chips, {TFJS[0]} cpu "
                             f"backend (tests/fixtures/identity, written by tools/make_identity_reference.py)",
            },
            metrics={"max_abs_difference_to_javascript": float(difference.max())},
            definitions={"max_abs_difference_to_javascript": "largest |ONNX - JavaScript| over every value of the "
                                                             "128-d embeddings, without flip averaging"},
        )
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
