"""Benchmark of the analysis core, printed as a table against the product's
latency targets (detection <= 60 ms and analyze() <= 80 ms median on 640x480, on 2 CPU cores).

    .venv/bin/python benchmarks/bench_analysis.py [--emotion-model PATH] [--repeats 30] [--cli-images 1000]

- Detection: the ONNX cascade with the package's settings (min face 20 px) and with the analyzer's
  (40 px), against the PyPI `mtcnn` package (TensorFlow), interleaved call by call so that both see
  the same machine load. Photos: LFW photos scaled and centre-cropped to 640x480, 512x512 and
  1280x720, one face each.
- analyze(): the whole FaceAnalyzer call on the 640x480 photo, without and with the identity model, and on
  a 640x480 frame without a face (the photo's background corner enlarged), where the detector's tight-crop
  retry runs too (fer_core.detection.TIGHT_CROP_PAD), with and without that retry.
- Cold start (import + loading every shipped model) and resident memory after loading, each in a fresh
  process (median of 3).
- Runtime install size: every file of the distributions `unveil` needs without extras, from their
  RECORD files in this environment, and whether TensorFlow is among them.
- `unveil analyze` throughput on a temporary folder of --cli-images copies of the shared LFW photos.

Medians of --repeats calls after a warm-up. The load average is printed: other work on the machine
slows every number, so compare columns of one run, not runs.
"""
from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
FACES = REPO.parent / "shared" / "data" / "faces"
PHOTO = FACES / "Colin_Powell" / "Colin_Powell_0001.jpg"
SIZES = ((640, 480), (512, 512), (1280, 720))


def photo(width: int, height: int) -> np.ndarray:
    """The LFW photo scaled to cover width x height and centre-cropped: one face, realistic texture."""
    with Image.open(PHOTO) as image:
        rgb = np.asarray(image.convert("RGB"))
    side = max(width, height)
    big = cv2.resize(rgb, (side, side), interpolation=cv2.INTER_CUBIC)
    top, left = (side - height) // 2, (side - width) // 2
    return np.ascontiguousarray(big[top:top + height, left:left + width])


def background(width: int, height: int) -> np.ndarray:
    """The LFW photo's top-left corner (background, no face) enlarged to width x height."""
    with Image.open(PHOTO) as image:
        corner = np.asarray(image.convert("RGB"))[:60, :60]
    return np.ascontiguousarray(cv2.resize(corner, (width, height), interpolation=cv2.INTER_CUBIC))


def median_ms(fns: dict, repeats: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) milliseconds of each callable, calls interleaved so they share the machine's load.

    CPU time is this process's (all its threads): what a call costs whatever else the machine runs.
    """
    for fn in fns.values():
        fn()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    return {name: (statistics.median(w for w, _ in t) * 1000, statistics.median(c for _, c in t) * 1000)
            for name, t in times.items()}


def _ms(pair: tuple[float, float]) -> str:
    return f"{pair[0]:.1f} ms ({pair[1]:.1f})"


def bench_detection(repeats: int, reference: bool) -> list[tuple]:
    from fer_core.detection import FaceDetector

    exact = FaceDetector(threads=1)
    analyzer_setting = FaceDetector(min_face_size=40, threads=1)
    package = None
    if reference:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        from mtcnn import MTCNN

        package = MTCNN()
    rows = []
    for width, height in SIZES:
        rgb = photo(width, height)
        # Each lambda is timed within this iteration, so it binds this iteration's photo by default argument.
        fns = {"exact": lambda rgb=rgb: exact.detect(rgb), "fast": lambda rgb=rgb: analyzer_setting.detect(rgb)}
        if package is not None:
            fns["package"] = lambda rgb=rgb: package.detect_faces(rgb)
        result = median_ms(fns, repeats)
        faces = (len(exact.detect(rgb)), len(analyzer_setting.detect(rgb)))
        rows.append((f"{width}x{height}", f"{faces[0]}/{faces[1]} faces", result["exact"], result["fast"],
                     result.get("package")))
    return rows


def bench_analyze(emotion_model: Path | None, repeats: int) -> dict[str, tuple[float, float]]:
    from fer_core.analyzer import FaceAnalyzer, default_detector

    rgb, empty = photo(640, 480), background(640, 480)
    without = FaceAnalyzer(emotion_model=emotion_model, identity_model=False)
    fns = {"emotion only": lambda: without.analyze(rgb)}
    with_identity = FaceAnalyzer(emotion_model=emotion_model)
    if with_identity.identity_model is not None:
        fns["emotion + identity embedding"] = lambda: with_identity.analyze(rgb)
    no_retry = default_detector()
    no_retry.tight_crop_retry = False
    fns["no face in the frame"] = lambda: without.analyze(empty)
    fns["no face in the frame, without the tight-crop retry"] = lambda: no_retry.detect(empty)
    assert len(without.analyze(rgb)) == 1 and without.analyze(empty) == []
    return median_ms(fns, repeats)


_COLD_START = """
import time
started, cpu = time.perf_counter(), time.process_time()
from fer_core.analyzer import FaceAnalyzer
analyzer = FaceAnalyzer(emotion_model={model!r})
loaded, loaded_cpu = time.perf_counter() - started, time.process_time() - cpu
rss = int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1]) / 1024
print(loaded, loaded_cpu, rss, analyzer.identity_model is not None)
"""


def bench_cold_start(emotion_model: Path | None) -> tuple[float, float, float, bool]:
    runs = []
    for _ in range(3):
        code = _COLD_START.format(model=None if emotion_model is None else str(emotion_model))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
        seconds, cpu, rss, identity = out.stdout.split()
        runs.append((float(seconds), float(cpu), float(rss), identity == "True"))
    return (*(statistics.median(r[i] for r in runs) for i in range(3)), runs[0][3])


def runtime_install() -> tuple[float, list[tuple[str, float]], bool]:
    """MB on disk of `unveil` and every distribution it requires without extras (transitively)."""
    from packaging.requirements import Requirement

    seen: dict[str, float] = {}
    todo = ["unveil"]
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue  # an optional platform-specific requirement that is not installed here
        size = 0
        for file in dist.files or []:
            path = Path(dist.locate_file(file))
            if path.is_file():
                size += path.stat().st_size
        seen[name] = size / 1e6
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    biggest = sorted(seen.items(), key=lambda kv: -kv[1])[:6]
    has_tf = any(n.startswith("tensorflow") or n in ("keras", "tf2onnx", "mtcnn") for n in seen)
    return sum(seen.values()), biggest, has_tf


def bench_cli(emotion_model: Path | None, count: int, jobs: int) -> tuple[float, int]:
    sources = sorted(FACES.glob("*/*.jpg"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        for i in range(count):
            shutil.copy(sources[i % len(sources)], folder / f"{i:04d}.jpg")
        out = Path(tmp) / "out.jsonl"
        command = [sys.executable, "-m", "unveil.cli", "analyze", str(folder), "-o", str(out),
                   "--no-progress", "--jobs", str(jobs)]
        if emotion_model is not None:
            command += ["--emotion-model", str(emotion_model)]
        started = time.perf_counter()
        subprocess.run(command, check=True, cwd=REPO)
        seconds = time.perf_counter() - started
        lines = out.read_text().splitlines()
        faces = sum(len(json.loads(line)["faces"]) for line in lines)
        assert len(lines) == count
    return count / seconds, faces


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emotion-model", type=Path, default=None,
                        help="emotion ONNX model (default: the shipped models/emotion_vgg16.onnx)")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--cli-images", type=int, default=1000)
    parser.add_argument("--skip-reference", action="store_true", help="do not time the mtcnn package")
    parser.add_argument("--skip-cli", action="store_true")
    args = parser.parse_args()

    load_before = os.getloadavg()
    print(f"CPU cores: {os.cpu_count()}; load average before: {load_before[0]:.1f} (1 min)")
    emotion_name = (args.emotion_model or Path("models/emotion_vgg16.onnx")).name
    print(f"emotion model: {emotion_name}\n")

    det = bench_detection(args.repeats, reference=not args.skip_reference)
    print("median wall ms (CPU ms of this process in brackets)\n")
    print("| detection (1 face) | faces (20 px / 40 px) | ONNX, min face 20 (package settings) "
          "| ONNX, min face 40 (analyzer) | mtcnn package | wall speed-up at 20 / 40 |")
    print("|---|---|---|---|---|---|")
    for size, faces, exact, fast, package in det:
        ratio = f"{package[0] / exact[0]:.1f}x / {package[0] / fast[0]:.1f}x" if package else "-"
        print(f"| {size} | {faces} | {_ms(exact)} | {_ms(fast)} | {_ms(package) if package else '-'} | {ratio} |")
    print("target: detection <= 60 ms median on 640x480; >= 3x faster than the package\n")

    analyze = bench_analyze(args.emotion_model, args.repeats)
    print("| analyze(), 640x480 | median |")
    print("|---|---|")
    for name, pair in analyze.items():
        print(f"| {name} | {_ms(pair)} |")
    print("target: <= 80 ms median\n")

    seconds, cpu, rss, identity = bench_cold_start(args.emotion_model)
    models = "MTCNN + emotion" + (" + identity" if identity else "")
    print("| cold start (fresh process) | measured | target |")
    print("|---|---|---|")
    print(f"| import + load {models} | {seconds:.2f} s ({cpu:.2f} s CPU) | <= 1.5 s |")
    print(f"| resident memory after loading | {rss:.0f} MB | <= 400 MB |\n")

    total, biggest, has_tf = runtime_install()
    print(f"runtime install (unveil + its requirements, no extras): {total:.0f} MB on disk; "
          f"TensorFlow/keras/tf2onnx/mtcnn in it: {'YES' if has_tf else 'no'}")
    print("largest: " + ", ".join(f"{n} {mb:.0f} MB" for n, mb in biggest) + "\n")

    if not args.skip_cli:
        print(f"| unveil analyze, {args.cli_images} LFW photos (250x250), end to end | photos/s | faces found |")
        print("|---|---|---|")
        for jobs in (1, 2):
            rate, faces = bench_cli(args.emotion_model, args.cli_images, jobs)
            print(f"| --jobs {jobs} | {rate:.1f} | {faces} |")
    print(f"\nload average after: {os.getloadavg()[0]:.1f} (1 min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
