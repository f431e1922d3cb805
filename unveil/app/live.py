"""The Live page's work on a webcam stream, without Streamlit: each frame analysed in memory and
returned with boxes, emotions and names drawn on it, and counters the page shows.

streamlit-webrtc hands frames to `LiveOverlay.process` on its own worker thread and drops frames that
arrive while one is being processed, so the stream stays live at whatever rate this machine analyses.
No frame is kept: only the latest faces (boxes, emotions, names) and the counters.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from fer_core.render import COLOURS, UNKNOWN, FaceLike

# No STUN or TURN server, for the browser and for this app: they connect over this machine's own
# addresses, no outside server learns of the stream, and frames never leave the machine. (Left unset,
# streamlit-webrtc would ask public STUN/TURN services.)
RTC_CONFIGURATION = {"iceServers": []}

# Frames per second are counted over this many seconds: long enough to even out one slow frame,
# short enough to follow a change (a second face, the machine getting busy).
RATE_WINDOW_S = 2.0


@dataclass(frozen=True)
class LiveStats:
    """What the page says under the video: frames processed so far, their rate over the last
    RATE_WINDOW_S, and the faces in the latest one with their labels."""

    frames: int
    frames_per_s: float
    labels: tuple[str, ...]


def face_label(face: FaceLike, *, recognition: bool) -> str:
    """"happy 87%" and, when the family gallery was consulted, the name or "unknown"."""
    parts = [] if face.emotion is None else [f"{face.emotion} {face.emotion_probs.get(face.emotion, 0.0):.0%}"]
    if recognition:
        parts.append(face.identity or UNKNOWN)
    return " · ".join(parts)


def draw_in_frame(frame: np.ndarray, boxes: Sequence[Sequence[float]], labels: Sequence[str]) -> np.ndarray:
    """A copy of the RGB frame, same size, with each (x, y, w, h) box outlined in its colour and its label
    on a tag above it (below when there is no room above): a video keeps its size, so the labels go
    inside the picture, not in a legend beside it."""
    picture = Image.fromarray(frame)
    pen = ImageDraw.Draw(picture)
    line = max(2, round(max(frame.shape[:2]) / 250))
    font = ImageFont.load_default(size=max(12, round(max(frame.shape[:2]) / 40)))
    for index, ((x, y, w, h), label) in enumerate(zip(boxes, labels)):
        colour = COLOURS[index % len(COLOURS)]
        pen.rectangle((x, y, x + w, y + h), outline=colour, width=line)
        if not label:
            continue
        left, top, right, bottom = font.getbbox(label)
        tag_h = bottom - top + 2 * line
        tag_y = y - tag_h if y - tag_h >= 0 else y + h
        pen.rectangle((x, tag_y, x + right - left + 2 * line, tag_y + tag_h), fill=colour)
        pen.text((x + line - left, tag_y + line - top), label, fill="white", font=font)
    return np.asarray(picture)


class LiveOverlay:
    """Analyses the frames of one webcam stream and draws the results onto them.

    `analyze` is the session's analyzer (fer_core.FaceAnalyzer.analyze with the family gallery bound,
    or without one); `recognition` says whether it names people. Thread-safe: the page reads `stats()`
    from the script thread while streamlit-webrtc calls `process` from its worker."""

    def __init__(self, analyze: Callable[[np.ndarray], Sequence[FaceLike]], *, recognition: bool,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._analyze = analyze
        self._recognition = recognition
        self._clock = clock
        self._lock = threading.Lock()
        self._frames = 0
        self._times: deque[float] = deque()
        self._labels: tuple[str, ...] = ()

    def process(self, frame: np.ndarray) -> np.ndarray:
        """The RGB frame with its faces drawn on it (a new array; the frame is not changed)."""
        faces = list(self._analyze(frame))
        labels = tuple(face_label(face, recognition=self._recognition) for face in faces)
        drawn = draw_in_frame(frame, [face.box for face in faces], labels)
        now = self._clock()
        with self._lock:
            self._frames += 1
            self._times.append(now)
            while self._times and self._times[0] < now - RATE_WINDOW_S:
                self._times.popleft()
            self._labels = labels
        return drawn

    def stats(self) -> LiveStats:
        with self._lock:
            times = list(self._times)
            rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0
            return LiveStats(self._frames, rate, self._labels)
