"""Calibrate an identity model's operating threshold on the ENROLMENT photos of the development set only.

Data: ../shared/data/faces, photos <Name>_0001..0004 of the 16 enrolled people (64 photos). The
probe photos (0005..0008) and the 50 unknown people are never read here: bench_identity.py reports
on them, so calibrating on them would grade the threshold on its own answers.

Two views, both printed as tables against the threshold:
- Verification (pairs of enrolment photos): FMR = share of different-person pairs at distance
  <= t, FNMR = share of same-person pairs at distance > t.
- Open-set identification, simulated with the Gallery rule the app uses (threshold + margin):
  known trials: each photo probed against a gallery holding the other 3 photos of its person
  and all 4 of everyone else (leave-one-photo-out); FNIR = share not named as the right person.
  unknown trials: each photo probed against a gallery of the OTHER 15 people (leave-one-person-out),
  so every person serves once as a stranger; FPIR = share named as anyone.

Operating point: the largest threshold on a 0.01 grid whose FPIR is <= --target-fpir (default 2%,
the product's bound on strangers named as family): as many family members named as possible
without naming more strangers than that.

    python benchmarks/calibrate_identity.py [--model models/face_recognition_dlib.onnx] [--write] [--json PATH]

--json writes the operating point's figures as an evaluation the model card quotes
(governance.model_cards, tools/model_cards.sh).
"""
from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

from fer_core.detection import FaceDetector
from fer_core.identity import Gallery, load_embedding_model, pairwise_distances
from fer_core.model_files import identity_model_name, models_dir
from fer_core.training.identity_devset import FACES_DIR, embed_photos, load_manifest
from governance.model_cards import COUNTED_RATE_INTERVAL, counted_rate, write_evaluation

TARGET_FPIR = 0.02  # the product's bound: at most 2% of strangers named as family


def pair_rates(embeddings: np.ndarray, people: list[str], distance: str, thresholds: np.ndarray):
    """FMR and FNMR at each threshold over all pairs of the given photos."""
    matrix = pairwise_distances(embeddings, embeddings, distance)
    same, different = [], []
    for i, j in itertools.combinations(range(len(people)), 2):
        (same if people[i] == people[j] else different).append(matrix[i, j])
    same, different = np.array(same), np.array(different)
    fmr = np.array([(different <= t).mean() for t in thresholds])
    fnmr = np.array([(same > t).mean() for t in thresholds])
    return fmr, fnmr, len(same), len(different)


def open_set_rates(embeddings: np.ndarray, people: list[str], distance: str, thresholds: np.ndarray):
    """FNIR (known trials) and FPIR (unknown trials) at each threshold, with the default margin rule."""
    people_arr = np.array(people)
    names = sorted(set(people))
    fnir, fpir = [], []
    for t in thresholds:
        missed = accepted = 0
        for i, person in enumerate(people):
            keep = np.arange(len(people)) != i
            known = Gallery({n: embeddings[keep & (people_arr == n)] for n in names}, threshold=t, distance=distance)
            missed += known.identify(embeddings[i]).person_id != person
            strangers = Gallery({n: embeddings[people_arr == n] for n in names if n != person},
                                threshold=t, distance=distance)
            accepted += strangers.identify(embeddings[i]).person_id is not None
        fnir.append(missed / len(people))
        fpir.append(accepted / len(people))
    return np.array(fnir), np.array(fpir)


def threshold_grid(embeddings: np.ndarray, distance: str, step: float = 0.01) -> np.ndarray:
    top = float(np.ceil(pairwise_distances(embeddings, embeddings, distance).max() / step) * step)
    return np.round(np.arange(step, top + step / 2, step), 4)


def choose_threshold(thresholds: np.ndarray, fpir: np.ndarray, target: float) -> float:
    allowed = thresholds[fpir <= target + 1e-12]
    if not len(allowed):
        raise SystemExit(f"no threshold on the grid keeps FPIR <= {target:.1%}")
    return float(allowed.max())


def calibrate(embeddings: np.ndarray, people: list[str], distance: str, target_fpir: float) -> float:
    """The operating threshold for these enrolment embeddings (see the module docstring)."""
    thresholds = threshold_grid(embeddings, distance)
    _, fpir = open_set_rates(embeddings, people, distance, thresholds)
    return choose_threshold(thresholds, fpir, target_fpir)


def write_threshold(model_path: Path, threshold: float) -> None:
    import onnx  # training extra: only this option rewrites a model file

    from fer_core.identity import parse_identity_metadata

    model = onnx.load(model_path)
    props = {p.key: p.value for p in model.metadata_props}
    props["threshold"] = repr(round(threshold, 4))
    parse_identity_metadata(props, model=model_path.name)
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, props)
    onnx.save(model, model_path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Calibrate an identity model's threshold on enrolment photos")
    parser.add_argument("--model", type=Path, help="identity ONNX model (default: the shipped one)")
    parser.add_argument("--faces-dir", type=Path, default=FACES_DIR)
    parser.add_argument("--target-fpir", type=float, default=TARGET_FPIR)
    parser.add_argument("--no-flip", action="store_true", help="embed without flip averaging")
    parser.add_argument("--write", action="store_true", help="store the chosen threshold in the model's metadata")
    parser.add_argument("--json", type=Path, help="write the operating point's figures for the model card here")
    args = parser.parse_args(argv)

    model_path = args.model or models_dir() / identity_model_name()
    model = load_embedding_model(model_path, flip_average=not args.no_flip)
    photos = [p for p in load_manifest(args.faces_dir) if p.is_enrolment]
    embeddings, kept, missed = embed_photos(photos, model, FaceDetector())
    if missed:
        print(f"no face found in {len(missed)} enrolment photos: {', '.join(p.path.name for p in missed)}")
    people = [p.person for p in kept]
    print(f"model {model.name} ({model.distance}, flip averaging {'on' if model.flip_average else 'off'}); "
          f"{len(kept)} enrolment photos of {len(set(people))} people from {args.faces_dir}")

    thresholds = threshold_grid(embeddings, model.distance)
    fmr, fnmr, n_same, n_diff = pair_rates(embeddings, people, model.distance, thresholds)
    fnir, fpir = open_set_rates(embeddings, people, model.distance, thresholds)
    chosen = choose_threshold(thresholds, fpir, args.target_fpir)

    print(f"\nPairs: {n_same} same-person, {n_diff} different-person. Open set: {len(people)} known and "
          f"{len(people)} unknown trials.\n")
    print("| threshold | FMR (pairs) | FNMR (pairs) | FPIR (strangers named) | FNIR (family not named) |")
    print("|---|---|---|---|---|")
    shown = (thresholds >= chosen - 0.15 + 1e-9) & (thresholds <= chosen + 0.1 + 1e-9)
    for i in np.flatnonzero(shown):
        mark = " **<- operating point**" if np.isclose(thresholds[i], chosen) else ""
        print(f"| {thresholds[i]:.2f}{mark} | {fmr[i]:.2%} | {fnmr[i]:.2%} | {fpir[i]:.2%} | {fnir[i]:.2%} |")
    i = int(np.flatnonzero(np.isclose(thresholds, chosen))[0])
    print(f"\noperating threshold {chosen:.2f}: largest with FPIR <= {args.target_fpir:.0%} on leave-one-person-out "
          f"trials; there FPIR {fpir[i]:.2%}, FNIR {fnir[i]:.2%}, FMR {fmr[i]:.2%}, FNMR {fnmr[i]:.2%}")
    strangers = counted_rate(int(round(fpir[i] * len(people))), len(people))
    print(f"FPIR there {strangers['count']} of {strangers['of']}: 95% interval [{strangers['ci'][0]:.2%}, "
          f"{strangers['ci'][1]:.2%}] ({COUNTED_RATE_INTERVAL})")
    if args.write:
        write_threshold(model_path, chosen)
        print(f"wrote threshold {chosen:.2f} into {model_path}")
    if args.json:
        n = len(people)
        write_evaluation(
            args.json, kind="identity", models=[model_path], threshold=chosen,
            evaluation_data={
                "name": "threshold calibration on the enrolment photos of the development face set",
                "photos": f"{n} photos (<Name>_0001..0004) of {len(set(people))} people from "
                          f"{'/'.join(args.faces_dir.parts[-3:])}/",
                "pairs": f"{n_same} same-person, {n_diff} different-person",
                "open_set_trials": f"{n} known (leave one photo out), {n} unknown (leave one person out)",
                "flip_averaging": model.flip_average,
                "use": f"chose the threshold: the largest on a 0.01 grid with FPIR <= {args.target_fpir:.0%}",
                "intervals": COUNTED_RATE_INTERVAL + f" ({n} open-set trials are {len(set(people))} people)",
            },
            metrics={
                "false_positive_identification_rate": _rate(fpir[i], n),
                "false_negative_identification_rate": _rate(fnir[i], n),
                "false_match_rate": _rate(fmr[i], n_diff),
                "false_non_match_rate": _rate(fnmr[i], n_same),
            },
        )
        print(f"wrote {args.json}")
    return 0


def _rate(rate: float, total: int) -> dict[str, float | int | list[float]]:
    """A measured rate with its interval and the counts behind it (the card prints all three)."""
    return counted_rate(int(round(rate * total)), total)


if __name__ == "__main__":
    raise SystemExit(main())
