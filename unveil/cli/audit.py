"""`unveil audit verify|list|receipt`, and `unveil audit bias ...` (unveil.cli.bias adds them to this group)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from governance import audit_log, receipts
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

    receipt = commands.add_parser("receipt", help="check a deletion receipt against the store: its audit entry, the "
                                                  "log intact, nothing left under its id")
    add_store_arguments(receipt)
    receipt.add_argument("file", metavar="FILE", help="the receipt's JSON (as `unveil family purge` prints it or the app "
                                                      "downloads it)")
    receipt.add_argument("--no-unlock", action="store_true",
                         help="check without the passphrase (the audit entries' seals are then not checked)")
    receipt.set_defaults(handler=_receipt)

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


# `unveil audit receipt`: 0 when the receipt is genuine and the store holds nothing under its id, 1 when not (the
# lines say which check failed), 2 when FILE cannot be read or is not a receipt (nothing was opened).
RECEIPT_UNREADABLE = "error: cannot read the receipt {path}: {reason}"
RECEIPT_INVALID = "error: {path}: {reason}"


@reports_errors
def _receipt(args: argparse.Namespace) -> int:
    # The receipt is read before the passphrase is asked for: a wrong file is said at once.
    try:
        text = Path(args.file).read_bytes()
    except OSError as exc:
        print(RECEIPT_UNREADABLE.format(path=args.file, reason=exc.strerror or exc), file=sys.stderr)
        return 2
    try:
        receipt = receipts.read(text)
    except receipts.ReceiptError as exc:
        print(RECEIPT_INVALID.format(path=args.file, reason=exc), file=sys.stderr)
        return 2
    with _open(args) as store:
        checked = receipts.check(store, receipt)
    for line in checked.lines():
        print(line)
    return 0 if checked.ok else 1
