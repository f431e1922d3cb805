"""Whole-set metrics with bootstrap intervals from a confusion table, and paired gaps between two models."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, recall_score

from governance.bias_audit import (
    CLUSTER_SHAPE,
    CONFUSION_SHAPE,
    JOINT_SHAPE,
    NEGATIVE_COUNTS,
    NO_CLUSTERS,
    AuditError,
    confusion_estimates,
    paired_difference_estimates,
    tables_by_cluster,
)

CLASSES = ("happy", "neutral", "sad", "surprise")


def _labels(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True labels and two models' predictions: A right 80% of the time, B 60%, errors at random."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 4, n)
    a = np.where(rng.random(n) < 0.8, truth, rng.integers(0, 4, n))
    b = np.where(rng.random(n) < 0.6, truth, rng.integers(0, 4, n))
    return truth, a, b


def _table(*columns: np.ndarray) -> np.ndarray:
    table = np.zeros((4,) * len(columns), dtype=np.int64)
    np.add.at(table, tuple(columns), 1)
    return table


def test_values_match_scikit_learn_on_the_same_labels():
    truth, a, _ = _labels(400, seed=1)
    estimates = confusion_estimates(_table(truth, a), CLASSES, n_boot=200, seed=0)
    assert estimates["accuracy"].value == pytest.approx(accuracy_score(truth, a))
    assert estimates["macro_f1"].value == pytest.approx(f1_score(truth, a, average="macro"))
    for code, name in enumerate(CLASSES):
        assert estimates[f"recall[{name}]"].value == pytest.approx(recall_score(truth, a, labels=[code], average="macro"))
    for estimate in estimates.values():
        assert estimate.low <= estimate.value <= estimate.high


def test_interval_narrows_with_more_faces():
    small = confusion_estimates(_table(*_labels(100, seed=2)[:2]), CLASSES, n_boot=500, seed=0)["accuracy"]
    large = confusion_estimates(_table(*_labels(10_000, seed=2)[:2]), CLASSES, n_boot=500, seed=0)["accuracy"]
    assert (large.high - large.low) < (small.high - small.low) / 5


def test_paired_gap_matches_the_two_marginal_tables_and_excludes_zero_for_a_clear_winner():
    truth, a, b = _labels(2000, seed=3)
    gaps = paired_difference_estimates(_table(truth, a, b), CLASSES, n_boot=500, seed=0)
    assert gaps["accuracy"].value == pytest.approx(accuracy_score(truth, a) - accuracy_score(truth, b))
    assert gaps["macro_f1"].value == pytest.approx(
        f1_score(truth, a, average="macro") - f1_score(truth, b, average="macro")
    )
    assert gaps["accuracy"].low > 0 and gaps["accuracy"].excludes_zero()


def test_paired_gap_of_a_model_with_itself_is_exactly_zero():
    truth, a, _ = _labels(300, seed=4)
    gaps = paired_difference_estimates(_table(truth, a, a), CLASSES, n_boot=200, seed=0)
    for estimate in gaps.values():
        assert (estimate.value, estimate.low, estimate.high) == (0.0, 0.0, 0.0)


def test_paired_interval_is_narrower_than_the_separate_intervals_for_correlated_models():
    truth, a, _ = _labels(1000, seed=5)
    rng = np.random.default_rng(6)
    b = np.where(rng.random(1000) < 0.95, a, rng.integers(0, 4, 1000))  # B mostly agrees with A
    gap = paired_difference_estimates(_table(truth, a, b), CLASSES, n_boot=500, seed=0)["accuracy"]
    alone = confusion_estimates(_table(truth, a), CLASSES, n_boot=500, seed=0)["accuracy"]
    assert (gap.high - gap.low) < (alone.high - alone.low)


def test_wrong_shapes_and_counts_are_refused_with_clear_messages():
    with pytest.raises(AuditError) as error:
        confusion_estimates(np.zeros((3, 4), dtype=int), CLASSES)
    assert str(error.value) == CONFUSION_SHAPE.format(n=4, classes=list(CLASSES), shape=(3, 4))
    with pytest.raises(AuditError) as error:
        paired_difference_estimates(np.zeros((4, 4), dtype=int), CLASSES)
    assert str(error.value) == JOINT_SHAPE.format(n=4, classes=list(CLASSES), shape=(4, 4))
    with pytest.raises(AuditError) as error:
        confusion_estimates(-np.eye(4, dtype=int), CLASSES)
    assert str(error.value) == NEGATIVE_COUNTS
    with pytest.raises(AuditError) as error:
        confusion_estimates(np.eye(4) * 0.5, CLASSES)
    assert str(error.value) == NEGATIVE_COUNTS


def _people(n_people: int, photos: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-person joint tables (true x A x B) of people photographed `photos` times, with one expression
    each; whether A reads a person right is the person's (B: every photo at random, 60%)."""
    rng = np.random.default_rng(seed)
    tables = np.zeros((n_people, 4, 4, 4), dtype=np.int64)
    for person in range(n_people):
        truth = np.full(photos, rng.integers(0, 4))
        a = truth if rng.random() < 0.8 else (truth + 1) % 4
        b = np.where(rng.random(photos) < 0.6, truth, (truth + 2) % 4)
        np.add.at(tables[person], (truth, a, b), 1)
    return tables, tables.sum(axis=3), tables.sum(axis=2)


def _width(estimate) -> float:
    return estimate.high - estimate.low


def test_resampling_people_widens_the_interval_when_their_photos_agree():
    # 40 people, 25 photos each, A right or wrong on all of a person's photos: 40 independent outcomes, not
    # 1000. The value is the same either way; the interval over people is much wider than over faces.
    joint, a, _ = _people(40, 25, seed=3)
    strata = ["one source"] * 40
    faces = confusion_estimates(a.sum(axis=0), CLASSES, n_boot=1000, seed=0)["accuracy"]
    people = confusion_estimates(a, CLASSES, n_boot=1000, seed=0, strata=strata)["accuracy"]
    assert people.value == faces.value
    assert _width(people) > 3 * _width(faces)
    # A face per cluster is the face bootstrap again (up to its own draws).
    truth, single, _ = _labels(1000, seed=4)
    per_face = np.zeros((1000, 4, 4), dtype=np.int64)
    per_face[np.arange(1000), truth, single] = 1
    alone = confusion_estimates(per_face.sum(axis=0), CLASSES, n_boot=1000, seed=0)["accuracy"]
    clustered = confusion_estimates(per_face, CLASSES, n_boot=1000, seed=0, strata=["s"] * 1000)["accuracy"]
    assert _width(clustered) == pytest.approx(_width(alone), rel=0.2)
    gap = paired_difference_estimates(joint, CLASSES, n_boot=1000, seed=0, strata=strata)["accuracy"]
    assert gap.value == pytest.approx(faces.value - confusion_estimates(joint.sum(axis=(0, 2)), CLASSES)["accuracy"].value)
    assert _width(gap) > _width(paired_difference_estimates(joint.sum(axis=0), CLASSES, n_boot=1000, seed=0)["accuracy"])


def test_clusters_are_drawn_within_their_stratum():
    # One source read perfectly, the other never: drawn within sources, every resample holds 10 people of
    # each, so accuracy cannot move; drawn across both, it does.
    right, wrong = np.zeros((10, 4, 4), dtype=np.int64), np.zeros((10, 4, 4), dtype=np.int64)
    right[:, 0, 0] = wrong[:, 0, 1] = 3
    tables = np.concatenate([right, wrong])
    within = confusion_estimates(tables, CLASSES, n_boot=500, seed=0, strata=["a"] * 10 + ["b"] * 10)["accuracy"]
    across = confusion_estimates(tables, CLASSES, n_boot=500, seed=0, strata=["a"] * 20)["accuracy"]
    assert (within.value, within.low, within.high) == (0.5, 0.5, 0.5)
    assert across.low < 0.5 < across.high


def test_cluster_tables_that_do_not_match_their_strata_are_refused():
    with pytest.raises(AuditError) as error:
        confusion_estimates(np.zeros((3, 4, 4), dtype=int), CLASSES, strata=["a", "b"])
    assert str(error.value) == CLUSTER_SHAPE.format(clusters=2, table="4 x 4", shape=(3, 4, 4))
    with pytest.raises(AuditError) as error:
        paired_difference_estimates(np.zeros((2, 4, 4), dtype=int), CLASSES, strata=["a", "b"])
    assert str(error.value) == CLUSTER_SHAPE.format(clusters=2, table="4 x 4 x 4", shape=(2, 4, 4))
    with pytest.raises(AuditError) as error:
        confusion_estimates(np.zeros((0, 4, 4), dtype=int), CLASSES, strata=[])
    assert str(error.value) == NO_CLUSTERS
    with pytest.raises(AuditError) as error:
        confusion_estimates(-np.ones((1, 4, 4), dtype=int), CLASSES, strata=["a"])
    assert str(error.value) == NEGATIVE_COUNTS


def test_rows_are_counted_per_cluster_with_the_cluster_s_stratum():
    truth, a = np.array([0, 1, 1, 2, 3]), np.array([0, 1, 2, 2, 0])
    clusters = [("lfw", "Ana"), ("yale", "s01"), ("lfw", "Ana"), ("lfw", "Bo"), ("yale", "s01")]
    tables, strata = tables_by_cluster(clusters, [truth, a], classes=CLASSES)
    assert strata == ["lfw", "lfw", "yale"] and tables.shape == (3, 4, 4)
    assert tables[0][0, 0] == tables[0][1, 2] == 1 and tables[0].sum() == 2  # Ana's two photos
    assert tables[2][1, 1] == tables[2][3, 0] == 1 and tables[2].sum() == 2
    assert (tables.sum(axis=0) == _table(truth, a)).all()
    assert confusion_estimates(tables, CLASSES, strata=strata)["accuracy"].value == 0.6
    table, none = tables_by_cluster(None, [truth, a], classes=CLASSES)  # rows that name no cluster: one table
    assert none is None and (table == _table(truth, a)).all()
