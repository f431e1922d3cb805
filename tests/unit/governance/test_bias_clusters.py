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


def _fmr_width(trials: pd.DataFrame, clusters: tuple[str, ...]) -> tuple[float, dict]:
    audit = run_identity_audit(trials=trials, threshold=0.5, score_kind="distance", clusters=clusters)
    fmr = audit.overall.overall["false_match_rate"]
    return fmr.high - fmr.low, audit.to_dict()


def test_correlated_clusters_widen_the_interval_and_independent_trials_leave_it_as_it_was():
    for seed in range(3):
        correlated = _trials(spread=1.2, seed=seed)
        naive, _ = _fmr_width(correlated, ())
        clustered, report = _fmr_width(correlated, ("probe_person", "enrolled_person"))
        assert clustered > 1.4 * naive, seed
        assert "probe_person" not in report["columns"] and "half" in report["columns"]  # a cluster is not a group
        assert "probe_person, enrolled_person" in report["settings"]["interval"]

        independent = _trials(spread=0.0, seed=seed)
        naive, _ = _fmr_width(independent, ())
        clustered, _ = _fmr_width(independent, ("probe_person", "enrolled_person"))
        assert naive <= clustered < 1.2 * naive, seed  # deff is never below 1, and about 1 here


def test_the_clustered_interval_holds_the_rate_about_as_often_as_it_says_where_the_naive_one_does_not():
    rng = np.random.default_rng(7)
    # The rate the trials are drawn around: the mean false-match chance over people.
    truth = expit(BASE + rng.normal(0, 1.2, (400_000, 2)).sum(axis=1)).mean()
    (fmr, _) = identity_metrics()
    held = {"naive": 0, "clustered": 0}
    runs = 200
    for seed in range(runs):
        impostors = _trials(spread=1.2, seed=100 + seed).query("not genuine")
        y_true, y_pred = np.zeros(len(impostors), dtype=np.int64), (impostors["score"] < 0.5).to_numpy(np.int64)
        clustering = Clustering.of([impostors["probe_person"].to_numpy(), impostors["enrolled_person"].to_numpy()])
        tables = clustering.tables(np.zeros(len(y_true), dtype=np.int64), 1, y_true, y_pred, (2, 2))
        for name, counts in (("naive", fmr.shares(np.sum(tables[0][0], axis=0))),
                             ("clustered", effective_counts(fmr.shares, [t[0] for t in tables], clustering.signs))):
            low, high = clopper_pearson(*counts, confidence=0.95)
            held[name] += bool(low <= truth <= high)
    assert held["naive"] / runs < 0.75  # trials counted as independent: far below 95%
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
    expected = clopper_pearson(4, 16, confidence=0.95)  # deff 4: 4 of 16 people
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
