"""The emotion audit's metrics: accuracy, macro-F1, per-class recall and the rate each emotion is predicted.

Each is given to MetricFrame as the scikit-learn / fairlearn function, and written over confusion
tables (rows: true class, columns: predicted class) for the intervals: accuracy, recall and predicted
rate as the two counts they are a share of, macro-F1 as a value for the bootstrap.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import numpy as np
from fairlearn.metrics import selection_rate
from sklearn.metrics import accuracy_score, f1_score, recall_score

from governance.bias_audit._bootstrap import safe_divide
from governance.bias_audit._disaggregate import MetricSpec, share_metric


def emotion_metrics(classes: Sequence[str]) -> tuple[MetricSpec, ...]:
    """Specs for accuracy (flagged when a group is worse), macro-F1, recall[c] and predicted_rate[c]."""
    codes = list(range(len(classes)))
    specs = [
        share_metric("accuracy", accuracy_score, _hits, worse="lower"),
        # zero_division=nan leaves a class with no true and no predicted face out of the group's mean,
        # instead of counting it as an F1 of 0 the group never had the chance to earn.
        MetricSpec(
            "macro_f1", partial(f1_score, labels=codes, average="macro", zero_division=np.nan), _macro_f1
        ),
    ]
    for code, name in enumerate(classes):
        specs.append(
            share_metric(
                f"recall[{name}]",
                partial(recall_score, labels=[code], average="macro", zero_division=np.nan),
                partial(_recalled, code=code),
            )
        )
    for code, name in enumerate(classes):
        specs.append(
            share_metric(f"predicted_rate[{name}]", partial(selection_rate, pos_label=code), partial(_predicted, code=code))
        )
    return tuple(specs)


def _hits(tables: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.trace(tables, axis1=-2, axis2=-1), tables.sum(axis=(-2, -1))


def _macro_f1(tables: np.ndarray) -> np.ndarray:
    hits = np.diagonal(tables, axis1=-2, axis2=-1)
    f1 = safe_divide(2 * hits, tables.sum(axis=-1) + tables.sum(axis=-2))
    defined = ~np.isnan(f1)
    return safe_divide(np.where(defined, f1, 0.0).sum(axis=-1), defined.sum(axis=-1))


def _recalled(tables: np.ndarray, *, code: int) -> tuple[np.ndarray, np.ndarray]:
    return tables[..., code, code], tables[..., code, :].sum(axis=-1)


def _predicted(tables: np.ndarray, *, code: int) -> tuple[np.ndarray, np.ndarray]:
    return tables[..., :, code].sum(axis=-1), tables.sum(axis=(-2, -1))
