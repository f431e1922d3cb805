"""Open-set identification against the enrolled household: a person (id and display label), or "unknown"."""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from fer_core.identity._errors import IdentityError
from fer_core.identity._metadata import DISTANCES
from fer_core.identity._model import pairwise_distances

# The runner-up must be at least this fraction of the threshold farther away than the best person.
DEFAULT_MARGIN_FRACTION = 0.1

MATCH = "match"
BEYOND_THRESHOLD = "beyond threshold"
AMBIGUOUS = "ambiguous"
EMPTY_GALLERY = "empty gallery"
# A zero vector has no direction: its cosine distance to anyone is NaN, which no threshold comparison refuses.
ZERO_EMBEDDING = "a zero embedding has no direction to compare by cosine"


class GalleryEntryLike(Protocol):
    """One enrolled person as a store hands them over (fer_core.store.GalleryEntry)."""

    person_id: str
    name: str
    embeddings: np.ndarray


@dataclass(frozen=True)
class Match:
    """The outcome of `Gallery.identify`. People are referred to by id; `label` is for display only.

    person_id: the person named, or None ("unknown").
    label: that person's display label (their name), or None.
    distance: distance to the nearest enrolled person (inf if nobody is enrolled).
    nearest: that nearest person's id, whether named or not (None if nobody is enrolled).
    runner_up: the second-nearest person's id (None if fewer than two are enrolled).
    runner_up_distance: distance to the runner-up (inf if none).
    reason: "match", "beyond threshold", "ambiguous" or "empty gallery".
    """

    person_id: str | None
    label: str | None
    distance: float
    nearest: str | None
    runner_up: str | None
    runner_up_distance: float
    reason: str

    @property
    def ambiguous(self) -> bool:
        """Not named because about as close to two people (AMBIGUOUS): not a stranger, but not told apart (twins, or
        one person enrolled twice). The front ends say so (the Analyze page's line, the API's `ambiguous`), never
        naming either: the nearest is the guess the gallery refused to make."""
        return self.reason == AMBIGUOUS


class Gallery:
    """The enrolled people by id, one row of embeddings per enrolment photo, each with a display label.

    `people` maps a person id to their embeddings; `labels` maps the same ids to what is shown (their
    name; default: the id itself). A face is identified as an id: the label is never used to find
    the person again, so two people can never be confused through their names.

    Each person is represented by the centre of their enrolment embeddings (for "cosine" models,
    of the unit-length embeddings): one comparison per person, and on the development set it named
    the same probes as matching the nearest enrolment photo (benchmarks/bench_identity.py).

    `identify` is open-set. A face is named only if both hold:
    - its distance to that person is <= `threshold` (the model's calibrated operating point), and
    - the runner-up person is at least `margin` farther away (default: 0.1 x threshold). A face
      about as close to two people (a parent and a child, siblings) is called "unknown" rather
      than a coin toss between them, since naming the wrong person is the worse failure.
    Otherwise the answer is None ("unknown").
    """

    def __init__(
        self,
        people: Mapping[str, np.ndarray],
        *,
        labels: Mapping[str, str] | None = None,
        threshold: float,
        distance: str = "euclidean",
        margin: float | None = None,
    ) -> None:
        if distance not in DISTANCES:
            raise IdentityError(f"distance must be one of {', '.join(DISTANCES)}, got {distance!r}")
        if not (math.isfinite(threshold) and threshold > 0):
            raise IdentityError(f"threshold must be a positive number, got {threshold}")
        margin = DEFAULT_MARGIN_FRACTION * threshold if margin is None else margin
        if not (math.isfinite(margin) and margin >= 0):
            raise IdentityError(f"margin must be a number >= 0, got {margin}")
        self.threshold = float(threshold)
        self.distance = distance
        self.margin = float(margin)
        self.person_ids: list[str] = []
        self.labels: dict[str, str] = {}
        centres = []
        dim = None
        for name, embeddings in people.items():
            if not isinstance(name, str) or not name.strip():
                raise IdentityError(f"person ids must be non-empty strings, got {name!r}")
            label = name if labels is None else labels.get(name)
            if not isinstance(label, str) or not label.strip():
                raise IdentityError(f"{name}: the display label must be a non-empty string, got {label!r}")
            rows = np.asarray(embeddings, dtype=np.float32)
            if rows.ndim != 2 or len(rows) == 0 or not np.isfinite(rows).all():
                raise IdentityError(f"{name}: embeddings must be a non-empty finite [n, d] array, got shape {rows.shape}")
            if distance == "cosine" and not np.linalg.norm(rows, axis=1).all():
                raise IdentityError(f"{name}: {ZERO_EMBEDDING}")
            if dim is not None and rows.shape[1] != dim:
                raise IdentityError(f"{name}: embeddings have {rows.shape[1]} dimensions, others have {dim}")
            dim = rows.shape[1]
            self.person_ids.append(name)
            self.labels[name] = label
            centres.append(_centre(rows, distance))
        self.dim = dim
        self._centres = np.stack(centres) if centres else np.zeros((0, 0), dtype=np.float32)

    @classmethod
    def from_entries(cls, entries: Iterable[GalleryEntryLike], *, threshold: float, distance: str = "euclidean",
                     margin: float | None = None) -> Gallery:
        """The gallery of a store's entries (FamilyStore.gallery()): keyed by id, labelled by name."""
        entries = list(entries)
        return cls({e.person_id: e.embeddings for e in entries}, labels={e.person_id: e.name for e in entries},
                   threshold=threshold, distance=distance, margin=margin)

    def __len__(self) -> int:
        return len(self.person_ids)

    def centre(self, person_id: str) -> np.ndarray:
        """The embedding a person is compared by: the centre of their enrolment embeddings (a copy)."""
        if person_id not in self.labels:
            raise IdentityError(f"{person_id!r} is not in this gallery")
        return self._centres[self.person_ids.index(person_id)].copy()

    def identify(self, embedding: np.ndarray) -> Match:
        """The person whose face has this embedding [d], or None ("unknown"); see the class docstring."""
        embedding = np.asarray(embedding, dtype=np.float32)
        if not self.person_ids:
            return Match(None, None, math.inf, None, None, math.inf, EMPTY_GALLERY)
        if embedding.shape != (self.dim,) or not np.isfinite(embedding).all():
            raise IdentityError(f"embedding must be a finite vector of length {self.dim}, got shape {embedding.shape}")
        if self.distance == "cosine" and not np.linalg.norm(embedding):
            raise IdentityError(ZERO_EMBEDDING)
        distances = pairwise_distances(embedding[None], self._centres, self.distance)[0]
        order = np.argsort(distances, kind="stable")
        best = int(order[0])
        nearest, best_distance = self.person_ids[best], float(distances[best])
        if len(order) > 1:
            second = int(order[1])
            runner_up, runner_up_distance = self.person_ids[second], float(distances[second])
        else:
            runner_up, runner_up_distance = None, math.inf
        if best_distance > self.threshold:
            return Match(None, None, best_distance, nearest, runner_up, runner_up_distance, BEYOND_THRESHOLD)
        if runner_up_distance - best_distance < self.margin:
            return Match(None, None, best_distance, nearest, runner_up, runner_up_distance, AMBIGUOUS)
        return Match(nearest, self.labels[nearest], best_distance, nearest, runner_up, runner_up_distance, MATCH)


def _centre(rows: np.ndarray, distance: str) -> np.ndarray:
    if distance == "cosine":
        rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        centre = rows.mean(axis=0)
        return centre / np.linalg.norm(centre)
    return rows.mean(axis=0)
