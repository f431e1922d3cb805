"""Plain records the store returns. Times are POSIX seconds (UTC)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Person:
    id: str  # random, opaque: says nothing about who it is
    name: str
    created_at: float
    last_seen_at: float  # enrolment or last recognition; drives the "not seen for N days" retention
    embeddings: int
    thumbnails: int
    consents: int


@dataclass(frozen=True)
class GalleryEntry:
    """One enrolled person as recognition needs them: their id, their name (a display label only),
    and their embeddings (n, d) float32."""

    person_id: str
    name: str
    embeddings: Any  # np.ndarray; typed loosely so this module of plain records needs no numpy


@dataclass(frozen=True)
class ConsentEntry:
    id: str
    person_id: str
    recorded_at: float
    details: dict[str, Any]  # sealed at rest; its meaning belongs to governance.consent


@dataclass(frozen=True)
class Thumbnail:
    id: str
    person_id: str
    created_at: float
    image: bytes


@dataclass(frozen=True)
class AnalysisEntry:
    id: str
    created_at: float
    result: dict[str, Any]
    person_ids: tuple[str, ...]


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    ts: float
    event: str
    person_id: str | None
    # The person's name, sealed in the log under their own data key: readable while they are enrolled,
    # gone for good once they are erased. name_status says which: "shown", "erased", "locked",
    # "damaged", or "none" when the entry concerns no person.
    name: str | None
    name_status: str
    details: dict[str, Any] = field(default_factory=dict)
    sealed: bool = False  # carries a MAC from the unlocked store (only unlock_failed entries do not)


@dataclass(frozen=True)
class Damage:
    """One stored value that failed authentication, found by FamilyStore.check()."""

    table: str
    row: str
    column: str
    message: str
