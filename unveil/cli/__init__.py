"""`unveil` command line. Each command group lives in its own module with a `register(subparsers)`;
they are listed here, and each imports what its work needs (models, the bias audit's fairlearn and
matplotlib) inside its handler, so `unveil --help` and `unveil family list` stay fast."""
from __future__ import annotations

import argparse
import os
import sys

from unveil.cli import analyze, app, audit, consent, family, retention, serve, watch
from unveil.cli._terminal import use_escapes_for_unencodable

_COMMAND_GROUPS = (analyze, app, watch, serve, family, consent, retention, audit)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="unveil", description="Private, on-device face emotion and family recognition.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for group in _COMMAND_GROUPS:
        group.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    use_escapes_for_unencodable()  # a name the terminal's encoding cannot show is escaped, not a crash
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except BrokenPipeError:
        return _reader_gone()


# The exit status of a command that SIGPIPE stopped, as a shell reports it (128 + 13).
EXIT_BROKEN_PIPE = 141


def _reader_gone() -> int:
    """Whoever read our stdout stopped (`unveil analyze ... | head`): stop quietly, as Unix tools do.
    Python ignores SIGPIPE and would flush stdout again at exit, print the same error and exit 120;
    pointing stdout at /dev/null first makes that flush harmless (the Python docs' "Note on SIGPIPE")."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
