"""`unveil` command line. Each sub-command group lives in its own module with a `register(subparsers)`."""
from __future__ import annotations

import argparse
import importlib
import sys

# Modules under governance.cli that add sub-commands; each exposes register(subparsers).
_COMMAND_MODULES = ("analyze", "family", "consent", "retention", "audit")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="unveil", description="Private, on-device face emotion and family recognition.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in _COMMAND_MODULES:
        importlib.import_module(f"governance.cli.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
