"""What counting recognitions writes to the family store: audit entries and bytes for N photos with a member and a
stranger, counted per photo (family.count_recognitions: what `unveil serve` did before, as `unveil watch` and the Live
page did per appearance, and the Analyze and Video pages do per batch of photos or video) or summed per period
(governance.recognition_tally.RecognitionTally: what `unveil serve`, `unveil watch` and the Live page do now).

    .venv/bin/python benchmarks/bench_recognition_counts.py [--photos 1800] [--every 2] [--period 60]

A fresh store (fast scrypt) on a clock that moves `--every` seconds a photo, as a Home Assistant automation posting a
camera snapshot every 2 s; one enrolled member. Bytes: the audit rows' columns as stored (seq, ts, event, person id,
details, hashes, MAC), and the growth of unveil.db after a WAL checkpoint. A day: the figures scaled to 86,400 s.
"""
from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fer_core.store import DATA_FILE, FamilyStore  # noqa: E402 (after the path: run from anywhere)
from governance import family  # noqa: E402
from governance.consent import ConsentRecord, store_now  # noqa: E402
from governance.recognition_tally import RecognitionTally  # noqa: E402
from tests.support.privacy_harness import new_store  # noqa: E402
from tests.support.store import FakeClock  # noqa: E402

AUDIT_BYTES = ("SELECT count(*), coalesce(sum(8 + 8 + length(event) + coalesce(length(person_id), 0) + length(details)"
               " + length(prev_hash) + length(hash) + coalesce(length(mac), 0)), 0) FROM audit WHERE seq > ?")


def _size(store: FamilyStore) -> int:
    path = store.data_dir / DATA_FILE
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path.stat().st_size


def run(mode: str, photos: int, every_s: float, period_s: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        clock = FakeClock(time.time())
        with new_store(Path(folder) / "store", clock=clock) as store:
            record = ConsentRecord.new(subject="Member", purpose="benchmark", days=365, scope="recognition",
                                       now=store_now(store))
            member = family.enroll(store, "Member", np.ones((2, 16), np.float32), record).person_id
            seq, size = store.audit_entries()[-1].seq, _size(store)
            tally = RecognitionTally(store, period_s=period_s)
            count: Callable[[list[str | None]], None] = (
                (lambda ids: family.count_recognitions(store, ids)) if mode == "per photo" else tally.count)
            started = time.perf_counter()
            for _ in range(photos):
                count([member, None])
                clock.now += every_s
            tally.flush()  # the server's shutdown
            wall = time.perf_counter() - started
            with sqlite3.connect(store.data_dir / DATA_FILE) as conn:
                entries, row_bytes = conn.execute(AUDIT_BYTES, (seq,)).fetchone()
            conn.close()
            grown = _size(store) - size
            faces = sum(e.details["faces"] for e in store.audit_entries() if e.event == "recognise" and e.seq > seq)
    day = 86400 / (photos * every_s)
    return {"entries": entries, "row_bytes": row_bytes, "db_growth": grown, "faces": faces,
            "entries_day": entries * day, "mb_day": row_bytes * day / 1e6, "ms_photo": wall / photos * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=1800, help="photos counted (1800: an hour at one every 2 s)")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between photos on the store's clock")
    parser.add_argument("--period", type=float, default=60.0, help="the tally's period in seconds")
    args = parser.parse_args()
    print(f"{args.photos} photos, one every {args.every:g} s, 2 faces each (1 named)\n")
    print("| counting | audit entries | audit bytes (rows) | unveil.db growth | faces logged | entries a day "
          "| MB a day (rows) | ms a photo |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for mode in ("per photo", f"summed per {args.period:g} s"):
        r = run(mode, args.photos, args.every, args.period)
        print(f"| {mode} | {r['entries']:,} | {r['row_bytes']:,} | {r['db_growth']:,} | {r['faces']:,} "
              f"| {r['entries_day']:,.0f} | {r['mb_day']:.2f} | {r['ms_photo']:.2f} |")


if __name__ == "__main__":
    main()
