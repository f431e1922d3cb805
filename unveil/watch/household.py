"""The family side of `unveil watch`: naming faces with the unlocked store's gallery, and counting
recognitions in the audit log the way the app does (governance.family.note_recognition)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def identifier(store: Any, model: Any) -> Callable[[np.ndarray, np.ndarray], str | None] | None:
    """(RGB frame, landmarks) -> member name or None, over the gallery of `model`'s embeddings in the
    unlocked `store`; None when nobody is enrolled with that model (nothing to compare with)."""
    from fer_core.identity import Gallery
    from fer_core.live import identifier as gallery_identifier

    people = store.gallery(model=model.name, errors="skip")
    if not people:
        return None
    return gallery_identifier(Gallery(people, threshold=model.threshold, distance=model.distance), model)


def note_recognitions(store: Any, names: Sequence[str | None]) -> None:
    """After faces were compared with the gallery (one entry per face: the name given, or None for
    unknown): the named members' "last seen" is refreshed and the counts, never faces, are audited."""
    from governance import family

    named = sorted({name for name in names if name})
    family.note_recognition(store, [family.resolve(store, name).id for name in named], faces=len(names))
