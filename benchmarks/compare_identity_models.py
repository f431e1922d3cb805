"""Compare identity models side by side, end to end, on the development face set (../shared/data/faces).

Every model runs the app's path: fer_core.detection (MTCNN) finds the face (once, shared by all
models), EmbeddingModel aligns it to the model's own template and embeds it with flip averaging,
and Gallery names it. Two measurements per model:

1. Verification on the pairs of _identity_pairs.build_pairs (448 same-person pairs, 448
   different-person pairs incl. the 50 unknown people), LFW protocol: 10 folds, each fold's
   threshold chosen on the other 9. Each model is compared with the first one (the baseline) by
   the paired difference in accuracy over the same pairs, with a 95% bootstrap percentile interval
   (pairs resampled with their fold decisions kept).
2. The household benchmark of bench_identity.py: enrol <Name>_0001..0004, probe 0005..0008 and
   the 50 unknown people, at the threshold calibrate_identity.py picks on the enrolment photos
   only (FPIR <= --target-fpir on leave-one-person-out trials, default 2%), with the Gallery's margin rule; and, at the
   same threshold, other ways to match several enrolment embeddings per person (RULES).

    python benchmarks/compare_identity_models.py --model models/face_recognition_dlib.onnx \
        --model /tmp/faceres.onnx [--plot experiments/reports/identity_candidates_det.png] [--json PATH]

--plot draws each model's FNMR against FMR over all thresholds on those pairs (no faces in it).
--fuse K adds, for reference, the baseline and the K-th model fused at score level (see `fused`).
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from bench_identity import (
    gallery_rule,
    nearest_photo_rule,
    open_set_counts,
    open_set_errors,
)
from calibrate_identity import TARGET_FPIR, calibrate

from fer_core.detection import FaceDetector
from fer_core.identity import (
    EmbeddingModel,
    Gallery,
    load_embedding_model,
    pairwise_distances,
)
from fer_core.training.identity_devset import (
    FACES_DIR,
    FacePhoto,
    detect_landmarks,
    load_manifest,
    people_embeddings,
    read_rgb,
)
from fer_core.training.identity_pairs import BOOTSTRAP, Pair, build_pairs, cross_validated, paired_bootstrap

LISTED_PAIRS = 20  # the wrong pairs are printed for models with at most this many
RULES = (
    "centre + margin (the app's Gallery)",
    "centre, no margin",
    "nearest enrolment photo + margin",
    "robust centre (farthest enrolment photo dropped) + margin",
)


@dataclass(frozen=True)
class ModelResult:
    name: str
    distances: np.ndarray  # per pair; inf where a photo had no face
    correct: np.ndarray  # per pair, decided at its fold's cross-validated threshold
    fold_thresholds: list[float]
    calibrated_threshold: float
    household: dict[str, dict[str, int]]  # per matching rule (RULES)
    errors: list[str]
    enrolment_scale: tuple[float, float]  # mean and spread of the distances between enrolment photos


def embed_all(model: EmbeddingModel, read: Callable[[int], np.ndarray], landmarks: list[np.ndarray | None]) -> np.ndarray:
    """[n, d] embeddings of photos 0..n-1 (`read(i)`: photo i as RGB), one per landmarks row; NaN rows where no
    face was found."""
    out = np.full((len(landmarks), model.embedding_dim), np.nan, dtype=np.float32)
    found = [i for i, points in enumerate(landmarks) if points is not None]
    for start in range(0, len(found), 32):
        batch = found[start:start + 32]
        crops = np.stack([model.align(read(i), landmarks[i]) for i in batch])
        out[batch] = model.embed(crops)
    return out


def pair_distances(embeddings: np.ndarray, pairs: list[Pair], distance: str) -> np.ndarray:
    """Distance of each pair; a photo without a face never matches (distance inf)."""
    matrix = pairwise_distances(np.nan_to_num(embeddings, nan=1.0), np.nan_to_num(embeddings, nan=1.0), distance)
    missing = np.isnan(embeddings).any(axis=1)
    return np.array([np.inf if missing[p.first] or missing[p.second] else matrix[p.first, p.second] for p in pairs])


def without_farthest(people: dict[str, np.ndarray], distance: str) -> dict[str, np.ndarray]:
    """Each person's enrolment embeddings less the one farthest from their centre (a robust mean of the rest)."""
    robust = {}
    for name, rows in people.items():
        if len(rows) < 3:
            robust[name] = rows
            continue
        unit = rows / np.linalg.norm(rows, axis=1, keepdims=True) if distance == "cosine" else rows
        farthest = int(pairwise_distances(rows, unit.mean(axis=0)[None], distance)[:, 0].argmax())
        robust[name] = np.delete(rows, farthest, axis=0)
    return robust


def household(model: EmbeddingModel, embeddings: np.ndarray, photos: list[FacePhoto],
              target_fpir: float) -> tuple[float, dict, list]:
    """The calibrated threshold (enrolment photos only), the probes' counts at it per matching rule, and the
    errors of the app's rule (the centre of each person's enrolment embeddings, with the margin)."""
    kept = [i for i in range(len(photos)) if not np.isnan(embeddings[i]).any()]
    emb, kept_photos = embeddings[kept], [photos[i] for i in kept]
    enrol = [i for i, p in enumerate(kept_photos) if p.is_enrolment]
    threshold = calibrate(emb[enrol], [kept_photos[i].person for i in enrol], model.distance, target_fpir)
    people = people_embeddings(emb, kept_photos)
    gallery = Gallery(people, threshold=threshold, distance=model.distance)
    rules = {
        RULES[0]: gallery_rule(gallery),
        RULES[1]: gallery_rule(Gallery(people, threshold=threshold, distance=model.distance, margin=0.0)),
        RULES[2]: nearest_photo_rule(people, gallery),
        RULES[3]: gallery_rule(Gallery(without_farthest(people, model.distance), threshold=threshold,
                                       distance=model.distance)),
    }
    missed = [p for i, p in enumerate(photos) if i not in set(kept) and p.is_probe]
    results = {}
    for rule, name_of in rules.items():
        counts = open_set_counts(name_of, emb, kept_photos)
        counts["known"] += sum(1 for p in missed if p.person)
        counts["known_rejected"] += sum(1 for p in missed if p.person)
        counts["unknown"] += sum(1 for p in missed if not p.person)
        counts["unknown_rejected"] += sum(1 for p in missed if not p.person)
        results[rule] = counts
    return threshold, results, open_set_errors(gallery, emb, kept_photos)


def evaluate(model: EmbeddingModel, photos: list[FacePhoto], landmarks: list, pairs: list[Pair],
             target_fpir: float) -> ModelResult:
    embeddings = embed_all(model, lambda i: read_rgb(photos[i].path), landmarks)
    distances = pair_distances(embeddings, pairs, model.distance)
    correct, fold_thresholds = cross_validated(distances, pairs)
    threshold, counts, errors = household(model, embeddings, photos, target_fpir)
    enrol = [i for i, p in enumerate(photos) if p.is_enrolment and not np.isnan(embeddings[i]).any()]
    between = pairwise_distances(embeddings[enrol], embeddings[enrol], model.distance)[np.triu_indices(len(enrol), 1)]
    return ModelResult(model.file, distances, correct, fold_thresholds, threshold, counts, errors,
                       (float(between.mean()), float(between.std())))


def fused(first: ModelResult, second: ModelResult) -> np.ndarray:
    """Per pair: the sum of both models' distances, each standardised by its enrolment-photo distances.

    Score-level fusion for reference only: the app runs one model per face. The standardisation uses
    the enrolment photos alone, so no probe or unknown person shapes it.
    """
    return sum((r.distances - r.enrolment_scale[0]) / r.enrolment_scale[1] for r in (first, second))


def wrong_pairs(result: ModelResult, pairs: list[Pair], photos: list[FacePhoto]) -> list[str]:
    """One line per pair the model decided wrong at its fold's threshold."""
    return [f"{'same' if p.same else 'different'}-person pair {photos[p.first].path.name} / "
            f"{photos[p.second].path.name}: distance {result.distances[k]:.3f}, fold threshold "
            f"{result.fold_thresholds[p.fold]:.3f}"
            for k, p in enumerate(pairs) if not result.correct[k]]


def plot_det(curves: dict[str, np.ndarray], pairs: list[Pair], path: Path, *, data: str = "development set") -> None:
    """FNMR against FMR over all thresholds, one curve per model (name -> per-pair distances)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    same = np.array([p.same for p in pairs])
    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    for name, d in curves.items():
        thresholds = np.unique(d[np.isfinite(d)])
        fmr = np.array([(d[~same] <= t).mean() for t in thresholds])
        fnmr = np.array([(d[same] > t).mean() for t in thresholds])
        ax.step(np.maximum(fmr, 1e-3), np.maximum(fnmr, 1e-3), where="post", label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("false match rate (different-person pairs accepted)")
    ax.set_ylabel("false non-match rate (same-person pairs rejected)")
    ax.set_title(f"{int(same.sum())} same / {int((~same).sum())} different-person pairs, {data}\n"
                 "(rates below 0.1% drawn at 0.1%)", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))  # beside the axes: covers no curve
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, action="append", required=True,
                        help="identity ONNX model; give it once per model, the baseline first")
    parser.add_argument("--faces-dir", type=Path, default=FACES_DIR)
    parser.add_argument("--plot", type=Path, help="write the FNMR-vs-FMR plot (PNG) here")
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    parser.add_argument("--target-fpir", type=float, default=TARGET_FPIR,
                        help="the bound every model's household threshold is calibrated with (calibrate_identity.py)")
    parser.add_argument("--fuse", type=int, metavar="K",
                        help="also score the baseline fused with the K-th model given (1 = the second; pairs only)")
    args = parser.parse_args(argv)
    if args.fuse is not None and not 1 <= args.fuse < len(args.model):
        parser.error(f"--fuse needs 1 <= K < {len(args.model)} (the models given after the baseline)")

    photos = load_manifest(args.faces_dir)
    pairs = build_pairs(photos)
    landmarks = detect_landmarks(photos, FaceDetector())
    print(f"{len(photos)} photos, no face found in {sum(p is None for p in landmarks)}; "
          f"{sum(p.same for p in pairs)} same-person and {sum(not p.same for p in pairs)} different-person pairs\n")
    models = [load_embedding_model(path) for path in args.model]
    results = [evaluate(model, photos, landmarks, pairs, args.target_fpir) for model in models]
    base = results[0]

    print("| model | distance | 10-fold accuracy | difference to " + base.name + " [95% CI] | fold thresholds |")
    print("|---|---|---|---|---|")
    summary = []
    for model, result in zip(models, results):
        diff = paired_bootstrap(result.correct, base.correct)
        accuracy = result.correct.mean()
        span = f"{min(result.fold_thresholds):.3f}-{max(result.fold_thresholds):.3f}"
        shown = "-" if result is base else f"{diff[0]:+.4f} [{diff[1]:+.4f}, {diff[2]:+.4f}]"
        print(f"| {result.name} | {model.distance} | {accuracy:.4f} ({int(result.correct.sum())}/{len(pairs)}) "
              f"| {shown} | {span} |")
        summary.append({"model": result.name, "distance": model.distance, "accuracy": float(accuracy),
                        "correct": int(result.correct.sum()), "pairs": len(pairs),
                        "difference_to_baseline": None if result is base else
                        {"value": diff[0], "ci95": [diff[1], diff[2]], "resamples": BOOTSTRAP},
                        "fold_thresholds": result.fold_thresholds,
                        "pairs_decided_wrong": wrong_pairs(result, pairs, photos)})

    print("\nHousehold benchmark (enrol 0001-0004, probe 0005-0008 and 50 unknown people), calibrated threshold:\n")
    print("| model | threshold (enrolment-calibrated) | known named right | wrong name | known not named "
          "| strangers named |")
    print("|---|---|---|---|---|---|")
    for result, entry in zip(results, summary):
        c = result.household[RULES[0]]
        print(f"| {result.name} | {result.calibrated_threshold:.2f} | {c['correct']}/{c['known']} | {c['wrong']} "
              f"| {c['known_rejected']} | {c['unknown_accepted']}/{c['unknown']} |")
        entry.update(calibrated_threshold=result.calibrated_threshold, household=result.household,
                     errors=result.errors)
    for result in results:
        for error in result.errors:
            print(f"- {result.name}: {error}")
    print(f"\nPairs decided wrong at the 10-fold thresholds (models with at most {LISTED_PAIRS}):\n")
    for entry in summary:
        if len(entry["pairs_decided_wrong"]) <= LISTED_PAIRS:
            for line in entry["pairs_decided_wrong"]:
                print(f"- {entry['model']}: {line}")
    print("\nMatching rules, each at the model's threshold above (calibrated for the first rule):\n")
    print("| model | rule | known named right | wrong name | known not named | strangers named |")
    print("|---|---|---|---|---|---|")
    for result in results:
        for rule, c in result.household.items():
            print(f"| {result.name} | {rule} | {c['correct']}/{c['known']} | {c['wrong']} | {c['known_rejected']} "
                  f"| {c['unknown_accepted']}/{c['unknown']} |")
    if args.fuse:
        other = results[args.fuse]
        correct, thresholds = cross_validated(fused(base, other), pairs)
        diff = paired_bootstrap(correct, base.correct)
        label = f"{base.name} + {other.name} (score fusion)"
        print(f"\n| {label} | 10-fold accuracy {correct.mean():.4f} ({int(correct.sum())}/{len(pairs)}) "
              f"| difference to {base.name} {diff[0]:+.4f} [{diff[1]:+.4f}, {diff[2]:+.4f}] |")
        summary.append({"model": label, "accuracy": float(correct.mean()), "correct": int(correct.sum()),
                        "pairs": len(pairs), "fold_thresholds": thresholds, "difference_to_baseline":
                        {"value": diff[0], "ci95": [diff[1], diff[2]], "resamples": BOOTSTRAP}})
    if args.plot:
        plot_det({r.name: r.distances for r in results}, pairs, args.plot)
        print(f"\nwrote {args.plot}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
