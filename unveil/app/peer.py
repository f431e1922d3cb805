"""Which user of this machine is on the other end of a browser session: the app answers its own user only.

The app listens on localhost, which every user of the machine can reach: another account on a shared family PC
or a Raspberry Pi opened http://localhost:8501 in their own browser and got a session of the household's app,
running as the household's user. It saw how many members and kept results the store holds (the data folder is
0700 to them), could try passphrases at the app's unlock form, and through the bias audit's "folder or manifest
on this machine" had the app read the household's private photos and show what it made of them (each photo's
path, emotion and skin tone band). Streamlit has no login; on Linux the kernel lists each TCP socket with its
owner's uid (/proc/net/tcp and tcp6), so the socket at the far end of a session's WebSocket tells whose browser
(or SSH tunnel) it is. Where that cannot be told (no /proc: macOS, Windows) every session from this machine (a loopback
address) is served, as before, and none from another: with the app made to listen on the network (`streamlit run app.py
--server.address 0.0.0.0`), any device there that sent `Host: localhost` got the whole app, the bias audit reading
this machine's folders included.
"""
from __future__ import annotations

import ipaddress
import os
import struct
from collections.abc import Iterable
from pathlib import Path

OTHER_USER = ("This Unveil app belongs to another user of this computer, so it answers that user's browser only. "
              "To use Unveil, start your own from your account: unveil app")
# Also what a browser on another device gets (the app listening on the network), so it says how to reach the app from
# one; {port} is the app's.
UNKNOWN_PEER = ("This Unveil app cannot tell which user of its computer this browser belongs to, so it shows nothing. "
                "Open it on that computer, at http://localhost:{port}, from the account that started it; from another "
                "device, through an SSH tunnel to that account: ssh -L {port}:localhost:{port} USER@COMPUTER, then "
                "http://localhost:{port} on the device.")
# The kernel's tables of TCP sockets, IPv4 and IPv6, in this process's network namespace.
TCP_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))

Address = tuple[str, int]


def _address(field: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]:
    # "0100007F:1F90": the address as the kernel holds it, printed as 32-bit words in this machine's byte order.
    host, port = field.split(":")
    raw = b"".join(struct.pack("=I", int(host[i:i + 8], 16)) for i in range(0, len(host), 8))
    return _plain(ipaddress.ip_address(raw)), int(port, 16)


def _plain(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    # An IPv4 client of an IPv6 socket is listed as ::ffff:127.0.0.1.
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped if mapped is not None else address


def connection_owner(client: Address, server: Address, tables: Iterable[Path] = TCP_TABLES) -> int | None:
    """The uid owning the socket at `client` connected to `server` (both as (host, port) seen by the server), or
    None when no table lists it (not a connection from this machine, or no /proc)."""
    wanted = ((_plain(ipaddress.ip_address(client[0])), int(client[1])),
              (_plain(ipaddress.ip_address(server[0])), int(server[1])))
    for table in tables:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 7 and (_address(fields[1]), _address(fields[2])) == wanted:
                return int(fields[7])
    return None


def _session_addresses() -> tuple[Address, Address] | None:
    """(client, server) of this script run's WebSocket; None outside a served session (AppTest runs the pages with a
    stand-in for Streamlit's runtime). Read from the Starlette WebSocket that Streamlit's session client serves; a
    session whose connection cannot be seen so gets addresses that match no socket, and is refused, never guessed
    at."""
    from starlette.websockets import WebSocket
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    context = get_script_run_ctx(suppress_warning=True)
    if context is None or not Runtime.exists() or type(Runtime.instance()) is not Runtime:
        return None
    websocket = getattr(Runtime.instance().get_client(context.session_id), "_websocket", None)
    if not isinstance(websocket, WebSocket) or websocket.client is None:
        return ("", 0), ("", 0)
    return (websocket.client.host, websocket.client.port), tuple(websocket.scope["server"])


def tells_whose_browser() -> bool:
    """Whether this machine lists each TCP socket's owner, so that `refusal` serves its own user's browser only;
    where it does not (macOS, Windows) every browser of this machine is served."""
    return TCP_TABLES[0].is_file()


def _loopback(host: str) -> bool:
    try:
        return _plain(ipaddress.ip_address(host)).is_loopback
    except ValueError:
        return False


def _unknown_peer() -> str:
    from streamlit import config

    return UNKNOWN_PEER.format(port=config.get_option("server.port"))


def refusal() -> str | None:
    """Why this session is not served (OTHER_USER, UNKNOWN_PEER with the app's port), or None: its browser is this
    process's user's, or the machine does not say whose it is and the connection comes from this machine."""
    addresses = _session_addresses()
    if addresses is None:
        return None
    if not tells_whose_browser():
        # Only a loopback address is this machine's for sure; the app listens on no other unless made to.
        return None if _loopback(addresses[0][0]) else _unknown_peer()
    try:
        owner = connection_owner(*addresses, TCP_TABLES)
    except ValueError:  # not an IP address: nothing the kernel's tables can be asked about
        owner = None
    if owner is None:
        return _unknown_peer()
    return None if owner == os.geteuid() else OTHER_USER
