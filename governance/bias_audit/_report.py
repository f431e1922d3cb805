"""Writing an audit: a self-contained HTML report, a JSON file with every number, and the per-face rows."""
from __future__ import annotations

import datetime as dt
import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fer_core.render import spreadsheet_cell
from fer_core.store import make_private_folders, write_whole
from governance.bias_audit._bootstrap import Estimate
from governance.bias_audit._disaggregate import ColumnResult
from governance.bias_audit._errors import AuditError
from governance.bias_audit._plots import confusion_grid, metric_bars
from governance.bias_audit._proxy_groups import PROXY_DESCRIPTIONS
from governance.bias_audit._result import BiasAudit

# The metrics shown in the tables and bar charts of each kind; the JSON holds all of them.
HEADLINE_METRICS = {
    "emotion": ("accuracy", "macro_f1"),
    "identity": ("false_match_rate", "false_non_match_rate"),
}

# Text colours are 4.5:1 or more on white and on a flagged row (WCAG AA): a small group's row is grey, #666, not #888
# (3.5:1).
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.flagged td { background: #fdecea; }
tr.small td { color: #666; }
.flag { color: #c0392b; font-weight: bold; }
.note { color: #555; font-size: 0.9em; }
img { max-width: 100%; }
"""


@dataclass(frozen=True)
class ReportPaths:
    html: Path
    json: Path
    rows: Path


def write_report(audit: BiasAudit, directory: str | Path, *, stem: str | None = None) -> ReportPaths:
    """Write `<stem>.html`, `<stem>.json` and `<stem>_rows.csv` into `directory` (created if needed).

    `stem` defaults to "<kind>_bias_audit". The JSON is `audit.to_dict()`; the HTML shows the same
    numbers with plots embedded as base64 PNG, so it opens offline and can be sent as one file.
    New files are 0600 and new folders 0700: the rows give each photo's path, emotion and skin tone band, and an
    audit set can be the household's own photos (under umask 022 they were readable by every user of the machine).
    """
    directory = Path(directory)
    stem = stem or f"{audit.kind}_bias_audit"
    try:
        make_private_folders(directory)
        directory.mkdir(exist_ok=True)  # a file in its place: FileExistsError
    except OSError as exc:
        raise AuditError(f"cannot create report folder {directory}: {exc}") from exc
    paths = ReportPaths(
        html=directory / f"{stem}.html", json=directory / f"{stem}.json", rows=directory / f"{stem}_rows.csv"
    )
    numbers = audit.to_dict()
    numbers["generated"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    # Built completely before anything is written: a failure leaves no half-written report.
    page = render_html(audit, generated=numbers["generated"])
    text = json.dumps(numbers, indent=1, allow_nan=False)
    # Each written whole (write_whole): written in place, an earlier report was emptied first, and a power cut or a
    # kill meanwhile left neither report whole. A file that exists keeps its mode.
    write_whole(paths.json, (text + "\n").encode("utf-8"))
    # Paths, labels and group values come from the audit set's manifest: each written as a spreadsheet reads text.
    rows = audit.rows.map(spreadsheet_cell).rename(columns=spreadsheet_cell).to_csv(index=False)
    write_whole(paths.rows, rows.encode("utf-8"))
    write_whole(paths.html, page.encode("utf-8"))
    return paths


def render_html(audit: BiasAudit, *, generated: str) -> str:
    """The report page as one HTML string."""
    metrics = HEADLINE_METRICS[audit.kind]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(audit.kind.capitalize())} bias audit</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_e(audit.kind.capitalize())} bias audit</h1>",
        _context(audit, generated),
        "<h2>Overall</h2>",
        _overall_table(audit),
        _flags(audit),
    ]
    if audit.kind == "emotion" and audit.overall.groups:
        parts.append("<h3>Confusion matrix, all faces</h3>")
        parts.append(_img(confusion_grid(audit.overall, audit.context["classes"]),
                          _confusion_said(audit.overall, audit.context["classes"], "Confusion matrix, all faces")))
    for column in audit.columns:
        parts.append(_column_section(audit, column, metrics))
    parts.append(_method(audit))
    parts.append("</body></html>")
    return "\n".join(parts)


def _context(audit: BiasAudit, generated: str) -> str:
    settings = audit.settings
    rows = [("generated", generated), ("size", f"{audit.size} {'faces' if audit.kind == 'emotion' else 'trials'}")]
    context = audit.context
    if audit.kind == "emotion":
        rows += [("audit set", context.get("audit_set") or "given in code"), ("classes", ", ".join(context["classes"]))]
    else:
        rows += [
            ("operating threshold", f"{context['threshold']:g} ({context['score_kind']}: match when score "
             f"{'<=' if context['score_kind'] == 'distance' else '>='} threshold)"),
            ("trials", f"{context['genuine_trials']} genuine, {context['impostor_trials']} impostor"),
        ]
    for key, value in context.get("model", {}).items():
        rows.append((f"model {key}", str(value)))
    rows += [
        ("minimum group size", str(settings.min_group_size)),
        ("flag threshold", f"gap to the rest worse than {settings.gap_threshold:g}, {settings.confidence:.0%} interval excluding 0"),
        ("intervals", f"{settings.confidence:.0%}: {audit.intervals} ({settings.n_boot} resamples, seed {settings.seed})"),
    ]
    return _table(("", ""), rows, show_header=False)


def _overall_table(audit: BiasAudit) -> str:
    rows = [(name, _interval(estimate)) for name, estimate in audit.overall.overall.items()]
    if audit.calibration is not None:
        rows.append(("ece", _calibration_text(audit.calibration)))
    return _table(("metric", f"value [{audit.settings.confidence:.0%} interval]"), rows)


def _calibration_text(calibration: dict) -> str:
    """ECE beside the ECE a perfectly calibrated model with the same confidences shows (fer_core.calibration)."""
    floor = calibration["floor_if_calibrated"]
    return (f"{calibration['ece']:.4f} ({calibration['binning']}); a perfectly calibrated model with the same "
            f"confidences: {floor['mean']:.4f}, 95% upper point {floor['upper_95']:.4f} ({floor['simulations']} "
            f"simulations, seed {floor['seed']})")


def _flags(audit: BiasAudit) -> str:
    flags = audit.flags
    if not flags:
        return (f"<p>No group is flagged: no group with at least {audit.settings.min_group_size} "
                f"{'faces' if audit.kind == 'emotion' else 'trials'} is worse than the rest of its column by more than "
                f"{audit.settings.gap_threshold:g} with an interval excluding zero.</p>")
    items = "".join(
        f"<li><span class='flag'>{_e(f.column)} = {_e(f.group)}</span>: {_e(f.metric)} gap to the rest "
        f"{_interval(f.gap)} (n={f.size})</li>"
        for f in flags
    )
    return f"<h3>Flagged groups</h3><ul>{items}</ul>"


def _column_section(audit: BiasAudit, column: ColumnResult, metrics: tuple[str, ...]) -> str:
    parts = [f"<h2>{_e(column.column)} <small class='note'>({column.origin} groups)</small></h2>"]
    if column.column in PROXY_DESCRIPTIONS and column.origin == "proxy":
        parts.append(f"<p class='note'>{_e(PROXY_DESCRIPTIONS[column.column])}</p>")
    if column.not_measured:
        parts.append(f"<p class='note'>Not measured (n/a), left out of this comparison: {column.not_measured}.</p>")
    for note in column.notes:
        parts.append(f"<p class='note'>{_e(note)}.</p>")
    if not column.groups:
        return "\n".join(parts)
    gap_metrics = [m for m in metrics if m in column.groups[0].gaps]
    header = ("group", "size", *[f"{m}" for m in metrics], *[f"{m} gap to rest" for m in gap_metrics], "flagged")
    if audit.kind == "identity":
        header = ("group", "genuine", "impostor", *header[2:])
    rows, classes = [], []
    for group in column.groups:
        size = (str(int(group.table[1].sum())), str(int(group.table[0].sum()))) if audit.kind == "identity" else (str(group.size),)
        cells = (group.name, *size, *[_interval(group.metrics[m]) for m in metrics],
                 *[_interval(group.gaps[m]) for m in gap_metrics], ", ".join(group.flagged) or "")
        rows.append(cells)
        classes.append("flagged" if group.flagged else ("small" if not group.eligible else ""))
    parts.append(_table(header, rows, row_classes=classes))
    if len(column.groups) < 2:
        return "\n".join(parts)
    if column.difference:
        rows = [(m, _interval(column.difference[m]), _interval(column.ratio[m])) for m in column.difference]
        parts.append("<details><summary>Differences and ratios between groups (all metrics)</summary>")
        parts.append(_table(("metric", "difference (max - min)", "ratio (min / max)"), rows))
        parts.append("</details>")
    for charted, title in _bar_charts(audit, column, metrics):
        parts.append(_img(metric_bars(column, charted, title=title), _bars_said(column, charted, title)))
    if audit.kind == "emotion":
        classes_ = audit.context["classes"]
        parts.append(_img(confusion_grid(column, classes_),
                          _confusion_said(column, classes_, f"Confusion matrices by {column.column}")))
    return "\n".join(parts)


def _method(audit: BiasAudit) -> str:
    settings = audit.settings
    return (
        "<h2>How to read this</h2><ul class='note'>"
        "<li>Point values come from fairlearn's MetricFrame. Intervals of shares of faces or trials (accuracy, "
        "recall, rates) are exact (Clopper-Pearson), so a group with no error still gets an upper bound; a gap "
        "to the rest is Newcombe's interval; macro-F1's comes from resampling the rows with replacement "
        f"({settings.n_boot} times) and taking the {settings.confidence:.0%} percentile range.</li>"
        "<li>A group's gap is its metric minus the metric of the rest of its column. It is flagged only when it is "
        "the group that is served worse, by more than the threshold, with an interval that excludes zero, and "
        "both it and the rest are large enough.</li>"
        "<li>Proxy groups are measured from pixels, not facts about people: the skin-tone band is the colour of "
        "the skin as photographed and moves with lighting and white balance.</li>"
        "<li>Differences (max - min) and ratios (min / max) between groups take their intervals from every "
        "group's interval at once (Bonferroni), so they are wide; use the gaps to ask whether a group is served "
        "worse.</li>"
        "<li>An unflagged group is not proof of fairness: small groups and wide intervals hide gaps.</li></ul>"
    )


def _table(columns, rows, *, show_header: bool = True, row_classes=None) -> str:
    head = "<tr>" + "".join(f"<th>{_e(c)}</th>" for c in columns) + "</tr>" if show_header else ""
    body = "".join(
        f"<tr class='{cls}'>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>"
        for row, cls in zip(rows, row_classes or [""] * len(rows))
    )
    return f"<table>{head}{body}</table>"


def _interval(estimate: Estimate) -> str:
    if not math.isfinite(estimate.value):
        return "–"
    if not (math.isfinite(estimate.low) and math.isfinite(estimate.high)):
        return f"{estimate.value:.3f}"
    return f"{estimate.value:.3f} [{estimate.low:.3f}, {estimate.high:.3f}]"


def _bar_charts(audit: BiasAudit, column: ColumnResult, metrics: tuple[str, ...]) -> list[tuple[list[str], str]]:
    """The bar charts of a column: (metrics charted, title)."""
    charts = [(list(metrics), f"{', '.join(metrics)} by {column.column}")]
    if audit.kind == "emotion":
        classes = audit.context["classes"]
        charts += [([f"predicted_rate[{c}]" for c in classes], f"rate each emotion is predicted, by {column.column}"),
                   ([f"recall[{c}]" for c in classes], f"recall of each emotion, by {column.column}")]
    return charts


def _bars_said(column: ColumnResult, metrics: Sequence[str], title: str) -> str:
    """A bar chart in words, its text alternative: every bar's value and interval, group by group. Its name alone
    ("cohort bars") told a screen reader nothing of the predicted rates and recalls, which no table repeats."""
    groups = "; ".join(f"{group.name} (n={group.size}{'' if group.eligible else ', too small to compare'}): "
                       + ", ".join(f"{metric} {_interval(group.metrics[metric])}" for metric in metrics)
                       for group in column.groups)
    return f"Bar chart, {title}. {groups}."


def _confusion_said(column: ColumnResult, classes: Sequence[str], title: str) -> str:
    """Confusion matrices in words, their text alternative: every count, group by group, row by row (the true
    emotion), in the order of the columns (the predicted one). Their name alone ("cohort confusion matrices") told
    a screen reader none of the counts, which no table of the report repeats."""
    groups = " ".join(f"{group.name} (n={group.size}{'' if group.eligible else ', too small to compare'}): "
                      + "; ".join(f"true {true}: " + ", ".join(f"{predicted} {int(count)}"
                                                              for predicted, count in zip(classes, row))
                                  for true, row in zip(classes, group.table)) + "."
                      for group in column.groups)
    return f"{title}, counts of faces by true emotion (rows) and predicted emotion (columns). {groups}"


def _img(png_base64: str, alt: str) -> str:
    return f"<p><img alt='{_e(alt)}' src='data:image/png;base64,{png_base64}'></p>"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)
