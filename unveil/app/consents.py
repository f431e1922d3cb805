"""The Family page's consent form, without Streamlit: renewing a member's consent for a number of days, and
changing what it covers, as `unveil consent renew` and `unveil consent scope` do.

The change itself goes through governance.consent (renew, change_scope), which validates the new record
and logs it in the audit log. A renewal records who gives it now (the form is prefilled with the giver on
record); a change of scope keeps who gave the consent. A member whose consent has ended is still
enrolled until the next retention sweep: renewing it keeps them, and they are named again at once.

As on the enrolment form, a consent renewed here ends at the end of a day of the user's own calendar (their
browser's time zone): renewed for 365 days the day they were enrolled for 365 days, it ends when it did,
so it is not said to shorten the consent by the hours left of that day.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from governance import consent, retention
from unveil.app.session import plural
from unveil.app.text import shown

if TYPE_CHECKING:
    from fer_core.store import FamilyStore
    from governance.family import Member

DEFAULT_DAYS = 365
# What the form says of the member's consent in force, above the renewal.
CONSENT_ACTIVE = "The consent of {name} runs until {until:%Y-%m-%d} and covers {scope}; given by {given_by} ({relation})."
CONSENT_EXPIRED = ("The consent of {name} ended on {until:%Y-%m-%d}: they are no longer named, and the next retention "
                   "sweep erases them. Renew it to keep them.")
# While the date is in question (governance.clock) the sweep erases no one for the date's sake, and no consent can be
# renewed (consent.DATE_IN_QUESTION): "the next sweep erases them" would not be true.
CONSENT_EXPIRED_DATE_IN_QUESTION = (
    "The consent of {name} ended on {until:%Y-%m-%d} by this machine's clock, which is in question: they are no "
    "longer named, and nothing is erased for the date's sake until it is confirmed. If the date is right, confirming "
    "it erases them; if the clock is wrong, set it right and their consent runs as before.")
# Given after today by the store's clock (recorded while the clock ran ahead): in force from then, not before.
CONSENT_NOT_YET = ("The consent of {name} is dated {given:%Y-%m-%d}, after today by this machine's clock (it was "
                   "recorded while the clock ran ahead): it is not in force yet, so they are not named. Renew it to "
                   "put a consent in force from today.")
# The same while the date is not settled (the clock reads far before the store's last use): a renewal would be refused.
CONSENT_NOT_YET_DATE_UNSETTLED = ("The consent of {name} is dated {given:%Y-%m-%d}, after today by this machine's clock: "
                                  "it is not in force yet, so they are not named. It can be renewed once the date is "
                                  "settled.")
# A guardian's consent says from which day the member decides for themself (governance.consent.ConsentRecord.adult_on),
# or that no day is recorded: then it counts for as long as the guardian renews it, and the form asks for the day.
ADULT_ON_SUMMARY = " {name} decides for themself from {day:%Y-%m-%d}: the guardian's consent ends then."
ADULT_ON_MISSING = (" No day is recorded from which {name} decides for themself, so the guardian's consent counts for "
                    "as long as it is renewed: record the day below.")
# That day has come: the guardian's consent ended, as a consent past its end date, and only their own follows it.
CONSENT_ADULT_ENDED = ("{name} decides for themself from {day:%Y-%m-%d}: the consent given by {given_by} (guardian) "
                       "ended on {until:%Y-%m-%d}, so they are no longer named, and the next retention sweep erases them. "
                       "Their own consent keeps them: renew it below, given by them.")
# The form that records the day (governance.consent.set_adult_on), and what it says once recorded.
ADULT_ON_HEADING = "**The day {name} decides for themself**"
ADULT_ON_DAY = "From this day only their own consent counts (the age of digital consent, or adulthood)"
ADULT_ON_BUTTON = "Record the day {name} decides for themself"
# {until}: the consent's last day now (consent.until_day): its own end date when that comes before the day.
ADULT_ON_SET = ("{name} decides for themself from {day:%Y-%m-%d}: the consent given by {given_by} (guardian) now runs "
                "until {until:%Y-%m-%d}.")
CONSENT_MISSING = ("{name} has no consent record, so there is nothing to renew: erase them, then enrol them again "
                   "with a consent.")
# The renewal's days count from today, not from the consent's current end (as `unveil consent renew --days`).
RENEW_ENDS = "Renewed for {days} from today, the consent of {name} ends on {until:%Y-%m-%d}."
RENEW_SHORTENS = ("This shortens the consent of {name}: it runs until {before:%Y-%m-%d} now, and the days count "
                  "from today, not from its current end.")
RENEWED = "The consent of {name} now runs until {until:%Y-%m-%d}, given by {given_by} ({relation}{child})."
FOR_A_CHILD = ", for a child"
# Who gives the renewed consent: the form is prefilled with the giver on record, and editable as on the enrolment
# form (a new guardian, or a child now grown up renewing it themself).
GIVER_GUARDIAN = "Consent is given by a guardian (for example for a child)"
GIVER_NAME = "Guardian's name"
GIVER_CHILD = "This person is a child"
# Allowed (the person may ask for it), but it must not pass for an extension: as the CLI's SHORTENED.
SHORTENED = " It ran until {before:%Y-%m-%d}, so it now ends sooner (the days count from today)."
NAMED_AGAIN = " They are named again from now on."
# Changing what the consent covers.
SCOPE_CHANGED = "The consent of {name} now covers {scope}."
THUMBNAILS_DELETED = " {thumbnails} deleted."
NARROWING_DELETES = ("Narrowing the consent of {name} to recognition only deletes the {thumbnails} kept of them, "
                     "for good.")
NARROWING_TICK = "Yes, delete the thumbnails of {name}"
SCOPE_OF_ENDED_CONSENT = "An ended consent's scope cannot be changed: renew it first."
SCOPE_OF_CONSENT_NOT_YET = "The scope of a consent not yet in force cannot be changed: renew it first."
# While the date is in question (consent.DATE_IN_QUESTION) the form offers only what governance.consent.change_scope
# makes then: narrowing the consent to recognition, which gives data up and keeps the consent's own dates.
DATE_WAITS = ("Renewing the consent of {name}, or widening it to thumbnails, waits until the date is settled: either "
              "would be a consent given now, dated by the clock in question.")
NARROW_NOW = (" Narrowing it to recognition only gives data up and keeps the consent's own dates, so it can be done "
              "now.")
NARROW_BUTTON = "Narrow the consent of {name} to recognition only"
# What the form says, before any click, while the date is in question. Not consent.DATE_IN_QUESTION itself: that is the
# refusal of a renewal, and its "nothing was stored" read, under the narrowing's "now covers recognition", as if the
# narrowing just made had not been stored.
# A clock reset far back (governance.clock.behind): no question is asked above the tabs (the sweep removes nothing early
# on it), but renewing, widening and enrolment are refused (consent.CLOCK_BEHIND): the form says so and confirms the date.
CLOCK_BEHIND_FORM = (f"The clock reads more than {consent.clock.CLOCK_GAP_DAYS} days before this store was last used "
                     "({last:%Y-%m-%d}), so a consent given now would be dated then and end too early once the clock is "
                     "right. Set the clock right, or if the date is right, confirm it (\"The date is right\") first.")
DATE_IN_QUESTION_FORM = (f"The clock reads more than {consent.clock.CLOCK_GAP_DAYS} days after this store was last used, "
                         "so the date is in question, and a consent given now would carry it. Confirm the date (\"The "
                         "date is right\") or set the clock right first.")

# Above every page while the store is unlocked (the router, widgets.erasure_notices): each member whose consent
# ends within consent.ENDING_NOTICE_DAYS days (governance.consent.ending_soon; nobody while the date is not settled),
# with a link to the Family page, where the consent form renews it. The day after its last day they are no longer named,
# and the first sweep then (each day the app, `unveil watch` or `unveil serve` runs, or at the next unlock) erases them.
ENDING_HEADING = ("**Consents ending soon.** The day after a member's consent ends they are no longer named, and the "
                  "next retention sweep erases them: their face prints, thumbnails and the kept results that name them. "
                  "To keep them, renew it on the Family page (\"Renew consent or change scope\").")
ENDING_MEMBER = "- The consent of {name} ends {when}, on {day:%Y-%m-%d}."
ENDING_THEMSELF = ("- {name} decides for themself from {next:%Y-%m-%d}, so the consent given by {given_by} (guardian) "
                   "ends {when}, on {day:%Y-%m-%d}: from then only their own consent keeps them (renewed as given by "
                   "{name}).")
ENDING_LINK = "Renew a consent on the Family page"


def ending_notice(endings: Sequence[consent.Ending]) -> str | None:
    """ENDING_HEADING over a line for each member whose consent ends soon (ENDING_MEMBER, or ENDING_THEMSELF when it
    ends because they decide for themself), as Markdown, names shown as written; None when there is none."""
    if not endings:
        return None
    lines = []
    for ending in endings:
        name = shown(ending.name)
        if ending.by_themself:
            lines.append(ENDING_THEMSELF.format(name=name, next=ending.last_day + timedelta(days=1), when=ending.when,
                                                given_by=shown(ending.given_by), day=ending.last_day))
        else:
            lines.append(ENDING_MEMBER.format(name=name, when=ending.when, day=ending.last_day))
    return ENDING_HEADING + "\n\n" + "\n".join(lines)


# Beside it, the members the sweep erases for not being recognised for the unseen_people period, within the same days
# (governance.retention.unseen_soon; nobody while the date is not settled or the period is off), with a link to the
# Analyze page: a photo of them recognised there (or on the Video or Live page, or by `unveil watch` or `unveil serve`)
# starts their period afresh (family.note_recognition). The period itself is set on the Governance page.
UNSEEN_HEADING = ("**Members not recognised for a long time.** A member not recognised for {period} days (the retention "
                  "of unseen people) is erased by a retention sweep from that day: their face prints, thumbnails and "
                  "the kept results that name them. To keep them, let the app recognise them again: a photo of them on "
                  "the Analyze page, a video of them on the Video page, the Live page, or `unveil watch` or `unveil "
                  "serve` seeing them. Or lengthen that period, or switch it off, on the Governance page (Retention).")
UNSEEN_MEMBER = "- {name}, last seen on {seen:%Y-%m-%d}, reaches {period} days {when}, on {day:%Y-%m-%d}."
UNSEEN_LINK = "Analyse a photo of them on the Analyze page"


def unseen_notice(unseen: Sequence[retention.Unseen]) -> str | None:
    """UNSEEN_HEADING over an UNSEEN_MEMBER line for each member who reaches the unseen_people period soon, as
    Markdown, names shown as written; None when there is none."""
    if not unseen:
        return None
    period = unseen[0].period_days
    lines = [UNSEEN_MEMBER.format(name=shown(member.name), seen=member.last_seen, period=period, when=member.when,
                                  day=member.erased_from) for member in unseen]
    return UNSEEN_HEADING.format(period=period) + "\n\n" + "\n".join(lines)


def member_label(member: Member, zone: tzinfo | None = None) -> str:
    """How the form's member picker shows a member: their name and when their consent ends (or ended), a day of the
    user's calendar (in `zone`, None: this machine's)."""
    record = member.consent
    if record is None:
        return f"{member.name} (no consent record)"
    if member.consent_status == "expired":
        return f"{member.name} (consent ended on {consent.until_day(record, zone)})"
    if member.consent_status == consent.NOT_YET_IN_FORCE:
        return f"{member.name} (consent not yet in force: dated {consent.local_day(record.given_at, zone)})"
    return f"{member.name} (consent until {consent.until_day(record, zone)})"


def consent_summary(member: Member, *, date_in_question: bool = False, clock_behind: bool = False,
                    zone: tzinfo | None = None) -> str:
    """CONSENT_ACTIVE (a guardian's followed by ADULT_ON_SUMMARY or ADULT_ON_MISSING), CONSENT_EXPIRED
    (CONSENT_ADULT_ENDED when it ended because the member decides for themself; CONSENT_EXPIRED_DATE_IN_QUESTION while
    `date_in_question`: governance.clock), CONSENT_NOT_YET (CONSENT_NOT_YET_DATE_UNSETTLED while `clock_behind`:
    governance.clock.behind) or CONSENT_MISSING for this member; its dates are days of the user's calendar (in `zone`,
    None: this machine's)."""
    record = member.consent
    if record is None:
        return CONSENT_MISSING.format(name=member.name)
    until, given = consent.until_day(record, zone), consent.local_day(record.given_at, zone)
    adult_on = consent.local_day(record.adult_on, zone) if record.adult_on is not None else None
    if member.consent_status == "expired":
        if adult_on is not None and record.ends_at == record.adult_on and not date_in_question:
            return CONSENT_ADULT_ENDED.format(name=member.name, day=adult_on, given_by=record.given_by, until=until)
        said = CONSENT_EXPIRED_DATE_IN_QUESTION if date_in_question else CONSENT_EXPIRED
        return said.format(name=member.name, until=until)
    if member.consent_status == consent.NOT_YET_IN_FORCE:
        said = CONSENT_NOT_YET_DATE_UNSETTLED if clock_behind else CONSENT_NOT_YET
        return said.format(name=member.name, given=given)
    said = CONSENT_ACTIVE.format(name=member.name, until=until, scope=record.scope, given_by=record.given_by,
                                 relation=record.relation)
    if record.relation != "guardian":
        return said
    return said + (ADULT_ON_MISSING.format(name=member.name) if adult_on is None
                   else ADULT_ON_SUMMARY.format(name=member.name, day=adult_on))


@dataclass(frozen=True)
class Renewal:
    """What renewing a consent for `days` from `now` does: when it then ends, and when it ended before."""

    name: str
    days: int
    until: datetime
    current: consent.ConsentRecord | None  # the consent governing now: it ends at its ends_at, adult_on included
    zone: tzinfo | None = None  # the user's time zone (None: this machine's), whose calendar the dates are said on

    @property
    def shortens(self) -> bool:
        return self.current is not None and self.until < self.current.ends_at

    def preview(self, giver: Giver | None = None) -> str:
        """RENEW_ENDS with the day `until` falls on in the user's calendar (`zone`): not its own date, which is UTC's
        for the longest renewal (it ends MAX_CONSENT_DAYS after now, not at the end of a day). Given by a guardian
        (`giver`; None: whoever gave it before, as renew), the day before the member decides for themself when that
        comes first: their guardian's consent ends then (consent.until_day)."""
        last = consent.local_day(self.until, self.zone)
        current = self.current
        guardian = giver.guardian if giver is not None else current is not None and current.relation == "guardian"
        if guardian and current is not None and current.adult_on is not None:
            last = consent.until_day(replace(current, expires_at=self.until), self.zone)
        return RENEW_ENDS.format(days=plural(self.days, "day"), name=self.name, until=last)

    def warning(self) -> str | None:
        """RENEW_SHORTENS when the renewal ends the consent sooner than it runs now; None otherwise. The consent's
        end now is a day of the user's calendar (`zone`), as the Members table says it: not of `until`'s UTC offset,
        which is that of its own day (summer time, say, while the consent now ends in winter)."""
        if self.current is None or not self.shortens:
            return None
        return RENEW_SHORTENS.format(name=self.name, before=consent.until_day(self.current, self.zone))


def renewal_end(now: datetime, days: int, zone: tzinfo | None = None) -> datetime:
    """When a consent renewed at `now` for `days` days ends: at the end of the user's day `days` days after their
    today in `zone` (None: this machine's time zone), as the enrolment form's consent does, but never more than
    consent.MAX_CONSENT_DAYS after `now`. ConsentError unless days is a whole number from 1 to MAX_CONSENT_DAYS."""
    return consent.expires_on_day(now, days, zone)


def renewal(member: Member, days: int, *, now: datetime, zone: tzinfo | None = None) -> Renewal:
    """What renewing `member`'s consent for `days` days from `now` (the store's clock) in the user's time zone
    `zone` would do (renewal_end). ConsentError unless days is a whole number from 1 to consent.MAX_CONSENT_DAYS."""
    return Renewal(member.name, days, renewal_end(now, days, zone), member.consent, zone)


@dataclass(frozen=True)
class Giver:
    """Who gives a renewed consent, as the renewal form shows it: a guardian (named) or the member themself, and
    whether the member is a child."""

    guardian: bool
    name: str  # the guardian's name; "" when the member gives it themself
    child: bool


def giver_on_record(member: Member, now: datetime | None = None) -> Giver:
    """What the renewal form is prefilled with: who gave the consent in force, and whether the member is a child; the
    member themself, not a child, once the day they decide for themself has come by `now` (the store's clock): a
    guardian's renewal is refused from then (governance.consent.GUARDIAN_CONSENT_ENDED)."""
    record = member.consent
    if record is None or (now is not None and record.adult_on is not None and record.adult_on <= now):
        return Giver(guardian=False, name="", child=False)
    guardian = record.relation == "guardian"
    return Giver(guardian=guardian, name=record.given_by if guardian else "", child=record.subject_is_child)


def renew(store: FamilyStore, member: Member, days: int, *, zone: tzinfo | None = None,
          giver: Giver | None = None) -> str:
    """Renew `member`'s consent for `days` days from now in the user's time zone `zone` (renewal_end), given by
    `giver` (their guardian, or the member themself; None: whoever gave it before), through governance.consent.renew
    (for whom, the purpose and the scope stay as agreed; audit-logged), and say until when and who gave it: RENEWED,
    then SHORTENED when it now ends sooner, or NAMED_AGAIN when it had ended. ConsentError, nothing stored, when
    days is out of range, there is no consent record to renew, or the giver does not fit (a child's consent must
    be a guardian's, a guardian needs a name)."""
    now = consent.store_now(store)
    until = renewal_end(now, days, zone)
    before = consent.latest(store, member.person_id)  # read again: another tab may have renewed it meanwhile
    given = {} if giver is None else {"given_by": giver.name if giver.guardian else member.name,
                                      "subject_is_child": giver.child}
    record = consent.renew(store, member.person_id, expires_at=until, **given)
    # Its last day: a guardian's consent still ends the day before its subject decides for themself (until_day).
    said = RENEWED.format(name=member.name, until=consent.until_day(record, zone), given_by=record.given_by,
                          relation=record.relation, child=FOR_A_CHILD if record.subject_is_child else "")
    if before is not None and record.ends_at < before.ends_at:
        said += SHORTENED.format(before=consent.until_day(before, zone))
    elif before is not None and not before.is_active(now):
        said += NAMED_AGAIN
    return said


def adult_on_choice(member: Member, now: datetime, zone: tzinfo | None = None) -> tuple[date, date | None] | None:
    """What the form that records the day `member` decides for themself offers: the first day it may pick and the day
    recorded (None: none yet, or one before that first day: another zone's calendar); None when there is nothing to
    record: their consent is their own, not yet in force, or the day recorded has come (only their own consent follows
    then). The first day is the day after the user's today by `now` (the store's clock, in `zone`):
    governance.consent.set_adult_on refuses a day that has come, which would end the guardian's consent at once
    (ADULT_ON_NOT_AHEAD)."""
    record = member.consent
    if record is None or record.relation != "guardian" or member.consent_status == consent.NOT_YET_IN_FORCE:
        return None
    if record.adult_on is not None and record.ends_at == record.adult_on and member.consent_status == "expired":
        return None
    first = consent.local_day(now, zone) + timedelta(days=1)
    recorded = consent.local_day(record.adult_on, zone) if record.adult_on is not None else None
    return first, recorded if recorded is not None and recorded >= first else None


def set_adult_on(store: FamilyStore, member: Member, day: date, *, zone: tzinfo | None = None) -> str:
    """Record `day` (of the user's calendar in `zone`) as the day `member` decides for themself, through
    governance.consent.set_adult_on (audit-logged), and say so: ADULT_ON_SET. ConsentError, nothing stored, when
    their consent is their own, the day is not after today, or the day recorded before has come."""
    record = consent.set_adult_on(store, member.person_id, day, zone)
    return ADULT_ON_SET.format(name=member.name, day=day, given_by=record.given_by, until=consent.until_day(record, zone))


@dataclass(frozen=True)
class ScopeChange:
    """What changing `member`'s consent to `scope` does: `deletes` thumbnails go when it narrows it to recognition."""

    name: str
    scope: str
    changes: bool  # False: the consent already covers `scope`
    deletes: int

    @property
    def needs_tick(self) -> bool:
        """Whether the change deletes thumbnails, so needs an explicit tick first (NARROWING_TICK)."""
        return self.deletes > 0

    def warning(self) -> str | None:
        """NARROWING_DELETES when the change deletes thumbnails; None otherwise."""
        if not self.deletes:
            return None
        return NARROWING_DELETES.format(name=self.name, thumbnails=plural(self.deletes, "thumbnail"))

    def tick_label(self) -> str:
        return NARROWING_TICK.format(name=self.name)


def scope_change(member: Member, scope: str) -> ScopeChange:
    """What changing `member`'s consent to `scope` (a key of consent.SCOPES) would do."""
    current = member.consent.scope if member.consent else None
    narrows = scope != "recognition+thumbnails"
    return ScopeChange(member.name, scope, scope != current, member.thumbnails if narrows else 0)


def change_scope(store: FamilyStore, member: Member, scope: str) -> str:
    """Change what `member`'s consent covers (governance.consent.change_scope, audit-logged: narrowing it to
    recognition deletes their thumbnails in the same transaction), and say so: SCOPE_CHANGED, then
    THUMBNAILS_DELETED with how many went. ConsentError, nothing changed, when their consent has ended
    (renew it first) or there is none; DateInQuestionError while the date is in question, unless the change narrows
    the consent to recognition (made then with the consent's own dates)."""
    before = store.person(member.person_id).thumbnails
    consent.change_scope(store, member.person_id, scope)
    removed = before - store.person(member.person_id).thumbnails
    said = SCOPE_CHANGED.format(name=member.name, scope=scope)
    return said + (THUMBNAILS_DELETED.format(thumbnails=plural(removed, "thumbnail")) if removed else "")


# The member picker of the consent form. Each member is shown with when their consent ends, so a renewal changes
# what the picker shows; but a browser keeps showing the label it was sent for a keyed selectbox whose key stays the
# same, and sends that old label back at the next click, which matches no option any more: the picker then went
# back to the first member, and the next renewal or tick went to them. Keyed by its labels, the picker is drawn
# again as a new one whenever a label changes, on the member picked last (PICKED).
PICKED = "consent_member_picked"


def picker_key(labels: Iterable[str]) -> str:
    """The member picker's widget key: new whenever one of its labels (member_label) changes."""
    return "consent_member_" + hashlib.sha256("\n".join(labels).encode()).hexdigest()[:16]


def picked_index(person_ids: Sequence[str], picked: str | None) -> int:
    """Where the member picked last (`picked`, a person id) is among `person_ids`; the first when they are gone."""
    return person_ids.index(picked) if picked in person_ids else 0
