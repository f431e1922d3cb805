"""`unveil serve`: the local REST API (unveil.api) on this machine.

    unveil serve                          # http://127.0.0.1:8765, emotions only
    UNVEIL_PASSPHRASE=... unveil serve    # family members named too
    unveil serve --host 0.0.0.0           # open to the local network, deliberately (a warning is printed)
    unveil serve --host 0.0.0.0 --allow-host nuc.lan   # ... and reached by that name (an IP address needs none)

Every request must be addressed to this machine (its Host header: localhost, 127.0.0.1, [::1], the --host
address or an --allow-host name; 421 otherwise, against DNS rebinding) and needs `Authorization: Bearer TOKEN`:
the token is $UNVEIL_API_TOKEN, or one generated on first start, kept 0600 in the data folder and never printed
(a service's output is kept in its journal, which others may read). OpenAPI description: /openapi.json.
"""
from __future__ import annotations

import argparse
import copy
import ipaddress
import logging
import os
import shlex
import signal
import sys
from typing import Any

from unveil._core_dumps import forbid_core_dumps
from unveil.cli._store_args import (
    PASSPHRASE_ENV,
    add_store_arguments,
    open_unlocked_unattended,
    reports_errors,
    stop_signals_to,
)
from unveil.cli.retention import add_scheduled_receipts_argument, scheduled_receipts_refusal

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
# Where the token is, never the token: under systemd (or any service manager) what a command prints is kept in a
# journal that the machine's administrators, and often the adm group, can read.
TOKEN_CREATED = "API token: a new one, kept in {path} (readable by you only): TOKEN=$(cat {quoted})"
TOKEN_KEPT = "API token: the one kept in {path}"
OPEN_TO_NETWORK = ("warning: listening on {host}: other machines on the network can reach the API (the token is "
                   "still required; traffic is not encrypted)")
EMOTIONS_ONLY = f"names are not checked (give --key-file, or set {PASSPHRASE_ENV}, to recognise family members)"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="local REST API: analyse photos over HTTP (token required)",
                                   description="Serve Unveil's API on this machine for home automation.")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}: this machine only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="a name other machines reach this server by (the Host header of their requests), "
                             "besides localhost, 127.0.0.1, [::1] and the --host address; repeatable")
    add_store_arguments(parser)
    add_scheduled_receipts_argument(parser)
    parser.set_defaults(handler=run)


def _is_wildcard(host: str) -> bool:
    """Whether `host` means every interface (0.0.0.0, ::), whose addresses are not known in advance."""
    try:
        return host == "" or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def allowed_hosts(host: str, extra: list[str]) -> dict[str, Any]:
    """ApiSettings' allowed_hosts and any_ip_address for a server listening on `host`: this machine's loopback
    names, the address listened on and the names in `extra`; any IP address when listening on every interface
    (an IP address cannot be rebound to this machine, only a name)."""
    from unveil.api import LOOPBACK_HOSTS

    wildcard = _is_wildcard(host)
    named = () if wildcard else (host,)
    return {"allowed_hosts": tuple(dict.fromkeys((*LOOPBACK_HOSTS, *named, *extra))), "any_ip_address": wildcard}


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class PathOnly(logging.Filter):
    """Keeps the query string out of uvicorn's access log lines: it is the client's to write, and may hold
    a token put in the URL (refused, but logged all the same) or a name. The line keeps the client's
    address, the method, the path and the status."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn logs each request as '%s - "%s %s HTTP/%s" %d' % (client, method, path?query, version, status).
        if isinstance(record.args, tuple) and len(record.args) == 5 and isinstance(record.args[2], str):
            client, method, target, version, status = record.args
            record.args = (client, method, target.partition("?")[0], version, status)
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration, with PathOnly on the access log's handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["path_only"] = {"()": PathOnly}
    config["handlers"]["access"]["filters"] = ["path_only"]
    # python-multipart logs what it makes of a malformed body as warnings (a part's Content-Transfer-Encoding,
    # a wrong boundary character); having no handler, they went bare to stderr through Python's last-resort
    # handler: text the client wrote (up to 4 KB a part), in the log without the client's address. The client
    # gets the same reason in its 400 answer.
    config.setdefault("loggers", {})["python_multipart"] = {"level": "CRITICAL"}
    # What the daily retention sweeps removed, in counts (governance.scheduled_sweeps), beside uvicorn's own lines.
    config["loggers"]["unveil.retention"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    # An error no handler foresaw: its kind and where it was raised (unveil.api.UNEXPECTED_LOGGED).
    config["loggers"]["unveil.api"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def server_options() -> dict[str, Any]:
    """uvicorn.run's options besides the app, host and port (uvicorn.Config takes the same)."""
    from unveil.api import HeadDeadlineProtocol

    # A client that does not send a whole request head in time is let go (see unveil.api._server).
    # No proxy stands in front of this server: uvicorn's default would take the client's address from an
    # X-Forwarded-For header sent from 127.0.0.1, so any program on this machine, token or not, could
    # write whatever address it liked into the access log (the only record of who asked).
    return {"log_level": "info", "log_config": log_config(), "http": HeadDeadlineProtocol, "proxy_headers": False}


@reports_errors(signals=False)  # uvicorn's own: see reports_errors
def run(args: argparse.Namespace) -> int:
    import uvicorn

    from fer_core.store import resolve_data_dir
    from unveil.api import TOKEN_ENV, TOKEN_FILE, ApiSettings, create_app, load_or_create

    forbid_core_dumps()  # before the store is unlocked: it stays so for the server's life
    if refusal := scheduled_receipts_refusal(args, "unveil serve"):
        print(refusal, file=sys.stderr)
        return 2
    data_dir = resolve_data_dir(args.data_dir)  # as the store finds it: absolute, so the path printed says where
    # The store first: a store refused (a wrong passphrase, a newer version's, a damaged one) left a new token file
    # in its folder, and a data folder that did not exist made, for a server that never started.
    store = open_unlocked_unattended(args)
    try:
        token, created = load_or_create(data_dir)
        if created:
            path = f"{data_dir}/{TOKEN_FILE}"
            print(TOKEN_CREATED.format(path=path, quoted=shlex.quote(path)), flush=True)
        elif TOKEN_ENV not in os.environ:
            print(TOKEN_KEPT.format(path=f"{data_dir}/{TOKEN_FILE}"), flush=True)
        if not _is_loopback(args.host):
            print(OPEN_TO_NETWORK.format(host=args.host), file=sys.stderr)
        if store is None:
            print(EMOTIONS_ONLY, file=sys.stderr)
        # SIGHUP (the terminal closed, the SSH session lost) stops the server as SIGTERM does: uvicorn handles SIGINT
        # and SIGTERM only, and SIGHUP's default ended it at once, without its shutdown (the recognitions counted since
        # the last "recognise" audit entry lost). One ignored (nohup) stays so. Windows has no SIGHUP.
        hang_up = [signal.SIGHUP] if hasattr(signal, "SIGHUP") else []
        with stop_signals_to(_as_sigterm, hang_up):
            app = create_app(settings=ApiSettings(token=token, **allowed_hosts(args.host, args.allow_host),
                                                  receipts_folder=args.receipts), store=store)
            # The access log has method, path and status only: never a body, a header, a query string or the token.
            uvicorn.run(app, host=args.host, port=args.port, **server_options())
    finally:
        if store is not None:
            store.close()
    return 0


def _as_sigterm(signum: int, frame: object) -> None:
    signal.raise_signal(signal.SIGTERM)
