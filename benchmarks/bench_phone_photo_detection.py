"""The detector on phone-sized photos: what a smallest face relative to the photo (FaceDetector's
min_face_fraction) saves in time and what it misses. Printed as a Markdown table.

    python -m tests.support.group_photos --out /tmp/unveil_group_photos
    python benchmarks/bench_phone_photo_detection.py --photos /tmp/unveil_group_photos [--fractions 0 0.02 0.03]

Each composited group photo (every --stride-th) is placed on a 4000x3000 grey canvas, as a phone would
frame it: scaled (Lanczos) to fill the canvas' width ("near"), and to a third of it ("far": the faces
are then about 30-120 px, around the sizes the fraction rule leaves out). The analyzer's detector
(40 px minimum face, neck check, one thread) runs on each with every --fractions value; false detections
and misses are counted as in bench_group_photos.py (IoU >= 0.4, each true box matched once), and the
detector's wall time per photo is the median of --repeats runs.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from fer_core.analyzer import DEFAULT_MIN_FACE_SIZE
from fer_core.detection import FaceDetector

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_group_photos import Count, count

CANVAS = (4000, 3000)
FRAMINGS = {"near": 1.0, "far": 1 / 3}


def framed(photo: Image.Image, truth: list[list[float]], share: float) -> tuple[np.ndarray, list[list[float]]]:
    """`photo` scaled to `share` of the canvas' width (at most its height), centred; its boxes moved along."""
    scale = min(CANVAS[0] * share / photo.width, CANVAS[1] / photo.height)
    size = (round(photo.width * scale), round(photo.height * scale))
    canvas = Image.new("RGB", CANVAS, (196, 200, 204))
    left, top = (CANVAS[0] - size[0]) // 2, (CANVAS[1] - size[1]) // 2
    canvas.paste(photo.resize(size, Image.Resampling.LANCZOS), (left, top))
    boxes = [[x * scale + left, y * scale + top, w * scale, h * scale] for x, y, w, h in truth]
    return np.asarray(canvas), boxes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, required=True, help="output folder of tests.support.group_photos")
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.0, 0.02, 0.03])
    parser.add_argument("--stride", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    truth = json.loads((args.photos / "truth.json").read_text())
    names = sorted(truth)[::args.stride]
    detectors = {f: FaceDetector(min_face_size=DEFAULT_MIN_FACE_SIZE, neck_check=True, min_face_fraction=f)
                 for f in args.fractions}
    print(f"{len(names)} group photos on a {CANVAS[0]}x{CANVAS[1]} canvas; detector: {DEFAULT_MIN_FACE_SIZE:g} px "
          f"minimum face, neck check, 1 thread; time: median of {args.repeats} runs\n")
    print("| framing | smallest true face (px) | min_face_fraction | smallest face searched (px) | faces | "
          "false detections | misses | detector s/photo (median) |")
    print("|---|---|---|---|---|---|---|---|")
    for framing, share in FRAMINGS.items():
        photos = [framed(Image.open(args.photos / name).convert("RGB"),
                         [face["box"] for face in truth[name]["faces"]], share) for name in names]
        smallest = min(min(b[2] for b in boxes) for _, boxes in photos)
        for fraction, detector in detectors.items():
            total, times = Count(0, 0, 0, 0), []
            for image, boxes in photos:
                runs = []
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    faces = detector.detect(image)
                    runs.append(time.perf_counter() - start)
                times.append(statistics.median(runs))
                total += count([face.box for face in faces], boxes)
            searched = max(DEFAULT_MIN_FACE_SIZE, fraction * min(CANVAS))
            print(f"| {framing} | {smallest:.0f} | {fraction:g} | {searched:.0f} | {total.true} | {total.false} | "
                  f"{total.missed} | {statistics.median(times):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
