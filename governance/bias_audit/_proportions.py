"""Confidence intervals for a share of rows (k of n) and for the gap between two independent shares.

Accuracy, recall, the rate a class is predicted and the false match and non-match rates are each k of n
independent rows. For them a bootstrap percentile interval is wrong where it matters most: a group whose
rows are all right (or all wrong) resamples to the same value every time, so 0 false matches in 50 trials
came out as [0, 0], and at 30 faces with a 2% error rate the bootstrap's 95% interval held the true rate
in 44% of simulated audits. The intervals here hold it at least as often as they say:
- clopper_pearson: the exact binomial interval (Clopper & Pearson 1934), never below its level;
- newcombe_difference: p1 - p2 from two Wilson score intervals (Newcombe 1998, method 10).
"""
from __future__ import annotations

import numpy as np
from scipy.stats import beta, norm


def clopper_pearson(k: np.ndarray, n: np.ndarray, *, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact two-sided interval of the rate behind k successes in n trials; NaN where n is 0."""
    k, n = np.asarray(k, dtype=np.float64), np.asarray(n, dtype=np.float64)
    tail = (1.0 - confidence) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(k > 0, beta.ppf(tail, k, n - k + 1), 0.0)
        high = np.where(k < n, beta.ppf(1.0 - tail, k + 1, n - k), 1.0)
    empty = n <= 0
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def wilson(k: np.ndarray, n: np.ndarray, *, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of the rate behind k successes in n trials; NaN where n is 0."""
    k, n = np.asarray(k, dtype=np.float64), np.asarray(n, dtype=np.float64)
    z = norm.ppf(1.0 - (1.0 - confidence) / 2.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = (k + z * z / 2.0) / (n + z * z)
        half = z / (n + z * z) * np.sqrt(k * (n - k) / n + z * z / 4.0)
    empty = n <= 0
    return np.where(empty, np.nan, centre - half), np.where(empty, np.nan, centre + half)


def newcombe_difference(
    k1: np.ndarray, n1: np.ndarray, k2: np.ndarray, n2: np.ndarray, *, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """Interval of p1 - p2 for two independent rates (k1 of n1, k2 of n2); NaN where either n is 0."""
    k1, n1, k2, n2 = (np.asarray(a, dtype=np.float64) for a in (k1, n1, k2, n2))
    l1, u1 = wilson(k1, n1, confidence=confidence)
    l2, u2 = wilson(k2, n2, confidence=confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        p1, p2 = k1 / n1, k2 / n2
    d = p1 - p2
    return d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
