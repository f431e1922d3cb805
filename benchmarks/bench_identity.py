"""Benchmark family recognition on the development set and print the tables.

Protocol: ../shared/data/faces, 16 people x 8 photos + 50 unknown people. Enrol
photos 0001-0004 of each person; probe with photos 0005-0008 (64 known probes) and the 50
unknowns. Each photo contributes its centre face (the one LFW labels); detection is
fer_core.detection (MTCNN on onnxruntime), alignment to the model's template, then the Gallery rule
(threshold from the model's metadata, margin 0.1 x threshold). The threshold was calibrated on the
enrolment photos only (calibrate_identity.py), never on these probes.

Also: verification accuracy on same/different pairs drawn from the set (pairs of two enrolment
photos left out: calibration used them), and timings (enrol one person from 4 photos; identify
one face against 100 enrolled people; embedding one face).

    python benchmarks/bench_identity.py [--model models/face_recognition_dlib.onnx] [--json PATH]

--json writes the operating point's figures (and the single errors behind them) as an evaluation the
model card quotes (governance.model_cards, tools/model_cards.sh); timings stay in the printed table.
"""
from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from calibrate_identity import TARGET_FPIR, calibrate

from fer_core.detection import FaceDetector
from fer_core.identity import Gallery, embed_enrollment_photos, load_embedding_model, pairwise_distances
from fer_core.model_files import identity_model_name, models_dir
from fer_core.training.identity_devset import (
    FACES_DIR,
    FacePhoto,
    embed_photos,
    load_manifest,
    people_embeddings,
    read_rgb,
)
from governance.model_cards import COUNTED_RATE_INTERVAL, counted_rate, write_evaluation

SWEEP = (0.44, 0.46, 0.48, 0.50, 0.52, 0.54, 0.56, 0.58, 0.60)
DLIB_THRESHOLD = 0.6  # the distance dlib documents for this network: the usual choice without calibration


def open_set_counts(name_of: Callable[[np.ndarray], str | None], embeddings: np.ndarray,
                    photos: list[FacePhoto]) -> dict[str, int]:
    """Tally the probes: known named correctly / wrongly / not at all, unknowns named or not."""
    counts = dict(correct=0, wrong=0, known_rejected=0, unknown_rejected=0, unknown_accepted=0, known=0, unknown=0)
    for embedding, photo in zip(embeddings, photos):
        if not photo.is_probe:
            continue
        name = name_of(embedding)
        if photo.role == "unknown":
            counts["unknown"] += 1
            counts["unknown_accepted" if name else "unknown_rejected"] += 1
        else:
            counts["known"] += 1
            counts["known_rejected" if name is None else "correct" if name == photo.person else "wrong"] += 1
    return counts


def open_set_errors(gallery: Gallery, embeddings: np.ndarray, photos: list[FacePhoto]) -> list[str]:
    """One sentence per probe the Gallery rule gets wrong: a stranger named, or a known face not named right."""
    errors = []
    for embedding, photo in zip(embeddings, photos):
        if not photo.is_probe:
            continue
        match = gallery.identify(embedding)
        if photo.role == "unknown" and match.label:
            errors.append(f"stranger {photo.path.name} named as {match.label} at distance {match.distance:.3f}")
        elif photo.role != "unknown" and match.label != photo.person:
            outcome = f"named as {match.label}" if match.label else f"not named ({match.reason})"
            errors.append(f"{photo.path.name} {outcome}: nearest {match.nearest} at distance {match.distance:.3f}")
    return errors


def gallery_rule(gallery: Gallery) -> Callable[[np.ndarray], str | None]:
    return lambda embedding: gallery.identify(embedding).person_id


def nearest_photo_rule(people: dict[str, np.ndarray], gallery: Gallery) -> Callable[[np.ndarray], str | None]:
    """The Gallery's threshold and margin, but each person represented by their nearest enrolment photo."""
    names = list(people)

    def name_of(embedding: np.ndarray) -> str | None:
        per_person = np.array([pairwise_distances(embedding[None], people[n], gallery.distance).min() for n in names])
        best, second = np.sort(per_person)[:2]
        if best <= gallery.threshold and second - best >= gallery.margin:
            return names[int(per_person.argmin())]
        return None

    return name_of


def row(label: str, c: dict[str, int]) -> str:
    return (f"| {label} | {c['correct']}/{c['known']} ({c['correct'] / c['known']:.1%}) | {c['wrong']} "
            f"| {c['known_rejected']} | {c['unknown_accepted']}/{c['unknown']} ({c['unknown_accepted'] / c['unknown']:.1%}) |")


def verification_pairs(photos: list[FacePhoto], seed: int = 0) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """All same-person pairs and as many random different-person pairs, none made of two enrolment photos."""
    candidates = [(i, j) for i, j in itertools.combinations(range(len(photos)), 2)
                  if not (photos[i].is_enrolment and photos[j].is_enrolment)]
    same = [(i, j) for i, j in candidates if photos[i].person and photos[i].person == photos[j].person]
    different = [(i, j) for i, j in candidates if not (photos[i].person and photos[i].person == photos[j].person)]
    picks = np.random.default_rng(seed).choice(len(different), size=len(same), replace=False)
    return same, [different[k] for k in sorted(picks)]


def verification(embeddings: np.ndarray, photos: list[FacePhoto], distance: str, threshold: float) -> dict:
    same, different = verification_pairs(photos)
    matrix = pairwise_distances(embeddings, embeddings, distance)
    d_same = np.array([matrix[i, j] for i, j in same])
    d_diff = np.array([matrix[i, j] for i, j in different])
    accuracy = ((d_same <= threshold).sum() + (d_diff > threshold).sum()) / (len(same) + len(different))
    # LFW-style reference: 10 folds, each threshold chosen on the other 9 (not used by the app).
    labels = np.r_[np.ones(len(d_same), bool), np.zeros(len(d_diff), bool)]
    dists = np.r_[d_same, d_diff]
    folds = np.random.default_rng(1).permutation(len(dists)) % 10
    grid = np.arange(0.3, 0.8, 0.005)
    correct = 0
    for k in range(10):
        train, test = folds != k, folds == k
        best = max(grid, key=lambda t: ((dists[train] <= t) == labels[train]).mean())
        correct += ((dists[test] <= best) == labels[test]).sum()
    print(f"\nVerification on {len(same)} same-person and {len(different)} different-person pairs "
          f"(no pair of two enrolment photos):")
    print(f"- at the operating threshold {threshold:.2f}: accuracy {accuracy:.2%} "
          f"(same pairs accepted {(d_same <= threshold).mean():.2%}, different pairs rejected {(d_diff > threshold).mean():.2%})")
    print(f"- 10-fold cross-validated threshold (LFW protocol, for reference): accuracy {correct / len(dists):.2%}")
    n = len(dists)
    return {
        "pairs": f"{len(same)} same-person, {len(different)} different-person (no pair of two enrolment photos)",
        "verification_accuracy": counted_rate(int((d_same <= threshold).sum() + (d_diff > threshold).sum()), n),
        "false_match_rate": counted_rate(int((d_diff <= threshold).sum()), len(different)),
        "false_non_match_rate": counted_rate(int((d_same > threshold).sum()), len(same)),
        "verification_accuracy_cross_validated": counted_rate(int(correct), n),
    }


def timings(model, detector: FaceDetector, embeddings: np.ndarray, photos: list[FacePhoto]) -> None:
    by_person: dict[str, list[Path]] = {}
    for photo in photos:
        if photo.person:
            by_person.setdefault(photo.person, []).append(photo.path)
    embed_enrollment_photos({"warm-up": read_rgb(photos[0].path)}, detect=detector.detect, model=model)
    enrol_times = []
    for _, paths in sorted(by_person.items()):
        single = [p for p in paths if len(detector.detect(read_rgb(p))) == 1][:4]
        if len(single) < 4:
            continue
        start = time.perf_counter()
        embed_enrollment_photos({p.name: read_rgb(p) for p in single}, detect=detector.detect, model=model)
        enrol_times.append(time.perf_counter() - start)

    crop = model.align(read_rgb(photos[0].path), detector.detect(read_rgb(photos[0].path))[0].landmarks)[None]
    embed_times = {}
    for flip in (True, False):
        model.flip_average = flip
        model.embed(crop)
        samples = []
        for _ in range(30):
            start = time.perf_counter()
            model.embed(crop)
            samples.append(time.perf_counter() - start)
        embed_times[flip] = samples
    model.flip_average = True

    # 100 enrolled entries from real embeddings of this set: the 16 people (4 photos each) and
    # 84 further photos as one-photo "people" (who they are does not matter for the timing).
    people = people_embeddings(embeddings, photos)
    others = [e for e, p in zip(embeddings, photos) if not p.is_enrolment][: 100 - len(people)]
    people.update({f"entry {k}": e[None] for k, e in enumerate(others)})
    gallery = Gallery(people, threshold=model.threshold, distance=model.distance)
    identify_times = []
    for _ in range(5):
        for embedding in embeddings:
            start = time.perf_counter()
            gallery.identify(embedding)
            identify_times.append(time.perf_counter() - start)

    load = os.getloadavg()[0]
    print(f"\nTimings ({os.cpu_count()} CPU cores, load average {load:.1f} while measuring):")
    print("| what | median | min | max |")
    print("|---|---|---|---|")
    print(f"| enrol one person from 4 photos (JPEG decode + detect + align + embed), {len(enrol_times)} people "
          f"| {_ms(statistics.median(enrol_times))} | {_ms(min(enrol_times))} | {_ms(max(enrol_times))} |")
    print(f"| identify one face against {len(gallery)} enrolled people (after embedding), {len(identify_times)} calls "
          f"| {_ms(statistics.median(identify_times), 3)} | {_ms(min(identify_times), 3)} | {_ms(max(identify_times), 3)} |")
    for flip in (True, False):
        samples = embed_times[flip]
        print(f"| embed one aligned face, flip averaging {'on' if flip else 'off'}, {len(samples)} calls "
              f"| {_ms(statistics.median(samples), 1)} | {_ms(min(samples), 1)} | {_ms(max(samples), 1)} |")


def _ms(seconds: float, digits: int = 0) -> str:
    return f"{seconds * 1000:.{digits}f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark family recognition on the development face set")
    parser.add_argument("--model", type=Path, help="identity ONNX model (default: the shipped one)")
    parser.add_argument("--faces-dir", type=Path, default=FACES_DIR)
    parser.add_argument("--json", type=Path, help="write the operating point's figures for the model card here")
    parser.add_argument("--target-fpir", type=float, default=TARGET_FPIR,
                        help="the bound the model's threshold was calibrated with; the run without flip averaging "
                             "is calibrated with it too")
    args = parser.parse_args(argv)

    detector = FaceDetector()
    photos = load_manifest(args.faces_dir)
    model = load_embedding_model(args.model)
    results = {}
    for flip in (True, False):
        model.flip_average = flip
        results[flip] = embed_photos(photos, model, detector)
    model.flip_average = True
    embeddings, kept, missed = results[True]
    if missed:
        print(f"no face found in: {', '.join(p.path.name for p in missed)} (counted as not named)")

    people = people_embeddings(embeddings, kept)
    gallery = Gallery(people, threshold=model.threshold, distance=model.distance)
    print(f"model {model.name}: {model.distance} distance, threshold {model.threshold:.2f} (from its metadata), "
          f"margin {gallery.margin:.3f}; {len(photos)} photos from {args.faces_dir}\n")
    print("| setting | known probes named correctly | wrong identity | known rejected | unknowns named |")
    print("|---|---|---|---|---|")
    missed_known = sum(1 for p in missed if p.is_probe and p.person)
    counts = open_set_counts(gallery_rule(gallery), embeddings, kept)
    counts["known_rejected"] += missed_known
    counts["known"] += missed_known
    print(row(f"**operating point: threshold {model.threshold:.2f}, flip averaging**", counts))
    # The same pipeline without flip averaging, at the threshold the same calibration picks for it.
    emb_off, kept_off, _ = results[False]
    enrol = [i for i, p in enumerate(kept_off) if p.is_enrolment]
    t_off = calibrate(emb_off[enrol], [kept_off[i].person for i in enrol], model.distance, args.target_fpir)
    counts_off = open_set_counts(gallery_rule(Gallery(people_embeddings(emb_off, kept_off), threshold=t_off,
                                                      distance=model.distance)), emb_off, kept_off)
    counts_off["known_rejected"] += missed_known
    counts_off["known"] += missed_known
    print(row(f"without flip averaging, at its own calibrated threshold {t_off:.2f}", counts_off))

    print(row(f"nearest enrolment photo instead of the centre, threshold {model.threshold:.2f}",
              open_set_counts(nearest_photo_rule(people, gallery), embeddings, kept)))

    print("\nThreshold sweep (for context only; the operating point comes from calibration):\n")
    print("| setting | known probes named correctly | wrong identity | known rejected | unknowns named |")
    print("|---|---|---|---|---|")
    for flip in (True, False):
        emb, kept_f, _ = results[flip]
        ppl = people_embeddings(emb, kept_f)
        for t in SWEEP:
            print(row(f"threshold {t:.2f}, flip {'on' if flip else 'off'}",
                      open_set_counts(gallery_rule(Gallery(ppl, threshold=t, distance=model.distance)), emb, kept_f)))

    pairs = verification(embeddings, kept, model.distance, model.threshold)
    timings(model, detector, embeddings, kept)
    if args.json:
        at_dlib = open_set_counts(gallery_rule(Gallery(people, threshold=DLIB_THRESHOLD, distance=model.distance)),
                                  embeddings, kept)
        errors = open_set_errors(gallery, embeddings, kept) + [
            f"{p.path.name}: no face found (counted as not named)" for p in missed if p.is_probe]
        write_evaluation(
            args.json, kind="identity", models=[args.model or models_dir() / identity_model_name()],
            threshold=model.threshold, findings=errors,
            evaluation_data={
                "name": "open-set benchmark on the probes of the development face set",
                "protocol": f"enrol <Name>_0001..0004 of {len(people)} people; probe <Name>_0005..0008 "
                            f"({counts['known']} known faces) and {counts['unknown']} people never enrolled",
                "photos": f"{len(photos)} from {'/'.join(args.faces_dir.parts[-3:])}/",
                "pipeline": f"fer_core.detection (MTCNN), alignment to the model's template, flip averaging, "
                            f"Gallery rule: threshold {model.threshold} and margin {gallery.margin:.3f}",
                "verification_pairs": pairs.pop("pairs"),
                "intervals": COUNTED_RATE_INTERVAL,
            },
            metrics={
                "false_negative_identification_rate": counted_rate(counts["known"] - counts["correct"], counts["known"]),
                "known_faces_named_as_someone_else": counted_rate(counts["wrong"], counts["known"]),
                "false_positive_identification_rate": counted_rate(counts["unknown_accepted"], counts["unknown"]),
                **pairs,
                f"false_positive_identification_rate_at_{DLIB_THRESHOLD:.2f}":
                    counted_rate(at_dlib["unknown_accepted"], at_dlib["unknown"]),
                "threshold_without_flip_averaging": t_off,
                "false_negative_identification_rate_without_flip_averaging":
                    counted_rate(counts_off["known"] - counts_off["correct"], counts_off["known"]),
            },
            definitions={
                "known_faces_named_as_someone_else": "share of known probes named as another enrolled person",
                "verification_accuracy": "share of same/different-person pairs decided right at the operating "
                                         "threshold",
                "verification_accuracy_cross_validated": "the same with the threshold chosen on 9 of 10 folds and "
                                                         "scored on the tenth (LFW protocol; not the app's rule)",
                f"false_positive_identification_rate_at_{DLIB_THRESHOLD:.2f}":
                    f"FPIR at {DLIB_THRESHOLD}, the threshold dlib documents for this network",
                "threshold_without_flip_averaging": "the threshold the same calibration picks when faces are "
                                                    "embedded without flip averaging",
                "false_negative_identification_rate_without_flip_averaging":
                    "FNIR without flip averaging, at that threshold",
            },
        )
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
