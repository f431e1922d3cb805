"""The family side of `unveil watch`: naming faces with the unlocked store's gallery."""
from __future__ import annotations

from collections.abc import Callable
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
