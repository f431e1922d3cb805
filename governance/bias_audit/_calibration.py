"""How well a model's probabilities are calibrated on an evaluation set, with a bootstrap interval for the ECE.

The ECE, its binning and its floor under perfect calibration are fer_core.calibration's (`calibration_report`),
the same figures the card quotes for fer4. The interval resamples what the set's other intervals resample:
rows, or whole clusters (the people photographed) within their strata (sources), drawn as
`bootstrap_cluster_weights` draws them; each resample's ECE is `expected_calibration_error` of the rows drawn,
re-binned, so the interval is of the same statistic. Like the ECE, it is biased upwards: read it beside the floor.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fer_core.calibration import calibration_report, expected_calibration_error, reliability_bins
from governance.bias_audit._bootstrap import Estimate, bootstrap_cluster_weights, percentile_interval
from governance.bias_audit._errors import AuditError

CALIBRATION_ROWS = "calibration needs one label per probability row and one (stratum, cluster) per row, got {shapes}"


def calibration_estimates(probs: np.ndarray, labels: np.ndarray, *, clusters: Sequence[tuple[object, object]] | None = None,
                          n_boot: int, seed: int, confidence: float = 0.95) -> dict:
    """Mean confidence and accuracy (of the most probable class), the ECE with its percentile bootstrap interval,
    its binning and floor (fer_core.calibration.calibration_report), and the reliability diagram's points.
    `clusters` names each row's (stratum, cluster), e.g. (source, person): resamples draw clusters within
    strata; None resamples rows."""
    probs, labels = np.asarray(probs, dtype=np.float64), np.asarray(labels)
    if probs.ndim != 2 or labels.shape != (len(probs),) or (clusters is not None and len(clusters) != len(probs)):
        raise AuditError(CALIBRATION_ROWS.format(shapes=f"{probs.shape}, {labels.shape}, "
                                                        f"{'no clusters' if clusters is None else len(clusters)}"))
    keys = [tuple(key) for key in clusters] if clusters is not None else [("", row) for row in range(len(probs))]
    index = {key: k for k, key in enumerate(sorted(set(keys), key=lambda key: tuple(map(str, key))))}
    cluster_of_row = np.array([index[key] for key in keys], dtype=np.int64)
    weights = bootstrap_cluster_weights([stratum for stratum, _ in index], n_boot=n_boot, seed=seed)
    rows = np.arange(len(probs))
    resampled = np.empty(n_boot)
    for b in range(n_boot):
        drawn = np.repeat(rows, weights[b, cluster_of_row])
        resampled[b] = expected_calibration_error(probs[drawn], labels[drawn])
    low, high = percentile_interval(resampled, confidence=confidence)
    report = calibration_report(probs, labels)
    return {"mean_confidence": float(probs.max(axis=1).mean()),
            "accuracy": float((probs.argmax(axis=1) == labels).mean()),
            "ece": Estimate(report["ece"], float(low), float(high)).to_dict(),
            "binning": report["binning"], "floor_if_calibrated": report["floor_if_calibrated"],
            "reliability": reliability_bins(probs, labels)}
