"""The audit log after years of use: how many entries a camera loop writes, and what a log of 100k or 1M entries
costs (docs/reports/audit_log_growth.md).

    PYTHONPATH=. nice -n 19 .venv/bin/python benchmarks/bench_audit_growth.py watch [--minutes 3]
    PYTHONPATH=. nice -n 19 .venv/bin/python benchmarks/bench_audit_growth.py grow --entries 1000 100000 1000000

watch: the real `unveil watch` loop (unveil.watch.loop.watch with the tracker and household `unveil watch` builds)
over a room video (tests.support.watch_video) of a household minute repeated: a member who stays, is hidden for
1.5 s (less than the tracker's 3 s --leave-after), leaves for 10 s and comes back; a second member who walks through
twice; a stranger who walks through once. Each call the loop makes to count recognitions is recorded with the video's
time, then replayed into two fresh stores on a clock that moves with the video: counted per appearance
(family.count_recognitions, what `unveil watch` and the Live page did) and summed per minute
(governance.recognition_tally.RecognitionTally). A day: the figures per minute of the video scaled to the hours a
day someone is in view (--busy-hours).

grow: a store (fast scrypt) whose log holds N entries over a year, written through the audit-log API as `unveil
watch` wrote them per appearance before cb063db (family.count_recognitions, one member named or one stranger, batched 1000 to a
transaction only to build it faster: the entries are the same) with a "sweep" entry a day as its daily sweep
writes, the last of them now. Then each command the household runs, in a fresh process under /usr/bin/time: `unveil
audit verify` (unlocked and --no-unlock), `unveil family list`, and the app (app.py run by Streamlit's AppTest): the
store unlocked on the Family page (the click until the page is drawn: the unlock, its retention sweep, the page),
then the Governance page drawn; and the retention sweep alone (`sweep`, run as the app's unlock runs it), with the
longest time a connection of its own found unveil.db's write lock held meanwhile (tried every 5 ms): how long another
session's write waits for it. The commands' seconds include the interpreter's start and imports; the app's are
timed inside it; memory is /usr/bin/time's maximum resident set size (for the app: of the whole process).

--compare DIR measures each store again with the code of another commit (git archive COMMIT | tar -x -C DIR; cp
benchmarks/bench_audit_growth.py DIR/benchmarks/): a row for each, one after the other, on the same store.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_recognition_counts import AUDIT_BYTES  # noqa: E402 (after the path: run from anywhere)
from benchmarks.soak import FACES, MEMBER, STRANGER, consent, embeddings_of, make_family  # noqa: E402
from fer_core.store import DATA_FILE, FamilyStore  # noqa: E402
from governance import audit_log, family  # noqa: E402
from governance.consent import ConsentRecord, store_now  # noqa: E402
from tests.support.privacy_harness import PASSPHRASE, new_store  # noqa: E402
from tests.support.store import FakeClock  # noqa: E402

SECOND_MEMBER = "Tiger_Woods"
DAY_S = 86400.0


# ---------------------------------------------------------------------------------------------------- watch

def household_minute(minutes: int) -> list:
    """The walkers of `minutes` household minutes (see the module's docstring), one Walker per visit."""
    from tests.support.watch_video import Walker

    member, second, stranger = (FACES / who / f"{who}_0001.jpg" for who in (MEMBER, SECOND_MEMBER, STRANGER))
    walkers = []
    for m in range(minutes):
        at = 60.0 * m
        walkers += [Walker(member, (170, 240), enter_s=at, exit_s=at + 20.0),
                    Walker(member, (170, 240), enter_s=at + 21.5, exit_s=at + 35.0),
                    Walker(member, (170, 240), enter_s=at + 45.0, exit_s=at + 60.0 if m < minutes - 1 else at + 59.0),
                    Walker(second, (470, 200), enter_s=at + 10.0, exit_s=at + 18.0, period_s=6.0),
                    Walker(second, (470, 200), enter_s=at + 40.0, exit_s=at + 52.0, period_s=6.0),
                    Walker(stranger, (450, 300), enter_s=at + 25.0, exit_s=at + 32.0, radius=(60.0, 40.0))]
    return walkers


class _Clocked:
    """A sink that keeps the time of the frame the loop is on (the loop counts recognitions after the sinks)."""

    time_s = 0.0

    def frame(self, frame) -> None:
        self.time_s = frame.time_s

    def events(self, events, frame: int) -> None:
        pass

    def close(self) -> None:
        pass

    def forget(self, person_ids) -> None:
        pass


def record_watch(root: Path, minutes: int) -> tuple[list[tuple[float, list[str | None]]], int, int]:
    """Run the real loop over the household video: the recognition calls it made ((video s, ids)), frames,
    appearances."""
    import threading

    from fer_core.detection import FaceDetector
    from fer_core.emotion import EmotionModel
    from fer_core.identity import load_embedding_model
    from fer_core.live import LiveTracker
    from tests.support.watch_video import room_video
    from unveil.watch.household import Household
    from unveil.watch.loop import watch
    from unveil.watch.source import FILE, Source

    data, key = make_family(root)
    embeddings, model = embeddings_of(SECOND_MEMBER, range(2, 6))
    with FamilyStore(data) as store:
        store.unlock(key_file=key)
        family.enroll(store, "Tiger Woods", embeddings, consent("Tiger Woods"), model=model)
    video = root / "household.mp4"
    room_video(household_minute(minutes), video, seconds=60.0 * minutes, fps=15)
    calls: list[tuple[float, list[str | None]]] = []
    clocked = _Clocked()
    with FamilyStore(data) as store:
        store.unlock(key_file=key)
        # As `unveil watch` builds them with its default settings (unveil.cli.watch._tracker).
        household = Household(store, load_embedding_model(threads=1))
        tracker = LiveTracker(detect=FaceDetector(min_face_size=20, threads=1, neck_check=True).detect,
                              emotion_model=EmotionModel(threads=1), identify=household)
        summary = watch(Source(FILE, str(video)), tracker, [clocked], stop=threading.Event(),
                        on_recognition=lambda ids: calls.append((clocked.time_s, list(ids))), household=household)
    return calls, summary.frames, summary.appearances


def replay(calls: list[tuple[float, list[str | None]]], seconds: float, mode: str, folder: Path) -> tuple[int, int]:
    """The recorded calls written to a fresh store as `mode` counts them: (entries, bytes of their rows)."""
    from governance.recognition_tally import RecognitionTally

    clock = FakeClock(time.time())
    start = clock.now
    with new_store(folder, clock=clock) as store:
        ids = {}
        for n, pid in enumerate(sorted({pid for _, named in calls for pid in named if pid})):
            record = ConsentRecord.new(subject=f"Member {n}", purpose="benchmark", days=365, scope="recognition",
                                       now=store_now(store))
            ids[pid] = family.enroll(store, f"Member {n}", np.ones((2, 16), np.float32), record).person_id
        seq = store.audit_entries()[-1].seq
        tally = RecognitionTally(store, period_s=60)
        for at, named in calls:
            clock.now = start + at
            mapped = [ids[pid] if pid else None for pid in named]
            if mode == "per appearance":
                family.count_recognitions(store, mapped)
            else:
                tally.count(mapped)
        clock.now = start + seconds
        tally.flush()  # the loop's end
        with contextlib.closing(sqlite3.connect(store.data_dir / DATA_FILE)) as conn:
            entries, row_bytes = conn.execute(AUDIT_BYTES, (seq,)).fetchone()
    return entries, row_bytes


def run_watch(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        started = time.perf_counter()
        calls, frames, appearances = record_watch(root, args.minutes)
        wall = time.perf_counter() - started
        seconds = 60.0 * args.minutes
        rows = [(mode, *replay(calls, seconds, mode, root / mode.replace(" ", "_")))
                for mode in ("per appearance", "summed per 60 s")]
    per_day = args.busy_hours * 60 / args.minutes
    print(f"{args.minutes} min of household video (15 frames/s), {frames} frames in {wall:.0f} s, "
          f"{appearances} appearances, {len(calls)} recognition calls; a day: {args.busy_hours:g} h in view\n")
    print("| counting | entries | bytes (rows) | bytes an entry | entries a day | MB a day | entries a year "
          "| MB a year |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for mode, entries, row_bytes in rows:
        print(f"| {mode} | {entries} | {row_bytes:,} | {row_bytes / max(entries, 1):.0f} | {entries * per_day:,.0f} "
              f"| {row_bytes * per_day / 1e6:.2f} | {entries * per_day * 365:,.0f} "
              f"| {row_bytes * per_day * 365 / 1e6:,.0f} |")


# ---------------------------------------------------------------------------------------------------- grow

def build(folder: Path, entries: int) -> None:
    """A store whose log holds about `entries` entries over the last year (see the module's docstring)."""
    clock = FakeClock(time.time() - 365 * DAY_S)
    step = 365 * DAY_S / entries
    with new_store(folder, clock=clock) as store:
        record = ConsentRecord.new(subject="Member", purpose="benchmark", days=3 * 365, scope="recognition",
                                   now=store_now(store))
        member = family.enroll(store, "Member", np.ones((2, 16), np.float32), record).person_id
        written, next_sweep = len(store.audit_entries()), clock.now + DAY_S
        while written < entries:
            with store.transaction():
                for _ in range(min(1000, entries - written)):
                    clock.now += step
                    if clock.now >= next_sweep:
                        audit_log.record(store, "sweep", details={"consent_expired": 0, "consent_missing": 0,
                                                                  "unseen_people": 0, "thumbnails": 0, "analyses": 0})
                        next_sweep += DAY_S
                    else:
                        family.count_recognitions(store, [member] if written % 2 else [None])
                    written += 1
        clock.now = time.time()
        audit_log.record(store, "sweep", details={"consent_expired": 0, "consent_missing": 0,
                                                  "unseen_people": 0, "thumbnails": 0, "analyses": 0})
    with contextlib.closing(sqlite3.connect(folder / DATA_FILE)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def step(args: argparse.Namespace) -> None:
    """The app over the store, in this process (`grow` runs it in a fresh one): the Family page run, the store
    unlocked with its form (the click until the page is drawn again: the unlock, its retention sweep, the page), then
    the Governance page drawn. Prints the two times in seconds."""
    from streamlit.testing.v1 import AppTest

    os.environ["UNVEIL_DATA_DIR"] = args.data_dir
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=3600)
    at.switch_page("unveil/app/pages/family.py")
    at.run()
    at.text_input(key="unlock_passphrase").input(PASSPHRASE)
    started = time.perf_counter()
    at.button[0].click().run()
    unlocked = time.perf_counter() - started
    started = time.perf_counter()
    at.switch_page("unveil/app/pages/governance.py").run()
    drawn = time.perf_counter() - started
    if at.exception or not any(s.value.startswith("audit log intact") for s in at.success):
        raise SystemExit(f"the app did not show the log intact: {[e.value for e in at.exception]}")
    print(f"{unlocked:.1f} {drawn:.1f}")


def sweep_lock(args: argparse.Namespace) -> None:
    """The retention sweep over the store, in this process (`grow` runs it in a fresh one). Prints its seconds and the
    longest stretch, in seconds, during which another connection was refused unveil.db's write lock meanwhile."""
    from governance import retention

    path, stop, longest = Path(args.data_dir) / DATA_FILE, threading.Event(), [0.0]

    def probe() -> None:
        with contextlib.closing(sqlite3.connect(path, timeout=0, isolation_level=None)) as conn:
            refused_since = None
            while not stop.is_set():
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute("ROLLBACK")
                    refused_since = None
                except sqlite3.OperationalError:
                    now = time.perf_counter()
                    refused_since = refused_since or now
                    longest[0] = max(longest[0], now - refused_since)
                time.sleep(0.005)

    with FamilyStore(args.data_dir) as store:
        store.unlock(PASSPHRASE)
        prober = threading.Thread(target=probe)
        prober.start()
        started = time.perf_counter()
        try:
            retention.sweep(store)
        finally:
            took = time.perf_counter() - started
            stop.set()
            prober.join()
    print(f"{took:.1f} {longest[0]:.2f}")


def measured(argv: list[str], code: Path = REPO) -> tuple[float, float, str]:
    """(wall s, peak RSS MiB, stdout's last line) of a command in a fresh process, on the code in `code`."""
    env = {**os.environ, "UNVEIL_PASSPHRASE": PASSPHRASE, "PYTHONPATH": str(code)}
    # Run from `code`: `python -m` puts the working folder first on the path, before PYTHONPATH.
    done = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M", *argv], env=env, cwd=code, capture_output=True,
                          text=True, check=False)
    wall, rss = next(line.split()[1:] for line in done.stderr.splitlines() if line.startswith("TIME "))
    if done.returncode:
        raise SystemExit(f"{argv} failed ({done.returncode}): {done.stderr[-2000:]}")
    out = done.stdout.strip().splitlines()
    return float(wall), int(rss) / 1024, out[-1] if out else ""


def measure(data: Path, code: Path) -> list[str]:
    """The table's cells for the store in `data`, the commands run on the code in `code` (a checkout)."""
    cli, store_args = [sys.executable, "-m", "unveil.cli"], ["--data-dir", str(data)]
    cells = []
    for argv in ([*cli, "audit", "verify", *store_args], [*cli, "audit", "verify", "--no-unlock", *store_args],
                 [*cli, "family", "list", *store_args]):
        wall, rss, _ = measured(argv, code)
        cells.append(f"{wall:.1f} ({rss:.0f})")
    _, _, swept = measured([sys.executable, str(code / "benchmarks" / Path(__file__).name), "sweep", str(data)], code)
    cells += swept.split()
    _, rss, times = measured([sys.executable, str(code / "benchmarks" / Path(__file__).name), "step", str(data)], code)
    return [*cells, *times.split(), f"{rss:.0f}"]


def run_grow(args: argparse.Namespace) -> None:
    codes = [("this checkout", REPO)] + ([("--compare", Path(args.compare).resolve())] if args.compare else [])
    print(f"cores {os.cpu_count()}; load average at the start {os.getloadavg()[0]:.2f}"
          + (f"; --compare {args.compare}" if args.compare else "") + "\n")
    print("| entries | code | unveil.db MB | build s | audit verify s (MiB) | verify --no-unlock s (MiB) | family list s "
          "(MiB) | sweep s | sweep: write lock held s | app: unlock s | app: Governance page s | app MiB |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for entries in args.entries:
        with tempfile.TemporaryDirectory() as folder:
            data = Path(folder) / "store"
            started = time.perf_counter()
            build(data, entries)
            built = time.perf_counter() - started
            size = (data / DATA_FILE).stat().st_size / 1e6
            for label, code in codes:
                print(f"| {entries:,} | {label} | {size:.1f} | {built:.0f} | " + " | ".join(measure(data, code)) + " |",
                      flush=True)
        print(f"(load average {os.getloadavg()[0]:.2f})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    watching = commands.add_parser("watch", help="entries the camera loop writes")
    watching.add_argument("--minutes", type=int, default=3, help="household minutes of video (default 3)")
    watching.add_argument("--busy-hours", type=float, default=8.0, help="hours a day someone is in view (default 8)")
    watching.set_defaults(handler=run_watch)
    growing = commands.add_parser("grow", help="what a log of N entries costs")
    growing.add_argument("--entries", type=int, nargs="+", default=[1000, 100_000, 1_000_000])
    growing.add_argument("--compare", metavar="DIR", help="also run the commands on the code of this checkout (each "
                                                          "store is measured by both, one after the other)")
    growing.set_defaults(handler=run_grow)
    stepping = commands.add_parser("step", help="(internal) the app over a store, run by grow")
    stepping.add_argument("data_dir")
    stepping.set_defaults(handler=step)
    sweeping = commands.add_parser("sweep", help="(internal) the retention sweep over a store, run by grow")
    sweeping.add_argument("data_dir")
    sweeping.set_defaults(handler=sweep_lock)
    args = parser.parse_args()
    args.handler(args)


if __name__ == "__main__":
    main()
