"""What a bias audit could compare (governance.bias_audit.comparison_summary, verdict), on column results built by hand:
the sentences the Governance page shows instead of a bare "No group is flagged"."""
from __future__ import annotations

import numpy as np
import pandas as pd

from governance.bias_audit import (
    COMPARED,
    LEFT_OUT,
    NO_FLAG,
    AuditSettings,
    BiasAudit,
    ColumnResult,
    Estimate,
    GroupResult,
    comparison_summary,
    verdict,
)

NO_GAP = Estimate(value=0.0, low=-0.1, high=0.1)
WORSE = Estimate(value=-0.3, low=-0.4, high=-0.2)


def _group(name: str, size: int, *, flagged: bool = False) -> GroupResult:
    return GroupResult(name=name, size=size, eligible=size >= 30, metrics={},
                       gaps={"accuracy": WORSE if flagged else NO_GAP}, flagged=("accuracy",) if flagged else (),
                       table=np.zeros((2, 2), dtype=np.int64))


def _column(name: str, groups: list[GroupResult], not_measured: int = 0) -> ColumnResult:
    return ColumnResult(column=name, origin="proxy", not_measured=not_measured, overall={}, groups=tuple(groups),
                        difference={}, ratio={})


def _audit(*columns: ColumnResult) -> BiasAudit:
    return BiasAudit(kind="emotion", size=80, settings=AuditSettings(min_group_size=30),
                     overall=_column("all", [_group("all", 80)]), columns=columns, context={}, rows=pd.DataFrame())


def test_a_column_of_one_group_or_of_no_value_is_said_not_compared_and_why():
    audit = _audit(_column("source", [_group("colour", 80)]),
                   _column("skin_tone_band", [], not_measured=80),
                   _column("illumination", [_group("dim", 50)], not_measured=30))
    assert [(c.column, c.compared, c.sentence) for c in comparison_summary(audit)] == [
        ("source", False, "source: not compared, because every measured face is in one group (colour 80 faces)."),
        ("skin_tone_band", False, "skin_tone_band: not compared, because no face has a value in this column."),
        ("illumination", False, ("illumination: not compared, because every measured face is in one group "
                                "(dim 50 faces). 30 faces without a value left out.")),
    ]
    assert verdict(audit) == (
        "Nothing could be compared: in no group column do a group and the rest of the column both have at least "
        "30 faces. This audit cannot tell whether any group is treated worse; a larger or more varied audit set "
        "can.")


def test_groups_too_small_to_stand_against_the_rest_are_not_compared():
    column = _column("head_pose", [_group("frontal", 35), _group("turned", 20), _group("profile", 1)], not_measured=1)
    (summary,) = comparison_summary(_audit(column))
    assert not summary.compared
    assert summary.sentence == ("head_pose: not compared, because no group and the rest of the column both have at "
                                "least 30 faces (frontal 35 faces, turned 20 faces, profile 1 face). 1 face without a "
                                "value left out.")


def test_no_flag_names_the_columns_compared_and_a_flag_gives_no_reassurance():
    compared = _column("face_size", [_group("small", 40), _group("large", 40)])
    single = _column("source", [_group("colour", 80)])
    assert next(c.sentence for c in comparison_summary(_audit(compared, single))) == (
        "face_size: compared across small 40 faces, large 40 faces.")
    assert verdict(_audit(compared, single)) == "No group is flagged in the columns compared (face_size)."
    flagged = _column("face_size", [_group("small", 40, flagged=True), _group("large", 40)])
    assert verdict(_audit(flagged, single)) is None


def test_the_message_constants_word_for_word():
    assert NO_FLAG == "No group is flagged in the columns compared ({columns})."
    assert COMPARED == "{column}: compared across {groups}."
    assert LEFT_OUT == " {faces} without a value left out."
