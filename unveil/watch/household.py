"""The family side of `unveil watch` and of the app's Live page: naming faces with the unlocked store's
gallery, kept current while the loop runs for days. Another process (the app, the CLI) may erase a member or enrol one, and a
member's consent may end, or come into force: the gallery is built again when the store changed
(FamilyStore.data_version, checked on every frame without decrypting anything) or when a consent in it ends or one
left out comes into force (family.gallery_rebuilt_at), and it only ever holds members whose consent is in force
(governance.family.gallery)."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import numpy as np

from fer_core.identity import Gallery, Match
from fer_core.store import MasterKeyChangedError, StoreBusyError, StoreError
from governance import consent, family

log = logging.getLogger("unveil.watch")

# Counts and error kinds only: a member's name or id never reaches the log.
LEFT_GALLERY = "{count} member(s) left the family gallery (erased, or their consent ended): no longer named"
GALLERY_UNREADABLE = "the family gallery cannot be read ({kind}): nobody is named until the store changes"
# Said once (until the store is unlocked again): every later change to the store would otherwise say it again.
GALLERY_KEY_CHANGED = ("the family store's master key was replaced in another session (by the app's Family page or "
                       "`unveil family passwd --rotate`): nobody is named until the store is unlocked again with the "
                       "passphrase or key file given at the rotation (for `unveil watch`: restart it)")
GALLERY_BUSY = "the family store is busy in another session: nobody is named until the gallery can be read"


class Household:
    """The `identify` of a LiveTracker ((RGB frame, landmarks) -> a Match), over `model`'s embeddings in
    the unlocked `store`, and `departed()` for the loop: who may no longer be named.

    When the gallery cannot be read (the store's key changed in another session, damage), nobody is
    named: not being able to check an erasure or a consent must never keep someone named."""

    def __init__(self, store: Any, model: Any) -> None:
        self._store, self._model = store, model
        self._version: tuple[int, int] | None = None
        self._until: datetime | None = None  # when the gallery must be built again (family.gallery_rebuilt_at)
        self._gallery = self._empty()
        self._key_changed = False
        self._refresh()
        self._reported = self.person_ids

    @property
    def person_ids(self) -> frozenset[str]:
        """Who may be named now."""
        return frozenset(self._gallery.person_ids)

    @property
    def names(self) -> dict[str, str]:
        """The names of those who may be named now, by id: what their outputs are called (a member renamed since an
        earlier run has their sensor under another name, unveil.watch.mqtt)."""
        return dict(self._gallery.labels)

    def __call__(self, rgb: np.ndarray, landmarks: np.ndarray) -> Match:
        self._refresh()
        return self._gallery.identify(self._model.embed_face(rgb, landmarks))

    def departed(self) -> frozenset[str]:
        """The ids that left the gallery since the last call (the store is checked first): faces already
        named after them must lose that name, and outputs forget them."""
        self._refresh()
        gone, self._reported = self._reported - self.person_ids, self.person_ids
        if gone:
            log.info(LEFT_GALLERY.format(count=len(gone)))
        return gone

    def _refresh(self) -> None:
        try:
            version = self._store.data_version()
        except StoreError as exc:  # closed: the app's store locked while the Live page's stream plays
            if self._version is not None:
                log.warning(GALLERY_UNREADABLE.format(kind=type(exc).__name__))
            self._gallery, self._until, self._version = self._empty(), None, None
            return
        if version == self._version and (self._until is None or consent.store_now(self._store) < self._until):
            return
        try:
            self._gallery, self._until = self._build()
            self._key_changed = False
        except MasterKeyChangedError:  # also when the loop's count met the new key first
            self._gallery, self._until = self._empty(), None
            if not self._key_changed:
                log.warning(GALLERY_KEY_CHANGED)
            self._key_changed = True
        except StoreBusyError:
            self._gallery, self._until = self._empty(), None
            log.warning(GALLERY_BUSY)
            return  # the version is not kept: the next frame tries again
        except StoreError as exc:  # the type only: a message may quote stored text
            self._gallery, self._until = self._empty(), None
            log.warning(GALLERY_UNREADABLE.format(kind=type(exc).__name__))
        self._version = version

    def _build(self) -> tuple[Gallery, datetime | None]:
        built = family.gallery(self._store, self._model)
        until = family.gallery_rebuilt_at(self._store, built.person_ids if built is not None else ())
        return (built if built is not None else self._empty()), until

    def _empty(self) -> Gallery:
        return Gallery({}, threshold=self._model.threshold, distance=self._model.distance)
