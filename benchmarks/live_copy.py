"""What a household gets when it copies the data folder while Unveil has the store open and writing.

A writer process does what `unveil watch`, `unveil serve` and the app do to the store while they run
(governance.family.note_recognition: "last seen" and a counts-only audit entry, several a second), with an
enrolment every 10 writes and a purge (with its scrub) every 25. Meanwhile the folder is copied, again and
again, the ways a household copies it:

    cp-r          `cp -r DATA COPY` (whatever order the folder lists its files in)
    copytree      shutil.copytree, file by file, as a file manager does
    data-first    unveil.db, its -wal and -shm, then keys.db's (a copy that reaches keys.db later)
    keys-first    keys.db's three files, then unveil.db's
    slow          file by file with 0.2 s between files, as to a USB stick or a network share
    db-only       unveil.db and keys.db without their -wal files (a backup rule for "*.db", or copying the
                  two files the README names)
    backup        `unveil family backup` (governance.backup.back_up): both files read with VACUUM INTO under
                  the store's write lock, then checked

Each copy is opened with the passphrase and judged by tests.support.privacy_harness.check_consistency (opens,
`check()` finds nothing, the audit log verifies, every enrolment whole) and, apart, by `check()` and
`verify_audit()` alone. Run:

    nice -n 19 .venv/bin/python benchmarks/live_copy.py --copies 40
"""
from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fer_core.store import DATA_FILE, KEYS_FILE, FamilyStore  # noqa: E402
from tests.support import privacy_harness as h  # noqa: E402

METHODS = ("cp-r", "copytree", "slow", "data-first", "keys-first", "db-only", "backup")


def writer(data_dir: Path) -> None:
    from governance import erasure, family

    store = h.open_store(data_dir)
    print("ready", flush=True)
    i = 0
    while True:
        i += 1
        ids = store.person_ids()
        if i % 10 == 0:
            h.enrol(store, f"Copy {i}")
        elif i % 25 == 0 and len(ids) > 2:
            erasure.purge_person(store, ids[0])
        else:
            family.note_recognition(store, ids[:1], faces=1)
        time.sleep(0.01)


def _copy_files(source: Path, target: Path, names: list[str], pause: float = 0.0) -> None:
    target.mkdir()
    for name in names:
        if (source / name).exists():
            shutil.copy2(source / name, target / name)
            time.sleep(pause)


def copy(method: str, source: Path, target: Path, passphrase: str) -> None:
    if method == "cp-r":
        subprocess.run(["cp", "-r", str(source), str(target)], check=True)
    elif method == "copytree":
        shutil.copytree(source, target)
    elif method == "slow":
        _copy_files(source, target, sorted(p.name for p in source.iterdir()), pause=0.2)
    elif method == "data-first":
        _copy_files(source, target, [DATA_FILE, f"{DATA_FILE}-wal", f"{DATA_FILE}-shm",
                                     KEYS_FILE, f"{KEYS_FILE}-wal", f"{KEYS_FILE}-shm"])
    elif method == "keys-first":
        _copy_files(source, target, [KEYS_FILE, f"{KEYS_FILE}-wal", f"{KEYS_FILE}-shm",
                                     DATA_FILE, f"{DATA_FILE}-wal", f"{DATA_FILE}-shm"])
    elif method == "db-only":
        _copy_files(source, target, [DATA_FILE, KEYS_FILE])
    elif method == "backup":
        from governance import backup

        with FamilyStore(source) as store:
            store.unlock(passphrase)
            backup.back_up(store, target)
    else:
        raise ValueError(method)


def audit_count(data_dir: Path) -> int:
    """Entries in the log as a new reader of unveil.db sees them (committed, WAL included)."""
    return h.query(data_dir / DATA_FILE, "SELECT COUNT(*) FROM audit")[0][0]


def judge(target: Path) -> tuple[str, str]:
    """(verdict, first problem): "ok", "damaged" (check() lists damage), "audit broken", "not whole"
    (the harness's own checks), "does not open"."""
    try:
        store = h.open_store(target)
    except Exception as exc:
        return "does not open", f"{type(exc).__name__}: {exc}"
    with store:
        try:
            damage = store.check()
            audit = store.verify_audit()
        except Exception as exc:
            return "does not open", f"{type(exc).__name__}: {exc}"
    if damage:
        return "damaged", damage[0].message
    if not audit.ok:
        return "audit broken", audit.reason
    opened, problems, chain_ok = h.check_consistency(target)
    if not (opened and chain_ok and not problems):
        return "not whole", problems[0] if problems else "chain"
    return "ok", ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=40, help="copies per method")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="unveil-live-copy-"))
    data = work / "data"
    with h.new_store(data) as store:
        for name in ("Ana Lima", "Ben Okafor", "Chloe Martin"):
            h.enrol(store, name)
    env = {**os.environ, "UNVEIL_PASSPHRASE": h.PASSPHRASE, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, __file__, "--writer", str(data)], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "ready"
    tally: dict[str, collections.Counter] = {m: collections.Counter() for m in args.methods}
    examples: dict[tuple[str, str], str] = {}
    lost: dict[str, list[int]] = {m: [] for m in args.methods}
    try:
        for n in range(args.copies):
            for method in args.methods:
                target = work / f"{method}-{n}"
                before = audit_count(data)
                copy(method, data, target, h.PASSPHRASE)
                verdict, problem = judge(target)
                if verdict != "does not open":
                    lost[method].append(max(0, before - audit_count(target)))
                tally[method][verdict] += 1
                examples.setdefault((method, verdict), problem)
                shutil.rmtree(target)
    finally:
        proc.kill()
        proc.wait()
    with h.open_store(data) as store:
        entries, live_damage = len(store.audit_entries()), store.check()
    print(f"writer: {entries} audit entries in the live store at the end; its check() finds {len(live_damage)} "
          f"problem(s){': ' + live_damage[0].message if live_damage else ''}\n")
    verdicts = ("ok", "damaged", "audit broken", "not whole", "does not open")
    print(f"{'method':<12} " + "  ".join(f"{v:>13}" for v in verdicts) + "  commits lost (copies losing any, most)")
    for method, counts in tally.items():
        losing = [n for n in lost[method] if n]
        print(f"{method:<12} " + "  ".join(f"{counts[v]:>13}" for v in verdicts)
              + f"  {len(losing)}, {max(losing, default=0)}")
    print()
    for (method, verdict), problem in sorted(examples.items()):
        if problem:
            print(f"{method} / {verdict}: {problem}")
    shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--writer":
        writer(Path(sys.argv[2]))
    else:
        raise SystemExit(main())
