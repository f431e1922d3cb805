"""Bootstrap intervals of the emotion metrics of one confusion table, and of the gap between two models.

The same metrics and the same table bootstrap as the audit (`emotion_metrics`, `bootstrap_tables`), for a
whole evaluation set rather than per group: a benchmark reports accuracy, macro-F1 and per-class recall
with intervals from the confusion table alone. Two models scored on the same faces are compared through
their joint table (true class x prediction of one x prediction of the other): resampling faces resamples
both predictions together, so the interval of the gap is a paired one, narrower than two separate
intervals suggest.

Faces that are not independent (several photos of one person, one person in four expressions) make an
interval over faces too narrow. Given `strata`, the table holds one table per cluster (e.g. per person
photographed) and whole clusters are resampled, with replacement within each stratum (e.g. each source of
photos), so that the interval speaks for other people's photos, not only for other photos of these people.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from governance.bias_audit._bootstrap import Estimate, bootstrap_cluster_tables, bootstrap_tables, percentile_interval
from governance.bias_audit._emotion_metrics import emotion_metrics
from governance.bias_audit._errors import AuditError

CONFUSION_SHAPE = "a confusion table must be {n} x {n} counts for classes {classes}, got shape {shape}"
JOINT_SHAPE = "a joint table must be {n} x {n} x {n} counts for classes {classes}, got shape {shape}"
NEGATIVE_COUNTS = "counts must be whole numbers of at least 0"
CLUSTER_SHAPE = "tables per cluster must be {clusters} (one per entry of strata) x {table} counts, got shape {shape}"
NO_CLUSTERS = "strata name no cluster: give one stratum per cluster table"
# Metrics whose gap between two models is reported: the headline ones.
PAIRED_METRICS = ("accuracy", "macro_f1")


def confusion_estimates(
    table: np.ndarray, classes: Sequence[str], *, n_boot: int = 1000, seed: int = 0, confidence: float = 0.95,
    strata: Sequence[object] | None = None,
) -> dict[str, Estimate]:
    """accuracy, macro_f1, recall[c] and predicted_rate[c] of a (true x predicted) count table, with intervals
    over faces; with `strata`, `table` is one such table per cluster (axis 0) and the intervals are over
    clusters, resampled within their stratum."""
    counts, samples = _resampled(table, (len(classes),) * 2, CONFUSION_SHAPE, classes, strata, n_boot, seed)
    estimates = {}
    for spec in emotion_metrics(classes):
        low, high = percentile_interval(spec.on_tables(samples), confidence=confidence)
        estimates[spec.name] = Estimate(float(spec.on_tables(counts)), float(low), float(high))
    return estimates


def paired_difference_estimates(
    joint: np.ndarray, classes: Sequence[str], *, n_boot: int = 1000, seed: int = 0, confidence: float = 0.95,
    strata: Sequence[object] | None = None,
) -> dict[str, Estimate]:
    """Model A minus model B for PAIRED_METRICS, from joint[t, a, b] = faces of true class t that A calls a and B b;
    with `strata`, one joint table per cluster (axis 0), resampled as in confusion_estimates."""
    counts, samples = _resampled(joint, (len(classes),) * 3, JOINT_SHAPE, classes, strata, n_boot, seed)
    specs = {spec.name: spec for spec in emotion_metrics(classes)}
    estimates = {}
    for name in PAIRED_METRICS:
        metric = specs[name].on_tables
        value = metric(counts.sum(axis=2)) - metric(counts.sum(axis=1))
        gaps = metric(samples.sum(axis=3)) - metric(samples.sum(axis=2))
        low, high = percentile_interval(gaps, confidence=confidence)
        estimates[name] = Estimate(float(value), float(low), float(high))
    return estimates


def tables_by_cluster(clusters: Sequence[tuple[object, object]] | None, columns: Sequence[np.ndarray], *,
                      classes: Sequence[str]) -> tuple[np.ndarray, list[object] | None]:
    """Rows counted by their class indices in `columns` (true class, then each model's prediction), one table per
    cluster, with each cluster's stratum: the `table` and `strata` of confusion_estimates and
    paired_difference_estimates. `clusters` names each row's (stratum, cluster), e.g. (source, person); None
    (rows that name no cluster) counts them in one table, with strata None: intervals over rows."""
    if clusters is None:
        table = np.zeros((len(classes),) * len(columns), dtype=np.int64)
        np.add.at(table, tuple(np.asarray(c) for c in columns), 1)
        return table, None
    keys = [tuple(key) for key in clusters]
    index = {key: k for k, key in enumerate(sorted(set(keys), key=lambda key: tuple(map(str, key))))}
    tables = np.zeros((len(index), *(len(classes),) * len(columns)), dtype=np.int64)
    np.add.at(tables, ([index[key] for key in keys], *(np.asarray(c) for c in columns)), 1)
    return tables, [stratum for stratum, _ in index]


def _resampled(table: np.ndarray, shape: tuple[int, ...], message: str, classes: Sequence[str],
               strata: Sequence[object] | None, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The table of the whole set and its bootstrap resamples, over rows or (with strata) over clusters."""
    if strata is None:
        counts = _counts(table, shape, message, classes)
        return counts, bootstrap_tables(counts, n_boot=n_boot, seed=seed)
    strata = list(strata)
    if not strata:
        raise AuditError(NO_CLUSTERS)
    per_cluster = np.asarray(table)
    if per_cluster.shape != (len(strata), *shape):
        raise AuditError(CLUSTER_SHAPE.format(clusters=len(strata), table=" x ".join(map(str, shape)),
                                              shape=per_cluster.shape))
    per_cluster = _counts(per_cluster, per_cluster.shape, message, classes)
    return per_cluster.sum(axis=0), bootstrap_cluster_tables(per_cluster, strata, n_boot=n_boot, seed=seed)


def _counts(table: np.ndarray, shape: tuple[int, ...], message: str, classes: Sequence[str]) -> np.ndarray:
    counts = np.asarray(table)
    if counts.shape != shape:
        raise AuditError(message.format(n=len(classes), classes=list(classes), shape=counts.shape))
    if not np.issubdtype(counts.dtype, np.integer) or (counts < 0).any():
        raise AuditError(NEGATIVE_COUNTS)
    return counts.astype(np.int64)
