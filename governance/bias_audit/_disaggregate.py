"""Disaggregating metrics over the groups of one column: fairlearn MetricFrame plus intervals.

MetricFrame computes every point value (per group, overall, differences and ratios between groups)
with the scikit-learn / fairlearn metric functions. The same metrics written over count tables give
the intervals: a metric that is a share of rows (accuracy, recall, a rate) gets the exact
Clopper-Pearson interval, and its gap to the rest of the column Newcombe's (see _proportions); any
other metric (macro-F1) the bootstrap percentile interval (see _bootstrap). Tests check that both ways
agree on the observed data.

A difference (max - min) or ratio (min / max) between groups is not a share, and resampling it leans
away from equality: for equal groups the bootstrap interval of max - min never held 0. Its interval is
what every group's interval at the Bonferroni level 1 - (1 - confidence) / groups allows together: all of
them hold their group's value at once with at least the confidence asked, and then so does this one.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame

from governance.bias_audit._audit_set import NOT_MEASURED
from governance.bias_audit._bootstrap import Estimate, bootstrap_tables, percentile_interval, safe_divide
from governance.bias_audit._clusters import Clustering, effective_counts
from governance.bias_audit._errors import AuditError
from governance.bias_audit._proportions import clopper_pearson, newcombe_difference

# The numbers a share of rows is made of, over (..., T, P) count tables: (rows counted, rows it is a share of).
Shares = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
# A share's (k, n) for the interval: the counts, or their effective values when rows are clustered (_clusters).
Counts = tuple[np.ndarray, np.ndarray]


def _all_rows(tables: np.ndarray) -> np.ndarray:
    return tables.sum(axis=(-2, -1))


@dataclass(frozen=True)
class MetricSpec:
    """One metric, written twice: for MetricFrame on label arrays, and over (..., T, P) count tables.

    `support` counts the rows the metric is computed on (all rows by default; genuine trials for a
    false non-match rate). `worse` is the direction in which a group gap is a harm to that group and
    may be flagged; None for metrics that are only reported. `shares`, for a metric that is a share of
    rows, gives its two counts: its intervals are then exact rather than bootstrapped.
    """

    name: str
    on_labels: Callable[[np.ndarray, np.ndarray], float]
    on_tables: Callable[[np.ndarray], np.ndarray]
    support: Callable[[np.ndarray], np.ndarray] = _all_rows
    worse: Literal["lower", "higher"] | None = None
    shares: Shares | None = None


def share_metric(
    name: str,
    on_labels: Callable[[np.ndarray, np.ndarray], float],
    shares: Shares,
    *,
    support: Callable[[np.ndarray], np.ndarray] = _all_rows,
    worse: Literal["lower", "higher"] | None = None,
) -> MetricSpec:
    """A MetricSpec for a share of rows: over tables it is shares[0] / shares[1], NaN over no rows."""
    return MetricSpec(name, on_labels, lambda tables: safe_divide(*shares(tables)), support, worse, shares)


@dataclass(frozen=True)
class AuditSettings:
    """How groups are compared; every audit takes one (keyword `settings`) and these are the only defaults.

    - min_group_size: a group with fewer rows (faces; for a rate, the rows it is computed on, such as
      genuine trials for a false non-match rate) is shown, but neither flagged nor used in the
      differences and ratios between groups (its numbers are too noisy to act on).
    - gap_threshold: a group is flagged when a metric is worse than for the rest of its column by more
      than this (0.05 = 5 points) and the `confidence` bootstrap interval of that gap excludes zero.
      Groups the model serves better than the rest are never flagged.
    - n_boot, seed: bootstrap resamples behind the intervals of metrics that are not a share of rows
      (macro-F1), and their seed (reproducible reports).
    """

    min_group_size: int = 30
    gap_threshold: float = 0.05
    confidence: float = 0.95
    n_boot: int = 1000
    seed: int = 0

    def __post_init__(self) -> None:
        if self.min_group_size < 1:
            raise AuditError(f"min_group_size must be at least 1, got {self.min_group_size}")
        if not 0.0 <= self.gap_threshold < 1.0:
            raise AuditError(f"gap_threshold must be in [0, 1), got {self.gap_threshold}")
        if not 0.0 < self.confidence < 1.0:
            raise AuditError(f"confidence must be in (0, 1), got {self.confidence}")
        if self.n_boot < 1:
            raise AuditError(f"n_boot must be at least 1, got {self.n_boot}")


# The settings of an audit that is given none (frozen, so one instance serves every call).
DEFAULT_SETTINGS = AuditSettings()


@dataclass(frozen=True)
class GroupResult:
    """One group of a column: its size, metrics, gaps to the rest of the column, and what is flagged."""

    name: str
    size: int
    eligible: bool
    metrics: dict[str, Estimate]
    gaps: dict[str, Estimate]
    flagged: tuple[str, ...]
    table: np.ndarray

    def to_dict(self) -> dict:
        return {
            "size": self.size,
            "eligible": self.eligible,
            "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
            "gap_to_rest": {k: v.to_dict() for k, v in self.gaps.items()},
            "flagged": list(self.flagged),
            "table": self.table.tolist(),
        }


@dataclass(frozen=True)
class ColumnResult:
    """All groups of one column, the column's overall values, and differences and ratios between groups."""

    column: str
    origin: Literal["proxy", "user", "all"]
    not_measured: int
    overall: dict[str, Estimate]
    groups: tuple[GroupResult, ...]
    difference: dict[str, Estimate]
    ratio: dict[str, Estimate]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        return {
            "origin": self.origin,
            "not_measured": self.not_measured,
            "overall": {k: v.to_dict() for k, v in self.overall.items()},
            "groups": {g.name: g.to_dict() for g in self.groups},
            "difference_between_groups": {k: v.to_dict() for k, v in self.difference.items()},
            "ratio_between_groups": {k: v.to_dict() for k, v in self.ratio.items()},
            "notes": list(self.notes),
        }


def analyse_column(
    *,
    column: str,
    origin: Literal["proxy", "user", "all"],
    y_true: np.ndarray,
    y_pred: np.ndarray,
    groups: np.ndarray,
    table_shape: tuple[int, int],
    metrics: Sequence[MetricSpec],
    settings: AuditSettings,
    group_order: Sequence[str] = (),
    unit: str = "faces",
    clustering: Clustering | None = None,
) -> ColumnResult:
    """Per-group metrics of one column with intervals, gaps to the rest, differences, ratios and flags.

    `y_true` and `y_pred` are integer codes indexing a (T, P) count table. Rows whose group is
    NOT_MEASURED are counted but left out of the comparison. Groups come in `group_order` first, then
    sorted. `unit` names the rows in notes ("faces", "trials"). A group is flagged on a metric with a `worse` direction when its own support and the rest's
    are both >= min_group_size, its gap to the rest is worse than gap_threshold, and the gap's interval
    excludes zero. With `clustering` (rows that share a person), a share's intervals are taken on effective
    counts from the cluster-robust variance (_clusters); values, and macro-F1's row bootstrap, are unchanged.
    """
    groups = np.asarray(groups, dtype=object)
    measured = groups != NOT_MEASURED
    y_true, y_pred, groups = np.asarray(y_true)[measured], np.asarray(y_pred)[measured], groups[measured]
    present = set(groups.tolist())
    names = [g for g in group_order if g in present] + sorted(present - set(group_order))
    notes = []
    if not names:
        notes.append("no face has a measured value in this column")
        return ColumnResult(column, origin, int((~measured).sum()), {}, (), {}, {}, tuple(notes))

    index = {name: i for i, name in enumerate(names)}
    codes = np.array([index[g] for g in groups], dtype=np.int64)
    n_true, n_pred = table_shape
    cells = (codes * n_true + y_true) * n_pred + y_pred
    tables = np.bincount(cells, minlength=len(names) * n_true * n_pred).reshape(len(names), n_true, n_pred)
    boot = bootstrap_tables(tables, n_boot=settings.n_boot, seed=settings.seed)
    cluster_tables = (None if clustering is None else
                      clustering.subset(measured).tables(codes, len(names), y_true, y_pred, table_shape))

    def counts(spec: MetricSpec, part: Callable[[np.ndarray], np.ndarray]) -> Counts | None:
        """The share's effective counts over part(tables per group and cluster); None: the plain counts."""
        if cluster_tables is None or spec.shares is None:
            return None
        return effective_counts(spec.shares, [part(t) for t in cluster_tables], clustering.signs)

    def whole(t: np.ndarray) -> np.ndarray:
        return t.sum(axis=0)

    frame = _metric_frame(metrics, y_true, y_pred, groups, column)
    by_group = frame.by_group
    total, boot_total = tables.sum(axis=0), boot.sum(axis=1)
    overall = {m.name: _estimate(m, frame.overall[m.name], total, boot_total, settings.confidence, counts(m, whole))
               for m in metrics}

    results = []
    for i, name in enumerate(names):
        rest, boot_rest = total - tables[i], boot_total - boot[:, i]
        own = {m.name: _estimate(m, by_group.loc[name, m.name], tables[i], boot[:, i], settings.confidence,
                                 counts(m, lambda t, i=i: t[i])) for m in metrics}
        gaps, flagged = {}, []
        for m in metrics:
            if m.worse is None:
                continue
            gap = _gap(m, tables[i], rest, boot[:, i], boot_rest, settings.confidence,
                       counts(m, lambda t, i=i: t[i]), counts(m, lambda t, i=i: t.sum(axis=0) - t[i]))
            gaps[m.name] = gap
            supported = min(m.support(tables[i]), m.support(rest)) >= settings.min_group_size
            harmful = gap.value < -settings.gap_threshold if m.worse == "lower" else gap.value > settings.gap_threshold
            if supported and harmful and gap.excludes_zero():
                flagged.append(m.name)
        results.append(
            GroupResult(
                name=name,
                size=int(tables[i].sum()),
                eligible=bool(tables[i].sum() >= settings.min_group_size),
                metrics=own,
                gaps=gaps,
                flagged=tuple(flagged),
                table=tables[i],
            )
        )

    difference, ratio = {}, {}
    eligible = [i for i, r in enumerate(results) if r.eligible]
    small = [r.name for r in results if not r.eligible]
    if small:
        notes.append(f"shown but not compared (fewer than {settings.min_group_size} {unit}): {', '.join(small)}")
    comparisons: dict[tuple[int, ...], tuple[pd.Series, pd.Series]] = {}
    for m in metrics:
        # A rate is compared only between groups with enough rows behind it (genuine trials for FNMR).
        compared = tuple(i for i in eligible if m.support(tables[i]) >= settings.min_group_size)
        if len(compared) < 2:
            if len(eligible) >= 2:
                notes.append(f"{m.name} not compared: fewer than two groups have {settings.min_group_size} {unit} "
                             f"behind it")
            continue
        if len(compared) < len(eligible):
            notes.append(f"{m.name} compared only between groups with at least {settings.min_group_size} {unit} "
                         f"behind it: {', '.join(names[i] for i in compared)}")
        if compared not in comparisons:
            subset = np.isin(codes, compared)
            frame = _metric_frame(metrics, y_true[subset], y_pred[subset], groups[subset], column)
            comparisons[compared] = (frame.difference(method="between_groups"), frame.ratio(method="between_groups"))
        point_difference, point_ratio = comparisons[compared]
        difference[m.name], ratio[m.name] = _between_groups(
            m, point_difference[m.name], point_ratio[m.name], tables[list(compared)], boot[:, list(compared)],
            settings.confidence, counts(m, lambda t, compared=compared: t[list(compared)]),
        )
    if not difference and len(names) >= 2:
        notes.append("fewer than two groups are large enough to compare")
    return ColumnResult(
        column=column,
        origin=origin,
        not_measured=int((~measured).sum()),
        overall=overall,
        groups=tuple(results),
        difference=difference,
        ratio=ratio,
        notes=tuple(notes),
    )


def _metric_frame(
    metrics: Sequence[MetricSpec], y_true: np.ndarray, y_pred: np.ndarray, groups: np.ndarray, column: str
) -> MetricFrame:
    return MetricFrame(
        metrics={m.name: m.on_labels for m in metrics},
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=pd.Series(groups, name=column),
    )


def _interval(
    spec: MetricSpec, table: np.ndarray, resampled: np.ndarray, confidence: float, counts: Counts | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The metric's interval over `table` (or tables, axis 0 first): exact for a share of rows (on `counts`
    when given), else the bootstrap percentile interval of its values over `resampled` (n_boot first)."""
    if spec.shares is not None:
        return clopper_pearson(*(counts if counts is not None else spec.shares(table)), confidence=confidence)
    return percentile_interval(np.asarray(spec.on_tables(resampled), dtype=np.float64), confidence=confidence)


def _estimate(spec: MetricSpec, value: float, table: np.ndarray, resampled: np.ndarray, confidence: float,
              counts: Counts | None = None) -> Estimate:
    low, high = _interval(spec, table, resampled, confidence, counts)
    return Estimate(value=float(value), low=float(low), high=float(high))


def _gap(spec: MetricSpec, own: np.ndarray, rest: np.ndarray, boot_own: np.ndarray, boot_rest: np.ndarray,
         confidence: float, own_counts: Counts | None = None, rest_counts: Counts | None = None) -> Estimate:
    """A group's metric minus the rest of its column's: Newcombe's interval for a share (on the effective counts
    when given), else bootstrap."""
    value = float(spec.on_tables(own) - spec.on_tables(rest))
    if spec.shares is not None:
        own_counts = own_counts if own_counts is not None else spec.shares(own)
        rest_counts = rest_counts if rest_counts is not None else spec.shares(rest)
        low, high = newcombe_difference(*own_counts, *rest_counts, confidence=confidence)
    else:
        low, high = percentile_interval(spec.on_tables(boot_own) - spec.on_tables(boot_rest), confidence=confidence)
    return Estimate(value=value, low=float(low), high=float(high))


def _between_groups(spec: MetricSpec, difference: float, ratio: float, tables: np.ndarray, resampled: np.ndarray,
                    confidence: float, counts: Counts | None = None) -> tuple[Estimate, Estimate]:
    """max - min and min / max over the groups of `tables`, with intervals from the groups' own intervals at
    the Bonferroni level (module docstring); groups where the metric is undefined are left out, as
    MetricFrame leaves them out of the point values."""
    level = 1.0 - (1.0 - confidence) / len(tables)
    low, high = (np.asarray(bound, dtype=np.float64) for bound in _interval(spec, tables, resampled, level, counts))
    defined = ~np.isnan(spec.on_tables(tables)) & ~np.isnan(low) & ~np.isnan(high)
    if not defined.any():
        return Estimate(float(difference), np.nan, np.nan), Estimate(float(ratio), np.nan, np.nan)
    low, high = low[defined], high[defined]
    spread = Estimate(float(difference), float(max(0.0, low.max() - high.min())), float(high.max() - low.min()))
    # min / max is at most 1; where the largest lower bound is 0 nothing keeps it below that.
    ratio_high = 1.0 if low.max() <= 0 else float(min(1.0, high.min() / low.max()))
    ratio_low = float(safe_divide(low.min(), high.max()))
    return spread, Estimate(float(ratio), ratio_low, ratio_high)
