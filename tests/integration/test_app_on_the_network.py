"""`streamlit run app.py --server.address 0.0.0.0`, what a household does to reach the app from another device: the
server still names only http://localhost in its banner, and asks no outside service for the machine's public IP."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.app import env_for_app, free_port, streamlit_answers
from tests.support.paths import REPO


def test_listening_on_every_address_names_localhost_only_and_looks_up_no_public_ip(app_models_dir, tmp_path):
    # Headless (as on a Raspberry Pi without a screen), Streamlit printed a "Network URL" (whose page a browser of
    # another device never got past the loading skeleton: its WebSocket is refused, server.allowedHosts) and, to print
    # an "External URL", asked checkip.amazonaws.com for the public IP before any page had run. browser.serverAddress
    # names the one address to print.
    port = free_port()
    log_path = tmp_path / "streamlit.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.address", "0.0.0.0",
             "--server.headless", "true", "--server.port", str(port), "--server.fileWatcherType", "none"],
            cwd=REPO, env=env_for_app(tmp_path / "data", app_models_dir), stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while not (streamlit_answers(f"http://127.0.0.1:{port}") and "URL:" in log_path.read_text()):
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not start:\n{log_path.read_text()}")
                time.sleep(0.3)
            time.sleep(1)  # the banner is printed whole, the look-up (when made) before it
        finally:
            server.terminate()
            server.wait(timeout=10)
    banner = Path(log_path).read_text()
    assert f"URL: http://localhost:{port}" in banner, banner
    assert "Network URL" not in banner and "External URL" not in banner and "external IP" not in banner, banner
