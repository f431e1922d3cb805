"""The app and the CLI after a year of heavy use: the Analyze page holding many phone photos, the Kept results and
Family pages (and `unveil family list`, `consent list`) on a big store, the Video page on a long video.

    python benchmarks/bench_heavy_use.py analyze --photos 12              # 12 MP photos held by one Analyze session
    python benchmarks/bench_heavy_use.py store --members 50 --renewals 49 --kept 5000
    python benchmarks/bench_heavy_use.py video --minutes 60 --fps 5

Pages run in Streamlit's AppTest (tests/support/app.py does the same) in this process, on a temporary data folder
(UNVEIL_DATA_DIR) deleted afterwards; models from UNVEIL_MODELS_DIR, default models/.

analyze: N LFW photos enlarged to 4000x3000 with grain (a phone photo's size, 2.6 MB as JPEG; with --as-is the
250x250 photos themselves) uploaded at once; prints the time of a rerun and how many elements, pictures and charts it
draws, the process's resident memory before and after, and what the session's photo batch holds (decoded arrays, the
uploads' bytes, the display views).

store: a store with light scrypt, built through governance: MEMBERS enrolled (20 face prints tagged with the
installed identity model, THUMBNAILS thumbnails each),
each consent renewed RENEWALS times, and KEPT kept results of 1-3 faces (the first 500 through
kept_results.keep_analysis, the rest as it stores them, store.add_analysis plus its audit entry, without its
duplicate check, which reads every kept result); then times unlocking and drawing the Family, Kept results and
Governance pages (rows and bytes of each table, options of each select box), and `unveil family list` and
`unveil consent list` in a subprocess.

video: a MINUTES-long 320x160 MPEG-4 video of one LFW face drifting sideways at FPS frames/s, analysed by the Video
page with its default sampling; prints the time, the memory the run added and what the charts hold.
"""
from __future__ import annotations

import argparse
import glob
import io
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
FACES = REPO.parent / "shared" / "data" / "faces"
PASSPHRASE = "heavy use, a year of it"


def _rss_mib() -> float:
    return int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]) / 1024


def _app():
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(REPO / "app.py"), default_timeout=3600)


def _phone_photo(path: str, seed: int) -> bytes:
    image = Image.open(path).convert("RGB").resize((4000, 3000), Image.BICUBIC)
    grain = np.random.default_rng(seed).integers(-12, 12, (3000, 4000, 3))
    buffer = io.BytesIO()
    Image.fromarray((np.asarray(image).astype(np.int16) + grain).clip(0, 255).astype(np.uint8)).save(
        buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _charts(at) -> list:
    # AppTest names a chart by the message that carries it: with its data in Arrow, or (the page's) in the spec.
    return [*at.get("arrow_vega_lite_chart"), *at.get("vega_lite_chart")]


def _elements(node) -> int:
    """How many elements and blocks AppTest's tree of the last run holds, this one included."""
    return 1 + sum(_elements(child) for child in getattr(node, "children", {}).values())


def analyze(args: argparse.Namespace) -> None:
    from unveil.app import widgets

    sources = sorted(glob.glob(str(FACES / "*" / "*.jpg")))
    uploads = [(f"IMG_{i:04d}.jpg", Path(sources[i % len(sources)]).read_bytes() if args.as_is
                else _phone_photo(sources[i % len(sources)], i), "image/jpeg") for i in range(args.photos)]
    print(f"{args.photos} photos, {sum(len(u[1]) for u in uploads) / 2**20:.1f} MiB as uploaded")
    at = _app()
    at.switch_page("unveil/app/pages/analyze.py").run()
    before = _rss_mib()
    next(w for w in at.get("file_uploader") if w.key and w.key.startswith("analyze_inputs")).set_value(uploads)
    start = time.perf_counter()
    at.run()
    print(f"uploaded and analysed in {time.perf_counter() - start:.1f} s; exceptions: {[e.value for e in at.exception]}")
    del uploads
    start = time.perf_counter()
    at.run()
    took = time.perf_counter() - start
    pictures = sum(len(image.proto.imgs) for image in at.image)
    print(f"a rerun: {took:.1f} s, {_elements(at._tree)} elements, {pictures} pictures, "
          f"{len(_charts(at))} charts; resident memory {before:.0f} MiB before the upload, "
          f"{_rss_mib():.0f} MiB after (+{_rss_mib() - before:.0f})")
    batch = at.session_state[widgets._PHOTO_BATCH]
    held = [vars(r) for d in (batch._results, batch._analyses) for r in d.values()]
    arrays = {id(v): v.nbytes for r in held for v in r.values() if isinstance(v, np.ndarray)}
    print(f"the session's batch holds: decoded photos {sum(arrays.values()) / 2**20:.1f} MiB, uploads "
          f"{sum(len(d) for _, d in batch._photos.values()) / 2**20:.1f} MiB, views "
          f"{sum(len(r.view or b'') for r in batch._results.values()) / 2**20:.1f} MiB")


def _build_store(folder: Path, members: int, renewals: int, kept: int, thumbnails: int) -> None:
    from fer_core.model_files import identity_model_name
    from fer_core.store import FamilyStore, ScryptParams
    from governance import audit_log, consent, family, kept_results
    from governance.consent import ConsentRecord

    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (112, 112, 3), dtype=np.uint8)).save(buffer, "JPEG")
    with FamilyStore.create(folder, passphrase=PASSPHRASE, scrypt=ScryptParams(n=2**10, r=8, p=1)) as store:
        people = []
        for i in range(members):
            record = ConsentRecord.new(subject=f"Member {i:02d}", purpose="family photos", days=3650,
                                       scope="recognition+thumbnails")
            done = family.enroll(store, f"Member {i:02d}", rng.standard_normal((20, 512)).astype(np.float32), record,
                                 thumbnails=[buffer.getvalue()] * thumbnails, model=identity_model_name())
            people.append((done.person_id, done.name))
        for r in range(renewals):
            for person_id, _ in people:
                consent.renew(store, person_id, expires_at=datetime.now(UTC) + timedelta(days=400 + r))
        for k in range(kept):
            chosen = [people[int(j)] for j in rng.integers(0, members, int(rng.integers(1, 4)))]
            rows = [{"source": f"IMG_{k:05d}.jpg", "face": f + 1, "x": 10.0, "y": 20.0, "w": 80.0, "h": 80.0,
                     "score": 0.99, "emotion": "happy", "p_happy": 0.7, "p_neutral": 0.2, "p_sad": 0.05,
                     "p_surprise": 0.05, "identity": name} for f, (_, name) in enumerate(chosen)]
            ids = [person_id for person_id, _ in chosen]
            if k < 500:
                kept_results.keep_analysis(store, rows, person_ids=ids)
                continue
            with store.transaction():
                store.add_analysis({"faces": rows}, person_ids=ids)
                audit_log.record(store, "analysis_kept", details={"faces": len(rows), "named": len(set(ids))})


def store(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary) / "data"
        start = time.perf_counter()
        _build_store(folder, args.members, args.renewals, args.kept, args.thumbnails)
        print(f"store built in {time.perf_counter() - start:.0f} s: {args.members} members, "
              f"{args.renewals + 1} consent records and {args.thumbnails} thumbnails each, {args.kept} kept results")
        os.environ["UNVEIL_DATA_DIR"] = str(folder)
        at = _app()
        at.switch_page("unveil/app/pages/family.py").run()
        at.text_input(key="unlock_passphrase").input(PASSPHRASE)
        at.button[0].click()
        start = time.perf_counter()
        at.run()
        print(f"unlock and the Family page: {time.perf_counter() - start:.1f} s")
        for page in ("family", "kept", "governance"):
            at.switch_page(f"unveil/app/pages/{page}.py")
            start = time.perf_counter()
            at.run()
            took = time.perf_counter() - start
            tables = [f"{len(d.value)} rows / {len(d.proto.SerializeToString()) / 1024:.0f} KiB" for d in at.dataframe]
            pictures = sum(len(image.proto.imgs) for image in at.image)
            print(f"{page}: {took:.1f} s; tables {tables}; select boxes {[len(s.options) for s in at.selectbox]}; "
                  f"pictures {pictures}; exceptions {[e.value for e in at.exception]}")
        for command in (["family", "list"], ["consent", "list"]):
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "unveil.cli", *command], capture_output=True, text=True,
                                  env={**os.environ, "UNVEIL_PASSPHRASE": PASSPHRASE}, check=False)
            print(f"unveil {' '.join(command)}: {time.perf_counter() - start:.1f} s, exit {done.returncode}, "
                  f"{len(done.stdout.splitlines())} lines")
        print(f"peak resident memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


def video(args: argparse.Namespace) -> None:
    import cv2

    face = np.asarray(Image.open(FACES / "Colin_Powell" / "Colin_Powell_0001.jpg").convert("RGB").resize((120, 120)))
    with tempfile.TemporaryDirectory() as temporary:
        path = Path(temporary) / "long.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), args.fps, (320, 160))
        for i in range(int(args.minutes * 60 * args.fps)):
            canvas = np.full((160, 320, 3), 200, np.uint8)
            x = int(200 * (0.5 + 0.5 * np.sin(i / 50)))
            canvas[20:140, x:x + 120] = face
            writer.write(cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
        writer.release()
        data = path.read_bytes()
    print(f"{args.minutes} min at {args.fps} frames/s: {len(data) / 2**20:.1f} MiB")
    at = _app()
    at.switch_page("unveil/app/pages/video.py").run()
    at.file_uploader(key="video_upload").set_value(("long.mp4", data, "video/mp4")).run()
    before = _rss_mib()
    at.button(key="video_run").click()
    start = time.perf_counter()
    at.run()
    print(f"analysed in {time.perf_counter() - start:.1f} s (+{_rss_mib() - before:.0f} MiB); "
          f"exceptions {[e.value for e in at.exception]}; {[c.value for c in at.caption][-1]}")
    charts = _charts(at)
    print(f"{len(charts)} chart(s), {sum(len(c.proto.SerializeToString()) for c in charts) / 1024:.0f} KiB; "
          f"tables {[len(d.value) for d in at.dataframe]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    photos = modes.add_parser("analyze")
    photos.add_argument("--photos", type=int, default=12)
    photos.add_argument("--as-is", action="store_true", help="the LFW photos as they are (250x250), not enlarged")
    built = modes.add_parser("store")
    built.add_argument("--members", type=int, default=50)
    built.add_argument("--renewals", type=int, default=49)
    built.add_argument("--kept", type=int, default=5000)
    built.add_argument("--thumbnails", type=int, default=10)
    long = modes.add_parser("video")
    long.add_argument("--minutes", type=float, default=60)
    long.add_argument("--fps", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("UNVEIL_MODELS_DIR", str(REPO / "models"))
    if args.mode != "store":
        os.environ["UNVEIL_DATA_DIR"] = tempfile.mkdtemp()
    try:
        {"analyze": analyze, "store": store, "video": video}[args.mode](args)
    finally:
        if args.mode != "store":
            shutil.rmtree(os.environ["UNVEIL_DATA_DIR"], ignore_errors=True)


if __name__ == "__main__":
    main()
