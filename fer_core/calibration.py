"""Expected calibration error (ECE), and the ECE a perfectly calibrated model would show on the same faces.

ECE over a finite set is biased upwards: even a model whose confidence is exactly its chance of being right
shows a positive ECE, because each bin's accuracy is a sample mean. `calibration_floor` measures that floor
for the confidences actually seen, by simulation: each face is drawn right with probability its confidence,
and the ECE of those draws is computed with the same bins. An ECE inside the floor's upper point cannot be
told from sample noise; one above it is calibration error.

Run time (the bias audit) and training (fer_core.training.evaluate) both use it, so it lives outside
fer_core.training.
"""
from __future__ import annotations

import numpy as np

ECE_BINS = 15  # equal-width confidence bins (Guo et al. 2017)
FLOOR_SIMULATIONS = 2000
FLOOR_SEED = 0
BINNING = "{bins} equal-width confidence bins over (0, 1]"


def _bins(confidence: np.ndarray, bins: int) -> list[tuple[float, float, np.ndarray]]:
    """Each non-empty bin's edges and mask: faces with low < confidence <= high."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    masks = [(float(low), float(high), (confidence > low) & (confidence <= high)) for low, high in zip(edges[:-1], edges[1:])]
    return [(low, high, mask) for low, high, mask in masks if mask.any()]


def _bin_masks(confidence: np.ndarray, bins: int) -> list[np.ndarray]:
    return [mask for _, _, mask in _bins(confidence, bins)]


def _ece(confidence: np.ndarray, correct: np.ndarray, masks: list[np.ndarray]) -> np.ndarray:
    """ECE of each row of `correct` (..., n) against `confidence` (n,): sum over bins of the bin's share of
    faces times |accuracy - mean confidence| in it."""
    n = confidence.shape[0]
    total = np.zeros(correct.shape[:-1])
    for mask in masks:
        total += mask.sum() / n * np.abs(correct[..., mask].mean(axis=-1) - confidence[mask].mean())
    return total


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == labels).astype(np.float64)
    return float(_ece(confidence, correct, _bin_masks(confidence, bins)))


def reliability_bins(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> list[dict[str, float | int]]:
    """The points of a reliability diagram, on the ECE's own bins: for each non-empty bin its edges, its faces,
    their mean confidence and their accuracy (the ECE is the faces-weighted mean of |accuracy - confidence|)."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    return [{"low": low, "high": high, "faces": int(mask.sum()), "mean_confidence": float(confidence[mask].mean()),
             "accuracy": float(correct[mask].mean())} for low, high, mask in _bins(confidence, bins)]


def calibration_floor(confidence: np.ndarray, *, bins: int = ECE_BINS, simulations: int = FLOOR_SIMULATIONS,
                      seed: int = FLOOR_SEED) -> dict[str, float | int]:
    """The ECE a perfectly calibrated model with these confidences would show: its mean over `simulations`
    sets in which face i is right with probability confidence[i], and its 95th percentile `upper_95` (an
    observed ECE above it is calibration error at the 5% level, one below it is within sample noise)."""
    confidence = np.asarray(confidence, dtype=np.float64)
    if confidence.ndim != 1 or not len(confidence):
        raise ValueError("calibration_floor needs a non-empty 1-D array of confidences")
    masks = _bin_masks(confidence, bins)
    rng = np.random.default_rng(seed)
    simulated = np.empty(simulations)
    chunk = max(1, 2_000_000 // len(confidence))  # draws held at a time
    for start in range(0, simulations, chunk):
        count = min(chunk, simulations - start)
        correct = (rng.random((count, len(confidence))) < confidence).astype(np.float64)
        simulated[start : start + count] = _ece(confidence, correct, masks)
    return {"mean": float(simulated.mean()), "upper_95": float(np.quantile(simulated, 0.95)),
            "simulations": simulations, "seed": seed}


def calibration_report(probs: np.ndarray, labels: np.ndarray, *, bins: int = ECE_BINS) -> dict:
    """ECE with its binning and its floor under perfect calibration, as reports and model cards quote it."""
    floor = calibration_floor(probs.max(axis=1), bins=bins)
    return {"ece": expected_calibration_error(probs, labels, bins), "binning": BINNING.format(bins=bins),
            "floor_if_calibrated": floor}
