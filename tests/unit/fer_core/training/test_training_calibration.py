"""Scores and temperature scaling."""
import numpy as np

from fer_core.training.evaluate import classification_metrics, expected_calibration_error, fit_temperature

CLASSES = ("happy", "neutral", "sad", "surprise")


def _overconfident(n=2000, seed=0):
    """Logits whose argmax is right 70% of the time but that claim ~99% confidence."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    predicted = np.where(rng.random(n) < 0.7, labels, (labels + rng.integers(1, 4, n)) % 4)
    logits = rng.normal(0, 0.3, (n, 4))
    logits[np.arange(n), predicted] += 6.0
    return logits, labels


def test_temperature_scaling_lowers_calibration_error_on_an_overconfident_model():
    logits, labels = _overconfident()
    temperature = fit_temperature(logits, labels)
    before = classification_metrics(logits, labels, CLASSES)
    after = classification_metrics(logits, labels, CLASSES, temperature=temperature)
    assert temperature > 2.0
    assert after["ece"] < before["ece"] / 3
    assert after["nll"] < before["nll"]
    assert after["accuracy"] == before["accuracy"]  # T > 0 never changes the argmax


def test_ece_of_a_perfectly_calibrated_predictor_is_near_zero():
    rng = np.random.default_rng(1)
    confidence = rng.uniform(0.5, 1.0, 20000)  # always predicts class 0 with this confidence
    probs = np.stack([confidence, 1 - confidence], axis=1)
    labels = np.where(rng.random(20000) < confidence, 0, 1)  # ... and is right that often
    assert expected_calibration_error(probs, labels) < 0.02


def test_metrics_report_per_class_precision_recall_and_confusion():
    logits = np.eye(4)[[0, 1, 2, 3, 0, 1]] * 5
    labels = np.array([0, 1, 2, 3, 1, 1])
    m = classification_metrics(logits, labels, CLASSES)
    assert m["accuracy"] == 5 / 6
    assert m["per_class"]["neutral"]["recall"] == 2 / 3
    assert m["per_class"]["happy"]["precision"] == 0.5
    assert m["confusion_matrix"][1] == [1, 2, 0, 0]
