"""The privacy core's figures, as one table (the README's "privacy checks" row; docs/threat_model.md):

1. byte scan of the whole data directory after enrolling named people: plaintext names, raw
   embedding bytes and thumbnails found (must be 0);
2. after purging one person: their ciphertexts and data key found on disk (0), and whether a copy of
   the database taken before the purge can be decrypted for them with the passphrase (must not);
3. random single-byte corruptions of stored ciphertexts detected (100 of 100);
4. random single-byte flips anywhere in either file (every table and index, SQLite's own pages
   included), once at any byte and once at used (non-zero) bytes only: detected or harmless (all),
   silent wrong results (0), keys or rows deleted by the app because of the damage (0), failures
   that are not Unveil's typed errors (0);
5. kill -9 at random points during enrol, purge, retention sweep, passphrase change and master-key
   rotation: stores that fail to open, half-done operations, audit chains that fail (all 0);
6. unlock time with the default scrypt parameters (target 0.2-1 s).

    python benchmarks/privacy_figures.py                 # real embeddings of the LFW people in ../shared/data/faces
    python benchmarks/privacy_figures.py --synthetic     # random embeddings instead (no models needed)
Run it from the repository root with PYTHONPATH=. so that this checkout's code is measured.
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the fault-injection harness is the privacy tests' (tests/support)

from fer_core.store import DATA_FILE, KEYS_FILE, FamilyStore, KeyDestroyedError, ScryptParams  # noqa: E402
from governance import enrolment, erasure, family  # noqa: E402
from tests.support import privacy_harness as h  # noqa: E402

FACES = REPO.parent / "shared" / "data" / "faces"


def _people(limit: int) -> list[str]:
    with open(FACES / "people.csv", newline="") as handle:
        return [row["person"] for row in csv.DictReader(handle)][:limit]


def _embeddings(people: list[str], synthetic: bool) -> dict[str, np.ndarray]:
    """Four enrolment photos per person through the real detector + identity model, or random vectors."""
    if synthetic:
        return {p: h.person_embeddings(p, n=4) for p in people}
    from fer_core.analyzer import default_detector
    from fer_core.identity import load_embedding_model

    detect, model = default_detector().detect, load_embedding_model()
    out = {}
    for person in people:
        photos = sorted((FACES / person).glob("*.jpg"))
        chosen = []
        for photo in photos:  # the first four photos that show exactly one face (the enrolment's detector)
            read = enrolment.read_photo(photo, photo.name, detect)
            if len(read.faces) != 1:
                continue
            chosen.append(model.embed(enrolment.aligned_faces(enrolment.pick_faces([read])[0], model))[0])
            if len(chosen) == 4:
                break
        out[person] = np.stack(chosen).astype(np.float32)
    return out


def _enrol(store: FamilyStore, name: str, vectors: np.ndarray) -> str:
    return family.enroll(store, name, vectors, h.consent_for(store, name), thumbnails=[h.person_thumbnail(name)]).person_id


def scan_figures(root: Path, people: list[str], embeddings: dict[str, np.ndarray]) -> list[tuple[str, str, str]]:
    data, backup = root / "scan", root / "backup"
    store = h.new_store(data)
    names = {p: p.replace("_", " ") for p in people}
    ids = {p: _enrol(store, names[p], embeddings[p]) for p in people}
    needles = {}
    for p in people:
        needles |= h.text_needles(names[p], names[p])
        needles |= h.array_needles(p, embeddings[p])
        needles |= h.bytes_needles(f"{p} thumbnail", h.person_thumbnail(names[p]))
    files = sorted(f"{q.name} ({q.stat().st_size} B)" for q in data.iterdir())
    live_hits = h.scan(data, needles)

    gone = people[0]
    theirs = {f"{label} {k}": v for label, blob in h.sealed_blobs_of(data, ids[gone]).items()
              for k, v in h.bytes_needles(label, blob).items()}
    backup.mkdir()
    for path in data.glob(f"{DATA_FILE}*"):
        shutil.copy2(path, backup / path.name)
    receipt = erasure.purge_person(store, ids[gone])
    after_hits = h.scan(data, theirs) + h.scan(data, needles)
    key_rows = h.query(data / KEYS_FILE, "SELECT COUNT(*) FROM data_keys WHERE owner = ?", (ids[gone],))[0][0]
    store.close()
    shutil.copy2(data / KEYS_FILE, backup / KEYS_FILE)
    with FamilyStore(backup) as old:
        old.unlock(h.PASSPHRASE)
        try:
            old.person(ids[gone])
            backup_result = "DECRYPTED (failure)"
        except KeyDestroyedError:
            backup_result = "refused: data key destroyed"
        others_ok = len(old.gallery(errors="skip")) == len(people) - 1
    return [
        ("scan after enrolment", (f"{len(people)} people, 4 embeddings + 1 thumbnail each; {len(needles)} needles "
                                 f"(names in UTF-8/16, 16-byte windows of every embedding as f32/f64, thumbnails)"),
         f"{len(live_hits)} found in {', '.join(files)}"),
        ("scan after purging one person", f"{len(theirs)} windows of their ciphertexts + wrapped key, and all needles",
         f"{len(after_hits)} found; scrubbed={receipt.storage_scrubbed}"),
        ("their data key in keys.db", "rows for the purged id", str(key_rows)),
        ("pre-purge DB copy + passphrase", "open the copy, unlock, read the purged person",
         f"{backup_result}; other people readable: {others_ok}"),
    ]


def corruption_figures(root: Path, n: int, seed: int) -> list[tuple[str, str, str]]:
    data = root / "tamper"
    expected = h.build_corruption_store(data)
    trials = h.corruption_trials(data, expected, n=n, seed=seed)
    kinds = sorted({t.cell.table for t in trials})
    return [("single-byte corruptions", (f"{n} random (ciphertext, byte, XOR) over {len(h.sealed_cells(data))} stored "
                                        f"ciphertexts of kinds {', '.join(kinds)}"),
             (f"detected {sum(t.detected for t in trials)}/{n}; refused on read {sum(t.refused for t in trials)}/{n}; "
             f"rest of store intact {sum(t.rest_ok for t in trials)}/{n}; clean after undo {sum(t.restored_ok for t in trials)}/{n}"))]


def flip_figures(root: Path, n: int, seed: int, *, used_bytes: bool) -> list[tuple[str, str, str]]:
    start = time.perf_counter()
    where = root / ("flip-used" if used_bytes else "flip-any")
    expected = h.build_campaign_store(where / "pristine")
    trials = h.flip_trials(where / "pristine", expected, where / "work", n=n, seed=seed, used_bytes=used_bytes)
    trees = {(t.file, t.tree) for t in trials}
    outcome = {k: sum(t.outcome == k for t in trials) for k in ("detected", "harmless", "silent")}
    uncounted = [t for t in trials if t.destructive is None]
    check = "random byte flips in the files" + (" (used bytes)" if used_bytes else "")
    what = (f"{n} flips (random table or index of either file, page, {'non-zero byte' if used_bytes else 'byte'}, XOR) "
            f"in fresh copies of a 4-person store; all {len(trees)} b-trees hit; opened, unlocked, checked, read and "
            f"swept as the app does; {time.perf_counter() - start:.0f} s")
    result = (f"detected {outcome['detected']}, harmless {outcome['harmless']} (every read as before), silent wrong "
              f"results {outcome['silent']}; untyped failures {sum(t.untyped for t in trials)}; keys/rows deleted by the "
              f"app {sum(bool(t.destructive) for t in trials)} ({len(uncounted)} files unreadable raw, refused at open: "
              f"{sum(t.how.startswith('open:') for t in uncounted)})")
    return [(check, what, result)]


def crash_figures(root: Path, n: int, seed: int) -> list[tuple[str, str, str]]:
    start = time.perf_counter()
    trials = h.crash_trials(root / "crash", n=n, seed=seed)
    where = {k: sum(t.interrupted == k for t in trials) for k in (*h.CHURN_OPERATIONS, None)}
    landed = ", ".join(f"{k} {where[k]}" for k in h.CHURN_OPERATIONS)
    return [("kill -9 during enrol/purge/sweep/passwd/rotate", (f"{n} kills at uniform(0, 0.5) s into a worker doing them "
                                                               f"in a loop (landed in {landed}, between {where[None]}); "
                                                               f"{time.perf_counter() - start:.0f} s"),
             (f"stores failing to open {sum(not t.opened for t in trials)}; half-done operations "
             f"{sum(len(t.half_done) for t in trials)}; audit chains failing {sum(not t.chain_ok for t in trials)}"))]


def unlock_figures(root: Path, repeats: int) -> list[tuple[str, str, str]]:
    params = ScryptParams()
    FamilyStore.create(root / "unlock", passphrase=h.PASSPHRASE).close()
    times, cpu = [], []
    with FamilyStore(root / "unlock") as store:
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            store.unlock(h.PASSPHRASE)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            store.lock()
    load = os.getloadavg()[0]
    # Wall time depends on what else runs; CPU time is the derivation's own cost on one core.
    return [("unlock (scrypt + unwrap)", (f"default N=2**{params.n.bit_length() - 1}, r={params.r}, p={params.p} "
                                         f"({128 * params.n * params.r // 2**20} MiB); {repeats} unlocks; "
                                         f"1-min load average {load:.1f} on {os.cpu_count()} cores"),
             (f"wall median {statistics.median(times):.3f} s (min {min(times):.3f}, max {max(times):.3f}); "
             f"CPU median {statistics.median(cpu):.3f} s"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=16)
    parser.add_argument("--corruptions", type=int, default=100)
    parser.add_argument("--flips", type=int, default=200)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--unlocks", type=int, default=5)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--synthetic", action="store_true", help="random embeddings instead of the identity model's")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="unveil-privacy-") as tmp:
        root = Path(tmp)
        people = _people(args.people)
        rows = scan_figures(root, people, _embeddings(people, args.synthetic))
        rows += corruption_figures(root, args.corruptions, args.seed)
        rows += flip_figures(root, args.flips, args.seed, used_bytes=False)
        rows += flip_figures(root, args.flips, args.seed, used_bytes=True)
        rows += crash_figures(root, args.kills, args.seed)
        rows += unlock_figures(root, args.unlocks)

    source = "synthetic" if args.synthetic else "face_recognition_dlib.onnx on ../shared/data/faces"
    print(f"Unveil privacy figures (embeddings: {source})\n")
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    print(f"{'check':<{widths[0]}} | {'what':<{widths[1]}} | result")
    print(f"{'-' * widths[0]}-+-{'-' * widths[1]}-+-{'-' * 30}")
    for check, what, result in rows:
        print(f"{check:<{widths[0]}} | {what:<{widths[1]}} | {result}")


if __name__ == "__main__":
    main()
