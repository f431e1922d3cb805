"""The camera loop: frames from the source, faces from the live tracker, lines and messages to the
sinks, recognitions to the audit log, until the source ends or `stop` is set."""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2

from fer_core.live import APPEAR, NAMED, LiveEvent, LiveFrame, LiveTracker
from unveil.watch.source import Capture, Source, frames, open_capture


class Sink(Protocol):
    def frame(self, frame: LiveFrame) -> None: ...

    def events(self, events: list[LiveEvent], frame: int) -> None: ...

    def close(self) -> None: ...

    def forget(self, person_ids: frozenset[str]) -> None:
        """These members may no longer be named (erased, or their consent ended)."""

    def source_state(self, seeing: bool, frame: int, time_s: float) -> None:
        """The live source was lost after `frame` (seeing False: the camera cannot see), or is back with `frame`."""


class Household(Protocol):
    """unveil.watch.household.Household, as the loop uses it."""

    def departed(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class WatchSummary:
    frames: int
    appearances: int
    last_time_s: float


def recognised(events: Sequence[LiveEvent]) -> list[str | None]:
    """The faces of these events compared with the gallery, once per appearance, as the member's id or
    None: each new face (named or not), and a face already counted that got its name later in its visit."""
    return [e.person_id for e in events if e.kind == APPEAR or e.kind == NAMED]


def watch(
    source: Source,
    tracker: LiveTracker,
    sinks: Sequence[Sink],
    *,
    stop: threading.Event,
    on_recognition: Callable[[list[str | None]], None] | None = None,
    household: Household | None = None,
    opener: Callable[[Source], Capture] = open_capture,
    backoff_first_s: float | None = None,
) -> WatchSummary:
    """Run until `source` ends (a file) or `stop` is set; then everyone still in view leaves and the
    sinks are closed. `on_recognition(person_ids)` is called for the faces compared with the gallery (see
    `recognised`) in each frame that has some: governance.recognition_tally.RecognitionTally.count, which sums
    them into one audit entry a period and never raises for a busy or locked store, so the camera goes on.
    `household` (the tracker's `identify`) is asked before each frame who left the gallery: faces
    named after them lose the name, and the sinks forget them.

    A live source that fails (unplugged, a stream gone or silent) ends every visit at once, at the last frame's
    time, and the sinks are told (`Sink.source_state`) then and again with the first frame after it is back. Nobody
    was seen meanwhile, and a camera away for hours would otherwise keep everyone in view until it returned: the
    household's presence sensors "home" all along. `household` is still asked at each reopening attempt, so a
    member erased meanwhile is forgotten without waiting for a frame."""
    count, appearances, time_s, index = 0, 0, 0.0, -1
    seeing = True  # until the source fails: MQTT says "online" from the start
    backoff = {} if backoff_first_s is None else {"backoff_first_s": backoff_first_s}

    def failed() -> None:
        nonlocal seeing
        if household is not None:
            _unname(household.departed(), tracker, sinks)
        if not seeing:
            return
        seeing = False
        gone = tracker.finish(time_s)
        # As at the end: a sink that fails keeps no other from its events (see below); the error still propagates.
        with contextlib.ExitStack() as telling:
            for sink in sinks:
                telling.callback(sink.events, gone, index)
                # Runs first: MQTT's "offline" before the states the leaves set "away", which Home Assistant would
                # otherwise take, for a moment, as everyone leaving home (an automation's trigger).
                telling.callback(sink.source_state, False, index, time_s)

    try:
        for frame in frames(source, stop=stop, opener=opener, on_failure=failed, **backoff):
            if household is not None:
                _unname(household.departed(), tracker, sinks)
            time_s = frame.time_s
            result = tracker.step(cv2.cvtColor(frame.bgr, cv2.COLOR_BGR2RGB), time_s)
            index, count = result.index, count + 1
            if not seeing:
                seeing = True
                for sink in sinks:
                    sink.source_state(True, index, time_s)
            appearances += sum(e.kind == APPEAR for e in result.events)
            # Counted before the sinks write: faces compared with the gallery are logged even when an output
            # then fails (a full disk, a reader gone) and stops the loop.
            person_ids = recognised(result.events)
            if person_ids and on_recognition is not None:
                on_recognition(person_ids)
            for sink in sinks:
                sink.frame(result)
    finally:
        final = tracker.finish(time_s)
        # Every sink gets the final events and is closed even when another one fails (a closed stdout
        # must not keep MQTT from saying everyone left and going offline); the error still propagates.
        with contextlib.ExitStack() as closing:
            for sink in sinks:
                closing.callback(sink.close)
                closing.callback(sink.events, final, index)  # runs before that sink's close
    return WatchSummary(count, appearances, time_s)


def _unname(person_ids: frozenset[str], tracker: LiveTracker, sinks: Sequence[Sink]) -> None:
    """Faces named after these members become unknown (the tracker compares them with the gallery again
    at their next detection), and the sinks forget them."""
    if not person_ids:
        return
    tracker.unname(person_ids)
    for sink in sinks:
        sink.forget(person_ids)
