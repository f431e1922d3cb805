"""`unveil serve` under load: requests per second and latency of POST /v1/analyze on a real photo, and
what a burst of big uploads does to the server.

    .venv/bin/python benchmarks/bench_api.py [--clients 1 4] [--requests 40] [--photo PATH]
    .venv/bin/python benchmarks/bench_api.py --clients --burst 20 45     # bursts of 12 MP uploads only

Starts `unveil serve` on a free localhost port with a fresh data folder (no family store: emotions
only) and the shipped models, warms it up with one request, then sends `--requests` requests from each
number of concurrent clients in turn and prints a table. The photo defaults to the public-domain
portrait in tests/fixtures (512x600 JPEG).

`--burst N`: a fresh server, warmed up with one 12 MP photo (that portrait enlarged to 4000x3000, JPEG),
gets N simultaneous uploads of it; the row gives the answers' statuses, the time until the last, the slowest
GET /v1/health sent every 0.1 s meanwhile, and the server's peak resident memory (VmHWM, Linux).
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.app import free_port  # noqa: E402 (after the path: run from anywhere)

PHOTO = REPO / "tests" / "fixtures" / "public_domain" / "grace_hopper.jpg"
TOKEN = "benchmark-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "image/jpeg"}


@contextlib.contextmanager
def served() -> Iterator[tuple[str, subprocess.Popen]]:
    """`unveil serve` on a free port, answering: its /v1 URL and its process."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "UNVEIL_DATA_DIR": data, "UNVEIL_API_TOKEN": TOKEN}
        env.pop("UNVEIL_PASSPHRASE", None)
        server = subprocess.Popen([sys.executable, "-m", "unveil.cli", "serve", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    httpx.get(f"{url}/health", headers=HEADERS, timeout=5).raise_for_status()
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise
                    time.sleep(0.3)
            yield url, server
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def throughput(photo: bytes, name: str, counts: list[int], requests: int) -> None:
    with served() as (url, _), httpx.Client(timeout=120) as client:
        client.post(f"{url}/analyze", headers=HEADERS, content=photo).raise_for_status()

        def one(_: int) -> float:
            start = time.perf_counter()
            client.post(f"{url}/analyze", headers=HEADERS, content=photo).raise_for_status()
            return time.perf_counter() - start

        print(f"POST /v1/analyze, {name} ({len(photo) / 1024:.0f} KB), {os.cpu_count()} cores")
        print("| clients | requests | requests/s | median latency (ms) | p90 latency (ms) |")
        print("|---:|---:|---:|---:|---:|")
        for clients in counts:
            start = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                latencies = sorted(pool.map(one, range(requests)))
            elapsed = time.perf_counter() - start
            p90 = latencies[int(0.9 * (len(latencies) - 1))]
            print(f"| {clients} | {requests} | {requests / elapsed:.1f} | "
                  f"{statistics.median(latencies) * 1000:.0f} | {p90 * 1000:.0f} |")


def peak_rss_mib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(status.read().split("VmHWM:")[1].split()[0]) // 1024


async def burst(url: str, photo: bytes, uploads: int) -> tuple[collections.Counter, float, float]:
    """`uploads` simultaneous POSTs of `photo`: their statuses, seconds until the last answer, and the slowest
    health check sent meanwhile."""
    limits = httpx.Limits(max_connections=uploads + 1, max_keepalive_connections=uploads + 1)
    async with httpx.AsyncClient(timeout=600, limits=limits) as client:
        start = time.perf_counter()
        posts = [asyncio.create_task(client.post(f"{url}/analyze", headers=HEADERS, content=photo))
                 for _ in range(uploads)]
        await asyncio.sleep(0.5)
        slowest = 0.0
        while not all(post.done() for post in posts):
            asked = time.perf_counter()
            (await client.get(f"{url}/health", headers=HEADERS)).raise_for_status()
            slowest = max(slowest, time.perf_counter() - asked)
            await asyncio.sleep(0.1)
        statuses = collections.Counter([(await post).status_code for post in posts])
        return statuses, time.perf_counter() - start, slowest


def bursts(counts: list[int]) -> None:
    big = io.BytesIO()
    Image.open(PHOTO).convert("RGB").resize((4000, 3000), Image.LANCZOS).save(big, "JPEG", quality=92)
    photo = big.getvalue()
    print(f"Bursts of simultaneous POST /v1/analyze, 4000x3000 JPEG ({len(photo) / 1024**2:.1f} MB), "
          f"a fresh server each, {os.cpu_count()} cores")
    print("| uploads | answers | last answer (s) | slowest /v1/health meanwhile (s) | server peak RSS (MiB) |")
    print("|---:|---|---:|---:|---:|")
    for uploads in counts:
        with served() as (url, server):
            httpx.post(f"{url}/analyze", headers=HEADERS, content=photo, timeout=120).raise_for_status()
            warm = peak_rss_mib(server.pid)
            statuses, elapsed, slowest = asyncio.run(burst(url, photo, uploads))
            answers = ", ".join(f"{count} x {status}" for status, count in sorted(statuses.items()))
            print(f"| {uploads} | {answers} | {elapsed:.1f} | {slowest:.2f} | {peak_rss_mib(server.pid)} "
                  f"(after one: {warm}) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="*", default=[1, 4], help="none: no throughput table")
    parser.add_argument("--requests", type=int, default=40, help="requests per row")
    parser.add_argument("--photo", type=Path, default=PHOTO)
    parser.add_argument("--burst", type=int, nargs="*", default=[], help="simultaneous 12 MP uploads per row")
    args = parser.parse_args()
    if args.clients:
        throughput(args.photo.read_bytes(), args.photo.name, args.clients, args.requests)
    if args.burst:
        bursts(args.burst)


if __name__ == "__main__":
    main()
