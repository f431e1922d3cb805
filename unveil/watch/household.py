"""The family side of `unveil watch`: naming faces with the unlocked store's gallery."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def identifier(store: Any, model: Any) -> Callable[[np.ndarray, np.ndarray], Any] | None:
    """(RGB frame, landmarks) -> the gallery's match (the member's id and name, or None for both), over
    `model`'s embeddings in the unlocked `store`; None when nobody is enrolled with that model."""
    from fer_core.live import identifier as gallery_identifier
    from governance import family

    gallery = family.gallery(store, model)
    return None if gallery is None else gallery_identifier(gallery, model)
