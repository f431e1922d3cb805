"""Soak: `unveil watch`, `unveil serve` or the app run as real processes for many minutes, with what they hold
sampled from /proc, as a table: does memory, a file descriptor, a thread, an SQLite connection or a temporary
file pile up over hours of use? (docs/reports/soak.md)

    PYTHONPATH=. nice -n 19 .venv/bin/python benchmarks/soak.py watch --minutes 15     # camera loop + MQTT
    PYTHONPATH=. nice -n 19 .venv/bin/python benchmarks/soak.py serve --minutes 10     # local API under load
    PYTHONPATH=. nice -n 19 .venv/bin/python benchmarks/soak.py app --uploads 30       # one Streamlit tab
    PYTHONPATH=. nice -n 19 .venv/bin/python benchmarks/soak.py live --minutes 10      # the Live page streaming

Each run makes a fresh family store (key file, "Colin Powell" enrolled with consent from 4 LFW photos) in a
temporary folder, which is also the process's TMPDIR, so that a temporary file it leaves is counted.

watch: `unveil watch --source file://ROOM.mp4 --jsonl - --mqtt 127.0.0.1:PORT --key-file K`. The video
(tests.support.watch_video: the member circling, a stranger walking in and out) is given as a file:// stream,
so the loop treats it as a camera: at its end the capture is released and opened again after a second, as
a camera that drops out is (everyone in view leaves, MQTT's status is offline for that second), for as long as the
run lasts. A private mosquitto (/usr/sbin/mosquitto, when
installed; --no-mqtt without) takes the events. With --churn-every S (default 60), another process enrols a
second member every S seconds and erases them S seconds later: the loop's household rebuilds its gallery
and the MQTT sink removes the sensor, as over weeks of a household's changes. With --broker-restart-every S the
broker is stopped every S seconds and started again 5 s later: the sink reconnects and sends its retained
messages again.

serve: `unveil serve --key-file K` answering --clients clients (default 2) that POST an LFW photo to
/v1/analyze back to back (each answer names the member, so each also writes the audit log), plus a
GET /v1/people and /v1/health every second, and a new connection every 20th request (clients reconnect).

app: `streamlit run app.py` driven by Chromium (Playwright, /usr/bin/chromium) in one tab: --uploads times, a
phone-sized JPEG (an LFW photo enlarged to 4000x3000, with grain: 5.4 MB) is added on the Analyze page, its
result shown, then "Clear all" clicked; a row every --sample-every uploads. After "Clear all" the session holds
no photo, so what grows with the uploads is held elsewhere: one more column gives the uploaded files Streamlit
itself holds, by its own metrics (/_stcore/metrics).

live: the app's Live page in Chromium, whose fake camera plays a 640x480 clip of an LFW photo gliding to and
fro (Y4M, 30 frames/s), streamed to the app over WebRTC for --minutes; every --restart-every seconds (default 60)
STOP and START are pressed, which makes a new WebRTC connection, as a household does each time. The progress
column is the number of frames the current stream analysed, as the page says (it starts again at each START).
With --heap, benchmarks/heap_probe (its docstring) runs inside the Streamlit process and six more columns give its
latest reading: glibc's heaps, what is allocated in them and what is free in them (MiB), its arenas, the aiortc
peer connections and the page's LiveOverlay objects alive (one per page run that is still referenced); at the end glibc is asked to give its free pages back (malloc_trim) and the resident
memory before and after is printed.

Columns: minutes since the process started; resident memory (VmRSS, MiB); open file descriptors (all, and
those on the store's files, unveil.db/keys.db and their -wal/-shm: 3 per SQLite connection); threads; entries
in the process's TMPDIR; the sizes of the store's unveil.db-wal and unveil.db (KiB: the audit log has an entry
per recognition, which the file keeps); frames processed (watch), analyses answered (serve) or uploads (app).
The first row is taken after the warm-up (models loaded, first frames or requests); the last line gives each
column's change from that row to the end.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

FACES = REPO.parent / "shared" / "data" / "faces"
MEMBER, STRANGER, CHURNED = "Colin_Powell", "Serena_Williams", "Hugo_Chavez"
MOSQUITTO = "/usr/sbin/mosquitto"
HEAP_PROBE = REPO / "benchmarks" / "heap_probe"
TOKEN = "soak-benchmark-token"
STORE_FILES = ("unveil.db", "keys.db")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def embeddings_of(person: str, numbers: range):
    from fer_core.detection import FaceDetector
    from fer_core.identity import embed_enrollment_photos, load_embedding_model
    from fer_core.images import load_image

    model = load_embedding_model(threads=1)
    photos = {str(p): load_image(p) for p in (FACES / person / f"{person}_{n:04d}.jpg" for n in numbers)}
    return embed_enrollment_photos(photos, detect=FaceDetector(threads=1).detect, model=model), model.name


def consent(name: str):
    from datetime import UTC, date, datetime

    from unveil.app import enrolment

    return enrolment.consent_from_form(name=name, given_by="", guardian=False, child=False, purpose="family photos",
                                       scope="recognition", expires_on=date(2099, 1, 1), now=datetime.now(UTC))


def make_family(root: Path) -> tuple[Path, Path]:
    """A store in root/data that root/key opens, with MEMBER enrolled: (data folder, key file)."""
    from fer_core.store import FamilyStore, create_key_file
    from governance import family

    key = create_key_file(root / "key")
    data = root / "data"
    embeddings, model = embeddings_of(MEMBER, range(2, 6))
    with FamilyStore.create(data, key_file=key) as store:
        family.enroll(store, "Colin Powell", embeddings, consent("Colin Powell"), model=model)
    return data, key


@dataclass(frozen=True)
class Sample:
    seconds: float
    rss_mib: float
    fds: int
    store_fds: int
    threads: int
    tmp_entries: int
    wal_kib: float
    db_kib: float
    progress: int
    extra: tuple[tuple[str, float | int], ...] = ()  # (column, value): what the app's server holds (heap probe, metrics)


def sample(pid: int, data: Path, tmp: Path, progress: int, started: float) -> Sample:
    status = Path(f"/proc/{pid}/status").read_text()
    field = {line.split(":")[0]: line.split(":")[1].split() for line in status.splitlines() if ":" in line}
    targets = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):  # closed between the listing and the readlink
            targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
    on_store = sum(1 for t in targets if Path(t).parent == data and Path(t).name.startswith(STORE_FILES))
    wal, db = data / "unveil.db-wal", data / "unveil.db"
    return Sample(time.monotonic() - started, int(field["VmRSS"][0]) / 1024, len(targets), on_store,
                  int(field["Threads"][0]), sum(1 for _ in tmp.iterdir()),
                  wal.stat().st_size / 1024 if wal.exists() else 0.0, db.stat().st_size / 1024 if db.exists() else 0.0,
                  progress)


def table(samples: list[Sample], progress: str) -> str:
    extra = [name for name, _ in samples[0].extra] if samples else []
    rows = ["| min | RSS MiB | fds | store fds | threads | TMPDIR entries | WAL KiB | unveil.db KiB | "
            + "".join(f"{name} | " for name in extra) + progress + " |",
            "|---:" * (9 + len(extra)) + "|"]
    rows += [f"| {s.seconds / 60:.1f} | {s.rss_mib:.1f} | {s.fds} | {s.store_fds} | {s.threads} | {s.tmp_entries} | "
             f"{s.wal_kib:.0f} | {s.db_kib:.0f} | " + "".join(f"{v} | " if isinstance(v, int) else f"{v:.1f} | "
                                                      for _, v in s.extra) + f"{s.progress} |"
             for s in samples]
    if len(samples) > 1:
        a, b = samples[0], samples[-1]
        rows.append(f"| change | {b.rss_mib - a.rss_mib:+.1f} | {b.fds - a.fds:+d} | {b.store_fds - a.store_fds:+d} | "
                    f"{b.threads - a.threads:+d} | {b.tmp_entries - a.tmp_entries:+d} | {b.wal_kib - a.wal_kib:+.0f} | "
                    f"{b.db_kib - a.db_kib:+.0f} | "
                    + "".join(f"{vb - va:+d} | " if isinstance(vb - va, int) else f"{vb - va:+.1f} | "
                              for (_, va), (_, vb) in zip(a.extra, b.extra))
                    + f"{b.progress - a.progress:+d} |")
    return "\n".join(rows)


def child_env(root: Path) -> dict[str, str]:
    tmp = root / "tmp"
    tmp.mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(tmp), "UNVEIL_API_TOKEN": TOKEN, "PYTHONPATH": str(REPO)}
    env.pop("UNVEIL_PASSPHRASE", None)
    return env


@contextlib.contextmanager
def running(argv: list[str], env: dict[str, str], log: Path, **kwargs) -> Iterator[subprocess.Popen]:
    with open(log, "w") as err:
        process = subprocess.Popen(argv, env=env, stderr=err, **kwargs)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def wait_until_answers(url: str, headers: dict[str, str], server: subprocess.Popen) -> None:
    import httpx

    deadline = time.monotonic() + 180
    while True:
        try:
            httpx.get(url, headers=headers, timeout=5).raise_for_status()
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise
            time.sleep(0.5)


def soak(pid: int, data: Path, tmp: Path, minutes: float, every_s: float, warm_s: float,
         progress: callable, alive: callable) -> list[Sample]:
    started = time.monotonic()
    samples = []
    time.sleep(warm_s)
    while alive():
        samples.append(sample(pid, data, tmp, progress(), started))
        print(table(samples[-1:], "progress").splitlines()[-1], flush=True)
        if time.monotonic() - started >= minutes * 60:
            break
        time.sleep(max(0.0, every_s - (time.monotonic() - started - samples[-1].seconds)))
    return samples


# ------------------------------------------------------------------------------------------------ watch

def run_watch(root: Path, args: argparse.Namespace) -> None:
    from tests.support.watch_video import Walker, room_video

    data, key = make_family(root)
    video = root / "room.mp4"
    room_video([Walker(FACES / MEMBER / f"{MEMBER}_0001.jpg", (190, 240)),
                Walker(FACES / STRANGER / f"{STRANGER}_0001.jpg", (450, 240), enter_s=6.0, exit_s=14.0)],
               video, seconds=20.0, fps=30)
    env = child_env(root)
    argv = [sys.executable, "-m", "unveil.cli", "watch", "--source", f"file://{video}", "--jsonl", "-",
            "--data-dir", str(data), "--key-file", str(key)]
    with contextlib.ExitStack() as stack:
        broker = None
        if not args.no_mqtt and Path(MOSQUITTO).exists():
            broker = stack.enter_context(Broker(root, env))
            argv += ["--mqtt", f"127.0.0.1:{broker.port}"]
        watcher = stack.enter_context(running(argv, env, root / "watch.log", stdout=subprocess.PIPE, text=True))
        frames = [0]

        def count() -> None:
            for line in watcher.stdout:
                if line.startswith('{"frame"'):
                    frames[0] += 1

        threading.Thread(target=count, daemon=True).start()
        stop = threading.Event()
        if args.churn_every:
            threading.Thread(target=churn_members, args=(data, key, args.churn_every, stop), daemon=True).start()
        if broker is not None and args.broker_restart_every:
            threading.Thread(target=broker.restarts, args=(args.broker_restart_every, stop), daemon=True).start()
        samples = soak(watcher.pid, data, root / "tmp", args.minutes, args.every, args.warm,
                       lambda: frames[0], lambda: watcher.poll() is None)
        stop.set()
    restarts = f", broker restarted every {args.broker_restart_every:g} s" if broker and args.broker_restart_every else ""
    print(f"\nunveil watch, file:// stream of a 20 s 640x480 video looped, {'MQTT' if broker else 'no MQTT'}{restarts}, "
          f"churn every {args.churn_every or 'never'} s; cores {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}\n")
    print(table(samples, "frames"))
    # Its log holds counts and the source's address only (never a name): each distinct line, with how often.
    lines = [line.replace(str(root), "ROOT") for line in (root / "watch.log").read_text().splitlines()]
    print(f"\nwatch's exit status {watcher.returncode}; its stderr, each distinct line with its count:")
    for line, times in sorted(((line, lines.count(line)) for line in set(lines)), key=lambda pair: -pair[1]):
        print(f"    {times:5d}  {line}")


class Broker:
    """A private mosquitto on a free localhost port, which `restarts` stops and starts again on the same port
    (a broker that restarts, as Home Assistant's add-on does at each update)."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.port, self._env, self._root = free_port(), env, root
        self._conf = root / "mosquitto.conf"
        self._conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        self._process: subprocess.Popen | None = None
        self.restarted = 0

    def __enter__(self) -> Broker:
        self._start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()

    def _start(self) -> None:
        with open(self._root / "mosquitto.log", "a") as log:
            self._process = subprocess.Popen([MOSQUITTO, "-c", str(self._conf)], env=self._env, stdout=log, stderr=log)
        time.sleep(1.0)

    def _stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=30)

    def restarts(self, every_s: float, stop: threading.Event) -> None:
        while not stop.wait(every_s):
            self._stop()
            if stop.wait(5.0):  # away for 5 s: events queue meanwhile
                return
            self._start()
            self.restarted += 1


def churn_members(data: Path, key: Path, every_s: float, stop: threading.Event) -> None:
    """Enrol CHURNED, wait, erase them, wait, ... in this process (another session of the store)."""
    from fer_core.store import FamilyStore, StoreBusyError
    from governance import family

    embeddings, model = embeddings_of(CHURNED, range(1, 4))
    enrolled = False
    while not stop.wait(every_s):
        with contextlib.suppress(StoreBusyError), FamilyStore(data) as store:
            store.unlock(key_file=key)
            if enrolled:
                family.purge(store, "Hugo Chavez")
            else:
                family.enroll(store, "Hugo Chavez", embeddings, consent("Hugo Chavez"), model=model)
            enrolled = not enrolled


# ------------------------------------------------------------------------------------------------ serve

def serve_setup(root: Path) -> tuple[Path, Path, bytes, str, dict[str, str], list[str]]:
    """A household store under `root` with the member enrolled, the member's photo to post, and the command line of
    `unveil serve` on a free port with its base URL and the token's header (soak.py and sd_wear.py run it)."""
    data, key = make_family(root)
    photo = (FACES / MEMBER / f"{MEMBER}_0007.jpg").read_bytes()
    port = free_port()
    argv = [sys.executable, "-m", "unveil.cli", "serve", "--port", str(port), "--data-dir", str(data),
            "--key-file", str(key)]
    return data, key, photo, f"http://127.0.0.1:{port}/v1", {"Authorization": f"Bearer {TOKEN}"}, argv


def run_serve(root: Path, args: argparse.Namespace) -> None:
    import httpx

    data, key, photo, url, headers, argv = serve_setup(root)
    answered, failed = [0], [0]
    stop = threading.Event()
    with running(argv, child_env(root), root / "serve.log", stdout=subprocess.DEVNULL) as server:
        wait_until_answers(f"{url}/health", headers, server)

        def client() -> None:
            while not stop.is_set():
                with httpx.Client(timeout=120, headers=headers) as session:
                    for _ in range(20):
                        if stop.is_set():
                            return
                        try:
                            answer = session.post(f"{url}/analyze", content=photo,
                                                  headers={"Content-Type": "image/jpeg"})
                            answer.raise_for_status()
                            answered[0] += 1
                        except httpx.HTTPError:
                            failed[0] += 1
                            time.sleep(1.0)

        def poller() -> None:
            with httpx.Client(timeout=60, headers=headers) as session:
                while not stop.wait(1.0):
                    for path in ("/people", "/health"):
                        with contextlib.suppress(httpx.HTTPError):
                            session.get(url + path)

        workers = [threading.Thread(target=client, daemon=True) for _ in range(args.clients)]
        workers.append(threading.Thread(target=poller, daemon=True))
        for worker in workers:
            worker.start()
        samples = soak(server.pid, data, root / "tmp", args.minutes, args.every, args.warm,
                       lambda: answered[0], lambda: server.poll() is None)
        stop.set()
        for worker in workers:
            worker.join(timeout=150)
    print(f"\nunveil serve, {args.clients} client(s) posting a {len(photo) / 1024:.0f} KB LFW JPEG back to back, "
          f"/v1/people and /v1/health every second; cores {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}\n")
    print(table(samples, "analyses answered"))
    print(f"\nrequests that failed: {failed[0]}")


# ------------------------------------------------------------------------------------------------ app

def big_photo() -> bytes:
    import io

    import numpy as np
    from PIL import Image

    photo = Image.open(FACES / MEMBER / f"{MEMBER}_0001.jpg").convert("RGB").resize((4000, 3000), Image.LANCZOS)
    grain = np.random.default_rng(0).normal(0, 10, (3000, 4000, 3))
    noisy = Image.fromarray(np.clip(np.asarray(photo, np.float32) + grain, 0, 255).astype(np.uint8))
    out = io.BytesIO()
    noisy.save(out, "JPEG", quality=95)
    return out.getvalue()


def streamlit_holds(url: str) -> tuple[tuple[str, float], ...]:
    """The uploaded files Streamlit holds (its UploadedFileManager), in MiB, by its own metrics (/_stcore/metrics,
    computed at most every 5 s). (Its session-state figure is left out: it measures the state's dict, not what it holds.)"""
    import httpx

    held = 0.0
    for line in httpx.get(f"{url}/_stcore/metrics", timeout=30).text.splitlines():
        if line.startswith("cache_memory_bytes{") and 'cache_type="UploadedFileManager"' in line:
            held += float(line.rsplit(" ", 1)[1]) / 1024**2
    return (("uploaded files MiB", held),)


def run_app(root: Path, args: argparse.Namespace) -> None:
    from playwright.sync_api import expect, sync_playwright

    photo = big_photo()
    port = free_port()
    url = f"http://localhost:{port}"
    env = {**child_env(root), "UNVEIL_DATA_DIR": str(root / "data")}
    argv = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.headless", "true",
            "--server.port", str(port), "--server.fileWatcherType", "none"]
    samples: list[Sample] = []
    (root / "data").mkdir()
    with running(argv, env, root / "streamlit.log", stdout=subprocess.DEVNULL, cwd=REPO) as server, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(180_000)
        expect.set_options(timeout=180_000)
        wait_until_answers(f"{url}/_stcore/health", {}, server)
        page.goto(url)
        expect(page.get_by_role("heading", name="Analyze photos")).to_be_visible()
        started = time.monotonic()

        def settled() -> None:
            page.wait_for_timeout(300)
            expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0)

        for upload in range(1, args.uploads + 1):
            page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
                [{"name": f"photo_{upload}.jpg", "mimeType": "image/jpeg", "buffer": photo}])
            expect(page.get_by_role("button", name="Clear all")).to_be_visible()
            expect(page.get_by_text("Face 1")).to_be_visible()
            settled()
            page.get_by_role("button", name="Clear all").click()
            expect(page.get_by_text("Upload one or several photos")).to_be_visible()
            settled()
            if upload == 1 or upload % args.sample_every == 0:
                page.wait_for_timeout(5_500)  # Streamlit's metrics are computed at most every 5 s
                samples.append(replace(sample(server.pid, root / "data", root / "tmp", upload, started),
                                       extra=streamlit_holds(url)))
                print(table(samples[-1:], "uploads").splitlines()[-1], flush=True)
        browser.close()
    print(f"\nstreamlit run app.py, one Chromium tab: {args.uploads} uploads of a {len(photo) / 1024**2:.1f} MB JPEG "
          f"(4000x3000), each analysed, then Clear all; cores {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}\n")
    print(table(samples, "uploads"))


# ------------------------------------------------------------------------------------------------ live

def moving_face_y4m(path: Path, *, seconds: float = 4.0, fps: int = 30) -> Path:
    """A 640x480 Y4M clip for Chromium's fake camera: an LFW photo, 240 px square, gliding over a grey wall."""
    import math

    import cv2
    import numpy as np
    from PIL import Image

    face = np.asarray(Image.open(FACES / MEMBER / f"{MEMBER}_0001.jpg").convert("RGB").resize((240, 240)))
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W640 H480 F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for index in range(int(seconds * fps)):
            canvas = np.full((480, 640, 3), 200, dtype=np.uint8)
            left = 200 + round(150 * math.sin(2 * math.pi * index / (seconds * fps)))
            canvas[120:360, left:left + 240] = face
            out.write(b"FRAME\n" + cv2.cvtColor(canvas, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


def run_live(root: Path, args: argparse.Namespace) -> None:
    import re

    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect, sync_playwright

    feed = moving_face_y4m(root / "camera.y4m")
    port = free_port()
    url = f"http://localhost:{port}"
    env = {**child_env(root), "UNVEIL_DATA_DIR": str(root / "data")}
    probe = root / "heap.jsonl"
    if args.heap:
        env.update(PYTHONPATH=f"{HEAP_PROBE}:{env['PYTHONPATH']}", UNVEIL_HEAP_PROBE=str(probe),
                   UNVEIL_HEAP_PROBE_EVERY=str(args.every))
    argv = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.headless", "true",
            "--server.port", str(port), "--server.fileWatcherType", "none"]
    (root / "data").mkdir()
    status_text = re.compile(r"([\d.]+) frames/s · (\d+) frames? analysed")
    starts = [0]
    with running(argv, env, root / "streamlit.log", stdout=subprocess.DEVNULL, cwd=REPO) as server, \
            sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(root / "profile"), executable_path="/usr/bin/chromium", headless=True, permissions=["camera"],
            viewport={"width": 1200, "height": 1100},
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                  f"--use-file-for-fake-video-capture={feed}"])
        context.set_default_timeout(180_000)
        expect.set_options(timeout=180_000)
        page = context.pages[0] if context.pages else context.new_page()
        wait_until_answers(f"{url}/_stcore/health", {}, server)
        page.goto(url)
        page.locator('[data-testid="stSidebarNav"] a', has_text="Live").click()
        expect(page.get_by_role("heading", name="Live camera")).to_be_visible()
        frame = page.frame_locator('iframe[title*="streamlit_webrtc"]')
        status = page.get_by_text(status_text)
        def start() -> None:
            frame.get_by_role("button", name=re.compile("start", re.IGNORECASE)).click()
            expect(status).to_be_visible()
            starts[0] += 1

        def progress() -> int:
            """The frames the current stream analysed, as the page says (-1: its status line was being drawn)."""
            try:
                shown = status_text.search(status.inner_text(timeout=5_000))
            except PlaywrightTimeout:
                shown = None
            return -1 if shown is None else int(shown.group(2))

        def started_again_if_it_ended() -> None:
            """START when the page shows no STOP: the connection ended by itself (seen on a busy machine, load
            average 10-25), and the run goes on with a new one, counted."""
            if not frame.get_by_role("button", name=re.compile("stop", re.IGNORECASE)).is_visible():
                ended[0] += 1
                start()

        ended = [0]
        start()
        started = time.monotonic()
        samples: list[Sample] = []
        last_restart = time.monotonic()
        page.wait_for_timeout(args.warm * 1000)
        while True:
            samples.append(sample(server.pid, root / "data", root / "tmp", progress(), started))
            if args.heap:
                samples[-1] = replace(samples[-1], extra=heap_columns(probe))
            print(table(samples[-1:], "frames").splitlines()[-1], flush=True)
            if time.monotonic() - started >= args.minutes * 60:
                break
            started_again_if_it_ended()
            # Restarted before the wait, so that each row is taken a whole interval after a START.
            if args.restart_every and time.monotonic() - last_restart + args.every >= args.restart_every:
                frame.get_by_role("button", name=re.compile("stop", re.IGNORECASE)).click()
                expect(frame.get_by_role("button", name=re.compile("start", re.IGNORECASE))).to_be_visible()
                start()
                last_restart = time.monotonic()
            page.wait_for_timeout(args.every * 1000)
        trimmed = given_back(probe, args.every) if args.heap else None
        context.close()
    restarts = f", STOP and START every {args.restart_every:g} s" if args.restart_every else ""
    restarts += f" ({starts[0]} streams, {ended[0]} of them started again after the connection ended by itself)"
    print(f"\nstreamlit run app.py, Live page in one Chromium tab, fake camera (640x480 Y4M, 30 frames/s){restarts}; "
          f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}\n")
    print(table(samples, "frames of the current stream"))
    if trimmed is not None:
        print(f"\nmalloc_trim(0) in the Streamlit process at the end, still streaming: resident memory "
              f"{trimmed[0]:.1f} -> {trimmed[1]:.1f} MiB")


def probe_lines(probe: Path) -> list[dict]:
    import json

    return [json.loads(line) for line in probe.read_text().splitlines()] if probe.exists() else []


def heap_columns(probe: Path) -> tuple[tuple[str, float | int], ...]:
    """The heap probe's latest reading as table columns (zeros before its first)."""
    last = (probe_lines(probe) or [{}])[-1]
    objects = last.get("objects", {})
    return (("heap MiB", last.get("heap_mib", 0.0)), ("in use MiB", last.get("in_use_mib", 0.0)),
            ("free MiB", last.get("free_mib", 0.0)), ("arenas", last.get("arenas", 0)),
            ("peer connections", objects.get("RTCPeerConnection", 0)), ("overlays", objects.get("LiveOverlay", 0)))


def given_back(probe: Path, every_s: float) -> tuple[float, float] | None:
    """Asks the probe to call malloc_trim(0) at its next reading: (RSS before, after), None if it did not answer."""
    Path(f"{probe}.trim").touch()
    deadline = time.monotonic() + every_s + 60
    while time.monotonic() < deadline:
        trims = [line["trim"] for line in probe_lines(probe) if "trim" in line]
        if trims:
            return trims[-1][0], trims[-1][1]
        time.sleep(1.0)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["watch", "serve", "app", "live"])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--every", type=float, default=30.0, help="seconds between samples (default 30)")
    parser.add_argument("--warm", type=float, default=60.0, help="seconds before the first sample (default 60)")
    parser.add_argument("--clients", type=int, default=2, help="serve: concurrent clients (default 2)")
    parser.add_argument("--no-mqtt", action="store_true", help="watch: no MQTT broker")
    parser.add_argument("--churn-every", type=float, default=60.0,
                        help="watch: enrol, then erase, a second member every S seconds (0: never; default 60)")
    parser.add_argument("--broker-restart-every", type=float, default=0.0,
                        help="watch: stop the MQTT broker every S seconds, for 5 s (default 0: never)")
    parser.add_argument("--uploads", type=int, default=30, help="app: photos uploaded, one at a time (default 30)")
    parser.add_argument("--sample-every", type=int, default=5, help="app: a row every N uploads (default 5)")
    parser.add_argument("--restart-every", type=float, default=60.0,
                        help="live: press STOP then START every S seconds, a new WebRTC connection (0: never; default 60)")
    parser.add_argument("--heap", action="store_true",
                        help="live: glibc's heaps and the peer connections inside the Streamlit process (benchmarks/heap_probe)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="unveil-soak-"))
    try:
        {"watch": run_watch, "serve": run_serve, "app": run_app, "live": run_live}[args.what](root, args)
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
