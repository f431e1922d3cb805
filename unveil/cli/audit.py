"""`unveil audit verify|list`, and `unveil audit bias ...` (unveil.cli.bias adds them to this group)."""
from __future__ import annotations

import argparse

from governance import audit_log
from unveil.cli import bias
from unveil.cli._store_args import add_store_arguments, open_locked, open_unlocked, reports_errors


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("audit", help="the tamper-evident audit log (and other audits)")
    commands = parser.add_subparsers(dest="audit_command", required=True)

    verify = commands.add_parser("verify", help="check the audit log's hash chain; report the first broken link")
    add_store_arguments(verify)
    verify.add_argument("--no-unlock", action="store_true",
                        help="check the chain without the passphrase (the entries' seals are then not checked)")
    verify.set_defaults(handler=_verify)

    listing = commands.add_parser("list", help="print the audit log")
    add_store_arguments(listing)
    listing.add_argument("--no-unlock", action="store_true", help="do not unlock: names are not shown")
    listing.set_defaults(handler=_list)

    bias.add_bias_command(commands)


def _open(args: argparse.Namespace):
    return open_locked(args) if args.no_unlock else open_unlocked(args)


@reports_errors
def _verify(args: argparse.Namespace) -> int:
    with _open(args) as store:
        result = audit_log.verify(store)
    print(audit_log.describe(result))
    return 0 if result.ok else 1


@reports_errors
def _list(args: argparse.Namespace) -> int:
    with _open(args) as store:
        for entry in audit_log.entries(store):
            print(audit_log.format_entry(entry))
    return 0
