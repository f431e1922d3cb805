"""What one browser session of the app holds, without Streamlit: widget keys that reset, the Analyze
page's photos and results, and what a new session says about what was kept.

Streamlit keeps a widget's value under its key for the whole session. A key built here carries a
generation number: renewing a group gives every widget in it a new key, so a tick box, a typed
confirmation or a whole form comes back empty. A confirmation's key also names the action and the
member it confirms, so a tick given to erase one member can never count for another.
"""
from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

_GENERATION = "unveil_generation_"

NEW_SESSION = ("This is a new session (a reload or a new tab starts one): the family store is locked, and photos "
               "and results from before are not kept, because they live only in one session's memory. Kept on "
               "this machine, encrypted: {members} and {results}. Unlock the store on the Family page to use them.")
# A store with no member and no kept result has nothing to unlock for: only what the reload dropped is said.
NEW_SESSION_NOTHING_KEPT = ("This is a new session (a reload or a new tab starts one): photos and results from before "
                            "are not kept, because they live only in one session's memory. The family store holds no "
                            "members and no kept results yet.")


def plural(count: int, singular: str, many: str | None = None) -> str:
    """"1 photo", "2 photos"; `many` for irregular words ("analysis", "analyses")."""
    return f"{count} {singular if count == 1 else (many or singular + 's')}"


def widget_key(state: Mapping[str, Any], group: str, *parts: str) -> str:
    """The key of a widget of `group` (a form, a confirmation), scoped by `parts` (an action, a member's
    id): "group_part_..._generation". Renewing the group changes every key in it."""
    return "_".join([group, *parts, str(state.get(_GENERATION + group, 0))])


def renew(state: MutableMapping[str, Any], group: str) -> None:
    """Give the widgets of `group` new keys: they are drawn again empty, as on a first visit."""
    state[_GENERATION + group] = state.get(_GENERATION + group, 0) + 1


def photo_key(name: str, data: bytes) -> str:
    """One photo's identity in a session: the same file added twice is held once."""
    return f"{hashlib.sha256(data).hexdigest()}:{name}"


@dataclass
class PhotoBatch:
    """The photos added on the Analyze page in one session, in the order added, and their results.

    Photos stay until removed or cleared, whatever page is shown meanwhile. Each photo is analysed (decoded,
    searched for faces, read for emotions) once: that analysis names nobody and is kept until the photo
    is removed. A result is made from it once per gallery state: when the family gallery changes (a
    member enrolled or erased, the store locked or unlocked) every photo's faces are named again, so no
    result names someone the gallery no longer holds, nor misses someone it now does."""

    _photos: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    _results: dict[str, Any] = field(default_factory=dict)
    _analyses: dict[str, Any] = field(default_factory=dict)
    _gallery: Hashable = 0

    def __len__(self) -> int:
        return len(self._photos)

    def add(self, inputs: Iterable[tuple[str, bytes]]) -> int:
        """Add (name, bytes) photos not held yet; returns how many were new."""
        before = len(self._photos)
        for name, data in inputs:
            self._photos.setdefault(photo_key(name, data), (name, data))
        return len(self._photos) - before

    def pending(self, gallery: Hashable) -> list[tuple[str, str, bytes]]:
        """(key, name, bytes) of every photo to analyse for this gallery state (any value that changes
        with the gallery: the app's gallery generation)."""
        if gallery != self._gallery:
            self._results.clear()
            self._gallery = gallery
        return [(key, name, data) for key, (name, data) in self._photos.items() if key not in self._results]

    def set_result(self, key: str, result: Any) -> None:
        if key in self._photos:
            self._results[key] = result

    def analysis(self, key: str) -> Any | None:
        """The photo's analysis without names, or None when it has not been analysed yet."""
        return self._analyses.get(key)

    def set_analysis(self, key: str, analysis: Any) -> None:
        if key in self._photos:
            self._analyses[key] = analysis

    def results(self) -> list[tuple[str, Any]]:
        """(key, result) of the analysed photos, in the order they were added."""
        return [(key, self._results[key]) for key in self._photos if key in self._results]

    def remove(self, key: str) -> None:
        self._photos.pop(key, None)
        self._results.pop(key, None)
        self._analyses.pop(key, None)

    def clear(self) -> None:
        self._photos.clear()
        self._results.clear()
        self._analyses.clear()

    def forget_results(self) -> None:
        """Drop every result (they may name someone just erased); the photos and their analyses, which
        name nobody, stay, to be named again."""
        self._results.clear()


def new_session_notice(counts: Mapping[str, int] | None) -> str | None:
    """What a new session says about what was kept, from the store's counts (readable while it is
    locked); None when there is no store, so nothing could have been kept. A store with neither a member nor a kept
    result gives NEW_SESSION_NOTHING_KEPT, which does not ask to unlock it for them."""
    if counts is None:
        return None
    if not counts.get("people", 0) and not counts.get("analyses", 0):
        return NEW_SESSION_NOTHING_KEPT
    return NEW_SESSION.format(members=plural(counts.get("people", 0), "member"),
                              results=plural(counts.get("analyses", 0), "kept result"))
