"""Fault-injection harness for the encrypted store, shared by tests/test_store_*.py and
benchmarks/privacy_figures.py: byte scans of the data directory, single-byte corruptions of stored
ciphertexts, random byte flips anywhere in either file's tables and indexes, and a worker that
enrols, purges, sweeps and changes the passphrase until it is killed with SIGKILL.

Run as a module from the repository root it is that worker:
    python -m tests.support.privacy_harness churn DATA_DIR SEED     # enrol/purge/sweep/passwd forever (until killed)
    python -m tests.support.privacy_harness enrol DATA_DIR PREFIX N # enrol N people, then exit
The passphrase comes from UNVEIL_PASSPHRASE.
"""
from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from fer_core import UnveilError
from fer_core.store import DATA_FILE, KEYS_FILE, FamilyStore, ScryptParams, TamperedDataError
from governance import consent, erasure, family, retention
from governance.consent import ConsentRecord

# Cheap scrypt for harness stores: the faults under test do not depend on the KDF's cost.
FAST_SCRYPT = ScryptParams(n=2**10, r=8, p=1)
PASSPHRASE = "correct horse battery staple"
EMBEDDINGS_PER_PERSON = 5
DIM = 128


# ---------------------------------------------------------------------------------------- content

def person_embeddings(name: str, n: int = EMBEDDINGS_PER_PERSON, dim: int = DIM) -> np.ndarray:
    """Deterministic embeddings for a name, so a checker can tell whole data from partial data."""
    rng = np.random.default_rng(zlib.crc32(name.encode("utf-8")))
    return rng.standard_normal((n, dim)).astype(np.float32)


def person_thumbnail(name: str) -> bytes:
    # Stands in for a JPEG: random bytes are a harder needle for a scan than a real image's headers.
    return np.random.default_rng(zlib.crc32(b"thumb" + name.encode())).integers(0, 256, 600, dtype=np.uint8).tobytes()


def consent_for(store: FamilyStore, name: str) -> ConsentRecord:
    from governance.consent import store_now
    return ConsentRecord.new(subject=name, purpose="name family members in our photos", days=365,
                             scope="recognition+thumbnails", now=store_now(store))


def enrol(store: FamilyStore, name: str) -> str:
    return family.enroll(store, name, person_embeddings(name), consent_for(store, name),
                         thumbnails=[person_thumbnail(name)]).person_id


def enrol_briefly(store: FamilyStore, name: str, seconds: float) -> str:
    """Enrol with a consent that lapses after `seconds`, so that a later sweep has someone to erase."""
    record = consent_for(store, name)
    record = replace(record, expires_at=record.given_at + timedelta(seconds=seconds))
    return family.enroll(store, name, person_embeddings(name), record, thumbnails=[person_thumbnail(name)]).person_id


def new_store(data_dir: Path, **kwargs) -> FamilyStore:
    return FamilyStore.create(data_dir, passphrase=PASSPHRASE, scrypt=FAST_SCRYPT, **kwargs)


def open_store(data_dir: Path, **kwargs) -> FamilyStore:
    store = FamilyStore(data_dir, **kwargs)
    store.unlock(PASSPHRASE)
    return store


def cli_store(data_dir: Path, monkeypatch: Any, *names: str) -> Path:
    """A store of these members for the CLI's tests, its passphrase in the environment the CLI reads."""
    monkeypatch.setenv("UNVEIL_PASSPHRASE", PASSPHRASE)
    monkeypatch.delenv("UNVEIL_DATA_DIR", raising=False)
    with new_store(data_dir) as store:
        for name in names:
            enrol(store, name)
    return data_dir


def run_cli(capsys: Any, *argv: str) -> tuple[int, str, str]:
    """`unveil ARGV` in this process: its exit code and what it wrote to stdout and stderr."""
    from unveil.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------------------------- byte scans

def text_needles(label: str, text: str) -> dict[str, bytes]:
    """The ways a name could sit on disk: UTF-8, UTF-16 either way, lower/upper case, and each word of
    five or more letters (shorter needles would match random ciphertext by chance)."""
    out = {}
    for variant in {text, text.lower(), text.upper()}:
        for enc in ("utf-8", "utf-16-le", "utf-16-be"):
            out[f"{label} {enc} {variant!r}"] = variant.encode(enc)
    for word in text.replace("_", " ").split():
        if len(word) >= 5:
            out[f"{label} word {word!r}"] = word.encode("utf-8")
    return out


def array_needles(label: str, array: np.ndarray, window: int = 16) -> dict[str, bytes]:
    """Every 16-byte window of each row as float32 and float64, little- and big-endian: a raw
    embedding, or any quarter-vector of it, would show up."""
    out = {}
    for r, row in enumerate(np.atleast_2d(array)):
        for dtype in ("<f4", ">f4", "<f8"):
            raw = row.astype(dtype).tobytes()
            for start in range(0, len(raw) - window + 1, window):
                out[f"{label} row {r} {dtype} @{start}"] = raw[start:start + window]
    return out


def bytes_needles(label: str, blob: bytes, window: int = 16) -> dict[str, bytes]:
    return {f"{label} @{s}": blob[s:s + window] for s in range(0, len(blob) - window + 1, window)}


def scan(data_dir: Path, needles: dict[str, bytes]) -> list[tuple[str, str]]:
    """(file, needle label) for every needle found in any file under data_dir (database, WAL, shm,
    journal, anything else)."""
    found = []
    for path in sorted(p for p in Path(data_dir).rglob("*") if p.is_file()):
        content = path.read_bytes()
        found.extend((path.name, label) for label, needle in needles.items() if needle in content)
    return found


def query(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows straight from an SQLite file, bypassing the store (as an attacker or a backup would)."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql, params).fetchall()


def sealed_blobs_of(data_dir: Path, person_id: str) -> dict[str, bytes]:
    """Every ciphertext stored for one person (and their wrapped data key), read straight from SQLite."""
    main = data_dir / DATA_FILE
    out = {"name": query(main, "SELECT name FROM people WHERE id = ?", (person_id,))[0][0]}
    for table, column in (("embeddings", "vector"), ("thumbnails", "image"), ("consents", "details")):
        for rid, blob in query(main, f"SELECT id, {column} FROM {table} WHERE person_id = ?", (person_id,)):
            out[f"{table} {rid}"] = blob
    for seq, blob in query(main, "SELECT seq, name FROM audit WHERE person_id = ? AND name IS NOT NULL", (person_id,)):
        out[f"audit {seq}"] = blob
    out["data key"] = query(data_dir / KEYS_FILE, "SELECT wrapped FROM data_keys WHERE owner = ?", (person_id,))[0][0]
    for (owner,) in query(main, "SELECT key_owner FROM thumbnails WHERE person_id = ?", (person_id,)):
        out[f"data key {owner}"] = query(data_dir / KEYS_FILE, "SELECT wrapped FROM data_keys WHERE owner = ?", (owner,))[0][0]
    return out


# ---------------------------------------------------------------------------------------- corruption

@dataclass(frozen=True)
class Cell:
    """One stored ciphertext: file, table, key column and value, sealed column, and whose it is."""
    file: str
    table: str
    key_column: str
    key: str | int
    column: str
    owner: str


def sealed_cells(data_dir: Path) -> list[Cell]:
    main = data_dir / DATA_FILE
    cells = [Cell(DATA_FILE, "people", "id", pid, "name", pid) for (pid,) in query(main, "SELECT id FROM people")]
    for table, column in (("embeddings", "vector"), ("thumbnails", "image"), ("consents", "details")):
        cells += [Cell(DATA_FILE, table, "id", rid, column, pid) for rid, pid in query(main, f"SELECT id, person_id FROM {table}")]
    cells += [Cell(DATA_FILE, "analyses", "id", rid, "result", owner)
              for rid, owner in query(main, "SELECT id, key_owner FROM analyses")]
    cells += [Cell(DATA_FILE, "audit", "seq", seq, "name", pid)
              for seq, pid in query(main, "SELECT seq, person_id FROM audit WHERE name IS NOT NULL")]
    # A thumbnail's key is its person's (whose thumbnail it seals).
    thumbnail_keys = dict(query(main, "SELECT key_owner, person_id FROM thumbnails"))
    cells += [Cell(KEYS_FILE, "data_keys", "owner", owner, "wrapped", thumbnail_keys.get(owner, owner))
              for (owner,) in query(data_dir / KEYS_FILE, "SELECT owner FROM data_keys")]
    return cells


def _rewrite(data_dir: Path, cell: Cell, value: bytes) -> None:
    with contextlib.closing(sqlite3.connect(data_dir / cell.file, isolation_level=None)) as conn:
        conn.execute(f"UPDATE {cell.table} SET {cell.column} = ? WHERE {cell.key_column} = ?", (value, cell.key))


def _read(data_dir: Path, cell: Cell) -> bytes:
    return query(data_dir / cell.file, f"SELECT {cell.column} FROM {cell.table} WHERE {cell.key_column} = ?", (cell.key,))[0][0]


def build_corruption_store(data_dir: Path) -> dict[str, np.ndarray]:
    """Three people with embeddings, thumbnails, consents, a saved analysis naming one of them, and
    audit entries carrying sealed names. Returns the expected gallery."""
    with new_store(data_dir) as store:
        ids = [enrol(store, name) for name in ("Gloria Macapagal", "Junichiro Koizumi", "Jennifer Lopez")]
        store.add_analysis({"faces": 2, "emotions": ["happy", "neutral"]}, person_ids=[ids[0]])
        return {entry.name: entry.embeddings for entry in store.gallery()}


def _refuses_read(store: FamilyStore, cell: Cell) -> bool:
    """Reading the corrupted value through the API raises TamperedDataError (never garbage)."""
    try:
        if cell.table == "audit":
            entry = next(e for e in store.audit_entries() if e.seq == cell.key)
            return entry.name_status == "damaged" and not store.verify_audit().ok
        if cell.table == "analyses":
            store.analyses()
        elif cell.table == "embeddings":
            store.embeddings(cell.owner)
        elif cell.table == "thumbnails":
            store.thumbnails(cell.owner)
        elif cell.table == "consents":
            store.consents(cell.owner)
        elif cell.table == "data_keys" and cell.owner.startswith("household:"):
            store.analyses()
        elif cell.table == "data_keys" and str(cell.key).startswith("thumbnail:"):
            store.thumbnails(cell.owner)
        else:
            store.person(cell.owner)
    except TamperedDataError:
        return True
    return False


@dataclass(frozen=True)
class CorruptionTrial:
    cell: Cell
    position: int
    detected: bool  # check() reported this value as damaged (and nothing unrelated)
    refused: bool  # the API read raised TamperedDataError
    rest_ok: bool  # every unaffected person still decrypts to exactly their embeddings
    restored_ok: bool  # with the byte put back, the whole store checks clean again


def corruption_trials(data_dir: Path, expected: dict[str, np.ndarray], *, n: int, seed: int) -> list[CorruptionTrial]:
    """n random single-byte corruptions (random kind of ciphertext, random stored value of that kind,
    random byte, random non-zero XOR), each checked in a fresh session and then undone. Drawing the
    kind first keeps rare kinds (the one saved analysis, the key store) from going untested."""
    rng = random.Random(seed)
    cells = sealed_cells(data_dir)
    kinds = sorted({c.table for c in cells})
    with open_store(data_dir) as store:
        names = {p.id: p.name for p in store.people()}
    trials = []
    for _ in range(n):
        kind = rng.choice(kinds)
        cell = rng.choice([c for c in cells if c.table == kind])
        original = _read(data_dir, cell)
        position = rng.randrange(len(original))
        corrupted = bytearray(original)
        corrupted[position] ^= rng.randrange(1, 256)
        _rewrite(data_dir, cell, bytes(corrupted))
        try:
            with open_store(data_dir) as store:
                damage = store.check()
                reported = {(d.table, str(d.row)) for d in damage}
                if cell.table == "data_keys":
                    # A damaged key makes all of its owner's values unreadable: those are reported too.
                    detected = ("data_keys", cell.key) in reported
                else:
                    detected = reported == {(cell.table, str(cell.key))}
                refused = _refuses_read(store, cell)
                gallery = {entry.name: entry.embeddings for entry in store.gallery(errors="skip")}
                affected = names.get(cell.owner)  # None for the household key (saved analyses)
                rest_ok = all(np.array_equal(gallery.get(name), emb) for name, emb in expected.items() if name != affected)
        finally:
            _rewrite(data_dir, cell, original)
        with open_store(data_dir) as store:
            restored_ok = store.check() == [] and store.verify_audit().ok
        trials.append(CorruptionTrial(cell, position, detected, refused, rest_ok, restored_ok))
    return trials


# ---------------------------------------------------------------------------------------- byte flips in the files

def build_campaign_store(data_dir: Path) -> dict[str, Any]:
    """Four people (one with a second, narrower consent), two saved analyses (one naming two people),
    two retention settings, closed so that every page is in the two files. Returns what reading it gives (see snapshot)."""
    with new_store(data_dir) as store:
        ids = [enrol(store, name) for name in ("Gloria Macapagal", "Junichiro Koizumi", "Jennifer Lopez", "Tony Blair")]
        consent.change_scope(store, ids[3], "recognition")
        store.add_analysis({"faces": 2, "emotions": ["happy", "neutral"]}, person_ids=ids[:2])
        store.add_analysis({"faces": 0})
        store.set_retention("thumbnails", 90)
        store.set_retention("analyses", 30)
        return snapshot(store)


def snapshot(store: FamilyStore) -> dict[str, Any]:
    """Everything the app can read from an unlocked store, for comparing a damaged copy with the original."""
    people = store.people()
    return {
        "people": [(p.id, p.name, p.created_at, p.last_seen_at, p.embeddings, p.thumbnails, p.consents) for p in people],
        "gallery": {entry.name: entry.embeddings.tobytes() for entry in store.gallery()},
        "consents": {p.id: [(c.id, c.details) for c in store.consents(p.id)] for p in people},
        "thumbnails": {p.id: [(t.id, t.image) for t in store.thumbnails(p.id)] for p in people},
        "analyses": [(a.id, a.created_at, a.result, sorted(a.person_ids)) for a in store.analyses()],
        "audit": [(e.seq, e.ts, e.event, e.person_id, e.name, e.details) for e in store.audit_entries()],
        "retention": store.retention_settings(),
    }


def btree_pages(path: Path) -> dict[str, list[int]]:
    """The pages of every table and index in an SQLite file (SQLite's dbstat), by b-tree name."""
    out: dict[str, list[int]] = {}
    for name, page in query(path, "SELECT name, pageno FROM dbstat ORDER BY pageno"):
        out.setdefault(name, []).append(page)
    return out


def _holdings(data_dir: Path) -> tuple[int, ...] | None:
    """How many keys and rows of each kind the files hold, read raw; None if SQLite cannot read them."""
    try:
        keys = query(data_dir / KEYS_FILE, "SELECT COUNT(*) FROM data_keys")[0][0]
        rows = query(data_dir / DATA_FILE, "SELECT (SELECT COUNT(*) FROM people), (SELECT COUNT(*) FROM embeddings), "
                                           "(SELECT COUNT(*) FROM thumbnails), (SELECT COUNT(*) FROM consents), "
                                           "(SELECT COUNT(*) FROM analyses)")[0]
    except (sqlite3.Error, UnicodeDecodeError):  # the flip made the file (or its schema text) unreadable
        return None
    return (keys, *rows)


@dataclass(frozen=True)
class FlipTrial:
    file: str
    tree: str  # the table or index whose page was hit
    page: int
    offset: int
    xor: int
    outcome: str  # "detected", "harmless" (every read gives the original) or "silent" (a read differs, nothing said)
    how: str  # what detected it: the open, the unlock or a read (typed error), or check()/integrity/verify
    untyped: bool  # detected only by an exception that is not one of Unveil's typed errors
    destructive: bool | None  # the app deleted keys or rows it held (None: the damaged file cannot be counted raw)


def _judge(data_dir: Path, expected: dict[str, Any]) -> tuple[str, str, bool]:
    """Open, unlock, check and read the damaged store as the app would, then run the sweep that the
    app runs at every unlock."""
    try:
        store = FamilyStore(data_dir)
    except UnveilError as exc:
        return "detected", f"open: {type(exc).__name__}", False
    except Exception as exc:
        return "detected", f"open: {type(exc).__name__}", True
    with store:
        try:
            store.unlock(PASSPHRASE)
            reported = store.integrity_problems() + [d.message for d in store.check()]
            audit_ok = store.verify_audit().ok
            got = snapshot(store)
        except UnveilError as exc:
            outcome = ("detected", f"unlock/read: {type(exc).__name__}", False)
        except Exception as exc:
            outcome = ("detected", f"unlock/read: {type(exc).__name__}: {exc}", True)
        else:
            if reported or not audit_ok:
                outcome = ("detected", "check/verify", False)
            else:
                outcome = ("harmless", "-", False) if got == expected else ("silent", "-", False)
        if store.is_unlocked:
            with contextlib.suppress(Exception):  # refusing is the point; what counts is what it removed
                retention.sweep(store)
    return outcome


def flip_trials(pristine: Path, expected: dict[str, Any], work: Path, *, n: int, seed: int,
                used_bytes: bool = False) -> list[FlipTrial]:
    """n random single-byte flips, each in a fresh copy of the pristine store: a table or index of
    either file (SQLite's own schema table included; they take turns in a shuffled order, so n >= 35
    hits every one), a random page of it, a random byte of that page (with `used_bytes`, only among
    its non-zero bytes, so that flips land in headers, pointers and cells rather than free space), a
    random non-zero XOR."""
    rng = random.Random(seed)
    trees = [(file, tree, pages) for file in (DATA_FILE, KEYS_FILE) for tree, pages in sorted(btree_pages(pristine / file).items())]
    trials, turn = [], []
    for _ in range(n):
        if not turn:
            turn = rng.sample(trees, len(trees))
        file, tree, pages = turn.pop()
        page = rng.choice(pages)
        page_size = query(pristine / file, "PRAGMA page_size")[0][0]
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(pristine, work)
        raw = bytearray((work / file).read_bytes())
        start = (page - 1) * page_size
        offset = rng.choice([o for o in range(page_size) if raw[start + o]]) if used_bytes else rng.randrange(page_size)
        xor = rng.randrange(1, 256)
        raw[(page - 1) * page_size + offset] ^= xor
        (work / file).write_bytes(bytes(raw))
        before = _holdings(work)
        outcome, how, untyped = _judge(work, expected)
        after = _holdings(work)
        destructive = None if before is None or after is None else any(a < b for a, b in zip(after, before))
        trials.append(FlipTrial(file, tree, page, offset, xor, outcome, how, untyped, destructive))
    return trials


# ---------------------------------------------------------------------------------------- crashes

def check_consistency(data_dir: Path) -> tuple[bool, list[str], bool]:
    """(store opened, half-done operations found, audit chain verified) after a crash.

    Whole means: every person present has exactly their enrolment (5 known embeddings, 1 thumbnail,
    1 consent), an "enrol" audit entry and no "purge" entry; every enrolment in the log is either
    present or has its "purge" entry; and keys.db holds exactly the keys of the present people and of
    their thumbnails."""
    try:
        store = open_store(data_dir)
    except Exception as exc:
        return False, [f"open failed: {type(exc).__name__}: {exc}"], False
    problems = []
    with store:
        chain_ok = store.verify_audit().ok
        if store.check():
            problems.append(f"damaged values: {store.check()}")
        entries = store.audit_entries()
        enrolled = {e.person_id for e in entries if e.event == "enrol"}
        purged = {e.person_id for e in entries if e.event == "purge"}
        present = {}
        for person in store.people():
            present[person.id] = person
            expected = person_embeddings(person.name)
            if not np.array_equal(store.embeddings(person.id), expected):
                problems.append(f"{person.name}: embeddings differ from the enrolment")
            if (person.thumbnails, person.consents) != (1, 1):
                problems.append(f"{person.name}: {person.thumbnails} thumbnails, {person.consents} consents")
            if person.id not in enrolled:
                problems.append(f"{person.name}: present without an enrol entry")
            if person.id in purged:
                problems.append(f"{person.name}: present although a purge entry exists")
        for pid in enrolled - present.keys() - purged:
            problems.append(f"{pid}: enrol entry but neither present nor purged")
        owners = {o for (o,) in query(data_dir / KEYS_FILE, "SELECT owner FROM data_keys")}
        expected = set(present) | {o for (o,) in query(data_dir / DATA_FILE, "SELECT key_owner FROM thumbnails")}
        if owners != expected:
            problems.append(f"data keys {sorted(owners ^ expected)} do not match the people present and their thumbnails")
    return True, problems, chain_ok


@dataclass(frozen=True)
class CrashTrial:
    delay: float
    interrupted: str | None  # the operation the kill landed in ("enrol", "purge"), None if between two
    opened: bool
    half_done: list[str]
    chain_ok: bool


def _worker(args: list[str]) -> subprocess.Popen:
    # The worker imports the same checkout as this harness, whatever the interpreter has installed.
    path = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "UNVEIL_PASSPHRASE": PASSPHRASE, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path}
    return subprocess.Popen([sys.executable, "-m", "tests.support.privacy_harness", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def crash_trials(data_dir: Path, *, n: int, seed: int, max_delay: float = 0.5) -> list[CrashTrial]:
    """n times: start a worker that enrols, purges, sweeps and changes the passphrase (or rotates the
    master key) in a loop, SIGKILL it at a random moment once it is working, then check the store.
    The same store takes every crash in turn."""
    rng = random.Random(seed)
    if not (data_dir / DATA_FILE).exists():
        new_store(data_dir).close()
    trials = []
    for i in range(n):
        proc = _worker(["churn", str(data_dir), str(seed * 1000 + i)])
        ready = proc.stdout.readline()
        if ready.strip() != "ready":
            proc.kill()
            raise RuntimeError(f"worker failed to start: {ready!r} {proc.stderr.read()}")
        delay = rng.uniform(0.0, max_delay)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        last = (proc.stdout.read().splitlines() or ["end"])[-1]
        proc.stdout.close()
        proc.stderr.close()
        interrupted = last.split()[1] if last.startswith("begin") else None
        opened, half_done, chain_ok = check_consistency(data_dir)
        trials.append(CrashTrial(delay, interrupted, opened, half_done, chain_ok))
    return trials


def concurrent_enrolment(data_dir: Path, *, per_process: int, processes: int = 2) -> list[int]:
    """Start `processes` workers enrolling `per_process` people each, at the same time; their exit codes."""
    if not (data_dir / DATA_FILE).exists():
        new_store(data_dir).close()
    procs = [_worker(["enrol", str(data_dir), f"Worker{k}", str(per_process)]) for k in range(processes)]
    for proc in procs:
        proc.communicate(timeout=300)
    return [proc.returncode for proc in procs]


CHURN_OPERATIONS = ("enrol", "purge", "sweep", "passwd", "rotate")


def _churn(data_dir: Path, seed: int) -> None:
    rng = random.Random(seed)
    passphrase = os.environ["UNVEIL_PASSPHRASE"]
    store = FamilyStore(data_dir)
    store.unlock(passphrase)
    print("ready", flush=True)
    i = 0
    while True:
        ids = store.person_ids()
        draw = rng.random()
        operation = "enrol" if len(ids) < 3 or draw < 0.45 else "purge" if draw < 0.65 else \
            "sweep" if draw < 0.85 else "passwd" if draw < 0.93 else "rotate"
        # The parent reads these lines after the kill to tell where it landed.
        print(f"begin {operation}", flush=True)
        if operation == "enrol":
            # Some consents lapse at once, so that sweeps have someone to erase.
            if rng.random() < 0.3:
                enrol_briefly(store, f"Churn {seed} {i}", 1.0)
            else:
                enrol(store, f"Churn {seed} {i}")
        elif operation == "purge":
            erasure.purge_person(store, rng.choice(ids))
        elif operation == "sweep":
            retention.sweep(store)
        elif operation == "passwd":
            store.change_passphrase(passphrase, scrypt=FAST_SCRYPT)
        else:
            store.rotate_master_key(passphrase, scrypt=FAST_SCRYPT)
        print("end", flush=True)
        i += 1


def _enrol_many(data_dir: Path, prefix: str, n: int) -> None:
    store = FamilyStore(data_dir)
    store.unlock(os.environ["UNVEIL_PASSPHRASE"])
    for i in range(n):
        enrol(store, f"{prefix} {i}")
    store.close()


if __name__ == "__main__":
    command, directory = sys.argv[1], Path(sys.argv[2])
    if command == "churn":
        _churn(directory, int(sys.argv[3]))
    elif command == "enrol":
        _enrol_many(directory, sys.argv[3], int(sys.argv[4]))
    else:
        raise SystemExit(f"unknown command {command!r}")
