"""How `unveil watch` names a stream in its log (on every failed open and reconnect): scheme, host, port
and path, and never a user, password, query or fragment, however the address is written."""
from __future__ import annotations

import itertools
import logging
import subprocess
import sys
import threading

import numpy as np
import pytest

from tests.support.paths import REPO
from unveil import clocks
from unveil.watch import source as watch_source
from unveil.watch.source import CAMERA, HIDDEN_STREAM, STREAM, Source, parse_source, stream_label

HIDDEN_RTSP = HIDDEN_STREAM.format(scheme="rtsp")


@pytest.mark.parametrize(("url", "label"), [
    ("rtsp://admin:p@ss@cam/", "rtsp://cam/"),  # the userinfo ends at the last '@'
    ("rtsp://admin:secret@192.168.1.9:554/live", "rtsp://192.168.1.9:554/live"),
    ("rtsp://cam:554/live?user=admin&pwd=secret", "rtsp://cam:554/live"),
    ("http://cam/video.cgi#token=secret", "http://cam/video.cgi"),
    ("RTSP://Admin:secret@Cam.local:8554/Live?pwd=secret#secret", "rtsp://Cam.local:8554/Live"),
    ("rtsp://u:secret@[fe80::1]:554/stream1", "rtsp://[fe80::1]:554/stream1"),
    ("rtsp://admin:se\ncret@cam/", "rtsp://cam/"),
    ("rtsp://cam.local/stream", "rtsp://cam.local/stream"),
    # A '/', '?' or '#' in the password ends the authority early: nothing but the scheme is shown.
    ("rtsp://admin:sec/ret@cam/live", HIDDEN_RTSP),
    ("rtsp://admin:123/secret@cam/live", HIDDEN_RTSP),
    ("rtsp://admin:sec?ret@cam/live", HIDDEN_RTSP),
    ("rtsp://admin:123?secret@cam", HIDDEN_RTSP),
    ("rtsp://admin:sec#ret@cam/", HIDDEN_RTSP),
    ("rtsp://admin:secret@cam:99999/live", HIDDEN_RTSP),
])
def test_a_stream_is_named_without_its_credentials(url, label):
    assert stream_label(url) == label
    assert str(parse_source(url)) == label


class _Closed:
    """A capture that never opens: a camera that is away."""

    def isOpened(self) -> bool:
        return False

    def release(self) -> None:
        pass


class _Waits(threading.Event):
    """A stop event that stops the loop after a few backoff waits, without sleeping."""

    def wait(self, timeout: float | None = None) -> bool:
        self.tries = getattr(self, "tries", 0) + 1
        return self.tries >= 3


def test_the_reconnect_messages_hold_no_secret(caplog):
    url = "rtsp://admin:p@ssw0rd@cam.local:554/h264?user=admin&pwd=s3cret#t0ken"
    with caplog.at_level(logging.DEBUG, logger="unveil.watch"):  # the tries after the first are debug lines
        assert list(watch_source.frames(Source(STREAM, url), stop=_Waits(), opener=lambda source: _Closed())) == []
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 3 and all("cannot open rtsp://cam.local:554/h264 " in m for m in messages)
    assert not [m for m in messages for secret in ("admin", "p@ss", "ssw0rd", "s3cret", "t0ken") if secret in m]


def test_a_camera_that_is_not_there_gets_our_message_not_opencvs_warnings():
    """`unveil watch --source 0` on a machine without that camera: OpenCV printed "[ WARN ...] can't open camera by
    index" and "OpenCV should be configured with libavdevice to open a camera device" beside the loop's own
    "cannot open camera 0", as if OpenCV had to be rebuilt. Camera 99 is absent on any machine."""
    script = ("from unveil.watch.source import CAMERA, Source, open_capture\n"
              "print(open_capture(Source(CAMERA, 99)).isOpened())")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr
    assert "WARN" not in result.stderr and "libavdevice" not in result.stderr


class _TwoFrames:
    """A camera that gives two frames, then fails a read."""

    def __init__(self) -> None:
        self.left = 2

    def isOpened(self) -> bool:
        return True

    def read(self):
        self.left -= 1
        return (True, np.zeros((4, 4, 3), np.uint8)) if self.left >= 0 else (False, None)

    def release(self) -> None:
        pass


def test_a_live_frame_s_time_counts_the_night_the_machine_slept(monkeypatch):
    """Read on time.monotonic (which stops in sleep on Linux and macOS), a laptop closed for 8 hours between two
    frames timed the second a moment after the first. The clock is the one that counts sleep (unveil.clocks)."""
    readings = iter([1000.0, 1000.5, 1000.5 + 8 * 3600])  # the loop's start, then each frame's
    monkeypatch.setattr(clocks, "since_boot", lambda: next(readings))
    frames = watch_source.frames(Source(CAMERA, 0), stop=threading.Event(), opener=lambda source: _TwoFrames())
    assert [frame.time_s for frame in itertools.islice(frames, 2)] == [0.5, 0.5 + 8 * 3600]


def test_a_stream_is_opened_with_timeouts_of_its_own_rather_than_opencvs_30_s(monkeypatch):
    """A camera hung with its connection open held OpenCV 30 s in open() and in each read() (measured by
    benchmarks/watch_hung_stream.py): everyone in view stayed "home" that long, and SIGTERM went unanswered."""
    import cv2

    made = []

    class _Made:
        def __init__(self, *args) -> None:
            made.append(args)

        def set(self, prop: int, value: float) -> bool:
            return True

    monkeypatch.setattr(cv2, "VideoCapture", _Made)
    watch_source.open_capture(Source(STREAM, "rtsp://cam.local/live"))
    ((url, backend, params),) = made
    timeout_ms = watch_source.STREAM_TIMEOUT_S * 1000
    assert (url, backend) == ("rtsp://cam.local/live", cv2.CAP_FFMPEG) and timeout_ms < 30_000
    assert dict(zip(params[::2], params[1::2])) == {cv2.CAP_PROP_OPEN_TIMEOUT_MSEC: timeout_ms,
                                                    cv2.CAP_PROP_READ_TIMEOUT_MSEC: timeout_ms}


class _Frames(_TwoFrames):
    def __init__(self, frames: int) -> None:
        self.left = frames


def test_a_camera_that_opens_but_sends_nothing_is_said_back_once_with_its_first_frame(caplog):
    """A camera that takes the connection and sends no frame (opened, then its read fails) was said "back" at every
    try: a warning each 30 s, all the while it was away."""
    captures = iter([_Frames(2), _Frames(0), _Frames(0), _Frames(0), _Frames(2)])
    stop = threading.Event()
    with caplog.at_level(logging.DEBUG, logger="unveil.watch"):
        got = list(itertools.islice(watch_source.frames(Source(CAMERA, 0), stop=stop, backoff_first_s=0.001,
                                                        opener=lambda source: next(captures)), 4))
    assert len(got) == 4
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "camera 0 stopped sending frames; reopening in 0 s", "camera 0 is back after 4 failed attempt(s)"]
