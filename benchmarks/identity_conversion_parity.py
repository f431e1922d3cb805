"""A shipped identity model against the framework it was converted from, as an evaluation for its card.

tests/fixtures/identity holds 4 aligned LFW face chips (dlib's 150x150 template) and, per shipped model,
the reference framework's own embeddings of them:
- face_recognition_dlib.onnx: @vladmandic/face-api 1.7.15's computeFaceDescriptor (JavaScript, tfjs cpu
  backend; tools/make_identity_reference.py); tests/unit/fer_core/training/test_identity_converter.py.
- face_recognition_mobilefacenet.onnx: the TFLite interpreter on the chips resized to 112x112
  (tools/convert_mobilefacenet.py --reference); tests/unit/fer_core/training/test_mobilefacenet_converter.py.
This runs the ONNX model on the same pixels, without flip averaging as the references have none, and
reports the largest difference, the largest cosine distance and the largest reference value (the scale the
difference is to be read against).

    python benchmarks/identity_conversion_parity.py [--model models/face_recognition_dlib.onnx] [--json PATH]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from fer_core.identity import load_embedding_model
from fer_core.model_files import models_dir
from fer_core.training.convert_faceapi import REFERENCE_PHOTOS as PHOTOS
from fer_core.training.convert_faceapi import TFJS
from fer_core.training.convert_mobilefacenet import parity_chips
from governance.model_cards import write_evaluation

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "identity"
# The order of the reference embeddings: the photos tools/make_identity_reference.py aligned.
REFERENCE_PHOTOS = tuple(Path(photo).stem for photo in PHOTOS)
# Per shipped model: reference file, how its chips are made from the stored ones (None: as stored), and what
# made the reference.
REFERENCES = {
    "face_recognition_dlib.onnx": (
        "faceapi_reference_embeddings.npy", None,
        f"@vladmandic/face-api 1.7.15 computeFaceDescriptor on the same chips, {TFJS[0]} cpu backend "
        "(tests/fixtures/identity, written by tools/make_identity_reference.py)"),
    "face_recognition_mobilefacenet.onnx": (
        "mobilefacenet_reference_embeddings.npy", parity_chips,
        "the TFLite interpreter (TensorFlow's tf.lite) on the same chips resized to 112x112 with Lanczos, "
        "(x - 127.5) / 128 as the Android app feeds it (tests/fixtures/identity, written by "
        "tools/convert_mobilefacenet.py --reference)"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=models_dir() / "face_recognition_dlib.onnx",
                        help=f"one of the shipped identity models: {', '.join(REFERENCES)}")
    parser.add_argument("--json", type=Path, help="write the figures for the model card here")
    args = parser.parse_args(argv)

    if args.model.name not in REFERENCES:
        raise SystemExit(f"no reference embeddings for {args.model.name}; known: {', '.join(REFERENCES)}")
    reference_file, transform, made_by = REFERENCES[args.model.name]
    chips = np.stack([np.asarray(Image.open(FIXTURES / f"aligned_{name}.png").convert("RGB")) for name in REFERENCE_PHOTOS])
    if transform:
        chips = transform(chips)
    reference = np.load(FIXTURES / reference_file)
    ours = load_embedding_model(args.model, flip_average=False).embed(chips)
    difference = np.abs(ours - reference)
    cosine_distance = 1 - (ours * reference).sum(axis=1) / (np.linalg.norm(ours, axis=1)
                                                         * np.linalg.norm(reference, axis=1))
    print("| face | max abs difference | reference norm |")
    print("|---|---|---|")
    for name, diff, ref in zip(REFERENCE_PHOTOS, difference, reference):
        print(f"| {name} | {diff.max():.2e} | {np.linalg.norm(ref):.3f} |")
    print(f"\nlargest difference over {difference.size} values: {difference.max():.2e}; largest cosine distance "
          f"{cosine_distance.max():.2e}; largest |reference value| {np.abs(reference).max():.3f}")
    if args.json:
        write_evaluation(
            args.json, kind="identity", models=[args.model],
            evaluation_data={
                "name": "conversion check against the framework the model was converted from",
                "faces": f"{len(REFERENCE_PHOTOS)} aligned LFW chips: {', '.join(REFERENCE_PHOTOS)}",
                "reference": made_by,
            },
            metrics={"max_abs_difference_to_reference": float(difference.max()),
                     "max_cosine_distance_to_reference": float(cosine_distance.max()),
                     "max_abs_reference_value": float(np.abs(reference).max())},
            definitions={"max_abs_difference_to_reference": f"largest |ONNX - reference| over every value of the "
                                                            f"{reference.shape[1]}-d embeddings, without flip averaging",
                         "max_cosine_distance_to_reference": "largest 1 - cosine similarity of a face's ONNX "
                                                             "embedding to its reference embedding",
                         "max_abs_reference_value": "largest |value| of the reference embeddings: the scale of the "
                                                    "difference"},
        )
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
