"""The audit finds a planted bias, leaves a fair classifier alone, and rejects bad input with exact errors."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from governance.bias_audit import (
    GROUP_COLUMN_IS_A_ROW_COLUMN,
    ROW_COLUMNS,
    TRIALS_HOLD_MATCHED,
    AuditError,
    AuditSample,
    AuditSettings,
    load_audit_set,
    run_emotion_audit,
    run_identity_audit,
)
from tests.support.bias_audit import CLASSES, planted_classifier, write_cohorts


def _audit(manifest, **kwargs):
    return run_emotion_audit(samples=load_audit_set(manifest), predict=planted_classifier, classes=CLASSES, **kwargs)


def test_planted_group_is_flagged_and_the_others_are_not(tmp_path):
    # a: 95% right, b: 65% right (planted), small: 10 faces all wrong but too few to flag.
    manifest = write_cohorts(tmp_path, {"a": (300, 15), "b": (300, 105), "small": (10, 10)})
    audit = _audit(manifest, groups=["cohort"])
    cohort = audit.column("cohort")
    by_name = {g.name: g for g in cohort.groups}
    assert by_name["a"].metrics["accuracy"].value == pytest.approx(0.95)
    assert by_name["b"].metrics["accuracy"].value == pytest.approx(0.65)
    assert [(f.column, f.group, f.metric) for f in audit.flags] == [("cohort", "b", "accuracy")]
    gap = by_name["b"].gaps["accuracy"]
    assert gap.value == pytest.approx(0.65 - (285 / 310))
    assert gap.high < 0
    assert not by_name["small"].eligible and not by_name["small"].flagged
    assert "shown but not compared (fewer than 30 faces): small" in cohort.notes


def test_fair_classifier_flags_nothing(tmp_path):
    manifest = write_cohorts(tmp_path, {"a": (300, 45), "b": (300, 45), "c": (120, 18)})
    audit = _audit(manifest, groups=["cohort"])
    assert audit.flags == ()
    assert {g.name: g.metrics["accuracy"].value for g in audit.column("cohort").groups} == pytest.approx(
        {"a": 0.85, "b": 0.85, "c": 0.85}
    )


def test_gap_threshold_is_configurable(tmp_path):
    manifest = write_cohorts(tmp_path, {"a": (300, 15), "b": (300, 105)})
    assert _audit(manifest, groups=["cohort"], settings=AuditSettings(gap_threshold=0.29)).flags[0].group == "b"
    assert _audit(manifest, groups=["cohort"], settings=AuditSettings(gap_threshold=0.31)).flags == ()


def test_a_gap_whose_interval_includes_zero_is_not_flagged(tmp_path):
    # 40 vs 40 faces, 8 points apart: above the threshold, but far inside the noise.
    manifest = write_cohorts(tmp_path, {"a": (40, 4), "b": (40, 7)})
    audit = _audit(manifest, groups=["cohort"])
    gap = {g.name: g for g in audit.column("cohort").groups}["b"].gaps["accuracy"]
    assert gap.value == pytest.approx(-0.075)
    assert gap.low < 0 < gap.high
    assert audit.flags == ()


def test_planted_bias_on_a_proxy_group_is_found(tmp_path):
    # The classifier fails on half of the dim faces and on none of the others.
    manifest = write_cohorts(
        tmp_path, {"dim": (200, 100), "lit": (400, 0)}, fills={"dim": (40, 40, 40), "lit": (150, 150, 150)}
    )
    audit = _audit(manifest, groups=["illumination", "source"])
    assert [(f.column, f.group) for f in audit.flags] == [("illumination", "dim")]
    assert [g.name for g in audit.column("source").groups] == ["grayscale"]


def test_planted_identity_gap_is_flagged():
    rng = np.random.default_rng(0)
    rows = []
    for group, miss_rate in (("female", 0.30), ("male", 0.05)):
        genuine = rng.normal(0.40, 0.03, 400)
        genuine[: int(miss_rate * 400)] = 0.70  # these genuine pairs fail to match at 0.55
        impostor = rng.normal(0.90, 0.05, 2000)
        rows += [{"genuine": True, "score": s, "gender": group} for s in genuine]
        rows += [{"genuine": False, "score": s, "gender": group} for s in impostor]
    audit = run_identity_audit(trials=pd.DataFrame(rows), threshold=0.55, score_kind="distance", groups=["gender"])
    groups = {g.name: g for g in audit.column("gender").groups}
    assert groups["female"].metrics["false_non_match_rate"].value == pytest.approx(0.30)
    assert groups["male"].metrics["false_non_match_rate"].value == pytest.approx(0.05)
    assert [(f.group, f.metric) for f in audit.flags] == [("female", "false_non_match_rate")]
    assert groups["male"].metrics["false_match_rate"].value < 0.01


def test_unknown_label_is_refused(tmp_path):
    manifest = write_cohorts(tmp_path, {"a": (4, 0)})
    with pytest.raises(AuditError, match=re.escape(
        "audit set label 'surprise' is not one of the model's classes: happy, neutral, sad"
    )):
        run_emotion_audit(samples=load_audit_set(manifest), predict=planted_classifier, classes=CLASSES[:3])


def test_predictor_with_the_wrong_shape_is_refused(tmp_path):
    manifest = write_cohorts(tmp_path, {"a": (4, 0)})
    with pytest.raises(AuditError, match=re.escape(
        "predict returned shape (4, 3) for 4 images and 4 classes; expected (4, 4)"
    )):
        _audit_with(manifest, lambda images: np.full((len(images), 3), 1 / 3))


def test_predictor_returning_logits_is_refused(tmp_path):
    manifest = write_cohorts(tmp_path, {"a": (4, 0)})
    with pytest.raises(AuditError, match=re.escape(
        "predict must return probabilities (non-negative rows summing to 1); got a row summing to 10"
    )):
        _audit_with(manifest, lambda images: np.full((len(images), 4), 2.5))


def test_unknown_group_column_is_refused(tmp_path):
    manifest = write_cohorts(tmp_path, {"a": (4, 0)})
    with pytest.raises(AuditError, match=re.escape(
        "no group column 'age' (available: cohort, skin_tone, illumination, face_size, head_pose, source)"
    )):
        _audit(manifest, groups=["age"])


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"min_group_size": 0}, "min_group_size must be at least 1, got 0"),
        ({"gap_threshold": 1.5}, "gap_threshold must be in [0, 1), got 1.5"),
        ({"confidence": 1.0}, "confidence must be in (0, 1), got 1.0"),
        ({"n_boot": 0}, "n_boot must be at least 1, got 0"),
    ],
)
def test_bad_settings_are_refused(tmp_path, setting, message):
    manifest = write_cohorts(tmp_path, {"a": (4, 0)})
    with pytest.raises(AuditError, match=re.escape(message)):
        _audit(manifest, settings=AuditSettings(**setting))


def test_empty_samples_are_refused():
    with pytest.raises(AuditError, match="^the audit set is empty$"):
        run_emotion_audit(samples=[], predict=planted_classifier, classes=CLASSES)


def test_identity_trials_need_their_columns():
    trials = pd.DataFrame({"same": [True], "score": [0.3]})
    with pytest.raises(AuditError, match=re.escape("trials have no 'genuine' column (columns: same, score)")):
        run_identity_audit(trials=trials, threshold=0.5, score_kind="distance")


def test_samples_can_be_given_in_code(tmp_path):
    write_cohorts(tmp_path, {"a": (8, 0)})
    samples = [AuditSample(path=p, label=CLASSES[int(p.stem.split("_")[1]) % 4], groups={"cohort": "a"})
               for p in sorted(tmp_path.glob("a_*.png"))]
    audit = run_emotion_audit(samples=samples, predict=planted_classifier, classes=CLASSES, proxy=False)
    assert audit.overall.overall["accuracy"].value == 1.0
    assert [c.column for c in audit.columns] == ["cohort"]


def _audit_with(manifest, predict):
    return run_emotion_audit(samples=load_audit_set(manifest), predict=predict, classes=CLASSES)


def test_a_rate_needs_enough_trials_of_its_own_kind_to_be_flagged():
    # x: every genuine trial misses, but there are only 10 of them (behind 500 impostor trials).
    trials = pd.DataFrame({
        "genuine": [True] * 10 + [False] * 500 + [True] * 200 + [False] * 500,
        "score": [0.9] * 10 + [0.9] * 500 + [0.1] * 200 + [0.9] * 500,
        "cohort": ["x"] * 510 + ["y"] * 700,
    })
    audit = run_identity_audit(trials=trials, threshold=0.5, score_kind="distance")
    column = audit.column("cohort")
    assert {g.name: g.metrics["false_non_match_rate"].value for g in column.groups} == {"x": 1.0, "y": 0.0}
    assert audit.flags == ()
    assert "false_non_match_rate not compared: fewer than two groups have 30 trials behind it" in column.notes
    assert "false_non_match_rate" not in column.difference and "false_match_rate" in column.difference


@pytest.mark.parametrize("column", ROW_COLUMNS)
def test_a_group_column_named_like_a_column_of_the_rows_is_refused(tmp_path, column):
    # A manifest column "predicted" used to replace the model's predictions in the rows CSV.
    write_cohorts(tmp_path, {"a": (4, 0)})
    samples = [AuditSample(path=p, label=CLASSES[i], groups={column: "earlier"})
               for i, p in enumerate(sorted(tmp_path.glob("a_*.png")))]
    with pytest.raises(AuditError) as error:
        run_emotion_audit(samples=samples, predict=planted_classifier, classes=CLASSES, proxy=False)
    assert str(error.value) == GROUP_COLUMN_IS_A_ROW_COLUMN.format(column=column, row_columns=", ".join(ROW_COLUMNS))


def test_a_manifest_column_predicted_is_refused(tmp_path):
    manifest = write_cohorts(tmp_path, {"a": (4, 0)})
    table = pd.read_csv(manifest).assign(predicted="sad")
    table.to_csv(manifest, index=False)
    with pytest.raises(AuditError) as error:
        _audit(manifest)
    assert str(error.value) == GROUP_COLUMN_IS_A_ROW_COLUMN.format(column="predicted",
                                                                   row_columns="path, label, predicted, confidence")


def test_trials_with_a_column_matched_are_refused():
    # The rows CSV used to hold the match at the threshold in place of this column's values.
    trials = pd.DataFrame({"genuine": [True, False], "score": [0.1, 0.9], "matched": ["x", "y"]})
    with pytest.raises(AuditError) as error:
        run_identity_audit(trials=trials, threshold=0.5, score_kind="distance")
    assert str(error.value) == TRIALS_HOLD_MATCHED.format(column="matched")


def test_the_row_column_messages_word_for_word():
    assert ROW_COLUMNS == ("path", "label", "predicted", "confidence")
    assert GROUP_COLUMN_IS_A_ROW_COLUMN == ("group column '{column}' has the name of a column of the per-face rows "
                                            "({row_columns}); rename it")
    assert TRIALS_HOLD_MATCHED == ("trials have a column '{column}', which the per-trial rows use for the match at "
                                   "the threshold; rename it")


def test_group_values_given_in_code_may_be_missing_or_numbers(tmp_path):
    # NaN (a DataFrame's empty cell) next to text used to end the audit in sorted() with a TypeError.
    write_cohorts(tmp_path, {"a": (8, 0)})
    values = ["x", float("nan"), None, " ", 30, 30, "x", np.float64("nan")]
    samples = [AuditSample(path=p, label=CLASSES[i % 4], groups={"g": value})
               for i, (p, value) in enumerate(zip(sorted(tmp_path.glob("a_*.png")), values))]
    column = run_emotion_audit(samples=samples, predict=planted_classifier, classes=CLASSES, proxy=False).column("g")
    assert [(g.name, g.size) for g in column.groups] == [("30", 2), ("x", 2)]
    assert column.not_measured == 4
