"""The audit's intervals hold the true value as often as they say, where the bootstrap percentile did not: a
group with no error gets an upper bound, a small group's interval covers a low rate, and equal groups are
not reported as surely different."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from governance.bias_audit import (
    clopper_pearson,
    load_audit_set,
    newcombe_difference,
    run_emotion_audit,
    run_identity_audit,
)
from tests.support.bias_audit import CLASSES, planted_classifier, write_cohorts


def _trials(groups: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """Genuine trials only: group -> (trials, of which miss at threshold 0.5)."""
    rows = []
    for group, (size, misses) in groups.items():
        rows += [{"genuine": True, "score": 0.9 if i < misses else 0.1, "cohort": group} for i in range(size)]
    return pd.DataFrame(rows)


def _fnmr_audit(groups: dict[str, tuple[int, int]]):
    return run_identity_audit(trials=_trials(groups), threshold=0.5, score_kind="distance", groups=["cohort"])


def test_clopper_pearson_known_values():
    # 0 of n: the upper bound solves (1 - p)^n = 0.025, the "rule of three" (3/n) made exact.
    assert clopper_pearson(0, 50, confidence=0.95) == pytest.approx((0.0, 1 - 0.025 ** (1 / 50)))
    assert clopper_pearson(0, 50, confidence=0.95)[1] == pytest.approx(0.071122, abs=1e-6)
    assert clopper_pearson(50, 50, confidence=0.95) == pytest.approx((0.025 ** (1 / 50), 1.0))
    assert clopper_pearson(1, 64, confidence=0.95) == pytest.approx((0.000396, 0.084010), abs=1e-6)
    assert np.isnan(clopper_pearson(0, 0, confidence=0.95)).all()


@pytest.mark.parametrize(
    ("counts", "expected"),
    [  # Newcombe (1998), Statistics in Medicine 17:873, Table II, method 10
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((6, 7, 2, 7), (0.0582, 0.8062)),
        ((5, 56, 0, 29), (-0.0381, 0.1926)),
        ((0, 10, 0, 20), (-0.1611, 0.2775)),
        ((0, 10, 0, 10), (-0.2775, 0.2775)),
        ((10, 10, 0, 20), (0.6791, 1.0000)),
    ],
)
def test_newcombe_difference_matches_the_published_table(counts, expected):
    assert newcombe_difference(*counts, confidence=0.95) == pytest.approx(expected, abs=1e-4)


def test_a_group_with_no_error_gets_an_upper_bound_not_a_zero_width_interval():
    # 0 false non-matches in 50 genuine trials: the bootstrap resampled 0 every time and said [0, 0].
    audit = _fnmr_audit({"x": (50, 0), "y": (200, 10)})
    groups = {g.name: g for g in audit.column("cohort").groups}
    rate = groups["x"].metrics["false_non_match_rate"]
    assert (rate.value, rate.low, rate.high) == pytest.approx((0.0, 0.0, 0.071122), abs=1e-6)
    gap = groups["x"].gaps["false_non_match_rate"]
    assert (gap.low, gap.high) == pytest.approx(newcombe_difference(0, 50, 10, 200, confidence=0.95))
    assert gap.low < gap.value < gap.high


def test_a_small_group_interval_holds_a_low_rate_at_least_95_percent_of_the_time():
    # Exact coverage over the outcomes of 30 trials at a 2% error rate (k > 5 has probability < 2e-5).
    # The bootstrap percentile interval held 0.02 only when a trial missed (45% of audits): 0 of 30 gave [0, 0].
    rate, size = 0.02, 30
    covered = 0.0
    for misses in range(6):
        audit = _fnmr_audit({"x": (size, misses), "y": (100, 2)})
        estimate = {g.name: g for g in audit.column("cohort").groups}["x"].metrics["false_non_match_rate"]
        covered += binom.pmf(misses, size, rate) * (estimate.low <= rate <= estimate.high)
    assert covered >= 0.95


def test_equal_groups_have_a_difference_interval_that_holds_zero(tmp_path):
    # Three groups at 85%: the bootstrap interval of max - min was above 0 in every resample.
    manifest = write_cohorts(tmp_path, {"a": (300, 45), "b": (300, 45), "c": (120, 18)})
    audit = run_emotion_audit(samples=load_audit_set(manifest), predict=planted_classifier, classes=CLASSES,
                              groups=["cohort"])
    column = audit.column("cohort")
    assert column.difference["accuracy"].value == pytest.approx(0.0, abs=1e-12)
    assert column.difference["accuracy"].low == 0.0 < column.difference["accuracy"].high
    assert column.ratio["accuracy"].high == 1.0 > column.ratio["accuracy"].low
    # Every group's Clopper-Pearson interval at the Bonferroni level 1 - 0.05 / 3 bounds the spread.
    low, high = clopper_pearson([255, 255, 102], [300, 300, 120], confidence=1 - 0.05 / 3)
    assert column.difference["accuracy"].high == pytest.approx(high.max() - low.min())
    assert column.ratio["accuracy"].low == pytest.approx(low.min() / high.max())
