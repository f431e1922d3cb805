"""Can a member be re-embedded from their stored thumbnails (issue 21), and how well is that recognised?

    python experiments/thumbnail_reembedding.py [--from-model models/face_recognition_dlib.onnx]
        [--to-model models/face_recognition_mobilefacenet.onnx] [--faces-dir ../shared/data/faces]

A thumbnail is the identity model's aligned crop shrunk to a 96-px JPEG (governance.enrolment.thumbnails),
which records where the template's landmarks lie in it; a model takes the face from the thumbnail by warping
from those positions to its own template, with no detection (governance.family.reembed_from_thumbnails). This
measures the move a household makes when the identity model changes: thumbnails stored under the old model
(--from-model, default dlib: its aligned crops) re-embedded by the new one (--to-model, default the app's
identity model). The household benchmark's enrolment embeddings (photos 0001-0004) are made by the new model
(a) from the photos, as a fresh enrolment would, and (b) from the old model's thumbnails; the probes
(0005-0008 and the 50 strangers) are always embedded from the photos. Both galleries use the new model's
calibrated threshold and the Gallery's margin. Give the same model twice to see what the thumbnail alone costs.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from fer_core.detection import FaceDetector
from fer_core.identity import Gallery, load_embedding_model, pairwise_distances
from fer_core.model_files import identity_model_name, models_dir
from fer_core.training.identity_devset import FACES_DIR, centre_face, load_manifest, read_rgb
from governance.enrolment import THUMBNAIL_SIDE, thumbnail_landmarks, thumbnails


def _counts(gallery: Gallery, probes: list[tuple[np.ndarray, str]]) -> dict[str, int]:
    counts = {"right": 0, "wrong": 0, "family not named": 0, "strangers named": 0}
    for embedding, person in probes:
        named = gallery.identify(embedding).person_id
        if not person:
            counts["strangers named"] += named is not None
        elif named is None:
            counts["family not named"] += 1
        else:
            counts["right" if named == person else "wrong"] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from-model", type=Path, default=models_dir() / "face_recognition_dlib.onnx",
                        help="the model whose aligned crops the thumbnails were made from")
    parser.add_argument("--to-model", type=Path, default=models_dir() / identity_model_name(),
                        help="the model that re-embeds them")
    parser.add_argument("--faces-dir", type=Path, default=FACES_DIR)
    args = parser.parse_args(argv)

    old, model, detector = load_embedding_model(args.from_model), load_embedding_model(args.to_model), FaceDetector()
    direct: dict[str, list[np.ndarray]] = {}
    via_thumbnail: dict[str, list[np.ndarray]] = {}
    probes = []
    for photo in load_manifest(args.faces_dir):
        image = read_rgb(photo.path)
        face = centre_face(detector.detect(image), image.shape)
        if face is None:
            continue
        crop = model.align(image, face.landmarks)
        if photo.is_enrolment:
            (jpeg,) = thumbnails(old.align(image, face.landmarks)[None], template=old.template)
            thumb, landmarks = thumbnail_landmarks(jpeg)
            direct.setdefault(photo.person, []).append(model.embed(crop[None])[0])
            via_thumbnail.setdefault(photo.person, []).append(model.embed(model.align(thumb, landmarks)[None])[0])
        elif photo.is_probe:
            probes.append((model.embed(crop[None])[0], photo.person))

    print(f"thumbnails {THUMBNAIL_SIDE} px JPEG of {old.name}'s {old.input_size[0]} px crops, re-embedded by "
          f"{model.name} ({model.input_size[0]} px crops, threshold {model.threshold:.2f}); {len(probes)} probes\n")
    print("| enrolment embeddings from | right | wrong | family not named | strangers named |")
    print("|---|---|---|---|---|")
    for label, people in (("the photos (a fresh enrolment)", direct), ("the old model's thumbnails", via_thumbnail)):
        gallery = Gallery({p: np.stack(rows) for p, rows in people.items()}, threshold=model.threshold,
                          distance=model.distance)
        c = _counts(gallery, probes)
        print(f"| {label} | {c['right']} | {c['wrong']} | {c['family not named']} | {c['strangers named']} |")
    shift = [float(pairwise_distances(a[None], b[None], model.distance)[0, 0])
             for p in direct for a, b in zip(direct[p], via_thumbnail[p])]
    print(f"\ndistance between a photo's embedding and its thumbnail's: median {np.median(shift):.3f}, "
          f"max {max(shift):.3f} (threshold {model.threshold:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
