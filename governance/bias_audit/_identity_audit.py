"""The identity audit: false match and false non-match rates per group at the operating threshold.

As face-recognition vendor tests report demographic effects: each trial compares a probe with a
reference (or an enrolled person) and is genuine (same person) or impostor (different people). A
trial matches when its score passes the threshold. The false non-match rate is the share of genuine
trials that do not match; the false match rate the share of impostor trials that do. The input is a
table of trial results, so the audit does not depend on any identity model's code.
"""
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.metrics import recall_score

from governance.bias_audit._audit_set import NOT_MEASURED, read_csv_text
from governance.bias_audit._clusters import Clustering
from governance.bias_audit._disaggregate import (
    DEFAULT_SETTINGS,
    AuditSettings,
    MetricSpec,
    analyse_column,
    share_metric,
)
from governance.bias_audit._errors import AuditError
from governance.bias_audit._proxy_groups import PROXY_BANDS, PROXY_COLUMNS
from governance.bias_audit._result import BiasAudit

# The per-trial rows add this column; a trials column of that name (a group, or any other) would be overwritten
# in the rows CSV, so it is refused.
MATCHED_COLUMN = "matched"
TRIALS_HOLD_MATCHED = "trials have a column '{column}', which the per-trial rows use for the match at the threshold; rename it"
NO_CLUSTER_COLUMN = "trials have no cluster column '{column}' (columns: {columns})"
BLANK_CLUSTER = "trial {row} has no value in cluster column '{column}': every trial must name its cluster"
_TRUE_WORDS = frozenset({"1", "true", "yes", "genuine", "same"})
_FALSE_WORDS = frozenset({"0", "false", "no", "impostor", "different"})


def run_identity_audit(
    *,
    trials: pd.DataFrame | str | Path,
    threshold: float,
    score_kind: Literal["distance", "similarity"],
    groups: Sequence[str] | None = None,
    genuine_column: str = "genuine",
    score_column: str = "score",
    settings: AuditSettings = DEFAULT_SETTINGS,
    model: Mapping[str, Any] | None = None,
    clusters: Sequence[str] = (),
) -> BiasAudit:
    """FMR and FNMR overall and per group at `threshold`, with intervals, gaps and flags.

    `trials` is a table (or CSV) with a genuine column (true/false, 1/0, genuine/impostor), a score
    column and group columns (every other column unless `groups` names some; blank means not
    measured). A trial matches when score <= threshold for a "distance" (e.g. L2 between embeddings)
    or score >= threshold for a "similarity" (e.g. cosine).

    `settings` (AuditSettings): its min_group_size applies to the trials each rate is computed on
    (genuine trials for FNMR, impostor trials for FMR); a group is flagged when one of its error rates
    is higher than the rest's by more than gap_threshold with the `confidence` interval excluding zero.

    `clusters` names one or two columns saying which trials share a cluster (benchmarks/identity_bias_trials.py
    writes probe_person and enrolled_person: a probe is compared with every enrolled person): they are not
    groups, and the intervals of the rates treat trials of one cluster as dependent (_clusters).
    """
    if score_kind not in ("distance", "similarity"):
        raise AuditError(f"score_kind must be 'distance' or 'similarity', got {score_kind!r}")
    source = str(trials) if not isinstance(trials, pd.DataFrame) else None
    table = _read_trials(trials)
    for column in (genuine_column, score_column):
        if column not in table.columns:
            raise AuditError(f"trials have no '{column}' column (columns: {', '.join(map(str, table.columns))})")
    if MATCHED_COLUMN in table.columns:
        raise AuditError(TRIALS_HOLD_MATCHED.format(column=MATCHED_COLUMN))
    if table.empty:
        raise AuditError("there are no trials")
    for column in clusters:
        if column not in table.columns:
            raise AuditError(NO_CLUSTER_COLUMN.format(column=column, columns=", ".join(map(str, table.columns))))
    clustering = Clustering.of([_cluster_values(table[c], c) for c in clusters]) if clusters else None
    available = tuple(c for c in table.columns if c not in (genuine_column, score_column, *clusters))
    columns = tuple(groups) if groups is not None else available
    for column in columns:
        if column not in available:
            raise AuditError(f"no group column '{column}' (available: {', '.join(available) or 'none'})")

    started = time.perf_counter()
    genuine = _genuine(table[genuine_column], genuine_column)
    scores = pd.to_numeric(table[score_column], errors="coerce").to_numpy(dtype=np.float64)
    if np.isnan(scores).any():
        bad = table[score_column].iloc[int(np.argmax(np.isnan(scores)))]
        raise AuditError(f"trial score {bad!r} in column '{score_column}' is not a number")
    matched = (scores <= threshold) if score_kind == "distance" else (scores >= threshold)
    y_true, y_pred = genuine.astype(np.int64), matched.astype(np.int64)
    specs = identity_metrics()
    overall = analyse_column(
        column="all", origin="all", y_true=y_true, y_pred=y_pred, groups=np.full(len(table), "all", dtype=object),
        table_shape=(2, 2), metrics=specs, settings=settings, clustering=clustering,
    )
    results = tuple(
        analyse_column(
            column=column,
            # Proxy groups measured on the probes (benchmarks/identity_bias_trials.py) keep their meaning and order.
            origin="proxy" if column in PROXY_COLUMNS else "user",
            y_true=y_true,
            y_pred=y_pred,
            groups=_group_values(table[column]),
            table_shape=(2, 2),
            metrics=specs,
            settings=settings,
            unit="trials",
            group_order=PROXY_BANDS.get(column, ()),
            clustering=clustering,
        )
        for column in columns
    )
    rows = table.assign(**{MATCHED_COLUMN: matched})
    context = {
        "threshold": float(threshold),
        "score_kind": score_kind,
        "genuine_trials": int(genuine.sum()),
        "impostor_trials": int((~genuine).sum()),
        "trials_source": source,
        "clusters": list(clusters),
        "model": dict(model or {}),
    }
    return BiasAudit(
        kind="identity",
        size=len(table),
        settings=settings,
        overall=overall,
        columns=results,
        context=context,
        rows=rows,
        timings={"analyse_s": time.perf_counter() - started},
    )


def identity_metrics() -> tuple[MetricSpec, ...]:
    """FMR and FNMR, both flagged when a group's rate is higher than the rest's.

    As 1 - recall of the impostor (genuine) class: scikit-learn's zero_division=nan keeps a rate over
    no trials undefined, where fairlearn's false_positive_rate would report 0 for a group without
    impostor trials.
    """
    return (
        share_metric(
            "false_match_rate",
            partial(_error_rate_of_class, label=0),
            lambda tables: (tables[..., 0, 1], tables[..., 0, :].sum(axis=-1)),
            support=lambda tables: tables[..., 0, :].sum(axis=-1),
            worse="higher",
        ),
        share_metric(
            "false_non_match_rate",
            partial(_error_rate_of_class, label=1),
            lambda tables: (tables[..., 1, 0], tables[..., 1, :].sum(axis=-1)),
            support=lambda tables: tables[..., 1, :].sum(axis=-1),
            worse="higher",
        ),
    )


def _error_rate_of_class(y_true: np.ndarray, y_pred: np.ndarray, *, label: int) -> float:
    """Share of the trials of class `label` predicted as the other class; NaN if there are none."""
    return 1.0 - recall_score(y_true, y_pred, labels=[label], average="macro", zero_division=np.nan)


def _read_trials(trials: pd.DataFrame | str | Path) -> pd.DataFrame:
    if isinstance(trials, pd.DataFrame):
        return trials.reset_index(drop=True)
    path = Path(trials)
    if not path.is_file():
        raise AuditError(f"trials file not found: {path}")
    # Group values stay text ("1" is a group name); genuine and score are parsed below.
    return read_csv_text(path)


def _genuine(values: pd.Series, column: str) -> np.ndarray:
    if values.dtype == bool:
        return values.to_numpy()
    words = values.astype(str).str.strip().str.lower()
    unknown = sorted(set(words) - _TRUE_WORDS - _FALSE_WORDS)
    if unknown:
        raise AuditError(f"'{column}' value {unknown[0]!r} is neither genuine (true/1) nor impostor (false/0)")
    return words.isin(_TRUE_WORDS).to_numpy()


def _cluster_values(values: pd.Series, column: str) -> np.ndarray:
    text = values.astype(str).str.strip()
    blank = values.isna() | (text == "") | (text.str.lower() == "nan")
    if blank.any():
        raise AuditError(BLANK_CLUSTER.format(row=int(np.argmax(blank.to_numpy())) + 1, column=column))
    return text.to_numpy(dtype=object)


def _group_values(values: pd.Series) -> np.ndarray:
    text = values.astype(str).str.strip()
    return np.where(values.isna() | (text == "") | (text.str.lower() == "nan"), NOT_MEASURED, text).astype(object)
