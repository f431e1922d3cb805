"""The app's idle lock: a session's unlocked family store is locked again when nobody uses it, as a password manager
locks itself, without Streamlit (unveil.app.widgets is the glue).

A session's keys were dropped only by "Lock the store": a tab left open and unlocked stayed so for days, and one
closed kept them in the server's memory as long as the server ran (Streamlit holds a closed tab's session for a
reconnection and removes it only when another session disconnects, without locking its store: docs/threat_model.md
gives the figure and benchmarks/app_session_keys.py reproduces it). So a store is locked:
- after `after_s` without a page run of its session (UNVEIL_APP_LOCK_AFTER_MINUTES, default 15): a click, a typed
  field sent, a page opened; a run lasting longer (hundreds of photos, a long video) is not locked under it, its
  period starting again when it ends (IdleLocks.running). The Live page's stream counts as use while it plays (the
  page says so): a kiosk showing the camera stays unlocked, and is locked `after_s` after its stream stops;
- DISCONNECTED_S after its tab is seen closed (its WebSocket gone: the tab or browser closed, the machine's network
  down), whatever the idle period, also when switched off. A reload or a new tab starts a new session, locked anyway.
  The session is then closed too (IdleLocks' `close`), unlocked or not: Streamlit stops keeping it for a reconnection,
  which it would otherwise do until another session's disconnection removes it, with a single tab for as long as the
  server runs. What it held besides the keys (photos, results naming members) is freed once Streamlit's send loop lets
  go of it too, which with a single tab is when a tab next connects (docs/threat_model.md, Attacker 3).

The clock is unveil.clocks.LongestElapsed: a laptop closed for a night must find its tab locked when it wakes (a
monotonic clock stops while the machine sleeps), and a clock put back an hour (an NTP step, a person) must not keep a
store unlocked an hour longer (the wall clock goes back with it). Locking drops the keys at once, from the thread
that checks (IdleLocks.check); what else an open session holds (results naming members, receipts) is dropped at its
next run, which the page asks for within CHECK_EVERY_S while it is open (widgets.idle_lock_check).
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from fer_core import UnveilError
from fer_core.store import FamilyStore
from unveil import clocks
from unveil.app.session import plural

log = logging.getLogger("unveil.app")

SETTING = "UNVEIL_APP_LOCK_AFTER_MINUTES"
DEFAULT_MINUTES = 15
# How long a closed tab's store stays unlocked: a WebSocket dropped for a moment (a server busy, a tunnel to a
# Raspberry Pi reconnecting) resumes its session unlocked within it.
DISCONNECTED_S = 60.0
# How often the server looks for stores to lock, and an open page asks whether its own was.
CHECK_EVERY_S = 30.0

BAD_SETTING = ("{setting}={value!r} is not a number of minutes (a whole number from 1, or 0 or off for never): the "
               "store is locked after {default} minutes without use")
# {period} is "1 minute", "15 minutes" (period_text).
# Why a session's store was locked, said on its pages until it is unlocked again.
LOCKED_IDLE = ("The family store was locked after {period} without use ({setting}), and what this session "
               "showed of its members was dropped. Unlock it on the Family page to go on.")
LOCKED_CLOSED = ("The family store was locked because this tab lost its connection to the app (closed, or the "
                 "machine asleep or offline). Unlock it on the Family page to go on.")
LOCKED_ELSEWHERE = ("The family store was locked in another tab of this app (its \"Lock the store\" locks every tab), "
                    "and what this session showed of its members was dropped. Unlock it on the Family page to go on.")
# Under the sidebar's "Lock the store", and on the Live page while its stream plays.
LOCKS_ITSELF = "Locks itself after {period} without use, and in every tab of this app when clicked."
NEVER_LOCKS_ITSELF = ("Never locks itself ({setting} is off); locks every tab of this app when clicked.")
LIVE_KEEPS_UNLOCKED = ("While the camera plays, the family store stays unlocked however long: the stream counts as "
                       "use. It locks itself {period} after the stream stops.")


# The checking thread's own failure: the error's type only (its message may quote a store's folder).
CHECK_FAILED = "idle lock: checking for stores to lock failed (%s); checked again in %.0f s"


class IdleLockSettingError(UnveilError):
    """UNVEIL_APP_LOCK_AFTER_MINUTES holds something other than a number of minutes or off."""


def period_text(minutes: float) -> str:
    """"1 minute", "15 minutes": the idle period in the page's words."""
    return plural(round(minutes), "minute")


def minutes_set(environ: dict[str, str] | os._Environ[str] = os.environ) -> int | None:
    """The idle period in minutes from UNVEIL_APP_LOCK_AFTER_MINUTES (DEFAULT_MINUTES when unset or empty; None for
    0 or "off": never). IdleLockSettingError (BAD_SETTING) for anything else."""
    value = environ.get(SETTING, "").strip()
    if not value:
        return DEFAULT_MINUTES
    if value.lower() in ("off", "0"):
        return None
    if value.isascii() and value.isdigit():
        return int(value)
    raise IdleLockSettingError(BAD_SETTING.format(setting=SETTING, value=value, default=DEFAULT_MINUTES))


@dataclass
class _Held:
    store: FamilyStore
    used_at: float  # the start or end of the last page run of its session, on IdleLocks' clock


class IdleLocks:
    """The unlocked stores of the app's sessions, by session id, and why each one locked was locked.

    `connected(session_id)` says whether the session's tab is connected now; `close(session_id)` asks the server to
    close a session whose tab has been gone DISCONNECTED_S (it must not close one that reconnected meanwhile); `clock`
    gives seconds (None: a clocks.LongestElapsed made now; tests pass a fake one). Thread-safe: the sessions' page
    runs and the checking thread share it."""

    def __init__(self, *, after_s: float | None, connected: Callable[[str], bool], close: Callable[[str], None],
                 clock: Callable[[], float] | None = None) -> None:
        self.after_s = after_s
        self._connected, self._close, self._clock = connected, close, clock or clocks.LongestElapsed()
        self._held: dict[str, _Held] = {}
        # Every session that ran a page and is not closed yet: when its tab was first seen closed (None: connected).
        self._gone: dict[str, float | None] = {}
        self._why: dict[str, str] = {}
        # Sessions whose page runs now: never locked for idleness under a run (a batch of hundreds of photos, a long
        # video), which may be using the store; the period starts again when the run ends.
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def used(self, session_id: str, store: FamilyStore | None) -> str | None:
        """A page run of the session, which holds `store` (None: none unlocked): its store is locked first if that
        is due, else it counts as used now. Returns why the session's store was locked since its last run
        (LOCKED_IDLE, LOCKED_CLOSED, LOCKED_ELSEWHERE), once; None when it was not."""
        with self._lock:
            now = self._clock()
            self._gone.setdefault(session_id, None)
            self._lock_due(now, only=session_id)
            why = self._why.pop(session_id, None)
            if store is not None and store.is_unlocked:  # not the one locked: a store unlocked since
                self._held[session_id] = _Held(store, now)
            else:
                self._held.pop(session_id, None)
            return why

    @contextlib.contextmanager
    def running(self, session_id: str) -> Iterator[None]:
        """Around a page run of the session, however it ends (Streamlit stops and reruns a script by raising in it):
        no idle lock while it runs, and its store counts as used when it ends."""
        with self._lock:
            self._running.add(session_id)
        try:
            yield
        finally:
            with self._lock:
                self._running.discard(session_id)
                if session_id in self._held:
                    self._held[session_id].used_at = self._clock()

    def locked_why(self, session_id: str) -> str | None:
        """Why the session's store was locked since its last run, without taking it (its page asks to run again), or
        None."""
        with self._lock:
            return self._why.get(session_id)

    def check(self) -> None:
        """Lock every store due: idle for `after_s`, or its tab closed for DISCONNECTED_S; close every session whose
        tab has been closed for DISCONNECTED_S."""
        with self._lock:
            self._lock_due(self._clock())

    def lock_all(self, *, but: str) -> None:
        """"Lock the store" in session `but`: lock every other session's store too (LOCKED_ELSEWHERE)."""
        with self._lock:
            for session_id in [other for other in self._held if other != but]:
                self._locked(session_id, LOCKED_ELSEWHERE)
            self._held.pop(but, None)

    def start(self, every_s: float = CHECK_EVERY_S) -> None:
        """check() every `every_s` seconds in a daemon thread, for as long as the process runs: a store is locked
        when due also while no page of its session runs (the tab closed, or left alone)."""

        def loop() -> None:
            while True:
                time.sleep(every_s)
                try:
                    self.check()
                except Exception as exc:  # the thread must outlive one failed check
                    log.warning(CHECK_FAILED, type(exc).__name__, every_s)

        threading.Thread(target=loop, name="unveil-idle-lock", daemon=True).start()

    def _lock_due(self, now: float, *, only: str | None = None) -> None:
        for session_id, gone_since in list(self._gone.items()):
            if only is not None and session_id != only:
                continue
            if self._connected(session_id):
                self._gone[session_id] = None
            elif gone_since is None:
                self._gone[session_id] = now
            elif now - gone_since >= DISCONNECTED_S:
                if session_id in self._held and self._held[session_id].store.is_unlocked:
                    self._locked(session_id, LOCKED_CLOSED)  # the keys go at once, whatever the server does
                self._held.pop(session_id, None)
                del self._gone[session_id]
                self._close(session_id)
        for session_id, held in list(self._held.items()):
            if only is not None and session_id != only:
                continue
            if not held.store.is_unlocked:  # locked by its session, or its master key replaced elsewhere
                del self._held[session_id]
            elif self.after_s is not None and now - held.used_at >= self.after_s and session_id not in self._running:
                self._locked(session_id, LOCKED_IDLE.format(period=period_text(self.after_s / 60), setting=SETTING))

    def _locked(self, session_id: str, why: str) -> None:
        self._held.pop(session_id).store.lock()
        self._why[session_id] = why
