"""What an audit could compare: per group column, whether any group was weighed against the rest, and
if not, why. A column of one group, or of groups too small, flags nothing because nothing was tested,
and "no group is flagged" must not be read as "no group is treated worse"."""
from __future__ import annotations

from dataclasses import dataclass

from governance.bias_audit._disaggregate import ColumnResult
from governance.bias_audit._result import BiasAudit

COMPARED = "{column}: compared across {groups}."
NOT_MEASURED_ANYWHERE = "{column}: not compared, because no face has a value in this column."
ONE_GROUP = "{column}: not compared, because every measured face is in one group ({groups})."
TOO_SMALL = ("{column}: not compared, because no group and the rest of the column both have at least {min_size} "
             "faces ({groups}).")
LEFT_OUT = " {faces} without a value left out."
NOTHING_COMPARED = ("Nothing could be compared: in no group column do a group and the rest of the column both have "
                    "at least {min_size} faces. This audit cannot tell whether any group is treated worse; a larger "
                    "or more varied audit set can.")
NO_FLAG = "No group is flagged in the columns compared ({columns})."


@dataclass(frozen=True)
class ColumnCoverage:
    """One group column of an audit: whether its groups were compared, and the sentence that says so."""

    column: str
    compared: bool
    sentence: str


def column_coverage(column: ColumnResult, min_size: int) -> ColumnCoverage:
    """Whether a gap to the rest could be tested for any group of `column`: that needs the group and the
    rest of the column to hold at least `min_size` faces each (the audit's min_group_size)."""
    sizes = [group.size for group in column.groups]
    measured = sum(sizes)
    groups = ", ".join(f"{group.name} {_faces(group.size)}" for group in column.groups)
    if not sizes:
        sentence = NOT_MEASURED_ANYWHERE.format(column=column.column)
        return ColumnCoverage(column.column, False, sentence)
    compared = any(size >= min_size and measured - size >= min_size for size in sizes)
    if compared:
        sentence = COMPARED.format(column=column.column, groups=groups)
    elif len(sizes) == 1:
        sentence = ONE_GROUP.format(column=column.column, groups=groups)
    else:
        sentence = TOO_SMALL.format(column=column.column, min_size=min_size, groups=groups)
    if column.not_measured:
        sentence += LEFT_OUT.format(faces=_faces(column.not_measured))
    return ColumnCoverage(column.column, compared, sentence)


def _faces(count: int) -> str:
    return f"{count} face" if count == 1 else f"{count} faces"


def comparison_summary(audit: BiasAudit) -> tuple[ColumnCoverage, ...]:
    """Every group column of `audit`, in the audit's order, with whether it was compared and why not."""
    return tuple(column_coverage(column, audit.settings.min_group_size) for column in audit.columns)


def verdict(audit: BiasAudit) -> str | None:
    """The sentence to show when no group is flagged: NO_FLAG naming the columns compared, or
    NOTHING_COMPARED when none was; None when a group is flagged (the flags speak for themselves)."""
    if audit.flags:
        return None
    compared = [coverage.column for coverage in comparison_summary(audit) if coverage.compared]
    if not compared:
        return NOTHING_COMPARED.format(min_size=audit.settings.min_group_size)
    return NO_FLAG.format(columns=", ".join(compared))
