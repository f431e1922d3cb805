"""Retention for the front ends that keep the family store unlocked for days: `unveil watch` and `unveil serve`, and an
app session left unlocked (a tab kept open, the Live page as a kiosk). The app sweeps when the store is unlocked and at
"Sweep now"; a loop or a server that runs for weeks never unlocks again, so it sweeps when it starts and then once a
day, and the app's session once a day after its unlock, so that consent expiry and the retention periods apply while
they run (a member whose consent ended is not named meanwhile either way: family.gallery).

Each sweep is governance.retention.sweep, audit-logged as any other. It never confirms the date: when the clock has
jumped, what only the date would remove waits for a person (`unveil retention sweep --date-is-right`), and the log
says so. After each sweep it says, a line per day, how many members' consents end on which of the next
consent.ENDING_NOTICE_DAYS days, and how many members reach the unseen_people period on which day
(retention.unseen_soon): the household that reads only this log hears of it before the sweep erases them. The log holds
counts, days, error kinds and the receipts folder given only, never a name (SweepReport.names only reaches the app's
receipts; `unveil consent list` and `unveil family list` name them).

Given a folder (`--receipts FOLDER`), each member a sweep erases gets their deletion receipt there, one file each, as
`unveil retention sweep --receipts` writes them (governance.receipts.save): ids, never a name, for the person to check
later with `unveil audit receipt FILE`. A receipt that cannot be written is kept in memory and tried again after the
next sweep; it is lost only if the process ends first (its audit entry stays, the erasure is done either way).
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import Counter
from pathlib import Path

from fer_core.store import FamilyStore, StoreBusyError, StoreDamagedError, StoreError, StoreFullError, StoreLockedError
from governance import consent, erasure, receipts, retention
from governance._repeating import repeating

log = logging.getLogger("unveil.retention")

# A day: retention periods and consents are counted in days, so a sweep a day applies them within a day of their end.
SWEEP_EVERY_S = 24 * 3600.0
# A sweep that could not run (the store busy in another session, an error) is tried again this much later.
SWEEP_RETRY_S = 600.0
# How often the background thread looks whether a sweep is due.
SWEEP_CHECK_S = 60.0

REMOVED = "retention sweep: removed {removed}"
DATE_WAITS = "retention sweep: {question} To confirm it: unveil retention sweep --date-is-right"
BUSY = "retention sweep: the family store is busy in another session; tried again in {minutes:.0f} minutes"
DAMAGED = ("retention sweep: the family store failed its checks, so nothing was removed (run `unveil family check`); "
           "tried again in {hours:.0f} hours")
LOCKED = ("retention sweep: the family store's master key was replaced in another session, so no more sweeps run "
          "until this command is started again")
FAILED = "retention sweep failed ({kind}); tried again in {minutes:.0f} minutes"
# The sweep's transaction was rolled back: data past its retention stays until a sweep finds room.
FULL = ("retention sweep: the disk holding the family store is full, so nothing was removed; free some space (tried "
        "again in {minutes:.0f} minutes)")
# A stored retention period the sweep refuses (retention.RetentionError: its message names the kind and the days only).
NOT_APPLIED = "retention sweep: {reason}; tried again in {minutes:.0f} minutes"
# After each day's sweep, for a household that runs no app: each day within consent.ENDING_NOTICE_DAYS on which members'
# consents end (their last day, this machine's calendar), how many, never who: `unveil consent list` names them.
ENDING = ("retention sweep: {count} member's consent ends on {day}; the first sweep after that day erases them unless "
          "it is renewed: unveil consent list")
ENDING_MANY = ("retention sweep: {count} members' consents end on {day}; the first sweep after that day erases them "
               "unless they are renewed: unveil consent list")
# The same for the members who reach the unseen_people period (retention.unseen_soon) on each day.
UNSEEN = ("retention sweep: {count} member reaches {period} days without being recognised on {day}; a sweep from that "
          "day erases them unless they are recognised again: unveil family list")
UNSEEN_MANY = ("retention sweep: {count} members reach {period} days without being recognised on {day}; a sweep from "
               "that day erases them unless they are recognised again: unveil family list")
ENDING_UNREAD = "retention sweep: the members the next sweeps erase could not be read ({kind})"
# With a receipts folder: how many receipts were written, never whose (the files name no one either).
RECEIPTS_SAVED = "retention sweep: {count} deletion receipt(s) written into {folder}"
# {reason}: receipts.NOT_SAVED. Kept in this process's memory only: a restart before the next sweep loses them.
RECEIPTS_NOT_SAVED = ("retention sweep: {count} deletion receipt(s) not written ({reason}); tried again after the next "
                      "sweep, and lost if this command stops first (the erasures are done, their entries in the audit "
                      "log)")


def _read_machine_zone() -> None:
    """This machine's time zone read again (time.tzset; Windows has none): Python reads it once, when the process
    starts, and a laptop taken to another zone with `unveil watch` running, its zone set there, would go on naming
    the days of its log (ENDING, UNSEEN, DATE_WAITS) on the calendar of the zone it left."""
    if hasattr(time, "tzset"):
        time.tzset()


def removed_text(removed: dict[str, int]) -> str:
    """A sweep's counts in words, those above zero: "1 member whose consent expired, 3 thumbnails"."""
    return ", ".join(f"{count:,} {retention.REMOVAL_WORDS[key][count != 1]}" for key, count in removed.items() if count)


class ScheduledSweeps:
    """The retention sweeps of one front end over its unlocked `store`: `run_if_due()` sweeps at its first call, then
    once `every_s` seconds have passed on the store's clock (or that clock went back); `running()` calls it in a
    background thread. It never raises: a sweep that fails must not stop the server or the camera loop that called
    it. Errors are logged by kind and tried again after `retry_s` (a damaged store after `every_s`); once the store is
    locked (its master key replaced in another session) no sweep is tried again."""

    def __init__(self, store: FamilyStore, *, every_s: float = SWEEP_EVERY_S, retry_s: float = SWEEP_RETRY_S,
                 swept_at: float | None = None, receipts_folder: str | os.PathLike[str] | None = None) -> None:
        """`swept_at`: when a sweep ran just before on the store's clock (the app's, at unlock), so that the first
        is due `every_s` after it; None sweeps at the first call. `receipts_folder`: where each erased member's
        deletion receipt is written (receipts.save; the caller checked it with receipts.ready), None for nowhere."""
        self._store, self._every_s, self._retry_s = store, every_s, retry_s
        self._receipts_folder = None if receipts_folder is None else Path(receipts_folder)
        self._unsaved: list[erasure.ErasureReceipt] = []  # receipts still to write into the folder
        self._last: float | None = swept_at  # when the last sweep was tried, on the store's clock
        self._next: float | None = None if swept_at is None else swept_at + every_s  # when the next one is due
        self._locked = False
        self._lock = threading.Lock()

    def run_if_due(self) -> retention.SweepReport | None:
        """Sweep now if one is due; its report, or None when none was due or it could not run (logged)."""
        with self._lock:
            if self._locked:
                return None
            now = consent.store_now(self._store).timestamp()
            if self._next is not None and self._last is not None and self._last <= now < self._next:
                return None
            self._last = now
            _read_machine_zone()
            try:
                report = retention.sweep(self._store)
            except StoreLockedError:  # MasterKeyChangedError too: this session can write nothing more
                self._locked = True
                log.warning(LOCKED)
                return None
            except StoreBusyError:
                self._next = now + self._retry_s
                log.warning(BUSY.format(minutes=self._retry_s / 60))
                return None
            except StoreFullError:
                self._next = now + self._retry_s
                log.warning(FULL.format(minutes=self._retry_s / 60))
                return None
            except StoreDamagedError:
                self._next = now + self._every_s
                log.warning(DAMAGED.format(hours=self._every_s / 3600))
                return None
            except retention.RetentionError as exc:  # a period stored out of range: every sweep refuses it until set
                self._next = now + self._retry_s
                log.warning(NOT_APPLIED.format(reason=exc, minutes=self._retry_s / 60))
                return None
            except Exception as exc:  # any other (a StoreError, ...): the front end runs on; the type only is
                # logged, as a message may quote stored text or the store's folder
                self._next = now + self._retry_s
                log.warning(FAILED.format(kind=type(exc).__name__, minutes=self._retry_s / 60))
                return None
            self._next = now + self._every_s
            if self._receipts_folder is not None:
                self._unsaved.extend(report.receipts)
                self._save_receipts(self._receipts_folder)
        if report.total:
            log.info(REMOVED.format(removed=removed_text(report.removed)))
        if report.date_check is not None:
            log.warning(DATE_WAITS.format(question=report.date_check.text()))
        self._log_endings()
        return report

    def _save_receipts(self, folder: Path) -> None:
        """Write the receipts not yet written, one at a time (each written is never tried again: a file is never
        written over), logging RECEIPTS_SAVED or, at the first that fails, RECEIPTS_NOT_SAVED."""
        written = 0
        while self._unsaved:
            try:
                receipts.save(self._unsaved[:1], folder)
            except receipts.ReceiptSaveError as exc:  # its message: the folder and the system's reason, no name
                log.warning(RECEIPTS_NOT_SAVED.format(count=len(self._unsaved), reason=exc))
                break
            del self._unsaved[0]
            written += 1
        if written:
            log.info(RECEIPTS_SAVED.format(count=written, folder=folder))

    def _log_endings(self) -> None:
        """ENDING (or ENDING_MANY) for each day on which consents end soon (consent.ending_soon; not those ending on
        the day their subject decides for themself), then UNSEEN (or UNSEEN_MANY) for each day on which members reach
        the unseen_people period (retention.unseen_soon); none while the date is not settled. ENDING_UNREAD, with the error's type only, when they cannot be read."""
        try:
            endings = consent.ending_soon(self._store)
            unseen = retention.unseen_soon(self._store)
        except Exception as exc:  # the sweep is done and the front end runs on; a message may quote stored text
            log.warning(ENDING_UNREAD.format(kind=type(exc).__name__))
            return
        # Not the consents that end because their subject decides for themself (Ending.by_themself): that day is
        # often a birthday, kept off disk (the audit log records that it was set, never the day), and a line in the
        # journal would date it; the app's notice and `unveil consent list` still show them.
        for day, count in Counter(ending.last_day for ending in endings if not ending.by_themself).items():
            log.warning((ENDING if count == 1 else ENDING_MANY).format(count=count, day=day))
        for (day, period), count in Counter((member.erased_from, member.period_days) for member in unseen).items():
            log.warning((UNSEEN if count == 1 else UNSEEN_MANY).format(count=count, period=period, day=day))

    def running(self, *, check_s: float = SWEEP_CHECK_S) -> contextlib.AbstractContextManager[None]:
        """A background thread that calls run_if_due every `check_s` seconds until the block ends (a sweep under way
        is let finish). Each time it first reads the store's data_version, which wipes from this process's memory the
        data keys of members another session erased since (FamilyStore.data_version): a server nobody sends a photo
        to reads the store at no other time, and kept an erased member's key until its next request, days later."""

        def guarded() -> None:
            with contextlib.suppress(StoreError):  # closed with its store: it holds no key
                self._store.data_version()
            try:
                self.run_if_due()
            except Exception as exc:  # the thread outlives one failed sweep; the type only is logged
                log.warning(FAILED.format(kind=type(exc).__name__, minutes=check_s / 60))

        return repeating(guarded, every_s=check_s, name="unveil-retention")
