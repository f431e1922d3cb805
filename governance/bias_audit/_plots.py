"""The report's figures, drawn with matplotlib and returned as base64 PNG for a self-contained HTML page.

matplotlib.figure.Figure is used directly, without pyplot: no global figure state, no GUI backend,
safe inside the app's server threads.
"""
from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from governance.bias_audit._disaggregate import ColumnResult, GroupResult

FLAG_COLOUR = "#c0392b"
SMALL_GROUP_ALPHA = 0.35  # groups too small to compare are drawn faint: shown, not to be read as findings


def metric_bars(column: ColumnResult, metrics: Sequence[str], *, title: str) -> str:
    """Grouped bars of `metrics` per group with their intervals as error bars, overall values as lines."""
    groups = column.groups
    figure = Figure(figsize=(max(4.5, 1.2 * len(groups) * max(1, len(metrics)) / 2 + 2), 3.4), dpi=100)
    axes = figure.add_subplot()
    width = 0.8 / len(metrics)
    colours = [f"C{i}" for i in range(len(metrics))]
    for k, metric in enumerate(metrics):
        x = np.arange(len(groups)) + (k - (len(metrics) - 1) / 2) * width
        values = np.array([_nan(g.metrics[metric].value) for g in groups])
        errors = _error_bars(groups, metric, values)
        for i, group in enumerate(groups):
            axes.bar(
                x[i], values[i], width, yerr=errors[:, i : i + 1], capsize=3, color=colours[k],
                alpha=1.0 if group.eligible else SMALL_GROUP_ALPHA,
                edgecolor=FLAG_COLOUR if metric in group.flagged else "none", linewidth=2,
            )
        overall = column.overall[metric].value
        if math.isfinite(overall):
            axes.axhline(overall, color=colours[k], linestyle="--", linewidth=1)
    axes.set_xticks(np.arange(len(groups)), [f"{g.name}\n(n={g.size})" for g in groups], fontsize=8)
    # Rates near 0 (false match rates) would be invisible on a 0-1 axis: fit the axis to the bars.
    tops = [_nan(g.metrics[m].high) for g in groups for m in metrics] + [_nan(g.metrics[m].value) for g in groups for m in metrics]
    highest = max((t for t in tops if math.isfinite(t)), default=1.0)
    axes.set_ylim(0, min(1.05, max(0.01, highest * 1.15)))
    axes.set_title(title, fontsize=10)
    # Legend from plain patches: the first bar drawn may be a faint small group.
    axes.legend(handles=[Patch(color=c, label=m) for c, m in zip(colours, metrics)], fontsize=8, loc="best")
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    return _png(figure)


def confusion_grid(column: ColumnResult, classes: Sequence[str]) -> str:
    """One row-normalised confusion matrix per group, with counts in the cells."""
    groups = column.groups
    cols = min(len(groups), 4)
    rows = math.ceil(len(groups) / cols)
    figure = Figure(figsize=(3.0 * cols, 2.9 * rows), dpi=90)
    for i, group in enumerate(groups):
        axes = figure.add_subplot(rows, cols, i + 1)
        table = group.table.astype(np.float64)
        totals = table.sum(axis=1, keepdims=True)
        shares = np.divide(table, totals, out=np.zeros_like(table), where=totals > 0)
        axes.imshow(shares, vmin=0, vmax=1, cmap="Blues")
        for (r, c), count in np.ndenumerate(group.table):
            axes.text(c, r, str(count), ha="center", va="center", fontsize=7,
                      color="white" if shares[r, c] > 0.6 else "black")
        axes.set_xticks(range(len(classes)), classes, fontsize=7, rotation=45)
        axes.set_yticks(range(len(classes)), classes, fontsize=7)
        axes.set_title(f"{group.name} (n={group.size})", fontsize=9,
                       color=FLAG_COLOUR if group.flagged else "black")
        if i % cols == 0:
            axes.set_ylabel("true", fontsize=8)
        axes.set_xlabel("predicted", fontsize=8)
    figure.tight_layout()
    return _png(figure)


def _error_bars(groups: Sequence[GroupResult], metric: str, values: np.ndarray) -> np.ndarray:
    low = np.array([_nan(g.metrics[metric].low) for g in groups])
    high = np.array([_nan(g.metrics[metric].high) for g in groups])
    # Percentile intervals need not contain the point value at the edges (e.g. 0 or 1): clip at zero length.
    return np.nan_to_num(np.vstack([np.clip(values - low, 0, None), np.clip(high - values, 0, None)]))


def _nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")
