"""The deletion metric on a planted model whose evidence sits in a known region, so every curve is known.

The planted model's probability for class 0 is the mean brightness of a 12x24 region (1/8 of the 48x48
image) over 255. The image is white and removed pixels become black, so removing k of the region's
288 pixels leaves probability 1 - k/288: a saliency map that ranks the region first has AUC 1/16,
one that ranks it last 15/16, and a random order 1/2 on average.
"""
import numpy as np
import pytest

from governance.explain import DeletionCurve, ExplanationError, deletion_curve, deletion_order

SIZE = 48
REGION = (slice(0, 12), slice(24, 48))  # top right: not where a row-by-row scan would start
REGION_SHARE = 12 * 24 / SIZE**2
IMAGE = np.full((SIZE, SIZE, 3), 255.0, np.float32)
BLACK = np.zeros_like(IMAGE)


def planted_model(batch: np.ndarray) -> np.ndarray:
    evidence = batch[:, REGION[0], REGION[1]].mean(axis=(1, 2, 3)) / 255.0
    return np.stack([evidence, 1 - evidence], axis=1)


def region_mask() -> np.ndarray:
    mask = np.zeros((SIZE, SIZE), np.float32)
    mask[REGION] = 1
    return mask


def test_saliency_on_the_evidence_gives_the_known_minimal_auc():
    curve = deletion_curve(planted_model, IMAGE, region_mask(), 0, fill=BLACK)
    assert curve.fractions[0] == 0 and curve.fractions[-1] == 1
    assert curve.scores[0] == 1 and curve.scores[-1] == 0
    assert curve.auc == pytest.approx(REGION_SHARE / 2)  # 0.0625


def test_saliency_away_from_the_evidence_gives_the_known_maximal_auc():
    curve = deletion_curve(planted_model, IMAGE, 1 - region_mask(), 0, fill=BLACK)
    assert curve.auc == pytest.approx(1 - REGION_SHARE / 2)  # 0.9375


def test_random_order_averages_one_half():
    rng = np.random.default_rng(7)
    aucs = [deletion_curve(planted_model, IMAGE, rng.random((SIZE, SIZE)), 0, fill=BLACK).auc for _ in range(30)]
    assert np.mean(aucs) == pytest.approx(0.5, abs=0.02)


def test_a_smooth_heatmap_peaking_on_the_evidence_lands_between_best_and_random():
    ys, xs = np.mgrid[0:SIZE, 0:SIZE]
    blob = np.exp(-((ys - 6) ** 2 + (xs - 36) ** 2) / (2 * 8.0**2))
    auc = deletion_curve(planted_model, IMAGE, blob, 0, fill=BLACK).auc
    assert REGION_SHARE / 2 < auc < 0.25


def test_ties_are_broken_at_random_not_in_scan_order():
    """A flat map must score like random order. Scanning rows from the top would delete the planted
    region (the top 12 rows) within the first quarter of the pixels: AUC 0.125 instead of 0.5."""
    flat = np.zeros((SIZE, SIZE))
    aucs = [deletion_curve(planted_model, IMAGE, flat, 0, fill=BLACK, rng=np.random.default_rng(s)).auc
            for s in range(10)]
    assert np.mean(aucs) == pytest.approx(0.5, abs=0.03)
    order = deletion_order(np.array([[0.0, 2.0], [1.0, 2.0]]), np.random.default_rng(0))
    assert set(order[:2]) == {1, 3} and list(order[2:]) == [2, 0]


def test_the_other_class_gains_what_the_evidence_class_loses():
    curve = deletion_curve(planted_model, IMAGE, region_mask(), 1, fill=BLACK)
    assert curve.auc == pytest.approx(1 - REGION_SHARE / 2)


def test_blur_and_mean_fills_remove_only_detail():
    """A flat image has no detail to remove: blurring or averaging it changes nothing."""
    grey = np.full((SIZE, SIZE, 3), 90.0, np.float32)
    for fill in ("blur", "mean"):
        curve = deletion_curve(lambda b: np.stack([b.mean(axis=(1, 2, 3)) / 255.0] * 2, axis=1),
                               grey, np.random.default_rng(0).random((SIZE, SIZE)), 0, fill=fill)
        np.testing.assert_allclose(curve.scores, 90.0 / 255.0, rtol=1e-5)


def test_auc_is_the_trapezoid_area():
    assert DeletionCurve(fractions=np.array([0.0, 0.5, 1.0]), scores=np.array([1.0, 0.5, 0.0])).auc == 0.5


def test_a_saliency_map_of_another_size_is_refused():
    with pytest.raises(ExplanationError, match=r"^saliency shape \(24, 24\) does not match the image's \(48, 48\)$"):
        deletion_curve(planted_model, IMAGE, np.zeros((24, 24)), 0)


def test_an_unknown_fill_is_refused():
    with pytest.raises(ExplanationError, match=r"^unknown fill 'zeros'; expected one of \['blur', 'mean'\] or an array$"):
        deletion_curve(planted_model, IMAGE, region_mask(), 0, fill="zeros")
