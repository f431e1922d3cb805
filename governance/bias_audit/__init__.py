"""Bias audit: how evenly an emotion or identity model works across groups of faces.

Groups come from the audit set (any columns of its manifest) and from automatic proxies measured on
each face (skin tone band, illumination, face size, head pose, grayscale source). Metrics are
disaggregated with fairlearn's MetricFrame, with bootstrap intervals; groups worse than the rest
beyond a threshold, with an interval that excludes zero, are flagged. Reports: self-contained HTML
with plots, and JSON with every number.
"""
from governance.bias_audit._app import (
    audit_emotion_model,
    audit_identity_trials,
    crop_predictor,
)
from governance.bias_audit._audit_set import (
    CSV_EMPTY,
    CSV_MALFORMED,
    CSV_NOT_UTF8,
    NOT_MEASURED,
    ROW_LONGER_THAN_HEADER,
    AuditSample,
    AuditSet,
    load_audit_set,
)
from governance.bias_audit._bootstrap import Estimate, bootstrap_cluster_weights
from governance.bias_audit._calibration import CALIBRATION_ROWS, calibration_estimates
from governance.bias_audit._clusters import CLUSTERS_NEED_ONE_OR_TWO, Clustering, effective_counts
from governance.bias_audit._confusion import (
    CLUSTER_SHAPE,
    CONFUSION_SHAPE,
    JOINT_SHAPE,
    NEGATIVE_COUNTS,
    NO_CLUSTERS,
    confusion_estimates,
    paired_difference_estimates,
    tables_by_cluster,
)
from governance.bias_audit._coverage import (
    COMPARED,
    LEFT_OUT,
    NO_FLAG,
    NOTHING_COMPARED,
    ColumnCoverage,
    comparison_summary,
    verdict,
)
from governance.bias_audit._disaggregate import AuditSettings, ColumnResult, GroupResult
from governance.bias_audit._emotion_audit import (
    GROUP_COLUMN_IS_A_ROW_COLUMN,
    ROW_COLUMNS,
    Locator,
    Predictor,
    run_emotion_audit,
)
from governance.bias_audit._emotion_metrics import emotion_metrics
from governance.bias_audit._errors import AuditError
from governance.bias_audit._identity_audit import (
    BLANK_CLUSTER,
    NO_CLUSTER_COLUMN,
    TRIALS_HOLD_MATCHED,
    identity_metrics,
    run_identity_audit,
)
from governance.bias_audit._proportions import clopper_pearson, newcombe_difference
from governance.bias_audit._proxy_groups import (
    NOSE_DEPTH_RATIO,
    PROXY_BANDS,
    PROXY_COLUMNS,
    PROXY_DESCRIPTIONS,
    FaceGeometry,
    face_size_band,
    head_yaw,
    illumination_band,
    individual_typology_angle,
    is_grayscale,
    proxy_groups,
    skin_tone_band,
)
from governance.bias_audit._report import ReportPaths, render_html, write_report
from governance.bias_audit._result import BiasAudit, Flag

__all__ = [
    "BLANK_CLUSTER",
    "CLUSTERS_NEED_ONE_OR_TWO",
    "NO_CLUSTER_COLUMN",
    "CALIBRATION_ROWS",
    "CLUSTER_SHAPE",
    "CONFUSION_SHAPE",
    "JOINT_SHAPE",
    "NEGATIVE_COUNTS",
    "NO_CLUSTERS",
    "COMPARED",
    "CSV_EMPTY",
    "CSV_MALFORMED",
    "CSV_NOT_UTF8",
    "GROUP_COLUMN_IS_A_ROW_COLUMN",
    "LEFT_OUT",
    "NOSE_DEPTH_RATIO",
    "NOTHING_COMPARED",
    "NOT_MEASURED",
    "NO_FLAG",
    "PROXY_BANDS",
    "PROXY_COLUMNS",
    "PROXY_DESCRIPTIONS",
    "ROW_COLUMNS",
    "ROW_LONGER_THAN_HEADER",
    "TRIALS_HOLD_MATCHED",
    "AuditError",
    "AuditSample",
    "AuditSet",
    "AuditSettings",
    "BiasAudit",
    "Clustering",
    "ColumnCoverage",
    "ColumnResult",
    "Estimate",
    "FaceGeometry",
    "Flag",
    "GroupResult",
    "Locator",
    "Predictor",
    "ReportPaths",
    "audit_emotion_model",
    "audit_identity_trials",
    "bootstrap_cluster_weights",
    "calibration_estimates",
    "clopper_pearson",
    "comparison_summary",
    "confusion_estimates",
    "crop_predictor",
    "effective_counts",
    "emotion_metrics",
    "face_size_band",
    "head_yaw",
    "identity_metrics",
    "illumination_band",
    "individual_typology_angle",
    "is_grayscale",
    "load_audit_set",
    "newcombe_difference",
    "paired_difference_estimates",
    "proxy_groups",
    "render_html",
    "run_emotion_audit",
    "run_identity_audit",
    "skin_tone_band",
    "tables_by_cluster",
    "verdict",
    "write_report",
]
