"""SD-card wear: what `unveil watch` and `unveil serve` write to disk per hour of steady use, and what else they cost
while they run for months on a small home machine (docs/reports/sd_wear.md).

    PYTHONPATH=. nice -n 19 .venv/bin/python benchmarks/sd_wear.py watch --scene empty --minutes 5
    PYTHONPATH=. nice -n 19 .venv/bin/python benchmarks/sd_wear.py watch --scene member --minutes 5
    PYTHONPATH=. nice -n 19 .venv/bin/python benchmarks/sd_wear.py serve --every 5 --minutes 5
    PYTHONPATH=. nice -n 19 .venv/bin/python benchmarks/sd_wear.py transaction    # one recognise entry's WAL bytes

Each run makes a fresh family store (key file, "Colin Powell" enrolled with consent from 4 LFW photos, as
benchmarks/soak.py does) in a temporary folder on disk ($SD_WEAR_DIR, else the system's), and starts the front end as
a real process under `strace -f --seccomp-bpf` (only writes, fsyncs, truncations and renames are stopped at), with its
stdout and stderr in files of that folder, as a service's journal holds them. --no-strace runs it alone: the tracer
multiplied the loop's CPU by 1.6-4.6 and its context switches by 60-95.

watch: `unveil watch --source file://FIFO --jsonl ROOT/faces.jsonl --key-file K`. This process writes a Y4M stream of
640x480 frames into the FIFO (on /dev/shm, as a camera's device is on devtmpfs) at --fps frames a second, as a camera delivers them (a frame the loop has not read yet
holds the writer back: then it goes at the loop's pace, which the table gives). Each frame is one of 16 copies of
the scene with a little sensor noise. --scene empty: an empty room (tests.support.watch_video's wall); --scene
member: the member's LFW photo standing still in it, for the whole run (one appearance).

serve: `unveil serve --key-file K`, and one client that POSTs the member's LFW photo to /v1/analyze every --every
seconds (each answer names the member).

What is measured between the end of the warm-up (--warm seconds: the models loaded, the first frames or requests
answered) and the end of the run, then scaled to an hour:
- /proc/PID/io: write_bytes (what the process made dirty in the page cache, i.e. what the disk will be given: each
  4 KiB page counted again when it is dirtied again after being written back), wchar and syscw (bytes and calls of
  write-like syscalls, pipes and sockets included);
- per file of the run's folder, from strace: bytes given to write/pwrite64 and how many fsync/fdatasync calls;
- the audit entries written meanwhile (event, time, counts), read from the store once the front end has stopped;
- CPU seconds (utime + stime, all threads), context switches of all threads (voluntary + involuntary: each is a
  wakeup or a preemption), resident memory and the files' sizes at both ends.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.soak import FACES, MEMBER, child_env, make_family, serve_setup, wait_until_answers  # noqa: E402

TRACED = "write,pwrite64,writev,pwritev,fsync,fdatasync,ftruncate,rename,renameat,renameat2,unlink,unlinkat"
# "1733571234.123456 write(5</path/to/file>, ..., 123) = 123"
CALL = re.compile(r"^\d+\s+(?P<t>\d+\.\d+)\s+(?P<call>\w+)\((?P<fd>\d+)<(?P<path>[^>]*)>(?P<rest>.*)\)\s+=\s+(?P<ret>-?\d+)")
# An SD card's endurance, for the table's last line. Consumer TLC cards publish no endurance; manufacturers' "high
# endurance" cards do, as hours of Full HD video: SanDisk High Endurance 128 GB, 10,000 h at 26 Mbit/s = 117 TB
# written, so about 29 TB for the 32 GB card. A plain consumer card is assumed to take 500 program/erase cycles of its
# 32 GB (16 TB of flash writes) and to write 10 times what it is given when the writes are small and synchronous, as
# a database's are (its controller rewrites a whole erase block to change a page): 1.6 TB written by the host.
PLAIN_CARD_HOST_TB = 32e9 * 500 / 10 / 1e12


@dataclass(frozen=True)
class Reading:
    at: float
    write_bytes: int
    wchar: int
    syscw: int
    cpu_s: float
    switches: int
    rss_mib: float
    sizes: dict[str, int]


def read(pid: int, root: Path) -> Reading:
    io = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    switches = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that ended between the listing and the read
            for line in (task / "status").read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    switches += int(line.split()[1])
    rss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
               if line.startswith("VmRSS"))
    sizes = {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*")
             if p.is_file() and not p.is_fifo() and p.name != "trace.txt"}
    return Reading(time.monotonic(), int(io["write_bytes"]), int(io["wchar"]), int(io["syscw"]),
                   (int(stat[11]) + int(stat[12])) / ticks, switches, rss / 1024, sizes)


def traced_child(strace: subprocess.Popen) -> int:
    """The pid of the process strace started (its only child)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{strace.pid}/task/{strace.pid}/children").read_text().split()
            if children:
                return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("strace started no process")


def per_file(trace: Path, root: Path, start: float, end: float) -> dict[str, list[int]] | None:
    """{file under root: [bytes written, write calls, fsyncs]} for the calls between `start` and `end` (epoch s);
    None without a trace (--no-strace)."""
    if not trace.exists():
        return None
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for line in trace.read_text(errors="replace").splitlines():
        match = CALL.match(line)
        if not match or not start <= float(match["t"]) <= end or not match["path"].startswith(str(root)):
            continue
        name = str(Path(match["path"]).relative_to(root))
        if match["call"] in ("fsync", "fdatasync"):
            found[name][2] += 1
        elif match["call"].startswith(("write", "pwrite")) and int(match["ret"]) > 0:
            found[name][0] += int(match["ret"])
            found[name][1] += 1
    return found


def report(title: str, a: Reading, b: Reading, traced: dict[str, list[int]] | None, progress: tuple[str, int]) -> None:
    files = traced or {}
    hours = (b.at - a.at) / 3600
    per_hour = (b.write_bytes - a.write_bytes) / hours
    print(f"\n{title}; measured {hours * 60:.1f} min after the warm-up; cores {os.cpu_count()}, load average "
          f"{os.getloadavg()[0]:.2f}\n")
    print("| per hour | value |\n|---|---:|")
    print(f"| {progress[0]} | {progress[1] / hours:,.0f} |")
    print(f"| write_bytes (to the disk), KiB | {per_hour / 1024:,.1f} |")
    print(f"| wchar (all write syscalls, pipes and sockets too), KiB | {(b.wchar - a.wchar) / hours / 1024:,.1f} |")
    print(f"| write syscalls (syscw) | {(b.syscw - a.syscw) / hours:,.0f} |")
    print(f"| fsync + fdatasync | {sum(f[2] for f in files.values()) / hours:,.0f} |" if traced is not None else
          "| fsync + fdatasync | (not traced) |")
    print(f"| CPU s (of 3,600) | {(b.cpu_s - a.cpu_s) / hours:,.0f} |")
    print(f"| context switches (all threads) | {(b.switches - a.switches) / hours:,.0f} |")
    print(f"| resident memory MiB, start -> end | {a.rss_mib:.1f} -> {b.rss_mib:.1f} |")
    day = per_hour * 24
    print(f"\nwrite_bytes a day {day / 1e6:,.1f} MB, a year {day * 365 / 1e9:,.2f} GB; a year is "
          f"{day * 365 / 29e12 * 100:.3f}% of a 32 GB high-endurance card's 29 TB, "
          f"{day * 365 / (PLAIN_CARD_HOST_TB * 1e12) * 100:.3f}% of a plain card's assumed {PLAIN_CARD_HOST_TB:.1f} TB\n")
    print("| file | bytes written / h | write calls / h | fsyncs / h | size at start | size at end |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in sorted(set(files) | set(a.sizes) | set(b.sizes)):
        counts = " | ".join(f"{n / hours:,.0f}" for n in files.get(name, [0, 0, 0])) if traced is not None else "- | - | -"
        print(f"| {name} | {counts} | {a.sizes.get(name, 0):,} | {b.sizes.get(name, 0):,} |")


@contextlib.contextmanager
def traced(argv: list[str], root: Path, env: dict[str, str], *, strace: bool):
    """The front end started (under strace unless `strace` is false): (the Popen, the front end's pid, the trace
    file). Its stdout and stderr go to files of `root`, as a service's go to its journal."""
    trace = root / "trace.txt"
    tracer = ["strace", "-f", "--seccomp-bpf", "-qq", "-y", "-ttt", "-e", f"trace={TRACED}", "-o", str(trace), "--"]
    with open(root / "stdout.log", "w") as out, open(root / "stderr.log", "w") as err:
        process = subprocess.Popen((tracer if strace else []) + argv, stdout=out, stderr=err, env=env)
        pid = traced_child(process) if strace else process.pid
        try:
            yield process, pid, trace
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 15)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def measure(pid: int, root: Path, warm_s: float, minutes: float, progress) -> tuple[Reading, Reading, float, float, int]:
    """Readings at the end of the warm-up and `minutes` later, their epoch times, and how far `progress()` went."""
    time.sleep(warm_s)
    start, a, first = time.time(), read(pid, root), progress()
    time.sleep(minutes * 60)
    end, b, last = time.time(), read(pid, root), progress()
    return a, b, start, end, last - first


def audit_entries(data: Path, key: Path, start: float, end: float) -> None:
    """The audit entries written between `start` and `end`: events, times and details (counts only)."""
    from fer_core.store import FamilyStore
    from governance import audit_log

    with FamilyStore(data) as store:
        store.unlock(key_file=key)
        found = [e for e in audit_log.entries(store) if start <= e.ts <= end]
    print(f"\naudit entries written while measured: {len(found)}")
    for entry in found[:12]:
        print(f"    {entry.ts - start:7.1f} s  {entry.event}  {entry.details}")


# ------------------------------------------------------------------------------------------------ watch

def scene_frames(scene: str, root: Path) -> list[bytes]:
    """16 I420 frames of the scene, each with its own noise, as Y4M's FRAME payloads."""
    import cv2
    import numpy as np

    from tests.support.watch_video import Walker, room_video

    walkers = [Walker(FACES / MEMBER / f"{MEMBER}_0001.jpg", (320, 240), radius=(0.0, 0.0))] if scene == "member" else []
    video = root / "scene.mp4"
    room_video(walkers, video, seconds=0.2, fps=5)
    capture = cv2.VideoCapture(str(video))
    ok, still = capture.read()
    capture.release()
    assert ok, "the scene's video could not be read"
    rng = np.random.default_rng(0)
    noisy = [np.clip(still.astype(np.int16) + rng.integers(-3, 4, still.shape), 0, 255).astype(np.uint8)
             for _ in range(16)]
    return [cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes() for frame in noisy]


def camera(fifo: Path, frames: list[bytes], fps: float, stop: threading.Event, sent: list[int]) -> None:
    """Write the frames into `fifo` as a Y4M stream, `fps` a second, until `stop` or the reader goes away."""
    with contextlib.suppress(BrokenPipeError, OSError), open(fifo, "wb", buffering=0) as out:
        out.write(f"YUV4MPEG2 W640 H480 F{round(fps * 1000)}:1000 Ip A1:1 C420jpeg\n".encode())
        due = time.monotonic()
        while not stop.is_set():
            out.write(b"FRAME\n" + frames[sent[0] % len(frames)])
            sent[0] += 1
            due = max(due + 1 / fps, time.monotonic())
            time.sleep(max(0.0, due - time.monotonic()))


def run_watch(root: Path, args: argparse.Namespace) -> None:
    data, key = make_family(root)
    # On tmpfs, as a camera's device is (devtmpfs): a FIFO on the disk has its times updated with each frame, and the
    # inode's block, dirtied by the loop's reads, counted 480 KiB an hour in its write_bytes.
    fifo = Path(tempfile.mkdtemp(prefix="unveil-sd-wear-camera-", dir="/dev/shm")) / "camera.y4m"
    os.mkfifo(fifo)
    stop, sent = threading.Event(), [0]
    threading.Thread(target=camera, args=(fifo, scene_frames(args.scene, root), args.fps, stop, sent),
                     daemon=True).start()
    jsonl = root / "faces.jsonl"
    argv = [sys.executable, "-m", "unveil.cli", "watch", "--source", f"file://{fifo}", "--jsonl", str(jsonl),
            "--data-dir", str(data), "--key-file", str(key)]
    with traced(argv, root, child_env(root), strace=not args.no_strace) as (_, pid, trace):
        # The frames written in the window: those read, give or take the one the pipe holds.
        a, b, start, end, frames = measure(pid, root, args.warm, args.minutes, lambda: sent[0])
    stop.set()
    fifo.unlink()
    fifo.parent.rmdir()
    title = (f"unveil watch, {'the member standing still' if args.scene == 'member' else 'an empty room'}, camera at "
             f"{args.fps:g} frames/s, --jsonl to a file")
    report(title, a, b, per_file(trace, root, start, end), ("frames", frames))
    audit_entries(data, key, start, end)
    print_log(root)


# ------------------------------------------------------------------------------------------------ serve

def run_serve(root: Path, args: argparse.Namespace) -> None:
    import httpx

    data, key, photo, url, headers, argv = serve_setup(root)
    stop, answered = threading.Event(), [0]

    def client() -> None:
        with httpx.Client(timeout=120, headers=headers) as session:
            while not stop.wait(args.every):
                with contextlib.suppress(httpx.HTTPError):
                    session.post(f"{url}/analyze", content=photo,
                                 headers={"Content-Type": "image/jpeg"}).raise_for_status()
                    answered[0] += 1

    with traced(argv, root, child_env(root), strace=not args.no_strace) as (process, pid, trace):
        wait_until_answers(f"{url}/health", headers, process)
        threading.Thread(target=client, daemon=True).start()
        a, b, start, end, requests = measure(pid, root, args.warm, args.minutes, lambda: answered[0])
        stop.set()
    report(f"unveil serve, a client posting a {len(photo) / 1024:.0f} KB LFW JPEG every {args.every:g} s", a, b,
           per_file(trace, root, start, end), ("photos answered", requests))
    audit_entries(data, key, start, end)
    print_log(root)


# ------------------------------------------------------------------------------------------------ transaction

def run_transaction(root: Path, args: argparse.Namespace) -> None:
    """The WAL bytes of one `recognise` transaction (family.note_recognition, as governance.recognition_tally writes
    it), with the member marked seen and without, --times each on the same store."""
    from fer_core.store import FamilyStore
    from governance import family

    data, key = make_family(root)
    with FamilyStore(data) as store:
        store.unlock(key_file=key)
        member = store.person_ids()[0]
        seen_at = store.now()
        print("| transaction | unveil.db-wal bytes | keys.db-wal bytes |\n|---|---:|---:|")
        for label, ids in (("recognise, the member marked seen", [member]), ("recognise, nobody named", [])):
            before = [(data / name).stat().st_size for name in ("unveil.db-wal", "keys.db-wal")]
            for _ in range(args.times):
                seen_at += 60
                family.note_recognition(store, ids, faces=3, named=len(ids), seen_at=seen_at, period_s=60)
            after = [(data / name).stat().st_size for name in ("unveil.db-wal", "keys.db-wal")]
            print(f"| {label} | " + " | ".join(f"{(b - a) / args.times:,.0f}" for a, b in zip(before, after)) + " |")


def print_log(root: Path) -> None:
    for stream in ("stdout", "stderr"):
        lines = [line.replace(str(root), "ROOT") for line in (root / f"{stream}.log").read_text().splitlines()]
        print(f"\nits {stream} ({len(lines)} lines), each distinct line with its count:")
        for line, times in sorted(((line, lines.count(line)) for line in set(lines)), key=lambda pair: -pair[1])[:8]:
            print(f"    {times:6d}  {line[:150]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="front_end", required=True)
    watch = sub.add_parser("watch")
    watch.add_argument("--scene", choices=("empty", "member"), default="empty")
    watch.add_argument("--fps", type=float, default=10.0)
    serve = sub.add_parser("serve")
    serve.add_argument("--every", type=float, default=5.0, help="seconds between photos")
    for each in (watch, serve):
        each.add_argument("--minutes", type=float, default=5.0, help="measured, after the warm-up")
        each.add_argument("--warm", type=float, default=60.0, help="seconds before the first reading")
        each.add_argument("--no-strace", action="store_true",
                          help="run the front end alone (CPU and context switches without the tracer's; no per-file "
                               "bytes written nor fsyncs)")
    transaction = sub.add_parser("transaction", help="the WAL bytes of one recognise transaction")
    transaction.add_argument("--times", type=int, default=10)
    args = parser.parse_args()
    run = {"watch": run_watch, "serve": run_serve, "transaction": run_transaction}[args.front_end]
    with tempfile.TemporaryDirectory(prefix="unveil-sd-wear-", dir=os.environ.get("SD_WEAR_DIR")) as folder:
        run(Path(folder), args)


if __name__ == "__main__":
    main()
