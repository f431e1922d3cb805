"""How long `unveil watch` waits on a network camera that hangs with its connection open: a table.

    .venv/bin/python benchmarks/watch_hung_stream.py

Two cameras of its own on localhost, each a TCP server that keeps every connection open:
- "open": accepts and never answers (an IP camera hung while booting), opened as rtsp://;
- "read": an MJPEG stream over HTTP (http://) that sends 3 frames, then nothing more (a camera frozen mid-stream).
For each, the seconds OpenCV's FFMPEG backend blocks in VideoCapture() or in the read after the last frame, with
OpenCV's own timeouts and with unveil.watch.source.open_capture's (STREAM_TIMEOUT_S). Then "SIGTERM": the signal sent
to this process 1 s into such an open, and how long until Python ran its handler (the loop's stop): not before
OpenCV returns. Nothing leaves the machine. About 2 minutes.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import threading
import time
from collections.abc import Callable

import cv2
import numpy as np

from unveil.watch.source import STREAM, Source, open_capture

FRAMES_BEFORE_SILENCE = 3


def _camera(answers: bool) -> tuple[socket.socket, int]:
    """A server on a free port: silent, or sending FRAMES_BEFORE_SILENCE MJPEG frames then nothing; every
    connection is held open until the process ends."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    jpeg = cv2.imencode(".jpg", np.zeros((120, 160, 3), np.uint8))[1].tobytes()

    def serve() -> None:
        while True:
            connection, _ = server.accept()
            held.append(connection)
            if answers:
                connection.recv(4096)
                connection.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\n\r\n")
                for _ in range(FRAMES_BEFORE_SILENCE):
                    connection.sendall(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                                       % len(jpeg) + jpeg + b"\r\n")

    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1]


def _blocked_open(opener: Callable[[str], cv2.VideoCapture]) -> tuple[float, str]:
    _, port = _camera(answers=False)
    start = time.monotonic()
    capture = opener(f"rtsp://127.0.0.1:{port}/live")
    seconds = time.monotonic() - start
    outcome = "opened" if capture.isOpened() else "not opened"
    capture.release()
    return seconds, outcome


def _blocked_read(opener: Callable[[str], cv2.VideoCapture]) -> tuple[float, str]:
    _, port = _camera(answers=True)
    capture = opener(f"http://127.0.0.1:{port}/video.mjpg")
    if not capture.isOpened():
        return float("nan"), "not opened"
    for _ in range(FRAMES_BEFORE_SILENCE):
        capture.read()
    start = time.monotonic()
    ok, _ = capture.read()
    seconds = time.monotonic() - start
    capture.release()
    return seconds, "a frame" if ok else "failed"


def _signal_during_open(opener: Callable[[str], cv2.VideoCapture]) -> tuple[float, str]:
    _, port = _camera(answers=False)
    handled: list[float] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: handled.append(time.monotonic()))
    start = time.monotonic()
    threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM)).start()
    try:
        opener(f"rtsp://127.0.0.1:{port}/live").release()
        while not handled and time.monotonic() - start < 5:  # the handler runs at the next bytecode
            time.sleep(0.01)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return (handled[0] - start - 1.0, "handled") if handled else (float("nan"), "not handled")


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    openers = {"OpenCV's defaults": lambda url: cv2.VideoCapture(url, cv2.CAP_FFMPEG),
               "open_capture (unveil watch)": lambda url: open_capture(Source(STREAM, url))}
    print(f"OpenCV {cv2.__version__}")
    print(f"| {'capture':<28} | {'case':<36} | blocked (s) | outcome |")
    print(f"|{'-' * 30}|{'-' * 38}|-------------|---------|")
    for name, opener in openers.items():
        for case, measure in (("open: connection accepted, no answer", _blocked_open),
                              ("read: stream silent after 3 frames", _blocked_read),
                              ("SIGTERM 1 s into that open", _signal_during_open)):
            seconds, outcome = measure(opener)
            print(f"| {name:<28} | {case:<36} | {seconds:11.1f} | {outcome} |", flush=True)


if __name__ == "__main__":
    main()
