"""`unveil serve` under load: requests per second and latency of POST /v1/analyze on a real photo.

    .venv/bin/python benchmarks/bench_api.py [--clients 1 4] [--requests 40] [--photo PATH]

Starts `unveil serve` on a free localhost port with a fresh data folder (no family store: emotions
only) and the shipped models, warms it up with one request, then sends `--requests` requests from each
number of concurrent clients in turn and prints a table. The photo defaults to the public-domain
portrait in tests/fixtures (512x600 JPEG).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.app import free_port  # noqa: E402 (after the path: run from anywhere)

PHOTO = REPO / "tests" / "fixtures" / "public_domain" / "grace_hopper.jpg"
TOKEN = "benchmark-token"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--requests", type=int, default=40, help="requests per row")
    parser.add_argument("--photo", type=Path, default=PHOTO)
    args = parser.parse_args()
    photo = args.photo.read_bytes()
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "image/jpeg"}
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "UNVEIL_DATA_DIR": data, "UNVEIL_API_TOKEN": TOKEN}
        env.pop("UNVEIL_PASSPHRASE", None)
        server = subprocess.Popen([sys.executable, "-m", "unveil.cli", "serve", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with httpx.Client(timeout=120) as client:
                deadline = time.monotonic() + 120
                while True:
                    try:
                        client.get(f"{url}/health", headers=headers).raise_for_status()
                        break
                    except httpx.HTTPError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.3)
                client.post(f"{url}/analyze", headers=headers, content=photo).raise_for_status()

                def one(_: int) -> float:
                    start = time.perf_counter()
                    client.post(f"{url}/analyze", headers=headers, content=photo).raise_for_status()
                    return time.perf_counter() - start

                print(f"POST /v1/analyze, {args.photo.name} ({len(photo) / 1024:.0f} KB), {os.cpu_count()} cores")
                print("| clients | requests | requests/s | median latency (ms) | p90 latency (ms) |")
                print("|---:|---:|---:|---:|---:|")
                for clients in args.clients:
                    start = time.perf_counter()
                    with ThreadPoolExecutor(clients) as pool:
                        latencies = sorted(pool.map(one, range(args.requests)))
                    elapsed = time.perf_counter() - start
                    p90 = latencies[int(0.9 * (len(latencies) - 1))]
                    print(f"| {clients} | {args.requests} | {args.requests / elapsed:.1f} | "
                          f"{statistics.median(latencies) * 1000:.0f} | {p90 * 1000:.0f} |")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
