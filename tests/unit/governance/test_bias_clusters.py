"""Identity trials that share people: the rates' intervals allow for it (governance.bias_audit._clusters)."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from governance.bias_audit import (
    BLANK_CLUSTER,
    CLUSTERS_NEED_ONE_OR_TWO,
    NO_CLUSTER_COLUMN,
    AuditError,
    Clustering,
    clopper_pearson,
    effective_counts,
    identity_metrics,
    run_identity_audit,
)

PROBES, ENROLLED = 60, 16  # impostor trials: every probe person against every enrolled person
BASE = -3.5  # logit of a false match for an average pair: about 3%


def _trials(spread: float, seed: int) -> pd.DataFrame:
    """Impostor trials whose false-match chance has a probe-person and an enrolled-person effect of sd `spread`
    (0: independent trials), plus one genuine trial per enrolled person; a group column splits the probes."""
    rng = np.random.default_rng(seed)
    probe_effect, enrolled_effect = rng.normal(0, spread, PROBES), rng.normal(0, spread, ENROLLED)
    probe, enrolled = np.repeat(np.arange(PROBES), ENROLLED), np.tile(np.arange(ENROLLED), PROBES)
    matched = rng.random(len(probe)) < expit(BASE + probe_effect[probe] + enrolled_effect[enrolled])
    impostors = pd.DataFrame({"genuine": False, "score": np.where(matched, 0.2, 0.9),
                              "probe_person": [f"p{p}" for p in probe], "enrolled_person": [f"e{e}" for e in enrolled],
                              "half": np.where(probe < PROBES // 2, "a", "b")})
    genuine = pd.DataFrame({"genuine": True, "score": 0.1, "probe_person": [f"e{e}" for e in range(ENROLLED)],
                            "enrolled_person": [f"e{e}" for e in range(ENROLLED)], "half": "a"})
    return pd.concat([impostors, genuine], ignore_index=True)


def _intervals(trials: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """The 95% interval of the impostor trials' false-match rate, counting trials as independent and clustered."""
    impostors = trials.query("not genuine")
    y_true, y_pred = np.zeros(len(impostors), dtype=np.int64), (impostors["score"] < 0.5).to_numpy(np.int64)
    clustering = Clustering.of([impostors["probe_person"].to_numpy(), impostors["enrolled_person"].to_numpy()])
    tables = clustering.tables(np.zeros(len(y_true), dtype=np.int64), 1, y_true, y_pred, (2, 2))
    (fmr, _) = identity_metrics()
    counts = {"naive": fmr.shares(tables[0][0].sum(axis=0)),
              "clustered": effective_counts(fmr.shares, [t[0] for t in tables], clustering.signs)}
    return {name: tuple(float(b) for b in clopper_pearson(*c, confidence=0.95)) for name, c in counts.items()}


def _width_ratios(spread: float) -> np.ndarray:
    widths = [_intervals(_trials(spread, seed)) for seed in range(30)]
    return np.array([(w["clustered"][1] - w["clustered"][0]) / (w["naive"][1] - w["naive"][0]) for w in widths])


def test_correlated_clusters_widen_the_interval_and_independent_trials_leave_it_about_as_it_was():
    correlated, independent = _width_ratios(1.2), _width_ratios(0.0)
    assert np.median(correlated) > 2.0 and correlated.min() > 1.3
    assert (independent >= 1.0).all()  # deff is never taken below 1
    assert np.median(independent) < 1.1 and independent.mean() < 1.15  # the variance estimate's noise only


def test_the_audit_uses_the_cluster_columns_for_intervals_not_as_groups():
    trials = _trials(spread=1.2, seed=0)
    naive = run_identity_audit(trials=trials, threshold=0.5, score_kind="distance")
    clustered = run_identity_audit(trials=trials, threshold=0.5, score_kind="distance",
                                   clusters=("probe_person", "enrolled_person"))
    expected = _intervals(trials)
    for audit, name in ((naive, "naive"), (clustered, "clustered")):
        fmr = audit.overall.overall["false_match_rate"]
        assert (fmr.low, fmr.high) == pytest.approx(expected[name])
    report = clustered.to_dict()
    assert set(report["columns"]) == {"half"}  # a cluster is not a group
    assert "probe_person, enrolled_person" in report["settings"]["interval"]
    assert "probe_person" in naive.to_dict()["columns"]  # without --cluster it is just another column


def test_the_clustered_interval_holds_the_rate_far_more_often_than_the_naive_one():
    rng = np.random.default_rng(7)
    # The rate the trials are drawn around: the mean false-match chance over people.
    truth = expit(BASE + rng.normal(0, 1.2, (400_000, 2)).sum(axis=1)).mean()
    runs = 200
    held = {"naive": 0, "clustered": 0}
    for seed in range(runs):
        for name, (low, high) in _intervals(_trials(spread=1.2, seed=100 + seed)).items():
            held[name] += low <= truth <= high
    # 16 enrolled people are few clusters: the cluster-robust variance still runs a little short of 95%.
    assert held["naive"] / runs < 0.6
    assert held["clustered"] / runs > 0.88


def test_genuine_trials_cluster_by_person_alone():
    # Four probes of each person, all missed or all found: 4 people of 16 missed means 16 of 64 trials, but only
    # 16 independent people.
    people = np.repeat([f"p{i}" for i in range(16)], 4)
    trials = pd.DataFrame({"genuine": True, "score": np.where(np.repeat(np.arange(16) < 4, 4), 0.9, 0.1),
                           "probe_person": people, "enrolled_person": people})
    audit = run_identity_audit(trials=trials, threshold=0.5, score_kind="distance",
                               clusters=("probe_person", "enrolled_person"))
    fnmr = audit.overall.overall["false_non_match_rate"]
    assert fnmr.value == 0.25
    deff = 4 * 16 / 15  # 4 of 16 people, with the G / (G - 1) correction for 16 clusters
    expected = clopper_pearson(16 / deff, 64 / deff, confidence=0.95)
    assert (fnmr.low, fnmr.high) == pytest.approx(tuple(map(float, expected)))


def test_cluster_columns_must_exist_be_filled_and_number_one_or_two():
    trials = _trials(spread=0.0, seed=0)
    missing = NO_CLUSTER_COLUMN.format(column="probe", columns="genuine, score, probe_person, enrolled_person, half")
    with pytest.raises(AuditError, match=f"^{re.escape(missing)}$"):
        run_identity_audit(trials=trials, threshold=0.5, score_kind="distance", clusters=("probe",))
    blank = trials.assign(probe_person=trials["probe_person"].where(trials.index != 3, ""))
    with pytest.raises(AuditError, match=f"^{re.escape(BLANK_CLUSTER.format(row=4, column='probe_person'))}$"):
        run_identity_audit(trials=blank, threshold=0.5, score_kind="distance", clusters=("probe_person",))
    with pytest.raises(AuditError, match=f"^{re.escape(CLUSTERS_NEED_ONE_OR_TWO.format(n=3))}$"):
        run_identity_audit(trials=trials, threshold=0.5, score_kind="distance",
                           clusters=("probe_person", "enrolled_person", "half"))


def test_the_messages_word_for_word():
    assert NO_CLUSTER_COLUMN == "trials have no cluster column '{column}' (columns: {columns})"
    assert BLANK_CLUSTER == "trial {row} has no value in cluster column '{column}': every trial must name its cluster"
    assert CLUSTERS_NEED_ONE_OR_TWO == ("trials are clustered along one or two columns (e.g. probe_person, "
                                        "enrolled_person), got {n}")
