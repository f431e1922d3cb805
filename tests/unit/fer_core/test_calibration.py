"""fer_core.calibration: the ECE floor tells calibration error from sample noise."""
import numpy as np
import pytest

from fer_core.calibration import calibration_floor, calibration_report, expected_calibration_error, reliability_bins

N = 2302  # faces in the deduplicated fer4 test split


def _model(confidence: np.ndarray, accuracy_of, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two-class probabilities predicting class 0 with `confidence`, right with probability accuracy_of(confidence)."""
    rng = np.random.default_rng(seed)
    probs = np.stack([confidence, 1 - confidence], axis=1)
    labels = np.where(rng.random(len(confidence)) < accuracy_of(confidence), 0, 1)
    return probs, labels


def _confidences(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.5, 1.0, N)


def test_a_calibrated_model_stays_under_the_floor_and_a_miscalibrated_one_exceeds_it():
    confidence = _confidences()
    floor = calibration_floor(confidence)
    calibrated = [expected_calibration_error(*_model(confidence, lambda c: c, seed)) for seed in range(1, 41)]
    # A model 6 points more confident than it is right: every one of 40 sets shows it above the floor.
    overconfident = [expected_calibration_error(*_model(confidence, lambda c: c - 0.06, seed)) for seed in range(1, 41)]
    assert sum(e <= floor["upper_95"] for e in calibrated) >= 35  # about 95% of 40
    assert all(e > floor["upper_95"] for e in overconfident)
    # The floor is the calibrated model's mean ECE, not zero: about 0.019 at 2302 faces and 15 bins.
    assert floor["mean"] == pytest.approx(np.mean(calibrated), rel=0.15)
    assert 0.01 < floor["mean"] < floor["upper_95"] < 0.03


def test_the_floor_shrinks_with_more_faces_and_is_fixed_by_its_seed():
    small, large = calibration_floor(_confidences()[:500]), calibration_floor(np.tile(_confidences(), 4))
    assert large["mean"] < small["mean"] / 1.5
    assert calibration_floor(_confidences()) == calibration_floor(_confidences())
    assert calibration_floor(_confidences(), seed=1) != calibration_floor(_confidences())


def test_the_report_names_its_binning_and_its_ece_is_the_plain_ece():
    probs, labels = _model(_confidences(), lambda c: c, 3)
    report = calibration_report(probs, labels)
    assert report["ece"] == expected_calibration_error(probs, labels)
    assert report["binning"] == "15 equal-width confidence bins over (0, 1]"
    assert set(report["floor_if_calibrated"]) == {"mean", "upper_95", "simulations", "seed"}


def test_an_empty_set_has_no_floor():
    with pytest.raises(ValueError, match="^calibration_floor needs a non-empty 1-D array of confidences$"):
        calibration_floor(np.array([]))


def test_the_reliability_diagram_uses_the_ece_bins():
    probs = np.array([[0.95, 0.05], [0.97, 0.03], [0.55, 0.45], [0.3, 0.7]])
    labels = np.array([0, 1, 0, 1])
    points = reliability_bins(probs, labels)
    # 0.95 and 0.97 share the bin (0.9333, 1]; 0.55 is in (0.5333, 0.6]; 0.7 in (0.6667, 0.7333]
    assert [(p["faces"], p["accuracy"]) for p in points] == [(1, 1.0), (1, 1.0), (2, 0.5)]
    assert points[2]["mean_confidence"] == pytest.approx(0.96)
    assert points[0]["low"] == pytest.approx(8 / 15) and points[0]["high"] == pytest.approx(9 / 15)
    assert sum(p["faces"] / 4 * abs(p["accuracy"] - p["mean_confidence"]) for p in points) == pytest.approx(
        expected_calibration_error(probs, labels))
