"""What making a file survive a power cut costs: a file written beside its name, then moved onto it by os.replace
alone (no sync: what the annotated copies and `--resume`'s rewrite did), by fer_core.store.replace_file (synced, then
renamed, then its folder synced) and by fer_core.store.place_new_file (synced, linked, folder synced: receipts, a
restored store, the API token). Each row: ROUNDS files of SIZE random bytes, in a temporary folder of FOLDER (default
/var/tmp: a disk, where /tmp may be memory), the time of writing and placing each, its median and its maximum.

    PYTHONPATH=. nice -n 19 .venv/bin/python benchmarks/durable_writes.py --size 300000
    PYTHONPATH=. nice -n 19 .venv/bin/python benchmarks/durable_writes.py --size 400
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fer_core.store import place_new_file, replace_file


def _times(folder: Path, payload: bytes, place: Callable[[Path, Path], None], rounds: int) -> list[float]:
    times = []
    for n in range(rounds):
        draft, target = folder / f".draft-{n}", folder / f"file-{n}"
        start = time.perf_counter()
        draft.write_bytes(payload)
        place(draft, target)
        times.append((time.perf_counter() - start) * 1000)
        target.unlink()
        draft.unlink(missing_ok=True)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=300_000, help="bytes per file (default: an annotated PNG's)")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--folder", default="/var/tmp")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="unveil-durable-", dir=args.folder))
    payload = os.urandom(args.size)
    try:
        print(f"| {args.size:,} bytes, {args.rounds} files | median ms | max ms |")
        print("|---|---:|---:|")
        for name, place in (("os.replace, unsynced", os.replace), ("replace_file", replace_file),
                            ("place_new_file", place_new_file)):
            times = _times(folder, payload, place, args.rounds)
            print(f"| {name} | {statistics.median(times):.2f} | {max(times):.2f} |")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
