"""What switching ONNX Runtime's CPU memory arena off (fer_core._onnx) costs in time and saves in memory,
printed as a table.

    .venv/bin/python benchmarks/bench_onnx_arena.py [--photo FACE.jpg] [--rounds 2]

Each row is one fresh process building a FaceAnalyzer (detector with the analyzer's settings, shipped emotion
model, no identity model) with the arena off (as shipped) or on (onnxruntime's default), then timing
analyze() on a 640x480 photo (20 calls) and on four 12-megapixel shapes in turn (4000x3000, 3000x4000,
4032x3024, 3600x2700; three rounds, the first four calls left out as warm-up). The photo is `--photo`
(default: the public-domain portrait in tests/fixtures) resized; peak is the process's ru_maxrss and resident
its VmRSS after the last call. Processes alternate off, on, off, on ... so both see the same machine load.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PHOTO = REPO / "tests" / "fixtures" / "public_domain" / "grace_hopper.jpg"
BIG_SHAPES = ((4000, 3000), (3000, 4000), (4032, 3024), (3600, 2700))
SMALL_SHAPE = (640, 480)


def measure(photo: Path, arena: bool) -> dict[str, float]:
    """One configuration, in this process: median ms on the small and the big photos, peak and resident MiB."""
    import numpy as np
    from PIL import Image

    from fer_core.analyzer import FaceAnalyzer
    from fer_core.detection import FaceDetector
    from fer_core.model_files import ort

    shipped = ort.InferenceSession

    def session(*args, sess_options, **kwargs):  # the package's options, but for the arena
        sess_options.enable_cpu_mem_arena = arena
        return shipped(*args, sess_options=sess_options, **kwargs)

    ort.InferenceSession = session
    analyzer = FaceAnalyzer(detector=FaceDetector(min_face_size=40, neck_check=True))
    with Image.open(photo) as image:
        image = image.convert("RGB")
        small = np.asarray(image.resize(SMALL_SHAPE))
        big = [np.asarray(image.resize(shape)) for shape in BIG_SHAPES]
    small_s = _timed(analyzer, [small] * 22)[2:]
    big_s = _timed(analyzer, big * 3)[len(BIG_SHAPES):]
    resident = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines()
                    if line.startswith("VmRSS:"))
    return {"small_ms": statistics.median(small_s) * 1000, "big_ms": statistics.median(big_s) * 1000,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "resident_mib": resident / 1024}


def _timed(analyzer, images) -> list[float]:
    seconds = []
    for image in images:
        start = time.perf_counter()
        analyzer.analyze(image)
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=PHOTO)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", choices=("on", "off"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.photo, arena=args.child == "on")))
        return
    print("| arena | round | 640x480 ms | 12 MP ms | peak MiB | resident after MiB |")
    print("|---|---|---|---|---|---|")
    for round_number in range(1, args.rounds + 1):
        for arena in ("off", "on"):
            out = subprocess.run([sys.executable, __file__, "--photo", str(args.photo), "--child", arena],
                                 cwd=REPO, check=True, capture_output=True, text=True).stdout
            row = json.loads(out.strip().splitlines()[-1])
            label = f"{arena} (shipped)" if arena == "off" else f"{arena} (onnxruntime's default)"
            print(f"| {label} | {round_number} | {row['small_ms']:.0f} | {row['big_ms']:.0f} | "
                  f"{row['peak_mib']:.0f} | {row['resident_mib']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
