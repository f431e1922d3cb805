"""Can a member be re-embedded from their stored thumbnails (issue 21), and how well is that recognised?

    python experiments/thumbnail_reembedding.py [--faces-dir ../shared/data/faces]

A thumbnail is the identity model's aligned crop shrunk to a 96-px JPEG (governance.enrolment.thumbnails),
which records where the template's landmarks lie in it; a model takes the face from the thumbnail by warping
from those positions to its own template, with no detection (governance.family.reembed_from_thumbnails). This
measures it for the shipped dlib model against itself (the same network, so any loss is the thumbnail's):
the household benchmark's enrolment embeddings (photos 0001-0004) are made (a) from the photos, as now,
and (b) from their thumbnails; the probes (0005-0008 and the 50 strangers) are always embedded from the
photos. Both galleries use the model's calibrated threshold and the Gallery's margin.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from fer_core.detection import FaceDetector
from fer_core.identity import Gallery, load_embedding_model
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
    parser.add_argument("--faces-dir", type=Path, default=FACES_DIR)
    args = parser.parse_args(argv)

    model, detector = load_embedding_model(), FaceDetector()
    side = model.input_size[0]
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
            (jpeg,) = thumbnails(crop[None], template=model.template)
            thumb, landmarks = thumbnail_landmarks(jpeg)
            direct.setdefault(photo.person, []).append(model.embed(crop[None])[0])
            via_thumbnail.setdefault(photo.person, []).append(model.embed(model.align(thumb, landmarks)[None])[0])
        elif photo.is_probe:
            probes.append((model.embed(crop[None])[0], photo.person))

    print(f"model {model.name}, threshold {model.threshold:.2f}; thumbnails {THUMBNAIL_SIDE} px JPEG, "
          f"crops {side} px; {len(probes)} probes\n")
    print("| enrolment embeddings from | right | wrong | family not named | strangers named |")
    print("|---|---|---|---|---|")
    for label, people in (("the photos (as now)", direct), ("their thumbnails", via_thumbnail)):
        gallery = Gallery({p: np.stack(rows) for p, rows in people.items()}, threshold=model.threshold,
                          distance=model.distance)
        c = _counts(gallery, probes)
        print(f"| {label} | {c['right']} | {c['wrong']} | {c['family not named']} | {c['strangers named']} |")
    shift = [float(np.linalg.norm(a - b)) for p in direct for a, b in zip(direct[p], via_thumbnail[p])]
    print(f"\ndistance between a photo's embedding and its thumbnail's: median {np.median(shift):.3f}, "
          f"max {max(shift):.3f} (threshold {model.threshold:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
