"""The Live page's work on a webcam stream, without Streamlit: faces followed on every frame
(fer_core.live.LiveTracker: detection on some frames, optical flow between, emotions smoothed over
about a second), drawn onto the frame, and counters the page shows.

streamlit-webrtc hands frames to `LiveOverlay.process` on its own worker thread and drops frames that
arrive while one is being processed, so the stream stays live at whatever rate this machine reaches.
No frame is kept: only the tracker's faces, the counters, and the names to count in the audit log.
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from fer_core.live import APPEAR, NAMED, LiveTracker
from fer_core.render import COLOURS, UNKNOWN, haloed_patch, ink, label_font, outlined_box
from fer_core.store import FamilyStore
from governance.recognition_tally import RecognitionTally
from unveil import clocks

# No STUN or TURN server, for the browser and for this app: they connect over this machine's own
# addresses, no outside server learns of the stream, and frames never leave the machine. (Left unset,
# streamlit-webrtc would ask public STUN/TURN services.)
RTC_CONFIGURATION = {"iceServers": []}
# What the Live page says of it. The app listens on its own computer only (launch.SETTINGS "server.address"), but a
# browser on another device reaches it through an SSH tunnel (README, "Using the app from another device"), and the
# WebRTC stream does not take the tunnel: it goes over UDP straight between browser and app across the home network,
# encrypted (DTLS-SRTP). The page cannot tell the two apart (a tunnelled connection is a local one), so it says both.
VIDEO_STAYS_HERE = ("Your webcam's frames are analysed in memory on the computer running Unveil and never saved. The "
                    "video goes straight between this browser and Unveil, encrypted, through no outside server: it "
                    "stays on that computer when the browser is on it, and crosses your home network when the browser "
                    "is on another device.")
# The WebRTC component reports a missing or refused camera in the browser's own words, in its frame; the page
# says beforehand what those words mean.
NO_CAMERA = ("Press START and let the browser use the camera. \"Requested device not found\" means the browser "
             "finds no camera on this computer, and \"Permission denied\" that it was not allowed to use it: "
             "photos and videos can still be analysed on the Analyze and Video pages.")

# Frames per second are counted over this many seconds: long enough to even out one slow frame,
# short enough to follow a change (a second face, the machine getting busy).
RATE_WINDOW_S = 2.0

# glibc keeps what the stream's threads free, in up to 8 arenas per core (16 on a 2-core machine, all in use from the
# first minute): a 640x480 frame (900 KiB in RGB) is taken from them, not mapped on its own, once glibc has raised its
# mmap threshold past a frame's size (it does so when the first such block is freed). Each arena then holds what its
# busiest moment needed, free but resident: with STOP/START every 20 s, glibc's heaps went from 191 to 464 MiB in 30
# minutes while 90-140 MiB of them was allocated, and the resident memory from 387 to 570-650 MiB (docs/reports/soak.md).
# Given back every TRIM_EVERY_S while a stream plays, and when one has stopped.
TRIM_EVERY_S = 60.0


@dataclass(frozen=True)
class LiveStats:
    """What the page says under the video: frames processed so far, their rate over the last
    RATE_WINDOW_S, and the faces in the latest one with their labels."""

    frames: int
    frames_per_s: float
    labels: tuple[str, ...]


def face_label(emotion: str | None, probabilities: Mapping[str, float], identity: str | None, *,
               recognition: bool) -> str:
    """"happy 87%" and, when the family gallery was consulted, the name or "unknown"."""
    parts = [] if emotion is None else [f"{emotion} {probabilities.get(emotion, 0.0):.0%}"]
    if recognition:
        parts.append(identity or UNKNOWN)
    return " · ".join(parts)


def draw_in_frame(frame: np.ndarray, boxes: Sequence[Sequence[float]], labels: Sequence[str]) -> np.ndarray:
    """A copy of the RGB frame, same size, with each (x, y, w, h) box outlined in its colour and its label
    on a tag above it (below when there is no room above): a video keeps its size, so the labels go
    inside the picture, not in a legend beside it."""
    picture = Image.fromarray(frame)
    pen = ImageDraw.Draw(picture)
    line = max(2, round(max(frame.shape[:2]) / 250))
    font = label_font(max(12, round(max(frame.shape[:2]) / 40)))
    for index, ((x, y, w, h), label) in enumerate(zip(boxes, labels)):
        colour = COLOURS[index % len(COLOURS)]
        outlined_box(pen, (x, y, x + w, y + h), colour, line)
        if not label:
            continue
        left, top, right, bottom = font.getbbox(label)
        tag_h = bottom - top + 2 * line
        tag_y = y - tag_h if y - tag_h >= 0 else y + h
        haloed_patch(pen, (x, tag_y, x + right - left + 2 * line, tag_y + tag_h), colour, line)
        pen.text((x + line - left, tag_y + line - top), label, fill=ink(colour), font=font)  # as render._tag
    return np.asarray(picture)


class LiveOverlay:
    """Follows the faces of one webcam stream and draws them onto its frames.

    `tracker` is a fresh fer_core.live.LiveTracker for this stream (with the household's gallery when it
    names people: `recognition`). `departed()`, asked before each frame, says who left the gallery since
    (unveil.watch.household.Household.departed: erased in another tab or by the CLI, or their consent ended
    while the stream plays): faces named after them lose the name at once. Thread-safe: the page reads `stats()` and `take_recognitions()` from the script thread while
    streamlit-webrtc calls `process` from its worker.

    `retire()` lets go of the tracker (and with it the household's gallery), `departed` and the recognitions not
    yet taken, for good: a retired overlay hands frames back as they came. The page retires the overlay of its
    previous run, and locking the store retires the current one, because aiortc may keep an overlay reachable for
    the life of the process (retire's comment)."""

    def __init__(self, tracker: LiveTracker, *, recognition: bool,
                 departed: Callable[[], frozenset[str]] | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self._tracker: LiveTracker | None = tracker
        self._recognition = recognition
        self._departed = departed
        # Frames are timed on a clock that counts the machine's sleep (time.monotonic stops in it): a stream that
        # plays on after the laptop wakes has a gap of the night, in which everyone in view left (LiveTracker.step).
        self._clock = clock or clocks.since_boot
        self._lock = threading.Lock()
        self._frames = 0
        self._times: deque[float] = deque()
        self._labels: tuple[str, ...] = ()
        self._recognised: list[str | None] = []

    @property
    def recognition(self) -> bool:
        """Whether faces are compared with the family gallery (and named)."""
        return self._recognition

    def process(self, frame: np.ndarray) -> np.ndarray:
        """The RGB frame with its faces drawn on it (a new array; the frame is not changed); once retired, the
        frame itself."""
        with self._lock:
            tracker, departed = self._tracker, self._departed
        if tracker is None:
            return frame
        now = self._clock()
        if departed is not None:
            tracker.unname(departed())
        live = tracker.step(frame, now)
        labels = tuple(face_label(face.emotion, face.probabilities, face.identity, recognition=self._recognition)
                       for face in live.faces)
        drawn = draw_in_frame(frame, [face.box for face in live.faces], labels)
        with self._lock:
            if self._tracker is None:  # retired while this frame was worked on: nothing of it is kept
                return drawn
            self._frames += 1
            self._times.append(now)
            while self._times and self._times[0] < now - RATE_WINDOW_S:
                self._times.popleft()
            self._labels = labels
            if self._recognition:
                # Counted once per appearance, as `unveil watch` does: a new face, or one named later.
                self._recognised += [event.person_id for event in live.events if event.kind in (APPEAR, NAMED)]
        return drawn

    def retire(self) -> None:
        """Let go of the tracker, `departed` and the recognitions not yet taken; `process` then hands frames back
        unchanged (a frame streamlit-webrtc's worker had already begun is drawn, and nothing of it kept).

        Why: aiortc 1.16.0's process-wide MediaRelay drops a subscription only once a frame was read through it, so a
        WebRTC connection that ends before its video flows keeps streamlit-webrtc 0.79's track, its
        CallbackAttachableProcessor, the page run's `_on_frame` and that run's globals, this overlay among them,
        for the life of the process (docs/reports/soak.md, the Live page). Retired, the overlay there holds no
        member's name or embedding and no tracker."""
        with self._lock:
            self._tracker = None
            self._departed = None
            self._recognised = []
            self._labels = ()

    def stats(self) -> LiveStats:
        with self._lock:
            times = list(self._times)
            rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0
            return LiveStats(self._frames, rate, self._labels)

    def take_recognitions(self) -> list[str | None]:
        """The faces compared with the gallery since the last call (a member's id, or None for unknown), for the
        page to count in the audit log (`while_playing`), not streamlit-webrtc's worker: a write must not hold up a
        frame."""
        with self._lock:
            taken, self._recognised = self._recognised, []
        return taken


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    return getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc's; musl has none


def give_back_freed_memory() -> bool:
    """Asks the C library to return the pages it holds free to the system (glibc's malloc_trim(0)): True if it
    could be asked (Linux with glibc), False elsewhere."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


def while_playing(playing: Callable[[], bool], overlay: LiveOverlay, store: FamilyStore | None,
                  each: Callable[[], None], *, every_s: float = 0.5) -> None:
    """The page's loop while the stream plays: `each()` (the status line, the day's sweep), then the recognitions
    the overlay took since, every `every_s` seconds. They are summed into one "recognise" entry a minute
    (governance.recognition_tally, as `unveil watch` and `unveil serve` count), not one per appearance, when `store`
    (this session's unlocked store) is given. What is counted is written when the loop ends, however it ends: the
    stream stopped (STOP), or Streamlit stopping the script for a rerun or the session's end (by an exception at its
    next call, in `each`). Every TRIM_EVERY_S the memory the C library holds free is given back
    (give_back_freed_memory)."""
    tally = RecognitionTally(store) if store is not None else None
    trimmed_at = time.monotonic()
    with tally.running() if tally is not None else contextlib.nullcontext():
        while playing():
            each()
            recognised = overlay.take_recognitions()
            if recognised and tally is not None:
                tally.count(recognised)
            if time.monotonic() - trimmed_at >= TRIM_EVERY_S:
                give_back_freed_memory()
                trimmed_at = time.monotonic()
            time.sleep(every_s)
