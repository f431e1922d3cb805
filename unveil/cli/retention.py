"""`unveil retention show|set|sweep`: retention periods and the sweep that applies them."""
from __future__ import annotations

import argparse
import sys

from governance import consent, erasure, receipts, retention
from unveil.cli._store_args import (
    PASSPHRASE_ENV,
    add_store_arguments,
    finish_before_stopping,
    open_unlocked,
    reports_errors,
    unlocks_unattended,
)
from unveil.cli._terminal import json_shown

DAYS_TOO_MANY = "days must be at most {maximum:,} (100 years; 'off' keeps data until erased by hand), got {value}"
# The store refuses 0 for unseen_people too, but its message names Python's None; here the user types 'off'.
UNSEEN_PEOPLE_ZERO = ("unseen_people: at least 1 day (0 would erase every member at the next sweep), or 'off' to keep "
                      "members until erased by hand; nothing was changed")


def _days(text: str) -> int | None:
    if text == "off":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of days or 'off', got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"days must be >= 0, got {value}")
    if value > retention.MAX_DAYS:
        raise argparse.ArgumentTypeError(DAYS_TOO_MANY.format(maximum=retention.MAX_DAYS, value=value))
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("retention", help="how long data is kept; sweep now")
    commands = parser.add_subparsers(dest="retention_command", required=True)

    show = commands.add_parser("show", help="the retention period of each kind of data")
    add_store_arguments(show)
    show.set_defaults(handler=_show)

    setting = commands.add_parser("set", help="set a retention period")
    add_store_arguments(setting)
    setting.add_argument("kind", choices=list(retention.KINDS))
    setting.add_argument("days", type=_days, help="days, or 'off' to keep until erased by hand")
    setting.set_defaults(handler=_set)

    sweep = commands.add_parser("sweep", help="apply consent expiry and retention now; print what was removed")
    add_store_arguments(sweep)
    sweep.add_argument("--date-is-right", action="store_true",
                       help=f"the clock reads more than {retention.CLOCK_GAP_DAYS} days after the store's last use, "
                            "and that date is right: remove what retention says (without it, such a sweep removes "
                            "nothing because of the date, and exits 1)")
    sweep.add_argument("--names", action="store_true",
                       help="name the members erased also when the output is not a terminal (by default their "
                            "names are printed only to a terminal: a scheduled sweep's log would keep them)")
    sweep.add_argument("--receipts", metavar="FOLDER",
                       help="also write the deletion receipt of each member erased into FOLDER (made if missing), one "
                            "JSON file each, as the app downloads them: ids only, never a name; for the person erased, "
                            "to check with `unveil audit receipt FILE`")
    sweep.set_defaults(handler=_sweep)


@reports_errors
def _show(args: argparse.Namespace) -> int:
    with open_unlocked(args) as store:
        policy = retention.policy(store)
    for kind, days in policy.items():
        print(f"{kind:<14} {'off' if days is None else f'{days} days':<10} {retention.KINDS[kind]}")
    return 0


@reports_errors
def _set(args: argparse.Namespace) -> int:
    if args.kind == "unseen_people" and args.days == 0:
        print(f"error: {UNSEEN_PEOPLE_ZERO}", file=sys.stderr)
        return 2
    with open_unlocked(args) as store:
        retention.set_policy(store, args.kind, args.days)
    print(f"{args.kind}: {'kept until erased by hand' if args.days is None else f'{args.days} days'}")
    return 0


@reports_errors
def _sweep(args: argparse.Namespace) -> int:
    with open_unlocked(args) as store:
        finish_before_stopping()  # to the receipts' files (--receipts)
        report = retention.sweep(store, date_confirmed=args.date_is_right)
        endings = consent.ending_soon(store)
        unseen = retention.unseen_soon(store)
    check = report.date_check
    named = args.names or sys.stdout.isatty()
    print(json_shown({"ran_at": report.ran_at, "removed": report.removed,
                      "receipts": [r.digest for r in report.receipts],
                      "erased": [_erased(who if named else None, r) for who, r in report.named_receipts()],
                      "storage_scrubbed": report.storage_scrubbed,
                      "waiting_for_the_date": None if check is None else check.waiting,
                      "consents_ending": [_ending(e, named) for e in endings],
                      "unseen_ending": [_unseen(u, named) for u in unseen]}, indent=2))
    if report.receipts and not named:
        print(NAMES_LEFT_OUT.format(count=len(report.receipts)), file=sys.stderr)
    if endings:
        print(ENDING_NOTE.format(count=len(endings), days=consent.ENDING_NOTICE_DAYS), file=sys.stderr)
    if unseen:
        print(UNSEEN_NOTE.format(count=len(unseen), period=unseen[0].period_days, days=consent.ENDING_NOTICE_DAYS),
              file=sys.stderr)
    if report.receipts and not report.storage_scrubbed:
        print(erasure.SCRUB_PENDING_NOTE.format(seq=report.receipts[-1].audit_seq), file=sys.stderr)
    if args.receipts and report.receipts:
        try:
            written = receipts.save(report.receipts, args.receipts)
        except receipts.ReceiptSaveError as exc:
            print(RECEIPTS_NOT_SAVED.format(reason=exc), file=sys.stderr)
            return 1
        print(RECEIPTS_SAVED.format(count=len(written), folder=args.receipts), file=sys.stderr)
    if check is not None:  # exits 1, so that a scheduled sweep that waits does not pass unnoticed
        print(f"{check.text()} {DATE_IS_RIGHT_HOW}", file=sys.stderr)
        return 1
    return 0


DATE_IS_RIGHT_HOW = "To confirm it: unveil retention sweep --date-is-right"
# `unveil watch` and `unveil serve` sweep when they start and once a day (governance.scheduled_sweeps).
SCHEDULED_RECEIPTS_HELP = ("write the deletion receipt of each member the retention sweeps erase (when it starts and "
                           "once a day, with the store unlocked) into FOLDER (made if missing, refused at start if it "
                           "cannot be written), one JSON file each: ids only, never a name; for the person erased, to "
                           "check with `unveil audit receipt FILE`")
# Said before anything starts: a folder that cannot be written would otherwise be found when a member is erased.
RECEIPTS_FOLDER_REFUSED = "{command}: --receipts: {reason}; nothing was started"
# Without an unattended unlock the command sweeps nothing, so --receipts would silently write nothing.
RECEIPTS_NEED_UNLOCK = ("{command}: --receipts needs the store unlocked without a prompt (--key-file, or "
                        f"{PASSPHRASE_ENV}): without it no sweep runs and no receipt is written; nothing was started")


def add_scheduled_receipts_argument(parser: argparse.ArgumentParser) -> None:
    """--receipts FOLDER for a command whose sweeps run on their own (`unveil watch`, `unveil serve`)."""
    parser.add_argument("--receipts", metavar="FOLDER", help=SCHEDULED_RECEIPTS_HELP)


def scheduled_receipts_refusal(args: argparse.Namespace, command: str) -> str | None:
    """RECEIPTS_NEED_UNLOCK when the command will not unlock the store (no --key-file, no $UNVEIL_PASSPHRASE: as
    open_unlocked_unattended decides), RECEIPTS_FOLDER_REFUSED when the --receipts folder cannot be made or written
    (receipts.ready), else None."""
    if args.receipts is None:
        return None
    if not unlocks_unattended(args):
        return RECEIPTS_NEED_UNLOCK.format(command=command)
    try:
        receipts.ready(args.receipts)
    except receipts.ReceiptSaveError as exc:
        return RECEIPTS_FOLDER_REFUSED.format(command=command, reason=exc)
    return None
# --receipts: the erasures are done either way; only their files are at stake.
RECEIPTS_SAVED = "note: {count} deletion receipt(s) written into {folder}"
RECEIPTS_NOT_SAVED = "error: the sweep is done (its receipts' hashes above, also in the audit log), but {reason}"
# The sweep reads each member's name before erasing them: printed to the terminal, so that whoever ran it can tell who
# went (the receipts and the audit log hold random ids only). Printed where no one reads it (cron, a systemd timer)
# the name would be kept in a log file or the journal, in clear, long after the erasure: there, only with --names.
NAMES_LEFT_OUT = ("note: {count} member(s) erased (see \"erased\"): their names are printed only to a terminal, so that "
                  "no log keeps them; run with --names to print them here")


# Who the next sweeps erase unless their consent is renewed: "consents_ending" lists them (named as "erased" is).
ENDING_NOTE = ("note: {count} member(s) whose consent ends within {days} days (see \"consents_ending\"): the first "
               "sweep after its last day erases them unless it is renewed; unveil consent list marks them")
# Who the sweeps erase soon for not being recognised: "unseen_ending" lists them (named as "erased" is).
UNSEEN_NOTE = ("note: {count} member(s) reach {period} days without being recognised within {days} days (see "
               "\"unseen_ending\"): a sweep from that day erases them unless they are recognised again or the period "
               "is changed (unveil retention set unseen_people DAYS); unveil family list marks them")


def _ending(ending: consent.Ending, named: bool) -> dict:
    """One member whose consent ends soon: their name (None when left out, as "erased"), id, its last day on this
    machine's calendar, and whether only their own consent can follow it (the day they decide for themself)."""
    return {"name": ending.name if named else None, "id": ending.person_id, "last_day": ending.last_day.isoformat(),
            "only_their_own_consent_can_follow": ending.by_themself}


def _unseen(member: retention.Unseen, named: bool) -> dict:
    """One member who reaches the unseen_people period soon: their name (None when left out, as "erased"), id, the
    day they were last recognised (or enrolled) and the day the period runs out, on this machine's calendar."""
    return {"name": member.name if named else None, "id": member.person_id, "last_seen": member.last_seen.isoformat(),
            "erased_from": member.erased_from.isoformat()}


def _erased(who: str | None, receipt: erasure.ErasureReceipt) -> dict:
    """One member the sweep erased: their name (None when left out), id, why, and the receipt's hash and audit entry
    (the JSON `unveil family purge` prints holds the whole receipt)."""
    return {"name": who, "id": receipt.subject, "reason": receipt.reason, "receipt": receipt.digest,
            "audit_entry": receipt.audit_seq}
