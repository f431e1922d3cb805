"""What giving one member's account (governance.access.account, `unveil family show`, the Family page's "What is
stored about NAME") costs as the audit log grows: a store (fast scrypt) with one member enrolled and N "recognise"
entries (counts only, about no one, as `unveil watch` writes them), then the account timed in this process.

    PYTHONPATH=. nice -n 19 .venv/bin/python benchmarks/bench_member_account.py 100000 1000000
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from governance import access, audit_log
from tests.support import privacy_harness as h

BATCH = 10_000  # entries a transaction, only to build the store faster


def measure(entries: int) -> str:
    with tempfile.TemporaryDirectory() as folder, h.new_store(Path(folder) / "data") as store:
        member = h.enrol(store, "Ana")
        for start in range(0, entries, BATCH):
            with store.transaction():
                for _ in range(min(BATCH, entries - start)):
                    audit_log.record_recognition(store, faces=2, named=1, period_s=60)
        began = time.perf_counter()
        held = access.account(store, member)
        return f"{entries:,} entries: account in {time.perf_counter() - began:.2f} s ({len(held.audit)} about the member)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("entries", type=int, nargs="+")
    for entries in parser.parse_args().entries:
        print(measure(entries), flush=True)


if __name__ == "__main__":
    main()
