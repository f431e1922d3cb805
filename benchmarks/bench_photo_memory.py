"""Peak resident memory of `unveil analyze` on big photos, printed as a table.

    .venv/bin/python benchmarks/bench_photo_memory.py [--photo FACE.jpg] [--sizes 12 24 48] [--jobs 1 2] [--repeat 8]

Each photo is an LFW face photo upscaled (bicubic) to N megapixels at 4:3 and saved as a JPEG
(quality 90) in a temporary folder that is deleted afterwards. Every row is one fresh
`python -m unveil.cli analyze` process (JSON Lines to /dev/null); its peak RSS is the kernel's
ru_maxrss for that process, so model loading, decoding and analysis are all counted. With --jobs N the
process analyses N names of the photo, N at a time. The "models only" row is the same process started on
a 64x48 photo: what loading Python and the models costs before any big photo. Faces found are
printed beside each row: a big photo must still give its face.

With --repeat N (N > 1) each row's process analyses N names of the photo instead, `--jobs` at a time: what
analysing big photos again and again levels off at (ONNX Runtime's memory arena keeps what it grew for the
largest shapes seen; fer_core._onnx turns it off, docs/reports/photo_memory.md).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parent.parent
PHOTO = REPO.parent / "shared" / "data" / "faces" / "Colin_Powell" / "Colin_Powell_0001.jpg"
JPEG_QUALITY = 90


def make_photo(source: Path, megapixels: float, folder: Path) -> Path:
    """`source` upscaled to about `megapixels` at 4:3 (centre-cropped to that shape), as a JPEG in `folder`."""
    width = round((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = width * 3 // 4
    with Image.open(source) as image:
        image = image.convert("RGB")
        side = min(image.width, image.height * 4 // 3)
        left, top = (image.width - side) // 2, (image.height - side * 3 // 4) // 2
        big = image.crop((left, top, left + side, top + side * 3 // 4)).resize((width, height), Image.BICUBIC)
    path = folder / f"photo_{megapixels:g}mp.jpg"
    big.save(path, quality=JPEG_QUALITY)
    return path


def measure(photos: list[Path], jobs: int, folder: Path) -> tuple[float, float, list[int]]:
    """(peak RSS in MiB, wall seconds, faces per photo) of one `unveil analyze` process."""
    command = [sys.executable, "-m", "unveil.cli", "analyze", *map(str, photos), "--jobs", str(jobs), "--no-progress"]
    out_path, err_path = folder / "out.jsonl", folder / "err.txt"
    started = time.perf_counter()
    with open(out_path, "w") as out, open(err_path, "w") as err:
        process = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=err)
        # wait4 reaps the child and returns its resource usage: ru_maxrss is its peak RSS (KiB on Linux).
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"unveil analyze failed ({process.returncode}):\n{err_path.read_text()}")
    faces = [len(json.loads(line)["faces"]) for line in out_path.read_text().splitlines()]
    return usage.ru_maxrss / 1024, seconds, faces


def _link(photo: Path, number: int) -> Path:
    """Another name for the same file: `unveil analyze` reads each path once."""
    copy = photo.with_name(f"{photo.stem}_{number}{photo.suffix}")
    os.link(photo, copy)
    return copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=PHOTO, help="a real face photo to upscale")
    parser.add_argument("--sizes", type=float, nargs="+", default=[12, 24, 48], help="megapixels (default 12 24 48)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1], help="--jobs values to measure (default 1)")
    parser.add_argument("--repeat", type=int, default=0,
                        help="analyse N names of each photo in one process, --jobs at a time (default: --jobs names)")
    args = parser.parse_args()

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; photo {args.photo.name}")
    print(f"{'photo':>12} {'pixels':>11} {'jobs':>4} {'photos':>6} {'peak RSS MiB':>12} {'seconds':>8}  faces")
    with tempfile.TemporaryDirectory(prefix="unveil-bench-memory-") as tmp:
        folder = Path(tmp)
        tiny = folder / "tiny.jpg"
        Image.new("RGB", (64, 48), (128, 128, 128)).save(tiny)
        rss, seconds, faces = measure([tiny], 1, folder)
        print(f"{'models only':>12} {64 * 48:>11,} {1:>4} {1:>6} {rss:>12.0f} {seconds:>8.1f}  {faces}")
        for megapixels in args.sizes:
            photo = make_photo(args.photo, megapixels, folder)
            with Image.open(photo) as image:
                pixels = image.width * image.height
            for jobs in args.jobs:
                copies = [photo, *(_link(photo, i) for i in range(1, args.repeat or jobs))]
                rss, seconds, faces = measure(copies, jobs, folder)
                print(f"{megapixels:>10g}MP {pixels:>11,} {jobs:>4} {len(copies):>6} {rss:>12.0f} {seconds:>8.1f}  {faces}")
                for copy in copies[1:]:
                    copy.unlink()
            photo.unlink()


if __name__ == "__main__":
    main()
