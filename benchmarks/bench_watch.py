"""Benchmark of `unveil watch`'s loop on a 640x480 video of real LFW photos moving about, as a table.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_watch.py                 # frames/s, several settings
    PYTHONPATH=. nice .venv/bin/python benchmarks/bench_watch.py --memory --frames 60000   # RSS over time

Speed: the whole loop (decode, tracker, JSON Lines written to /dev/null) over a 20 s, 30 frames/s video
(600 frames): one person circling all along, a second walking in for 8 s. Rows: the default settings;
detection on every frame (what the loop avoids); with a family gallery naming the faces. Frames/s is
wall-clock; CPU ms/frame is this process's CPU time (all threads), what a frame costs whatever else
the machine runs. The load average is printed: other work on the machine slows every number.

Memory: the same video looped (timestamps continued) through the real loop for --frames frames,
with resident memory (RSS) sampled every 1000 frames; start is after the first 1000 frames (models
loaded, buffers warm), and the slope is fitted over the rest.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fer_core.detection import FaceDetector  # noqa: E402 (after the path: run from anywhere)
from fer_core.emotion import EmotionModel  # noqa: E402
from fer_core.live import LiveTracker  # noqa: E402
from tests.support.watch_video import Walker, room_video  # noqa: E402
from unveil.watch.loop import watch  # noqa: E402
from unveil.watch.records import JsonLinesSink  # noqa: E402
from unveil.watch.source import FILE, Source  # noqa: E402

FACES = REPO.parent / "shared" / "data" / "faces"
MEMBER, STRANGER = "Colin_Powell", "Serena_Williams"
FPS, SECONDS = 30, 20.0


def make_video(folder: Path) -> Path:
    path = folder / "room.mp4"
    room_video([Walker(FACES / MEMBER / f"{MEMBER}_0001.jpg", (190, 240)),
                Walker(FACES / STRANGER / f"{STRANGER}_0001.jpg", (450, 240), enter_s=6.0, exit_s=14.0)],
               path, seconds=SECONDS, fps=FPS)
    return path


def identify_with_gallery(detector: FaceDetector):
    """(rgb, landmarks) -> match over an in-memory gallery of the member (4 photos), as the store gives it."""
    from fer_core.identity import Gallery, embed_enrollment_photos, load_embedding_model
    from fer_core.images import load_image
    from fer_core.live import identifier

    model = load_embedding_model(threads=1)
    photos = {str(p): load_image(p) for p in (FACES / MEMBER / f"{MEMBER}_{n:04d}.jpg" for n in range(2, 6))}
    gallery = Gallery({"Colin Powell": embed_enrollment_photos(photos, detect=detector.detect, model=model)},
                      threshold=model.threshold, distance=model.distance)
    return identifier(gallery, model)


class _Looping:
    """A capture of a video file that starts again at its end, its timestamps continuing, and sets
    `stop` after `frames` frames: an hour of camera from a 20 s file."""

    def __init__(self, path: Path, frames: int, stop: threading.Event) -> None:
        self._capture = cv2.VideoCapture(str(path))
        self._left, self._stop = frames, stop
        self._offset_s, self._last_s = 0.0, 0.0

    def isOpened(self) -> bool:
        return self._capture.isOpened()

    def read(self):
        self._left -= 1
        if self._left <= 0:
            self._stop.set()
        ok, bgr = self._capture.read()
        if not ok:
            self._offset_s = self._last_s + 1 / FPS
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, bgr = self._capture.read()
        return ok, bgr

    def get(self, prop: int) -> float:
        value = self._capture.get(prop)
        if prop == cv2.CAP_PROP_POS_MSEC:
            self._last_s = self._offset_s + value / 1000
            return self._last_s * 1000
        return value

    def release(self) -> None:
        self._capture.release()


class _RssSampler:
    """A sink that samples this process's resident memory every `every` frames."""

    def __init__(self, every: int = 1000) -> None:
        self.every, self.samples = every, []  # (frame, MiB)

    def frame(self, frame) -> None:
        if frame.index % self.every == 0:
            self.samples.append((frame.index, rss_mib()))

    def events(self, events, frame: int) -> None:
        pass

    def close(self) -> None:
        pass


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def run_speed(video: Path, repeats: int) -> None:
    detector = FaceDetector(min_face_size=20, threads=1, neck_check=True)
    emotion = EmotionModel(threads=1)
    identify = identify_with_gallery(detector)
    settings = {
        "default (detect 1 frame in 5, emotion 1 in 3)": {},
        "detect every frame": {"detect_every": 1},
        "default + family gallery (names)": {"identify": identify},
    }
    print(f"640x480 video, {int(SECONDS * FPS)} frames, 1-2 faces; cores {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.2f}; median of {repeats} run(s)\n")
    print("| settings | frames/s | ms/frame (wall) | CPU ms/frame | real time at 30 frames/s |")
    print("|---|---:|---:|---:|---|")
    for label, extra in settings.items():
        walls, cpus = [], []
        for _ in range(repeats):
            tracker = LiveTracker(detect=detector.detect, emotion_model=emotion, **extra)
            with open(os.devnull, "w") as sink:
                wall, cpu = time.perf_counter(), time.process_time()
                summary = watch(Source(FILE, str(video)), tracker, [JsonLinesSink(sink)], stop=threading.Event())
                walls.append((time.perf_counter() - wall) / summary.frames)
                cpus.append((time.process_time() - cpu) / summary.frames)
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        print(f"| {label} | {1 / wall:.1f} | {wall * 1000:.1f} | {cpu * 1000:.1f} | {'yes' if wall < 1 / 30 else 'no'} |")


def run_memory(video: Path, frames: int) -> None:
    detector = FaceDetector(min_face_size=20, threads=1, neck_check=True)
    tracker = LiveTracker(detect=detector.detect, emotion_model=EmotionModel(threads=1),
                          identify=identify_with_gallery(detector))
    stop = threading.Event()
    sampler = _RssSampler()
    started = time.perf_counter()
    with open(os.devnull, "w") as sink:
        summary = watch(Source(FILE, str(video)), tracker, [JsonLinesSink(sink), sampler], stop=stop,
                        opener=lambda source: _Looping(video, frames, stop))
    elapsed = time.perf_counter() - started
    warm = [(f, m) for f, m in sampler.samples if f >= 1000]
    slope = np.polyfit([f for f, _ in warm], [m for _, m in warm], 1)[0] * 100_000 if len(warm) > 2 else float("nan")
    print(f"{summary.frames} frames ({summary.last_time_s / 60:.1f} min of video at {FPS} frames/s) in "
          f"{elapsed / 60:.1f} min, {summary.appearances} appearances; load average {os.getloadavg()[0]:.2f}\n")
    print("| RSS after model load (MiB) | at frame 1000 (start) | end | max | slope after frame 1000 (MiB / 100k frames) |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {sampler.samples[0][1]:.1f} | {warm[0][1]:.1f} | {sampler.samples[-1][1]:.1f} | "
          f"{max(m for _, m in sampler.samples):.1f} | {slope:+.2f} |")
    print("\nframe, RSS MiB: " + ", ".join(f"{f}: {m:.1f}" for f, m in sampler.samples[:: max(1, len(sampler.samples) // 12)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memory", action="store_true", help="RSS over a long looped run instead of frames/s")
    parser.add_argument("--frames", type=int, default=60_000, help="frames of the memory run (default 60000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per speed row (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        video = make_video(Path(folder))
        if args.memory:
            run_memory(video, args.frames)
        else:
            run_speed(video, args.repeats)


if __name__ == "__main__":
    main()
