"""Verification pairs of the development face set, built deterministically from its manifest.

Same-person pairs: every pair of two photos of one enrolled person (16 people x C(8, 2) = 448).
Different-person pairs: as many, drawn with a fixed seed from all pairs of photos of two different
people, the 50 unknown people included. Each pair gets one of 10 folds, balanced so every fold
holds a tenth of each kind (the LFW protocol: a threshold chosen on 9 folds is scored on the tenth).

The pairs depend only on the manifest's paths, never on what a detector or model makes of them,
so every model is scored on the very same pairs. `cross_validated` scores a model's pair distances by
that protocol, and `paired_bootstrap` compares two models on the same pairs
(benchmarks/compare_identity_models.py).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from fer_core.training.identity_devset import FacePhoto

FOLDS = 10
SEED = 2026
BOOTSTRAP = 2000
BOOTSTRAP_SEED = 7


@dataclass(frozen=True)
class Pair:
    first: int  # index into the photo list the pairs were built from
    second: int
    same: bool
    fold: int


def identity_of(photo: FacePhoto) -> str:
    """The person a photo shows: the enrolled name, or the unknown person's name from the file name."""
    return photo.person or photo.path.stem.rsplit("_", 1)[0]


def build_pairs(photos: list[FacePhoto], *, seed: int = SEED, folds: int = FOLDS) -> list[Pair]:
    """All same-person pairs of the enrolled people and an equal number of different-person pairs, with folds.

    Photos are taken in path order whatever order `photos` is in, so the same files always give
    the same pairs; the returned indices point into `photos` as given.
    """
    order = sorted(range(len(photos)), key=lambda i: str(photos[i].path))
    same, different = [], []
    for i, j in itertools.combinations(order, 2):
        if identity_of(photos[i]) == identity_of(photos[j]):
            if photos[i].role == "enrolled":
                same.append((i, j))
        else:
            different.append((i, j))
    if len(different) < len(same):
        raise ValueError(f"only {len(different)} different-person pairs for {len(same)} same-person pairs")
    rng = np.random.default_rng(seed)
    picked = [different[k] for k in sorted(rng.choice(len(different), size=len(same), replace=False))]
    pairs = []
    for is_same, kind in ((True, same), (False, picked)):
        fold_of = rng.permutation(len(kind)) % folds
        pairs.extend(Pair(i, j, is_same, int(f)) for (i, j), f in zip(kind, fold_of))
    return pairs


def best_threshold(distances: np.ndarray, same: np.ndarray) -> float:
    """The threshold (a midpoint between sorted distances) with the most pairs decided right; the smallest on ties."""
    finite = np.sort(np.unique(distances[np.isfinite(distances)]))
    candidates = np.r_[finite[0] - 1e-6, (finite[:-1] + finite[1:]) / 2, finite[-1] + 1e-6]
    accuracy = [((distances <= t) == same).mean() for t in candidates]
    return float(candidates[int(np.argmax(accuracy))])


def cross_validated(distances: np.ndarray, pairs: list[Pair]) -> tuple[np.ndarray, list[float]]:
    """Per pair: decided right at the threshold chosen on the other folds; and each fold's threshold."""
    same = np.array([p.same for p in pairs])
    folds = np.array([p.fold for p in pairs])
    correct = np.zeros(len(pairs), dtype=bool)
    thresholds = []
    for fold in np.unique(folds):
        test = folds == fold
        threshold = best_threshold(distances[~test], same[~test])
        thresholds.append(threshold)
        correct[test] = (distances[test] <= threshold) == same[test]
    return correct, thresholds


def paired_bootstrap(candidate: np.ndarray, baseline: np.ndarray, *, resamples: int = BOOTSTRAP,
                     seed: int = BOOTSTRAP_SEED) -> tuple[float, float, float]:
    """Accuracy difference candidate - baseline over the same pairs and its 95% percentile interval.

    Pairs are resampled as if independent, and they are not: a person is in many pairs (each enrolled person of
    the development set in C(8, 2) = 28 same-person pairs and in different-person ones; LFW's pairs.txt puts
    many people in several pairs), and a hard face makes every pair it is in hard for both models. The interval
    is therefore narrower than one that resamples people (each pair weighted by how often its one or two people
    are drawn), by an amount not measured here. Being paired, the gap suffers less than one model's accuracy
    would: on the real-photo emotion set, resampling people instead of faces widened a paired gap's interval
    1.02-1.04x and one model's accuracy interval 1.37-2.27x (experiments/reports/real_photo_interval_clusters.md).
    Read an interval that only just excludes 0 as undecided."""
    diff = candidate.astype(np.float64) - baseline.astype(np.float64)
    rng = np.random.default_rng(seed)
    means = np.array([diff[rng.integers(0, len(diff), len(diff))].mean() for _ in range(resamples)])
    low, high = np.percentile(means, [2.5, 97.5])
    return float(diff.mean()), float(low), float(high)


def fnmr_at_fmr(distances: np.ndarray, same: np.ndarray, fmr: float) -> float:
    """The share of same-person pairs rejected at the largest threshold that accepts at most `fmr` of the
    different-person pairs (a point of the DET curve: how many family photos go unnamed when strangers
    may be named at most that often)."""
    different = np.sort(distances[~same])
    allowed = int(np.floor(fmr * len(different) + 1e-9))  # different-person pairs that may be accepted
    # accept everything strictly below the (allowed+1)-th nearest different-person pair
    bound = different[allowed] if allowed < len(different) else np.inf
    return float((distances[same] >= bound).mean())


def paired_bootstrap_fnmr(candidate: np.ndarray, baseline: np.ndarray, same: np.ndarray, fmr: float, *,
                          resamples: int = BOOTSTRAP, seed: int = BOOTSTRAP_SEED) -> tuple[float, float, float]:
    """FNMR at `fmr` of candidate - baseline (per-pair distances over the same pairs) and its 95% percentile
    interval; same- and different-person pairs are resampled separately, so each resample keeps both kinds. As in
    paired_bootstrap, pairs are resampled as if independent though they share people: the interval is too narrow."""
    rng = np.random.default_rng(seed)
    same_idx, different_idx = np.flatnonzero(same), np.flatnonzero(~same)
    value = fnmr_at_fmr(candidate, same, fmr) - fnmr_at_fmr(baseline, same, fmr)
    diffs = []
    for _ in range(resamples):
        pick = np.r_[rng.choice(same_idx, len(same_idx)), rng.choice(different_idx, len(different_idx))]
        diffs.append(fnmr_at_fmr(candidate[pick], same[pick], fmr) - fnmr_at_fmr(baseline[pick], same[pick], fmr))
    low, high = np.percentile(diffs, [2.5, 97.5])
    return float(value), float(low), float(high)
