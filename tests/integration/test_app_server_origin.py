"""`unveil app`'s server against web pages on other sites: the real command on a free localhost port, its
WebSocket opened as a browser page would open it, with the Origin and Host such a page sends.

Every proxy variable points at a local socket that records what reaches it (this machine's stand-in for the
Internet): Streamlit's requests to outside services go through it.
"""
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.support.app import free_port, streamlit_answers

STREAM = "/_stcore/stream"


class _Recorder:
    """A listening socket that keeps the first bytes of every connection made to it and answers nothing."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.seen: list[bytes] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            connection.settimeout(3)
            try:
                self.seen.append(connection.recv(200))
            except OSError:
                self.seen.append(b"")
            # Held open, as a slow network would: the client waits its own timeout.
            threading.Timer(3, connection.close).start()


@pytest.fixture(scope="module")
def app_server(tmp_path_factory, app_models_dir) -> Iterator[tuple[int, _Recorder]]:
    home = tmp_path_factory.mktemp("app_home")
    recorder = _Recorder()
    proxy = f"http://127.0.0.1:{recorder.port}"
    port = free_port()
    env = {**os.environ, "HOME": str(home), "UNVEIL_DATA_DIR": str(home / "data"),
           "UNVEIL_MODELS_DIR": str(app_models_dir), "HTTP_PROXY": proxy, "HTTPS_PROXY": proxy,
           "http_proxy": proxy, "https_proxy": proxy, "NO_PROXY": "", "no_proxy": ""}
    env.pop("UNVEIL_PASSPHRASE", None)
    server = subprocess.Popen([sys.executable, "-m", "unveil.cli", "app", "--headless", "--port", str(port)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not streamlit_answers(f"http://127.0.0.1:{port}"):
            assert server.poll() is None and time.monotonic() < deadline, server.communicate()
            time.sleep(0.3)
        yield port, recorder
    finally:
        server.terminate()
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()
        recorder.listener.close()


def _open(port: int, host: str, origin: str | None) -> tuple[str, float]:
    """'open' or 'refused' for the app's WebSocket asked for on 127.0.0.1:port with this Host and Origin, and
    the seconds the answer took."""

    async def attempt() -> str:
        sock = socket.create_connection(("127.0.0.1", port))
        try:
            async with connect(f"ws://{host}{STREAM}", sock=sock, origin=origin, proxy=None,
                               subprotocols=["streamlit"], open_timeout=20):
                return "open"
        except InvalidStatus:
            return "refused"

    start = time.monotonic()
    outcome = asyncio.run(attempt())
    return outcome, time.monotonic() - start


def test_the_household_browser_on_localhost_opens_the_app(app_server):
    port, _ = app_server
    for host in (f"localhost:{port}", f"127.0.0.1:{port}"):
        assert _open(port, host, f"http://{host}")[0] == "open"


def test_a_page_whose_name_was_rebound_to_this_machine_cannot_drive_the_app(app_server):
    """DNS rebinding: evil.example made to resolve to 127.0.0.1 is same-origin with what it reaches, so the
    Origin check passes; Streamlit accepted any Host, and the page drove a session of the app."""
    port, _ = app_server
    for name in ("evil.example", "evil.example.", "localhost.evil.example"):
        host = f"{name}:{port}"
        assert _open(port, host, f"http://{host}")[0] == "refused"


def test_a_page_on_another_site_is_refused_without_any_request_leaving_the_machine(app_server):
    """Streamlit looked up the machine's public IP at checkip.amazonaws.com to judge a foreign Origin: each
    attempt sent a request over HTTP and HTTPS and, while they were held up, blocked the server (three
    attempts froze the app for 5.9 s)."""
    port, recorder = app_server
    before = len(recorder.seen)
    took = [_open(port, f"localhost:{port}", "http://evil.example") for _ in range(3)]
    assert [outcome for outcome, _ in took] == ["refused"] * 3
    # The old lookup held each refusal for its two 1 s timeouts (about 2 s); a refusal takes milliseconds, and the
    # margin is for a loaded machine (CI's 2 cores).
    assert max(seconds for _, seconds in took) < 1.9
    assert recorder.seen[before:] == []
