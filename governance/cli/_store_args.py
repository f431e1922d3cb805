"""What every store-backed `unveil` command shares: where the store is, how it is unlocked, and
turning Unveil's typed errors into one readable line and exit status 1.

Secrets: the passphrase comes from UNVEIL_PASSPHRASE (non-interactive use, tests) or from getpass,
which does not echo it; --key-file names a 0600 key file instead. Secrets are never printed or logged.
"""
from __future__ import annotations

import argparse
import functools
import getpass
import os
import sys
from collections.abc import Callable

from fer_core._errors import UnveilError
from fer_core.store import FamilyStore, default_data_dir

PASSPHRASE_ENV = "UNVEIL_PASSPHRASE"
NEW_PASSPHRASE_ENV = "UNVEIL_NEW_PASSPHRASE"


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=None,
                        help=f"store folder (default: $UNVEIL_DATA_DIR or {default_data_dir()})")
    parser.add_argument("--key-file", default=None,
                        help=f"unlock with this 0600 key file instead of the passphrase (${PASSPHRASE_ENV} or a prompt)")


def read_passphrase(prompt: str = "Passphrase: ") -> str:
    return os.environ.get(PASSPHRASE_ENV) or getpass.getpass(prompt)


def read_new_passphrase(env: str = PASSPHRASE_ENV) -> str:
    """A new passphrase: from `env` if set, else typed twice without echo."""
    if os.environ.get(env):
        return os.environ[env]
    first = getpass.getpass("New passphrase: ")
    if first != getpass.getpass("Repeat it: "):
        raise UnveilError("the two passphrases differ; nothing was changed")
    return first


def open_locked(args: argparse.Namespace) -> FamilyStore:
    return FamilyStore(args.data_dir)


def open_unlocked(args: argparse.Namespace) -> FamilyStore:
    store = FamilyStore(args.data_dir)
    try:
        if args.key_file:
            store.unlock(key_file=args.key_file)
        else:
            store.unlock(read_passphrase())
    except BaseException:
        store.close()
        raise
    return store


def confirm(question: str, assume_yes: bool) -> bool:
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        print(f"{question} Refused: not confirmed (pass --yes to confirm non-interactively).", file=sys.stderr)
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def reports_errors(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Unveil's typed errors become `error: <message>` on stderr and exit status 1, never a traceback."""
    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except UnveilError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("interrupted; nothing more was changed", file=sys.stderr)
            return 130
    return run
