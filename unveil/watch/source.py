"""Where `unveil watch` reads frames: a camera (an index), a network stream (rtsp://, http://...) or a
video file, through OpenCV. A camera or stream that stops delivering frames is released and opened
again with exponential backoff, for as long as the loop runs; a file is read once, as fast as frames
can be processed, and its end ends the loop.
"""
from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import SplitResult, urlsplit

import numpy as np

from fer_core import UnveilError
from unveil import clocks

log = logging.getLogger("unveil.watch")

# The first retry waits this long, each further one twice as long, up to BACKOFF_MAX_S: a camera
# unplugged for a moment is back within a second or two, one gone for the night costs one try a half-minute.
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0

# How long opening a stream, or reading its next frame, may take before it counts as failed. OpenCV's own 30 s
# held the loop that long on a camera that hung with its connection open, everyone in view "home" meanwhile and
# SIGTERM unanswered; a camera on the household's network answers within a second or two
# (benchmarks/watch_hung_stream.py measures both).
STREAM_TIMEOUT_S = 10.0

CAMERA = "camera"
STREAM = "stream"
FILE = "file"

NO_FILE = "{path}: no such video file (a camera is a number, e.g. --source 0; a stream a URL)"
NOT_A_VIDEO = "{path}: cannot be read as a video (corrupt or an unsupported format)"
# How the log names a stream whose address cannot be told apart from its password (see stream_label).
HIDDEN_STREAM = "{scheme} stream (address not shown: it may hold a password)"
# What the log says of a live source's outage ({source}: Source.__str__, never with a stream's password).
CANNOT_OPEN = "cannot open {source} (attempt {attempt}); retrying in {delay:.0f} s"
STOPPED_SENDING = "{source} stopped sending frames; reopening in {delay:.0f} s"
BACK = "{source} is back after {failures} failed attempt(s)"

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


class SourceError(UnveilError, ValueError):
    """The --source cannot be read: a missing or unreadable video file."""


class Capture(Protocol):
    """What the loop needs of a cv2.VideoCapture (tests inject their own)."""

    def isOpened(self) -> bool: ...

    def read(self) -> tuple[bool, np.ndarray | None]: ...

    def get(self, prop: int) -> float: ...

    def release(self) -> None: ...


@dataclass(frozen=True)
class Source:
    """A parsed --source: `kind` (camera, stream or file) and what OpenCV opens (an int or a string)."""

    kind: str
    target: int | str

    @property
    def live(self) -> bool:
        return self.kind != FILE

    def __str__(self) -> str:
        """For logs: a stream by `stream_label`, never with its user, password or query."""
        if self.kind == STREAM:
            return stream_label(str(self.target))
        return f"camera {self.target}" if self.kind == CAMERA else str(self.target)


def stream_label(url: str) -> str:
    """What names a stream in the log: scheme, host, port and path. Never the user and password (the
    userinfo ends at the LAST '@' of the authority: rtsp://admin:p@ss@cam/), the query (IP cameras take
    ?user=admin&pwd=... too) or the fragment. A '/', '?' or '#' in a password ends the authority early
    (rtsp://admin:pa/ss@cam/ has host "admin" and port "pa"), so when an '@' is left after it, or the port
    is not a port, only the scheme is shown: HIDDEN_STREAM."""
    parts = urlsplit(url)
    if "@" in parts.path + parts.query + parts.fragment or not _port_is_valid(parts):
        return HIDDEN_STREAM.format(scheme=parts.scheme)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def _port_is_valid(parts: SplitResult) -> bool:
    try:
        parts.port  # noqa: B018 (reading it checks it: a number from 0 to 65535, or none)
    except ValueError:
        return False
    return True


def parse_source(text: str) -> Source:
    """"0" -> camera 0, "rtsp://..." -> stream, anything else -> a video file that must exist."""
    if re.fullmatch(r"[0-9]+", text.strip()):  # not isdigit(): it takes "²", which int() refuses
        return Source(CAMERA, int(text))
    if _URL.match(text):
        return Source(STREAM, text)
    if not Path(text).is_file():
        raise SourceError(NO_FILE.format(path=text))
    return Source(FILE, text)


def open_capture(source: Source) -> Capture:
    """The OpenCV capture of `source` (maybe not opened: the caller checks isOpened)."""
    import cv2

    # OpenCV's own warnings on a failed open ("can't open camera by index", "OpenCV should be configured with
    # libavdevice...") went to the terminal beside ours and read as if OpenCV had to be rebuilt; the loop says
    # "cannot open camera N" itself. Its errors still show.
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    if source.kind == CAMERA:
        capture = cv2.VideoCapture(int(source.target))
    elif source.kind == STREAM:
        timeout_ms = round(STREAM_TIMEOUT_S * 1000)
        capture = cv2.VideoCapture(str(source.target), cv2.CAP_FFMPEG, [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms])
    else:
        capture = cv2.VideoCapture(str(source.target), cv2.CAP_FFMPEG)
    if source.live:
        # Keep one frame queued, not the driver's default few: when a frame takes longer than the
        # camera's interval, the next one read is the newest, not one from seconds ago.
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
    return capture


@dataclass(frozen=True)
class Frame:
    """One frame read: BGR pixels as OpenCV gives them, and its time in seconds (the file's timestamp,
    or for a live source the time since the loop started, counting the time the machine slept)."""

    bgr: np.ndarray
    time_s: float


def frames(
    source: Source,
    *,
    stop: threading.Event,
    opener: Callable[[Source], Capture] = open_capture,
    clock: Callable[[], float] | None = None,
    backoff_first_s: float = BACKOFF_FIRST_S,
    backoff_max_s: float = BACKOFF_MAX_S,
    on_failure: Callable[[], None] | None = None,
) -> Iterator[Frame]:
    """Frames of `source` until it ends (a file) or `stop` is set.

    A live source that cannot be opened, or fails a read, is released and opened again after
    `backoff_first_s`, doubling up to `backoff_max_s`; the wait ends early when `stop` is set. The first
    failure of each outage and its recovery are warnings, the tries between debug lines (with the source's address,
    never its password). A file that cannot be opened raises SourceError. `on_failure` is called after each failure
    of a live source, before its wait: no frame comes meanwhile, and what follows frames (who is in view) must not
    wait for the next one.

    A live frame's time is read on `clock` (None: unveil.clocks.since_boot), which counts the time the machine sleeps:
    time.monotonic stops in sleep, and a laptop closed for the night would wake with its frames timed a moment after
    the night's last: the JSON Lines' time_s and event times would lose the night."""
    clock = clock or clocks.since_boot
    start = clock()
    delay = backoff_first_s
    failures = 0
    while not stop.is_set():
        capture = opener(source)
        try:
            if not capture.isOpened():
                if not source.live:
                    raise SourceError(NOT_A_VIDEO.format(path=source.target))
                failures += 1
                log.log(_failure_level(failures), CANNOT_OPEN.format(source=source, attempt=failures, delay=delay))
            else:
                read_any = False
                for bgr, file_time_s in _read_all(capture, source):
                    # Back with a frame, not with the open: a camera that takes the connection and sends nothing
                    # would be "back" at every try of its outage.
                    if failures:
                        log.warning(BACK.format(source=source, failures=failures))
                    read_any = True
                    failures, delay = 0, backoff_first_s
                    yield Frame(bgr, file_time_s if file_time_s is not None else clock() - start)
                    if stop.is_set():
                        return
                if not source.live:
                    if not read_any:
                        raise SourceError(NOT_A_VIDEO.format(path=source.target))
                    return
                failures += 1
                log.log(_failure_level(failures), STOPPED_SENDING.format(source=source, delay=delay))
        finally:
            capture.release()
        if on_failure is not None and not stop.is_set():
            on_failure()
        if stop.wait(delay):
            return
        delay = min(backoff_max_s, delay * 2)


def _failure_level(failures: int) -> int:
    """A failure is said once per outage, its first; the tries after it only in the debug log, and the recovery
    says how many there were. A camera off for ten hours, tried every BACKOFF_MAX_S, wrote 1,200 warnings."""
    return logging.WARNING if failures == 1 else logging.DEBUG


def _read_all(capture: Capture, source: Source) -> Iterator[tuple[np.ndarray, float | None]]:
    """(BGR frame, file time in s or None for a live source) until a read fails."""
    import cv2

    index = 0
    fps = capture.get(cv2.CAP_PROP_FPS) if not source.live else 0.0
    while True:
        ok, bgr = capture.read()
        if not ok or bgr is None:
            return
        time_s = None
        if not source.live:
            time_s = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if (not math.isfinite(time_s) or (time_s <= 0 and index > 0)) and fps and math.isfinite(fps):
                time_s = index / fps  # some containers state no timestamps
            time_s = round(time_s, 3)
        index += 1
        yield bgr, time_s

