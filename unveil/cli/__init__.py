"""`unveil` command line. Each command group lives in its own module with a `register(subparsers)`;
they are listed here, and each imports what its work needs (models, the bias audit's fairlearn and
matplotlib) inside its handler, so `unveil --help` and `unveil family list` stay fast."""
from __future__ import annotations

import argparse
import sys

from unveil.cli import analyze, app, audit, consent, family, retention, serve, watch

_COMMAND_GROUPS = (analyze, app, watch, serve, family, consent, retention, audit)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="unveil", description="Private, on-device face emotion and family recognition.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for group in _COMMAND_GROUPS:
        group.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
