"""Calibration on an evaluation set: fer_core.calibration's ECE and floor, with an interval that resamples what
the set's other intervals resample (rows, or people within their source)."""
from __future__ import annotations

import numpy as np
import pytest

from fer_core.calibration import calibration_report
from governance.bias_audit import CALIBRATION_ROWS, AuditError, bootstrap_cluster_weights, calibration_estimates


def _two_class(confidence: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities reading class 0 at `confidence`; the label is 0 where `right`, else 1."""
    return np.stack([confidence, 1 - confidence], axis=1), np.where(right, 0, 1)


def test_the_ece_floor_and_binning_are_fer_core_s_and_the_diagram_adds_up_to_the_ece():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1.0, 600)
    probs, labels = _two_class(confidence, rng.random(600) < confidence - 0.1)  # 10 points over-confident
    estimates = calibration_estimates(probs, labels, n_boot=300, seed=0)
    report = calibration_report(probs, labels)
    assert estimates["ece"]["value"] == report["ece"]
    assert estimates["floor_if_calibrated"] == report["floor_if_calibrated"]
    assert estimates["binning"] == report["binning"]
    assert estimates["mean_confidence"] == pytest.approx(confidence.mean())
    assert estimates["accuracy"] == pytest.approx((labels == 0).mean())
    low, high = estimates["ece"]["ci"]
    assert low < estimates["ece"]["value"] < high
    assert low > estimates["floor_if_calibrated"]["upper_95"]  # 10 points off is far above sample noise at 600 rows
    points = estimates["reliability"]
    assert sum(p["faces"] for p in points) == 600
    assert sum(p["faces"] / 600 * abs(p["accuracy"] - p["mean_confidence"]) for p in points) == pytest.approx(
        report["ece"])


def test_resampling_people_whose_photos_agree_widens_the_interval():
    # 60 people, 10 photos each, a person's photos all right or all wrong: 60 draws, not 600.
    rng = np.random.default_rng(1)
    person_right = rng.random(60) < 0.7
    confidence = np.repeat(rng.uniform(0.6, 0.8, 60), 10)
    probs, labels = _two_class(confidence, np.repeat(person_right, 10))
    people = [("lfw", f"p{k}") for k in range(60) for _ in range(10)]
    by_rows = calibration_estimates(probs, labels, n_boot=500, seed=0)["ece"]["ci"]
    by_people = calibration_estimates(probs, labels, clusters=people, n_boot=500, seed=0)["ece"]["ci"]
    assert by_people[1] - by_people[0] > 2 * (by_rows[1] - by_rows[0])


def test_people_are_drawn_within_their_source():
    strata = ["imfdb"] * 3 + ["yale"] * 1 + ["lfw"] * 5
    weights = bootstrap_cluster_weights(strata, n_boot=400, seed=3)
    assert weights.shape == (400, 9)
    assert (weights[:, :3].sum(axis=1) == 3).all() and (weights[:, 3] == 1).all() and (weights[:, 4:].sum(axis=1) == 5).all()
    # A source of one person: every resample holds exactly that person's faces, so its ECE never moves.
    probs, labels = _two_class(np.array([0.9, 0.9, 0.6]), np.array([True, False, True]))
    one = calibration_estimates(probs, labels, clusters=[("yale", "s01")] * 3, n_boot=50, seed=0)["ece"]
    assert one["ci"] == [one["value"], one["value"]]


def test_rows_that_do_not_line_up_are_refused():
    probs, labels = _two_class(np.array([0.9, 0.7]), np.array([True, False]))
    with pytest.raises(AuditError, match=f"^{CALIBRATION_ROWS.format(shapes='(2, 2), (2,), 1')}$".replace("(", r"\(")
                       .replace(")", r"\)")):
        calibration_estimates(probs, labels, clusters=[("lfw", "a")], n_boot=10, seed=0)
