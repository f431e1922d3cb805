"""Bootstrap intervals of the emotion metrics of one confusion table, and of the gap between two models.

The same metrics and the same table bootstrap as the audit (`emotion_metrics`, `bootstrap_tables`), for a
whole evaluation set rather than per group: a benchmark reports accuracy, macro-F1 and per-class recall
with intervals from the confusion table alone. Two models scored on the same faces are compared through
their joint table (true class x prediction of one x prediction of the other): resampling faces resamples
both predictions together, so the interval of the gap is a paired one, narrower than two separate
intervals suggest.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from governance.bias_audit._bootstrap import Estimate, bootstrap_tables, percentile_interval
from governance.bias_audit._emotion_metrics import emotion_metrics
from governance.bias_audit._errors import AuditError

CONFUSION_SHAPE = "a confusion table must be {n} x {n} counts for classes {classes}, got shape {shape}"
JOINT_SHAPE = "a joint table must be {n} x {n} x {n} counts for classes {classes}, got shape {shape}"
NEGATIVE_COUNTS = "counts must be whole numbers of at least 0"
# Metrics whose gap between two models is reported: the headline ones.
PAIRED_METRICS = ("accuracy", "macro_f1")


def confusion_estimates(
    table: np.ndarray, classes: Sequence[str], *, n_boot: int = 1000, seed: int = 0, confidence: float = 0.95
) -> dict[str, Estimate]:
    """accuracy, macro_f1, recall[c] and predicted_rate[c] of a (true x predicted) count table, with intervals."""
    counts = _counts(table, (len(classes),) * 2, CONFUSION_SHAPE, classes)
    samples = bootstrap_tables(counts, n_boot=n_boot, seed=seed)
    estimates = {}
    for spec in emotion_metrics(classes):
        low, high = percentile_interval(spec.on_tables(samples), confidence=confidence)
        estimates[spec.name] = Estimate(float(spec.on_tables(counts)), float(low), float(high))
    return estimates


def paired_difference_estimates(
    joint: np.ndarray, classes: Sequence[str], *, n_boot: int = 1000, seed: int = 0, confidence: float = 0.95
) -> dict[str, Estimate]:
    """Model A minus model B for PAIRED_METRICS, from joint[t, a, b] = faces of true class t that A calls a and B b."""
    counts = _counts(joint, (len(classes),) * 3, JOINT_SHAPE, classes)
    samples = bootstrap_tables(counts, n_boot=n_boot, seed=seed)
    specs = {spec.name: spec for spec in emotion_metrics(classes)}
    estimates = {}
    for name in PAIRED_METRICS:
        metric = specs[name].on_tables
        value = metric(counts.sum(axis=2)) - metric(counts.sum(axis=1))
        gaps = metric(samples.sum(axis=3)) - metric(samples.sum(axis=2))
        low, high = percentile_interval(gaps, confidence=confidence)
        estimates[name] = Estimate(float(value), float(low), float(high))
    return estimates


def _counts(table: np.ndarray, shape: tuple[int, ...], message: str, classes: Sequence[str]) -> np.ndarray:
    counts = np.asarray(table)
    if counts.shape != shape:
        raise AuditError(message.format(n=len(classes), classes=list(classes), shape=counts.shape))
    if not np.issubdtype(counts.dtype, np.integer) or (counts < 0).any():
        raise AuditError(NEGATIVE_COUNTS)
    return counts.astype(np.int64)
