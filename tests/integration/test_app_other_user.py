"""The app answers the browser of the user who started it only (unveil.app.peer): another account on the same
computer reaches localhost too, and got a session of the household's app, running as the household's user."""
from __future__ import annotations

import os
import socket
import struct

import pytest
from streamlit.testing.v1 import AppTest

from fer_core.store import FamilyStore
from tests.support.paths import REPO
from unveil.app import peer

TIMEOUT = 120
CLIENT, SERVER = ("127.0.0.1", 51234), ("127.0.0.1", 8501)


def _as_seen_by_the_kernel(monkeypatch, tmp_path, uid: int | None) -> None:
    """A served session whose browser's socket the kernel's table lists as `uid`'s (None: not listed)."""
    def word(host: str, port: int) -> str:  # as /proc/net/tcp prints an address: a 32-bit word in this machine's order
        return f"{struct.unpack('=I', socket.inet_aton(host))[0]:08X}:{port:04X}"

    table = tmp_path / "tcp"
    rows = "" if uid is None else f"   0: {word(*CLIENT)} {word(*SERVER)} 01 00000000:00000000 00:00000000 00000000  {uid} 0 1\n"
    table.write_text("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
                     + rows)
    monkeypatch.setattr(peer, "TCP_TABLES", (table,))
    monkeypatch.setattr(peer, "_session_addresses", lambda: (CLIENT, SERVER))


# Word for word, with the port of AppTest's server (Streamlit's default).
UNKNOWN_PEER = ("This Unveil app cannot tell which user of its computer this browser belongs to, so it shows nothing. "
                "Open it on that computer, at http://localhost:8501, from the account that started it; from another "
                "device, through an SSH tunnel to that account: ssh -L 8501:localhost:8501 USER@COMPUTER, then "
                "http://localhost:8501 on the device.")


@pytest.mark.parametrize("uid, message", [(os.geteuid() + 1, peer.OTHER_USER), (None, UNKNOWN_PEER)])
def test_another_user_s_browser_gets_one_line_and_nothing_of_the_household(
        app_env, monkeypatch, tmp_path, uid, message):
    FamilyStore.create(app_env, passphrase="correct horse battery staple").close()
    _as_seen_by_the_kernel(monkeypatch, tmp_path, uid)
    for page in ("analyze", "family", "governance"):
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
        at = at.run() if page == "analyze" else at.switch_page(f"unveil/app/pages/{page}.py").run()
        assert not at.exception
        assert [e.value for e in at.error] == [message]
        # Not the data folder, nor the counts of members, nor a passphrase field, nor the bias audit's folder field
        assert not at.sidebar.info and not at.sidebar.caption and not at.info and not at.text_input and not at.title


def test_the_user_who_started_it_is_served(app_env, monkeypatch, tmp_path):
    _as_seen_by_the_kernel(monkeypatch, tmp_path, os.geteuid())
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception and not at.error
    assert [t.value for t in at.title] == ["Analyze photos"]


@pytest.mark.parametrize("client, served", [(("192.168.1.7", 51234), False), (("::ffff:10.0.0.5", 51234), False),
                                            (("127.0.0.1", 51234), True), (("::1", 51234), True)])
def test_where_no_table_says_whose_browser_only_this_machine_s_are_served(app_env, monkeypatch, tmp_path, client,
                                                                         served):
    # macOS and Windows have no /proc/net/tcp. With the app made to listen on the network (streamlit run app.py
    # --server.address 0.0.0.0), a device there that sent Host: localhost got the whole app: reproduced in Chromium
    # from another network namespace, its first page showed the data folder and every page's link.
    monkeypatch.setattr(peer, "TCP_TABLES", (tmp_path / "no_tcp", tmp_path / "no_tcp6"))
    monkeypatch.setattr(peer, "_session_addresses", lambda: (client, SERVER))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    if served:
        assert not at.error and [t.value for t in at.title] == ["Analyze photos"]
    else:
        assert [e.value for e in at.error] == [UNKNOWN_PEER]
        assert not at.sidebar.info and not at.sidebar.caption and not at.info and not at.title
