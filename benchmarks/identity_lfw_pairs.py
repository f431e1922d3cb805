"""Identity models side by side on LFW's own verification pairs, less every person of the development set.

LFW's pairs.txt (10 folds of 300 same-person and 300 different-person pairs, the "unrestricted"
protocol's view 2) read from the public snapshot of the LFW site repository (pinned commit, the same
one benchmarks/emotion_real_photos_data.py reads), 250x250 deep-funneled photos. Every pair with a
person who is in ../shared/data/faces (the 16 enrolled people and the 50 unknown people the
thresholds and the household benchmark use) is dropped, so nothing here was seen while choosing a
model's threshold or preprocessing.

Each model runs the app's path: fer_core.detection (MTCNN) finds the centre face of each photo
(once, shared by all models), the model aligns it to its own template and embeds it with flip
averaging. Accuracy follows the LFW protocol: each fold is decided at the threshold that is best on
the other nine. The first model is the baseline; each other model's paired difference in accuracy
comes with a 95% bootstrap interval over the same pairs.

    python benchmarks/identity_lfw_pairs.py --model models/face_recognition_dlib.onnx \
        --model models/face_recognition_mobilefacenet.onnx [--json PATH] [--plot PNG] [--mirrors /work/.mirror]

Needs the snapshot: `fetch github:umass-vis-lfw/umass-vis-lfw.github.io` (the fetch tool).
LFW's photos are news photos with no licence: they are read here and never copied into the repository.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from compare_identity_models import embed_all, pair_distances, plot_det
from emotion_real_photos_data import DEFAULT_MIRRORS, LFW, Mirror

from fer_core.detection import FaceDetector
from fer_core.identity import load_embedding_model
from fer_core.images import load_image
from fer_core.training.identity_devset import FACES_DIR, centre_face, load_manifest
from fer_core.training.identity_pairs import (
    Pair,
    cross_validated,
    fnmr_at_fmr,
    identity_of,
    paired_bootstrap,
    paired_bootstrap_fnmr,
)
from governance.model_cards import write_evaluation

PHOTOS = "images_deepfunneled"  # the 250x250 set; images/ holds 150x150 thumbnails
FMR_POINTS = (0.01, 0.001)  # DET points reported: the household's concern is the low-FMR end


def parse_pairs(text: str) -> list[tuple[str, int, str, int, bool, int]]:
    """(person, number, person, number, same, fold) per line of LFW's pairs.txt."""
    lines = text.strip().splitlines()
    folds, per_kind = (int(v) for v in lines[0].split())
    rows = [line.split("\t") for line in lines[1:]]
    if len(rows) != folds * 2 * per_kind:
        raise SystemExit(f"pairs.txt announces {folds} x 2 x {per_kind} pairs but holds {len(rows)}")
    pairs = []
    for k, row in enumerate(rows):
        fold = k // (2 * per_kind)
        if len(row) == 3:
            pairs.append((row[0], int(row[1]), row[0], int(row[2]), True, fold))
        else:
            pairs.append((row[0], int(row[1]), row[2], int(row[3]), False, fold))
    return pairs


def development_people(faces_dir: Path) -> set[str]:
    """Everyone in the development face set, enrolled or unknown, by LFW name."""
    return {identity_of(photo) for photo in load_manifest(faces_dir)}


def photo_path(person: str, number: int) -> str:
    return f"{PHOTOS}/{person}/{person}_{number:04d}.jpg"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, action="append", required=True,
                        help="identity ONNX model; give it once per model, the baseline first")
    parser.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS, help="where the fetch tool put the snapshots")
    parser.add_argument("--faces-dir", type=Path, default=FACES_DIR)
    parser.add_argument("--plot", type=Path, help="write the FNMR-vs-FMR plot (PNG) here")
    parser.add_argument("--json", type=Path,
                        help="write the figures as an evaluation the last model's card quotes")
    args = parser.parse_args(argv)

    lfw = Mirror(args.mirrors, *LFW)
    excluded = development_people(args.faces_dir)
    rows = [r for r in parse_pairs(lfw.read("pairs.txt").decode()) if r[0] not in excluded and r[2] not in excluded]
    paths = sorted({photo_path(r[0], r[1]) for r in rows} | {photo_path(r[2], r[3]) for r in rows})
    index = {path: k for k, path in enumerate(paths)}
    pairs = [Pair(index[photo_path(a, i)], index[photo_path(b, j)], same, fold) for a, i, b, j, same, fold in rows]
    n_same = sum(p.same for p in pairs)
    print(f"LFW pairs.txt less the {len(excluded)} people of {args.faces_dir}: {n_same} same-person and "
          f"{len(pairs) - n_same} different-person pairs in 10 folds, {len(paths)} photos")

    detector = FaceDetector()
    jpegs, landmarks = [], []  # kept as JPEG bytes: decoded, 7,524 photos of 250x250x3 would hold 1.4 GB
    for path in paths:
        jpegs.append(lfw.read(path))
        image = load_image(jpegs[-1])
        face = centre_face(detector.detect(image), image.shape)
        landmarks.append(None if face is None else face.landmarks)
    missing = [paths[k] for k, points in enumerate(landmarks) if points is None]
    print(f"no face found in {len(missing)} photos (their pairs count as decided 'different')")

    results = {}
    for model_path in args.model:
        model = load_embedding_model(model_path)
        embeddings = embed_all(model, lambda k: load_image(jpegs[k]), landmarks)
        distances = pair_distances(embeddings, pairs, model.distance)
        correct, thresholds = cross_validated(distances, pairs)
        results[model.file] = (correct, thresholds, model.distance, distances)

    baseline = next(iter(results))
    same = np.array([p.same for p in pairs])
    metrics, definitions, findings = {}, {}, []
    print(f"\n| model | distance | 10-fold accuracy | difference to {baseline} [95% CI] | fold thresholds |")
    print("|---|---|---|---|---|")
    for name, (correct, thresholds, distance, _) in results.items():
        stem = Path(name).stem
        metrics[f"{stem}_accuracy"] = {"value": float(correct.mean()), "count": int(correct.sum()), "of": len(correct)}
        definitions[f"{stem}_accuracy"] = f"{name}: share of pairs decided right, each fold at the threshold best on the other nine"
        diff = "-"
        if name != baseline:
            value, low, high = paired_bootstrap(correct, results[baseline][0])
            diff = f"{value:+.4f} [{low:+.4f}, {high:+.4f}]"
            findings.append(f"{name} - {baseline}, accuracy: {diff} (95% paired bootstrap interval)")
        print(f"| {name} | {distance} | {correct.mean():.4f} ({int(correct.sum())}/{len(correct)}) | {diff} | "
              f"{min(thresholds):.3f}-{max(thresholds):.3f} |")

    print(f"\nFalse non-match rate at a fixed false match rate (threshold set on all pairs; difference to {baseline} "
          "with a 95% bootstrap interval, same- and different-person pairs resampled separately):\n")
    print("| model | " + " | ".join(f"FNMR at FMR {fmr:.1%}" for fmr in FMR_POINTS) + " |")
    print("|---|" + "---|" * len(FMR_POINTS))
    for name, (_, _, _, distances) in results.items():
        stem, cells = Path(name).stem, []
        for fmr in FMR_POINTS:
            rate = fnmr_at_fmr(distances, same, fmr)
            key = f"{stem}_fnmr_at_fmr_{fmr:g}"
            metrics[key] = {"value": rate, "count": int(round(rate * same.sum())), "of": int(same.sum())}
            definitions[key] = (f"{name}: share of same-person pairs rejected at the threshold that accepts {fmr:.1%} "
                                "of the different-person pairs")
            cell = f"{rate:.4f}"
            if name != baseline:
                value, low, high = paired_bootstrap_fnmr(distances, results[baseline][3], same, fmr)
                cell += f" ({value:+.4f} [{low:+.4f}, {high:+.4f}])"
                findings.append(f"{name} - {baseline}, FNMR at FMR {fmr:.1%}: {value:+.4f} [{low:+.4f}, {high:+.4f}] "
                                "(95% bootstrap interval)")
            cells.append(cell)
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.plot:
        plot_det({name: r[3] for name, r in results.items()}, pairs, args.plot,
                 data="LFW pairs.txt less the development set's people")
        print(f"wrote {args.plot}")
    if args.json:
        write_evaluation(
            # for the card of the last model given; the others' figures are its comparison
            args.json, kind="identity", models=args.model[-1:],
            evaluation_data={
                "name": "LFW's own verification pairs, less the development set's people",
                "pairs": f"{n_same} same-person, {len(pairs) - n_same} different-person, LFW's 10 folds (pairs.txt)",
                "photos": f"{len(paths)} LFW photos ({PHOTOS}), no face found in {len(missing)}",
                "excluded": f"every pair with one of the {len(excluded)} people of the development face set",
                "snapshot": f"github:{LFW[0]} at {LFW[1]}",
                "flip_averaging": True,
            },
            metrics=metrics, definitions=definitions, findings=findings,
        )
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
