"""How long the app's server keeps a closed tab's session, and the family store's master key in it.

    PYTHONPATH=. nice -n 19 .venv/bin/python benchmarks/app_session_keys.py --minutes 5

`streamlit run app.py` (the checkout's .streamlit/config.toml) with benchmarks/session_probe inside it, driven by
Chromium (Playwright, /usr/bin/chromium): one tab creates the family store on the Family page (unlocked), then
the tab is closed. For --minutes the probe's readings are printed whenever they change: sessions with a tab
connected, disconnected sessions Streamlit still holds, FamilyStore objects holding a master key and Streamlit
AppSession objects (a session's state, photos and results included, lives as long as its AppSession), after a full
garbage collection, so what is counted is still referenced. Then a second tab is opened and closed, which is what
makes Streamlit remove sessions past their TTL (its storage drops expired entries only on a write), and the
readings are printed for 10 s more.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROBE = REPO / "benchmarks" / "session_probe"
PASSPHRASE = "correct horse battery staple"
KEYS = ("sessions_active", "sessions_stored", "stores_unlocked", "app_sessions")


def readings(probe: Path) -> list[dict]:
    if not probe.is_file():
        return []
    return [json.loads(line) for line in probe.read_text().splitlines() if line.strip()]


def watch(probe: Path, seconds: float, since: float, shown: list[tuple]) -> None:
    """Print each new reading whose counts differ from the last printed, for `seconds`; times from `since`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(1.0)
        for line in readings(probe):
            counts = tuple(line[key] for key in KEYS)
            if line["t"] > shown[-1][0] and counts != shown[-1][1]:
                print(f"{line['t'] - since:8.0f} s  " + "  ".join(f"{k} {v}" for k, v in zip(KEYS, counts)), flush=True)
            if line["t"] > shown[-1][0]:
                shown.append((line["t"], counts if counts != shown[-1][1] else shown[-1][1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0, help="how long to watch after the tab is closed")
    args = parser.parse_args()

    import socket

    from playwright.sync_api import expect, sync_playwright

    root = Path(tempfile.mkdtemp(prefix="unveil-session-keys-"))
    probe = root / "probe.jsonl"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://localhost:{port}"
    env = {**__import__("os").environ, "UNVEIL_DATA_DIR": str(root / "data"), "UNVEIL_SESSION_PROBE": str(probe),
           "PYTHONPATH": f"{PROBE}:{REPO}"}
    argv = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.headless", "true",
            "--server.port", str(port), "--server.fileWatcherType", "none"]
    with open(root / "streamlit.log", "w") as log:
        server = subprocess.Popen(argv, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                                 args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
            expect.set_options(timeout=120_000)
            page = browser.new_page()
            page.set_default_timeout(120_000)
            deadline = time.monotonic() + 120
            while True:
                try:
                    page.goto(url)
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(1)
            page.locator('[data-testid="stSidebarNav"] a', has_text="Family").click()
            page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
            page.get_by_label("Repeat the passphrase").fill(PASSPHRASE)
            page.get_by_role("button", name="Create the store").click()
            expect(page.get_by_text("Family store unlocked")).to_be_visible()
            time.sleep(2)
            last = readings(probe)[-1]
            print(f"streamlit {__import__('streamlit').__version__}; tab open, store unlocked:", flush=True)
            print("  " + "  ".join(f"{k} {last[k]}" for k in KEYS), flush=True)
            page.close()
            closed = readings(probe)[-1]["t"]
            print("tab closed at 0 s; seconds after, whenever a count changed:", flush=True)
            shown = [(closed, tuple(last[k] for k in KEYS))]
            watch(probe, args.minutes * 60, closed, shown)
            print(f"after {args.minutes:g} min: a second tab opened and closed", flush=True)
            other = browser.new_page()
            other.goto(url)
            expect(other.get_by_role("heading", name="Analyze photos")).to_be_visible()
            other.close()
            watch(probe, 10, closed, shown)
            last = readings(probe)[-1]
            print(f"end ({last['t'] - closed:.0f} s): " + "  ".join(f"{k} {last[k]}" for k in KEYS), flush=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
