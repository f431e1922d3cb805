"""Does naming stay safe on photos cropped close around a face, now that the detector's tight-crop retry
reads them (fer_core.detection.TIGHT_CROP_PAD)? Before it, such a photo had no face, so nobody was named.

The protocol of benchmarks/bench_identity.py: ../shared/data/faces, 16 people enrolled from their photos
0001-0004 (whole photos, the shipped identity model and its Gallery rule), probed with photos 0005-0008
(64 known probes) and the 50 unknown people. Here each probe is also cut inside its face box (the box the
first search finds in the whole photo) by a share of the box on every side, and read by the analyzer's
detector: which probes still have a face, which are named right, named wrong, not named, and how many
strangers are named.

    PYTHONPATH=. python experiments/tight_crop_identity.py [--out experiments/reports/tight_crop_identity.md]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from fer_core.analyzer import default_detector
from fer_core.identity import Gallery, load_embedding_model
from fer_core.training.identity_devset import (
    FACES_DIR,
    centre_face,
    embed_photos,
    load_manifest,
    people_embeddings,
    read_rgb,
)

INSETS = (0.0, 0.05, 0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces-dir", type=Path, default=FACES_DIR)
    parser.add_argument("--out", type=Path, default=Path("experiments/reports/tight_crop_identity.md"))
    args = parser.parse_args()

    detector = default_detector()
    plain = default_detector()
    plain.tight_crop_retry = False
    model = load_embedding_model(None)
    photos = load_manifest(args.faces_dir)
    embeddings, kept, _ = embed_photos([p for p in photos if p.is_enrolment], model, detector)
    gallery = Gallery(people_embeddings(embeddings, kept), threshold=model.threshold, distance=model.distance)
    probes = [p for p in photos if p.is_probe]

    lines = [
        "# Naming on photos cropped close around a face",
        "",
        "Reproduce: `PYTHONPATH=. python experiments/tight_crop_identity.py` (16 people enrolled from whole "
        f"photos with {model.name} and its Gallery rule, threshold {model.threshold:.2f}; probes cut inside "
        "their face box by the share given on every side, read by the analyzer's detector).",
        "",
        "| cut inside the face box | known probes with a face (first search / retry) | named correctly | named wrong "
        "| not named | strangers with a face | strangers named |",
        "|---|---|---|---|---|---|---|",
    ]
    # Each probe's face box in the whole photo, found once for every cut.
    boxed = []
    for photo in probes:
        rgb = read_rgb(photo.path)
        face = centre_face(plain.detect(rgb), rgb.shape)
        if face is not None:
            boxed.append((photo, rgb, face.box))
    for inset in INSETS:
        tally = dict(known=0, first=0, retry=0, correct=0, wrong=0, rejected=0, strangers=0, strangers_named=0)
        for photo, rgb, (x, y, w, h) in boxed:
            crop = np.ascontiguousarray(rgb[int(y + inset * h):int(y + h - inset * h),
                                            int(x + inset * w):int(x + w - inset * w)])
            face = centre_face(detector.detect(crop), crop.shape)
            if photo.person:
                tally["known"] += 1
            if face is None:
                continue
            match = gallery.identify(model.embed(model.align(crop, face.landmarks)[None])[0])
            if not photo.person:
                tally["strangers"] += 1
                tally["strangers_named"] += bool(match.label)
                continue
            tally["first" if plain.detect(crop) else "retry"] += 1
            tally["rejected" if match.label is None else "correct" if match.label == photo.person else "wrong"] += 1
        lines.append(f"| {inset:.0%} | {tally['first'] + tally['retry']} of {tally['known']} ({tally['first']} / "
                     f"{tally['retry']}) | {tally['correct']} | {tally['wrong']} | {tally['rejected']} "
                     f"| {tally['strangers']} | {tally['strangers_named']} |")
        print(lines[-1], flush=True)
    args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
