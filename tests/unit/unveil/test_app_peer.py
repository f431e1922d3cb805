"""unveil.app.peer: whose socket is at the far end of a connection, read from the kernel's TCP tables."""
from __future__ import annotations

import contextlib
import os
import socket
import struct
from pathlib import Path

import pytest

from unveil.app import peer

LINUX = peer.TCP_TABLES[0].is_file()


@contextlib.contextmanager
def _connection(family: socket.AddressFamily, host: str):
    """(client, server) addresses of a TCP connection on this machine, as the server sees them."""
    with socket.socket(family) as listener:
        listener.bind((host, 0))
        listener.listen()
        with socket.create_connection(listener.getsockname()[:2]):
            accepted, seen_client = listener.accept()
            with accepted:
                yield seen_client[:2], accepted.getsockname()[:2]


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not LINUX, reason="/proc/net/tcp is Linux's")
@pytest.mark.parametrize("family, host", [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")])
def test_a_connection_from_this_process_is_owned_by_this_user(family, host):
    if family == socket.AF_INET6 and not _ipv6_loopback():
        pytest.skip("no IPv6 loopback")
    with _connection(family, host) as (client, server):
        assert peer.connection_owner(client, server) == os.geteuid()
        assert peer.connection_owner(server, client) == os.geteuid()  # the server's end, listed the other way
        assert peer.connection_owner((client[0], 1), server) is None  # no such socket


def _hex4(address: str, port: int) -> str:
    (word,) = struct.unpack("=I", socket.inet_aton(address))
    return f"{word:08X}:{port:04X}"


def _hex6(address: str, port: int) -> str:
    raw = socket.inet_pton(socket.AF_INET6, address)
    words = struct.unpack("=4I", raw)
    return "".join(f"{word:08X}" for word in words) + f":{port:04X}"


def _table(path: Path, *rows: tuple[str, str, int]) -> Path:
    lines = ["  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"]
    lines += [f"   {n}: {local} {remote} 01 00000000:00000000 00:00000000 00000000  {uid}        0 {1000 + n} 1 0"
              for n, (local, remote, uid) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_another_user_s_socket_is_told_by_its_uid_in_the_kernel_s_tables(tmp_path):
    client, server = ("127.0.0.1", 51234), ("127.0.0.1", 8501)
    tcp = _table(tmp_path / "tcp", (_hex4(*server), _hex4(*client), 1001), (_hex4(*client), _hex4(*server), 1002))
    assert peer.connection_owner(client, server, [tcp]) == 1002
    assert peer.connection_owner(server, client, [tcp]) == 1001
    # An IPv4 browser of a server listening on IPv6 is listed as ::ffff:127.0.0.1; a table that cannot be read is passed
    tcp6 = _table(tmp_path / "tcp6", (_hex6("::ffff:127.0.0.1", 40000), _hex6("::ffff:127.0.0.1", 8501), 1003),
                  (_hex6("::1", 40001), _hex6("::1", 8501), 1004))
    assert peer.connection_owner(("127.0.0.1", 40000), ("127.0.0.1", 8501), [tmp_path / "none", tcp6]) == 1003
    assert peer.connection_owner(("::ffff:127.0.0.1", 40000), ("::ffff:127.0.0.1", 8501), [tcp6]) == 1003
    assert peer.connection_owner(("::1", 40001), ("::1", 8501), [tcp, tcp6]) == 1004
    assert peer.connection_owner(("::1", 40002), ("::1", 8501), [tcp, tcp6]) is None
