"""Several sessions using one family store at once, as in a home: `unveil serve` and `unveil watch` counting
recognitions and sweeping, the app in two tabs, `unveil family ...` and `unveil family backup` in a terminal.

Each of --processes worker processes opens the store (busy timeout --busy-timeout seconds: 1 is unveil watch's) and
makes --operations operations, chosen at random with its own seed from:

    enrol, enrol-brief   a member (a consent that ends at once: a later sweep erases them)
    purge, rename        a member, chosen among those enrolled now
    sweep                governance.retention.sweep (its checks under the write lock, then the erasures)
    backup               governance.backup.back_up into a new folder (checked before it is kept)
    verify, check, intact  verify_audit(), check(), require_intact(): each must find nothing
    open                 another session opens the store, unlocks it and verifies its log
    locked              another session opens it locked: verify_audit() and integrity_problems() find nothing
    seen                 governance.family.note_recognition (what serve and watch write)
    keep                 a kept result, deleted again half the time
    policy, passwd       a retention period set; the passphrase set again
    erase-all, rotate    erase everything; the master key rotated (others then unlock again), each 1 time in 4
    scrub                FamilyStore.scrub()

Expected refusals are counted apart: StoreBusyError (another session held the lock past the busy timeout),
PersonNotFoundError (erased meanwhile), MasterKeyChangedError (rotated meanwhile; the worker unlocks again) and
StoreLockedError (that unlock was refused as busy: it is tried again after the next operation). Everything else is a
defect, above all damage or tampering reported of a store that is whole (StoreDamagedError, BackupDamagedError, a
check that finds something, a log that does not verify). The table gives each error's type and the start of its message;
at the end the store is opened once more and checked. Run:

    nice -n 19 .venv/bin/python benchmarks/concurrent_sessions.py --processes 4 --operations 300 --seed 1
"""
from __future__ import annotations

import argparse
import collections
import json
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fer_core.store import (  # noqa: E402
    FamilyStore,
    MasterKeyChangedError,
    PersonNotFoundError,
    StoreBusyError,
    StoreLockedError,
)
from tests.support import privacy_harness as h  # noqa: E402

OPERATIONS = ("enrol", "enrol-brief", "purge", "rename", "sweep", "backup", "verify", "check", "intact", "open",
              "locked", "seen", "keep", "policy", "passwd", "erase-all", "rotate", "scrub")
EXPECTED = (StoreBusyError, PersonNotFoundError, MasterKeyChangedError, StoreLockedError)


def _found(what: str, problems: object) -> None:
    if problems:
        raise AssertionError(f"{what}: {problems}")


def _operate(store: FamilyStore, data_dir: Path, op: str, rnd: random.Random, tag: str, timeout: float) -> None:
    from governance import backup, erasure, family, retention

    ids = store.person_ids()
    if op == "enrol":
        h.enrol(store, f"Member {tag}")
    elif op == "enrol-brief":
        h.enrol_briefly(store, f"Brief {tag}", 0.05)
    elif op == "purge" and ids:
        erasure.purge_person(store, rnd.choice(ids))
    elif op == "rename" and ids:
        family.rename(store, rnd.choice(ids), f"Renamed {tag}")
    elif op == "sweep":
        retention.sweep(store)
    elif op == "backup":
        backup.back_up(store, data_dir.parent / f"backup-{tag}")
    elif op == "verify":
        verified = store.verify_audit()
        _found("verify_audit", None if verified.ok else verified.reason)
    elif op == "check":
        _found("check", [item.message for item in store.check()])
    elif op == "intact":
        store.require_intact()
    elif op == "open":
        with FamilyStore(data_dir, busy_timeout=timeout) as other:
            other.unlock(h.PASSPHRASE)
            verified = other.verify_audit()
            _found("verify_audit of a store just opened", None if verified.ok else verified.reason)
    elif op == "locked":
        with FamilyStore(data_dir, busy_timeout=timeout) as other:
            verified = other.verify_audit()
            _found("verify_audit, locked", None if verified.ok else verified.reason)
            _found("integrity_problems, locked", other.integrity_problems())
    elif op == "seen":
        family.note_recognition(store, ids[:2], faces=3)
    elif op == "keep":
        kept = store.add_analysis({"faces": 1}, person_ids=ids[:1])
        if rnd.random() < 0.5:
            store.delete_analysis(kept)
    elif op == "policy":
        retention.set_policy(store, "analyses", rnd.randint(1, 40))
    elif op == "passwd":
        store.change_passphrase(h.PASSPHRASE, scrypt=h.FAST_SCRYPT)
    elif op == "erase-all" and rnd.random() < 0.25:
        erasure.erase_everything(store)
    elif op == "rotate" and rnd.random() < 0.25:
        store.rotate_master_key(h.PASSPHRASE, scrypt=h.FAST_SCRYPT)
    elif op == "scrub":
        store.scrub()


def _said(exc: BaseException, data_dir: Path) -> str:
    # The type and the start of the message, the folders and ids left out so that equal errors count together.
    text = str(exc).replace(str(data_dir.parent), "DIR")
    text = re.sub(r"[0-9a-f]{32}", "ID", re.sub(r"entry \d+", "entry N", text))
    return f"{type(exc).__name__}: {text[:150]}"


def worker(data_dir: Path, seed: int, operations: int, timeout: float) -> dict[str, object]:
    rnd = random.Random(seed)
    done: collections.Counter[str] = collections.Counter()
    refused: collections.Counter[str] = collections.Counter()
    defects: collections.Counter[str] = collections.Counter()
    for _ in range(100):  # a store opened while another session holds the lock waits that long at most
        try:
            store = h.open_store(data_dir, busy_timeout=timeout)
            break
        except StoreBusyError:
            refused["open: StoreBusyError"] += 1
    else:  # never opened: its refusals are its results (it made no operation)
        return {"done": done, "refused": refused, "defects": defects}
    for i in range(operations):
        op = rnd.choice(OPERATIONS)
        done[op] += 1
        try:
            _operate(store, data_dir, op, rnd, f"{seed}-{i}", timeout)
        except EXPECTED as exc:
            refused[f"{op}: {type(exc).__name__}"] += 1
        except Exception as exc:  # a defect, counted by its words
            defects[f"{op}: {_said(exc, data_dir)}"] += 1
        if not store.is_unlocked:  # the master key was rotated meanwhile: unlocked again, as a person would
            try:
                store.unlock(h.PASSPHRASE)
            except StoreBusyError:
                refused["unlock: StoreBusyError"] += 1
    store.close()
    return {"done": done, "refused": refused, "defects": defects}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--operations", type=int, default=300, help="per process")
    parser.add_argument("--busy-timeout", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(Path(args.worker[0]), int(args.worker[1]), args.operations, args.busy_timeout)))
        return 0
    with tempfile.TemporaryDirectory(prefix="unveil-concurrent-") as tmp:
        data_dir = Path(tmp) / "data"
        h.new_store(data_dir).close()
        workers = [subprocess.Popen([sys.executable, __file__, "--worker", str(data_dir), str(args.seed * 100 + k),
                                     "--operations", str(args.operations), "--busy-timeout", str(args.busy_timeout)],
                                    stdout=subprocess.PIPE, text=True) for k in range(args.processes)]
        results = [json.loads(process.communicate()[0]) for process in workers]
        total = collections.Counter()
        refused: collections.Counter[str] = collections.Counter()
        defects: collections.Counter[str] = collections.Counter()
        for result in results:
            total.update(result["done"])
            refused.update(result["refused"])
            defects.update(result["defects"])
        with h.open_store(data_dir) as store:
            final = [item.message for item in store.check()]
            verified = store.verify_audit()
    print(f"{args.processes} processes x {args.operations} operations, busy timeout {args.busy_timeout:g} s, "
          f"seed {args.seed}: {sum(total.values())} operations")
    print(f"expected refusals: {sum(refused.values())} ({', '.join(f'{k} {v}' for k, v in sorted(refused.items()))})")
    print(f"defects: {sum(defects.values())}")
    for what, count in sorted(defects.items()):
        print(f"  {count:4d}  {what}")
    print(f"the store afterwards: check() finds {len(final)} problem(s), audit log verifies: {verified.ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
