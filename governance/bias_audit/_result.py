"""The result of an audit: every number, per column and group, ready for the JSON and HTML reports."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from governance.bias_audit._bootstrap import Estimate
from governance.bias_audit._disaggregate import AuditSettings, ColumnResult

REPORT_VERSION = 1
# How every interval of an audit is computed (governance.bias_audit._disaggregate); the model card quotes it.
INTERVALS = ("Clopper-Pearson for a share of rows (accuracy, recall, predicted rate, false match and non-match "
             "rates) and Newcombe's hybrid score interval for its gap to the rest; bootstrap percentile, rows "
             "resampled with replacement, for macro-F1; differences and ratios between groups from every group's "
             "interval at the Bonferroni level")
# Added where the trials name their clusters (run_identity_audit's `clusters`, governance.bias_audit._clusters).
CLUSTERED_INTERVALS = ("; trials sharing a cluster ({clusters}) are not independent: the exact intervals of a rate, "
                       "its gap and the differences are taken on effective counts from the cluster-robust variance "
                       "(Cameron, Gelbach & Miller 2011; Korn & Graubard 1998)")


@dataclass(frozen=True)
class Flag:
    """A group whose gap to the rest of its column is a harm beyond the threshold, with its interval."""

    column: str
    group: str
    metric: str
    gap: Estimate
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "group": self.group, "metric": self.metric, "size": self.size,
                "gap_to_rest": self.gap.to_dict()}


@dataclass(frozen=True)
class BiasAudit:
    """An emotion or identity audit.

    `overall` is the whole set as a single group; `columns` the group columns compared; `rows` one row
    per face (emotion) or trial (identity) with its prediction and groups; `context` what was audited
    (classes or operating threshold, the model's metadata, the audit set); `calibration` (emotion) the ECE of
    the probabilities with its binning and its floor under perfect calibration (fer_core.calibration).
    """

    kind: Literal["emotion", "identity"]
    size: int
    settings: AuditSettings
    overall: ColumnResult
    columns: tuple[ColumnResult, ...]
    context: dict[str, Any]
    rows: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)
    calibration: dict[str, Any] | None = None

    @property
    def flags(self) -> tuple[Flag, ...]:
        return tuple(
            Flag(column=c.column, group=g.name, metric=m, gap=g.gaps[m], size=g.size)
            for c in self.columns
            for g in c.groups
            for m in g.flagged
        )

    @property
    def intervals(self) -> str:
        """How this audit's intervals are computed (INTERVALS, and CLUSTERED_INTERVALS for clustered trials)."""
        clusters = self.context.get("clusters")
        return INTERVALS + (CLUSTERED_INTERVALS.format(clusters=", ".join(clusters)) if clusters else "")

    def column(self, name: str) -> ColumnResult:
        for result in self.columns:
            if result.column == name:
                return result
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        settings = self.settings
        return {
            "report_version": REPORT_VERSION,
            "kind": self.kind,
            "size": self.size,
            "context": self.context,
            "settings": {
                "min_group_size": settings.min_group_size,
                "gap_threshold": settings.gap_threshold,
                "confidence": settings.confidence,
                "n_boot": settings.n_boot,
                "seed": settings.seed,
                "interval": self.intervals,
            },
            "overall": {k: v.to_dict() for k, v in self.overall.overall.items()},
            "overall_table": self.overall.groups[0].table.tolist() if self.overall.groups else [],
            "columns": {c.column: c.to_dict() for c in self.columns},
            "flags": [f.to_dict() for f in self.flags],
            **({"calibration": self.calibration} if self.calibration is not None else {}),
            "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
        }
