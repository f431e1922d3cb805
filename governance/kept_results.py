"""Analysis results kept in the encrypted store at the user's request: keep, list, delete.

What is kept is the Analyze page's rows (fer_core.render.face_records): numbers and names, never
pixels. A kept result is linked to the members it names, by the ids their faces' matches carry (a name
is never looked up again), so erasing one of them erases it (governance.erasure), and the retention
policy's "analyses" period deletes it in any case. Keeping and deleting are audit-logged with counts
only.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fer_core import UnveilError
from fer_core.store import FamilyStore
from governance import audit_log

# The identity a face row carries when the gallery was consulted and nobody matched.
UNKNOWN = "unknown"

NOTHING_TO_KEEP = "there are no face results to keep; nothing was stored"
NAMED_WITHOUT_ID = ("the results name {named} member(s) but carry the ids of {ids}: a kept result must be linked "
                    "to everyone it names, so that erasing them erases it; nothing was stored")
ALREADY_GONE = ("this kept result is no longer in the store (deleted, or removed by the retention policy); "
                "nothing was changed")


class KeptResultError(UnveilError, LookupError):
    """Nothing to keep, or a kept result that is not (or no longer) in the store."""


@dataclass(frozen=True)
class KeptResult:
    id: str
    kept_at: datetime
    faces: list[dict[str, Any]]  # face_records rows
    person_ids: tuple[str, ...]  # the members it names, whose erasure erases it

    @property
    def photos(self) -> list[str]:
        """The photos' file names, in the order they were analysed."""
        return list(dict.fromkeys(str(row.get("source", "")) for row in self.faces))

    @property
    def names(self) -> list[str]:
        """The members named in it, sorted."""
        return _named(self.faces)


def _named(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    return sorted({str(row["identity"]) for row in rows if row.get("identity") not in (None, UNKNOWN)})


def kept(store: FamilyStore) -> list[KeptResult]:
    """Every kept result, newest first."""
    return [KeptResult(entry.id, datetime.fromtimestamp(entry.created_at, tz=UTC),
                       list(entry.result.get("faces", [])), entry.person_ids)
            for entry in reversed(store.analyses())]


def find(store: FamilyStore, result_id: str) -> KeptResult:
    """The kept result with this id; KeptResultError(ALREADY_GONE) when there is none."""
    match = next((result for result in kept(store) if result.id == result_id), None)
    if match is None:
        raise KeptResultError(ALREADY_GONE)
    return match


def keep_analysis(store: FamilyStore, rows: Sequence[Mapping[str, Any]], *,
                  person_ids: Iterable[str | None]) -> tuple[KeptResult, bool]:
    """Keep these face rows once, linked to the members their faces were matched to (`person_ids`: the
    faces' `person_id`, None for the unnamed ones), and log it ("analysis_kept", counts only).

    Returns (the kept result, True), or (the result already kept with exactly these rows, False):
    keeping the same results again stores no second copy. KeptResultError(NOTHING_TO_KEEP) for no rows,
    KeptResultError(NAMED_WITHOUT_ID) when the rows name more members than ids are given (a result
    that outlived the erasure of someone it names would be a leak); PersonNotFoundError for an id that
    is not enrolled. Nothing is stored in any of these cases."""
    faces = [dict(row) for row in rows]
    if not faces:
        raise KeptResultError(NOTHING_TO_KEEP)
    ids = list(dict.fromkeys(pid for pid in person_ids if pid))
    named = _named(faces)
    if len(ids) < len(named):
        raise KeptResultError(NAMED_WITHOUT_ID.format(named=len(named), ids=len(ids)))
    same = next((result for result in kept(store) if result.faces == faces), None)
    if same is not None:
        return same, False
    with store.transaction():
        result_id = store.add_analysis({"faces": faces}, person_ids=ids)
        audit_log.record(store, "analysis_kept", details={"faces": len(faces), "named": len(ids)})
    return find(store, result_id), True


def delete(store: FamilyStore, result_id: str) -> None:
    """Delete one kept result and log it; the store is then scrubbed so no old bytes stay on disk.
    KeptResultError(ALREADY_GONE), and nothing changed, when it is not in the store."""
    with store.transaction():
        if not store.delete_analysis(result_id):
            raise KeptResultError(ALREADY_GONE)
        audit_log.record(store, "analysis_deleted", details={"analyses": 1})
    store.scrub()
