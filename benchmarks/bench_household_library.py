"""`unveil analyze` on a household's photo library, as a user runs it: throughput, peak memory, and what --resume
costs when every photo is done already. Printed as a table.

    .venv/bin/python benchmarks/bench_household_library.py [--photos 2000 20000] [--jobs 1]

The library is built in a temporary folder, deleted afterwards: N copies of 40 LFW photos (250x250 JPEGs) in
folders by year, month and event (names with spaces, accents and emoji), 50 a folder, with what such a library
also holds: a macOS ._NAME file beside every tenth photo, .xmp and .AAE sidecars, .DS_Store and Thumbs.db in every
folder, and one folder of oddities (an empty .jpg, a 2 GB sparse file named .jpg, a name with a line break and one
with a byte that is not UTF-8, a hard link, links to a file, to a folder, to itself and to nothing).

Each row is one fresh `python -m unveil.cli analyze LIBRARY -o results.jsonl --errors errors.csv` process; its peak
RSS is the kernel's ru_maxrss for it (model loading included). photos/s counts the photos analysed (the summary's
count) over the process's wall time. The resume column is a second process with --resume on the finished -o: every
photo is found done and none analysed again.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FACES = REPO.parent / "shared" / "data" / "faces"
EVENTS = ("Été à Zürich", "Noël chez Mamie", "🎂 Birthday", "Beach day", "école", "Ski trip ⛷", "Hochzeit Müller",
          "日本旅行", "misc")
PER_FOLDER = 50
APPLE_DOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(4000)


def build(root: Path, photos: int) -> None:
    """The library described above, `photos` copies in all."""
    sources = sorted(FACES.rglob("*.jpg"))[:40]
    done = 0
    while done < photos:
        index = done // PER_FOLDER
        year = 2005 + index % 20
        folder = root / "Photos" / str(year) / f"{year}-{index // 20 % 12 + 1:02d} {EVENTS[index % len(EVENTS)]}"
        folder.mkdir(parents=True, exist_ok=True)
        for number in range(done, min(done + PER_FOLDER, photos)):
            name = f"IMG_{number:05d}.JPG" if number % 4 else f"photo {number}.jpg"
            shutil.copy(sources[number % len(sources)], folder / name)
            if number % 10 == 0:
                (folder / f"._{name}").write_bytes(APPLE_DOUBLE)
            if number % 25 == 0:
                (folder / f"{Path(name).stem}.xmp").write_text("<x:xmpmeta/>")
                (folder / f"{Path(name).stem}.AAE").write_text("<plist/>")
        (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1" + bytes(2000))
        (folder / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0" + bytes(2000))
        done = min(done + PER_FOLDER, photos)
    odd = root / "Phone backup"
    odd.mkdir()
    shutil.copy(sources[0], odd / "line\nbreak.jpg")
    shutil.copy(sources[0], os.fsdecode(bytes(odd) + b"/caf\xe9.jpg"))
    shutil.copy(sources[0], odd / "😀 smile.jpeg")
    os.link(odd / "😀 smile.jpeg", odd / "hard link.jpeg")
    (odd / "empty.jpg").write_bytes(b"")
    with open(odd / "huge video.jpg", "wb") as stream:
        stream.truncate(2 * 1024**3)
    (odd / "link to photo.jpg").symlink_to("😀 smile.jpeg")
    (odd / "link to 2005").symlink_to(root / "Photos" / "2005")
    (odd / "loop").symlink_to("loop")
    (odd / "nowhere.jpg").symlink_to("/nonexistent/x.jpg")


def run(library: Path, output: Path, jobs: int, *options: str) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MiB, the summary's last line) of one `unveil analyze` process."""
    command = [sys.executable, "-m", "unveil.cli", "analyze", str(library), "-o", str(output), "--errors",
               str(output.with_name("errors.csv")), "--no-progress", "--jobs", str(jobs), *options]
    started = time.perf_counter()
    with open(output.with_name("stderr.txt"), "w") as err:
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)  # ru_maxrss: the child's peak RSS, KiB on Linux
    seconds = time.perf_counter() - started
    last = output.with_name("stderr.txt").read_text(encoding="utf-8", errors="replace").splitlines()[-1]
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"unveil analyze failed: {last}")
    return seconds, usage.ru_maxrss / 1024, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    print(f"| LFW copies | photos analysed | wall s | photos/s | peak RSS MiB | --resume, all done: s, peak MiB |  (--jobs {args.jobs})")
    print("|---|---|---|---|---|---|")
    for photos in args.photos:
        with tempfile.TemporaryDirectory(prefix="unveil-household-") as folder:
            library, output = Path(folder) / "library", Path(folder) / "results.jsonl"
            build(library, photos)
            seconds, peak, summary = run(library, output, args.jobs)
            analysed = int(re.search(r"(\d+) photo\(s\) analysed", summary).group(1))
            again, again_peak, _ = run(library, output, args.jobs, "--resume")
            print(f"| {photos:,} | {analysed:,} | {seconds:.0f} | {analysed / seconds:.1f} | {peak:.0f} | "
                  f"{again:.1f}, {again_peak:.0f} |", flush=True)


if __name__ == "__main__":
    main()
