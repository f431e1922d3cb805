"""`unveil consent list|renew|adult-on|scope|withdraw`: the consent ledger from the shell."""
from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from governance import consent, family, retention
from unveil.cli._store_args import (
    add_store_arguments,
    confirm,
    finish_before_stopping,
    member_to_erase,
    open_unlocked,
    print_receipt,
    reports_errors,
)
from unveil.cli._terminal import padded

if TYPE_CHECKING:
    from fer_core.store import FamilyStore


def consent_days(text: str) -> int:
    """argparse type of a consent's length in days: a whole number from 1 to consent.MAX_CONSENT_DAYS."""
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of days, got {text!r}") from None
    if not 1 <= days <= consent.MAX_CONSENT_DAYS:
        raise argparse.ArgumentTypeError(consent.CONSENT_DAYS_OUT_OF_RANGE.format(maximum=consent.MAX_CONSENT_DAYS,
                                                                                  days=days))
    return days


DAY_FORMAT = "expected a day as YYYY-MM-DD, got {text!r}"


def calendar_day(text: str) -> date:
    """argparse type of a day of this machine's calendar, as YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(DAY_FORMAT.format(text=text)) from None


# After an enrolment or a renewal by a guardian that records no day from which the person decides for themself
# (`family enroll --adult-on`): without one, the guardian's consent governs for as long as it is renewed.
NO_ADULT_ON_NOTE = ("note: no day is recorded from which {name} decides for themself, so the consent given by "
                    "{given_by} (guardian) counts for as long as it is renewed: unveil consent adult-on {who} "
                    "YYYY-MM-DD records it")


def note_missing_adult_on(record: consent.ConsentRecord, name: str) -> None:
    """NO_ADULT_ON_NOTE on stderr when `record` is a guardian's without the day its subject decides for themself."""
    if consent.decides_for_themself(record) == consent.NO_ADULT_DATE:
        print(NO_ADULT_ON_NOTE.format(name=name, given_by=record.given_by, who=shlex.quote(name)), file=sys.stderr)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("consent", help="the consent ledger: list, renew, change scope, withdraw")
    commands = parser.add_subparsers(dest="consent_command", required=True)

    listing = commands.add_parser("list", help="every member's governing consent")
    add_store_arguments(listing)
    listing.set_defaults(handler=_list)

    renew = commands.add_parser("renew", help="set a member's consent to end --days from today (at the end of that day, "
                                              "on this machine's calendar)")
    add_store_arguments(renew)
    renew.add_argument("who", help="name or id")
    renew.add_argument("--days", type=consent_days, required=True,
                       help=f"the consent then runs to the end of the day this many days from today (1 to "
                            f"{consent.MAX_CONSENT_DAYS:,})")
    # A renewal is a consent given now, by whoever gives it now (as `unveil family enroll --given-by/--child`);
    # without these flags it is recorded as given by the giver on record, and the output says so.
    giver = renew.add_mutually_exclusive_group()
    giver.add_argument("--given-by", metavar="GUARDIAN", default=None,
                       help="the guardian who gives the consent now (default: whoever gave it before)")
    giver.add_argument("--by-themself", action="store_true",
                       help="the person gives the consent now themself (a child now grown up: also --adult)")
    age = renew.add_mutually_exclusive_group()
    age.add_argument("--child", dest="child", action="store_const", const=True, default=None,
                     help="the person is a child: the consent must be given by a guardian (--given-by)")
    age.add_argument("--adult", dest="child", action="store_const", const=False,
                     help="the person is not (or no longer) a child (default: as on record)")
    renew.set_defaults(handler=_renew)

    adult_on = commands.add_parser(
        "adult-on", help="record the day from which a member enrolled with a guardian's consent decides for themself "
                         "(the age of digital consent, or adulthood): the guardian's consent ends then, and only "
                         "their own can follow it")
    add_store_arguments(adult_on)
    adult_on.add_argument("who", help="name or id")
    adult_on.add_argument("day", type=calendar_day,
                          help="YYYY-MM-DD, on this machine's calendar, after today (a day that has come is refused: "
                               "it would end the guardian's consent at once; a member who already decides for "
                               "themself renews it with --by-themself)")
    adult_on.set_defaults(handler=_adult_on)

    scope = commands.add_parser("scope", help="change what a member's consent covers")
    add_store_arguments(scope)
    scope.add_argument("who", help="name or id")
    scope.add_argument("scope", choices=list(consent.SCOPES),
                       help="what the consent covers from now on: recognition (face prints only; their thumbnails "
                            "are deleted) or recognition+thumbnails")
    scope.set_defaults(handler=_scope)

    withdraw = commands.add_parser("withdraw", help="consent withdrawn: erase the member at once")
    add_store_arguments(withdraw)
    withdraw.add_argument("who", help="name or id")
    withdraw.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    withdraw.set_defaults(handler=_withdraw)


# What `consent list` and `family list` add to the line of a member whose consent ends within
# consent.ENDING_NOTICE_DAYS days (consent.ending_soon), and say once on stderr: the next sweep after its last day
# erases them. ENDS_THEMSELF: a guardian's consent ending on the day the member decides for themself.
ENDS = "  ends {when}"
ENDS_THEMSELF = "  ends {when}: only their own consent can follow"
ENDING_NOTE = ("note: {count} consent(s) marked \"ends\" end within {days} days; the first retention sweep after its "
               "last day erases the member (face prints, thumbnails, kept results) unless it is renewed: unveil consent "
               "renew WHO --days N (--by-themself where only their own consent can follow)")
# The same for a member who reaches the unseen_people period within those days (retention.unseen_soon): recognised
# again (family.note_recognition: the app's Analyze, Video and Live pages, unveil watch, unveil serve), their period
# starts afresh; `unveil analyze` names nobody, so it does not count.
UNSEEN = "  erased {when} unless recognised"
UNSEEN_NOTE = ("note: {count} member(s) marked \"erased ... unless recognised\" reach {period} days without being "
               "recognised within {days} days; a retention sweep from that day erases them (face prints, thumbnails, "
               "kept results) unless they are recognised again (a photo or video of them in the app, or unveil watch "
               "or unveil serve seeing them) or the period is changed: unveil retention set unseen_people DAYS (or off)")


@dataclass(frozen=True)
class EndingMarks:
    """What the lists add to a member's line, by person id: ENDS or ENDS_THEMSELF (`ending`), UNSEEN (`unseen`)."""

    ending: dict[str, str]
    unseen: dict[str, str]
    period: int | None  # the unseen_people period, where a member is marked for it

    def of(self, person_id: str) -> str:
        return self.ending.get(person_id, "") + self.unseen.get(person_id, "")


def ending_marks(store: FamilyStore) -> EndingMarks:
    """The marks of the members whose consent ends soon or who reach the unseen_people period soon (none while the
    date is not settled), on this machine's calendar."""
    unseen = retention.unseen_soon(store)
    return EndingMarks({ending.person_id: (ENDS_THEMSELF if ending.by_themself else ENDS).format(when=ending.when)
                        for ending in consent.ending_soon(store)},
                       {member.person_id: UNSEEN.format(when=member.when) for member in unseen},
                       unseen[0].period_days if unseen else None)


def note_endings(marks: EndingMarks) -> None:
    """ENDING_NOTE, UNSEEN_NOTE on stderr where a member is marked: stdout stays one line per member."""
    if marks.ending:
        print(ENDING_NOTE.format(count=len(marks.ending), days=consent.ENDING_NOTICE_DAYS), file=sys.stderr)
    if marks.unseen:
        print(UNSEEN_NOTE.format(count=len(marks.unseen), period=marks.period, days=consent.ENDING_NOTICE_DAYS),
              file=sys.stderr)


@reports_errors
def _list(args: argparse.Namespace) -> int:
    with open_unlocked(args) as store:
        rows = consent.ledger(store)
        marks = ending_marks(store)
    if not rows:
        print("no consent records: no one is enrolled")
    for row in rows:
        r = row.record
        if r is None:
            print(f"{padded(row.name, 28)} {row.person_id[:8]}  MISSING")
            continue
        by = "self" if r.relation == "self" else f"guardian {r.given_by}"
        child = " (child)" if r.subject_is_child else ""
        themself = consent.decides_for_themself(r)
        print(f"{padded(row.name, 28)} {row.person_id[:8]}  {row.status:<{consent.STATUS_WIDTH}} "
              f"{consent.local_day(r.given_at)} to {consent.until_day(r)}  "
              f"by {by}{child}  scope {r.scope}  purpose: {r.purpose}"
              + (f"  decides for themself: {themself}" if themself else "") + marks.of(row.person_id))
    note_endings(marks)
    return 0


RENEWED = "consent of {name} renewed until {until:%Y-%m-%d}, given by {given_by} ({relation}{child})"
FOR_A_CHILD = ", for a child"
# Without --given-by or --by-themself the consent is re-dated in the name of whoever gave it before: said, so that
# the user sees whose consent they renewed, and how to record someone else's.
AS_ON_RECORD = " as on record"
GIVER_HINT = "(if someone else gives it now: --given-by GUARDIAN, or --by-themself)"
# --days counts from today, not from the old end: a renewal for fewer days than were left shortens the consent,
# which is allowed (the person may ask for it) but must not pass for an extension.
SHORTENED = "; it ran until {before:%Y-%m-%d}, so it now ends sooner (--days counts from today)"


@reports_errors
def _renew(args: argparse.Namespace) -> int:
    with open_unlocked(args) as store:
        person = family.resolve(store, args.who)
        before = consent.latest(store, person.id)
        given_by = person.name if args.by_themself else args.given_by
        record = consent.renew(store, person.id, expires_at=consent.expires_on_day(consent.store_now(store), args.days),
                               given_by=given_by, subject_is_child=args.child)
    shortened = before is not None and record.ends_at < before.ends_at  # a guardian's: adult_on ends it still
    kept = given_by is None
    print(RENEWED.format(name=person.name, until=consent.until_day(record), given_by=record.given_by,
                         relation=record.relation, child=FOR_A_CHILD if record.subject_is_child else "")
          + (AS_ON_RECORD if kept else "")
          + (SHORTENED.format(before=consent.until_day(before)) if shortened else ""))
    if kept:
        print(GIVER_HINT)
    note_missing_adult_on(record, person.name)
    return 0


# {until}: the consent's last day now (consent.until_day): its own end date when that comes before the day.
ADULT_ON_SET = ("{name} decides for themself from {day:%Y-%m-%d}: the consent given by {given_by} (guardian) now runs "
                "until {until:%Y-%m-%d}")


@reports_errors
def _adult_on(args: argparse.Namespace) -> int:
    with open_unlocked(args) as store:
        person = family.resolve(store, args.who)
        record = consent.set_adult_on(store, person.id, args.day)  # only a day after today: it ends nothing now
    print(ADULT_ON_SET.format(name=person.name, day=args.day, given_by=record.given_by, until=consent.until_day(record)))
    return 0


@reports_errors
def _scope(args: argparse.Namespace) -> int:
    with open_unlocked(args) as store:
        person = family.resolve(store, args.who)
        before = person.thumbnails
        consent.change_scope(store, person.id, args.scope)
        removed = before - store.person(person.id).thumbnails
    print(f"consent of {person.name} now covers {args.scope}" + (f"; {removed} thumbnails deleted" if removed else ""))
    return 0


@reports_errors
def _withdraw(args: argparse.Namespace) -> int:
    with open_unlocked(args) as store:
        person_id, shown = member_to_erase(store, args.who)
        if not confirm(f"Record that {shown} withdrew consent, and erase them now?", args.yes):
            return 1
        finish_before_stopping()
        receipt = consent.withdraw(store, person_id)
    print_receipt(receipt.to_json())
    return 0
