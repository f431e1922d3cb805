"""What it costs the Live page to keep frames out of glibc's heaps (docs/reports/soak.md, the Live page).

The page's work on one frame, as streamlit-webrtc runs it: to_ndarray, LiveOverlay.process (fer_core.live.LiveTracker
with the app's models, no gallery), from_ndarray, then the reformat to yuv420p that aiortc's VP8 encoder makes, over a
640x480 clip of an LFW photo gliding to and fro; in a process of its own for each setting, CPU time per frame (user
and system) and the minor page faults, from getrusage, after 60 frames of warm-up:

    PYTHONPATH=. nice -n 19 .venv/bin/python benchmarks/bench_live_mmap_threshold.py --frames 400

"dynamic" is glibc's default (its mmap threshold rises to the largest block freed, so frames come from its heaps);
a number fixes the threshold at that many bytes (mallopt(M_MMAP_THRESHOLD)), so that every frame-sized block is
mapped on its own and given back when freed, at the price of the page faults of mapping it afresh.
"""
from __future__ import annotations

import argparse
import ctypes
import math
import os
import resource
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

FACE = REPO.parent / "shared" / "data" / "faces" / "Colin_Powell" / "Colin_Powell_0001.jpg"
M_MMAP_THRESHOLD = -3  # glibc's malloc.h


def measure(threshold: int, frames: int) -> str:
    import av
    import numpy as np
    from PIL import Image

    from fer_core.analyzer import FaceAnalyzer
    from fer_core.detection import FaceDetector
    from fer_core.live import LiveTracker
    from unveil.app.live import LiveOverlay

    if threshold and ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, threshold) != 1:
        raise SystemExit("mallopt(M_MMAP_THRESHOLD) refused: not glibc?")
    models = FaceAnalyzer()
    # The Live page's detector (unveil.app.widgets.live_detector).
    tracker = LiveTracker(detect=FaceDetector(min_face_size=20, neck_check=True).detect,
                          emotion_model=models.emotion_model, identify=None)
    overlay = LiveOverlay(tracker, recognition=False)
    face = np.asarray(Image.open(FACE).convert("RGB").resize((240, 240)))
    clip = []
    for index in range(120):
        canvas = np.full((480, 640, 3), 200, np.uint8)
        left = 200 + round(150 * math.sin(2 * math.pi * index / 120))
        canvas[120:360, left:left + 240] = face
        clip.append(av.VideoFrame.from_ndarray(canvas, format="rgb24").reformat(format="yuv420p"))

    def run(count: int) -> None:
        for index in range(count):
            drawn = overlay.process(clip[index % len(clip)].to_ndarray(format="rgb24"))
            av.VideoFrame.from_ndarray(drawn, format="rgb24").reformat(format="yuv420p")

    run(60)
    before = resource.getrusage(resource.RUSAGE_SELF)
    run(frames)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return (f"| {threshold or 'dynamic'} | {1000 * (after.ru_utime - before.ru_utime) / frames:.1f} | "
            f"{1000 * (after.ru_stime - before.ru_stime) / frames:.1f} | "
            f"{(after.ru_minflt - before.ru_minflt) / frames:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--thresholds", default="0,262144,131072",
                        help="bytes, 0 for glibc's dynamic threshold; each run twice, in turn (default 0,262144,131072)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child process: this threshold only
    args = parser.parse_args()
    if args.one is not None:
        print(measure(args.one, args.frames), flush=True)
        return
    print(f"The Live page's work on a 640x480 frame, {args.frames} frames; cores {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.2f}\n")
    print("| mmap threshold | user ms/frame | system ms/frame | minor page faults/frame |\n|---|---:|---:|---:|")
    for _ in range(2):
        for threshold in (int(t) for t in args.thresholds.split(",")):
            subprocess.run([sys.executable, __file__, "--frames", str(args.frames), "--one", str(threshold)],
                           check=True)


if __name__ == "__main__":
    main()
