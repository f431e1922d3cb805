"""Clocks for the durations of the front ends that run for days on a laptop or a Raspberry Pi: `unveil watch`'s live
frame times, the app's Live page and its idle lock.

Neither of Python's usual clocks measures them right there. time.monotonic stops while the machine sleeps (Linux's
CLOCK_MONOTONIC, macOS's mach_absolute_time): a laptop closed for the night wakes with its camera loop and its idle
lock believing that no time passed. time.time counts the night but is set: an NTP step or a person putting the clock
back an hour moves it back, and a duration measured on it shrinks by as much.
"""
from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable


def _asleep_too(platform: str = sys.platform) -> Callable[[], float]:
    """The clock of `platform` that counts the time the machine sleeps and is never set: Linux's CLOCK_BOOTTIME,
    macOS's CLOCK_MONOTONIC (which, unlike time.monotonic there, goes on in sleep); time.monotonic elsewhere."""
    if platform.startswith("linux"):
        return lambda: time.clock_gettime(time.CLOCK_BOOTTIME)
    if platform == "darwin":
        return lambda: time.clock_gettime(time.CLOCK_MONOTONIC)
    return time.monotonic


_ASLEEP_TOO = _asleep_too()


def since_boot() -> float:
    """Seconds on a clock that goes on while the machine sleeps and is never set (on Linux and macOS; elsewhere
    time.monotonic): for durations that must count a night with the lid closed."""
    return _ASLEEP_TOO()


class LongestElapsed:
    """A clock in seconds that moves, between two readings, by the most that either of two clocks moved: `wall`
    (time.time: counts sleep everywhere, but is set) and `steady` (since_boot: never set). Never goes back. So a
    duration on it counts the machine's sleep on every platform, and a clock put back (an NTP step, a person) does
    not shorten it; a clock put forward lengthens it, which for a lock only locks early. It starts at `wall`'s
    reading, so it reads as POSIX seconds until the clock is next set. Thread-safe."""

    def __init__(self, *, wall: Callable[[], float] | None = None, steady: Callable[[], float] | None = None) -> None:
        self._wall, self._steady = wall or time.time, steady or since_boot
        self._lock = threading.Lock()
        self._last_wall, self._last_steady = self._wall(), self._steady()
        self._now = self._last_wall

    def __call__(self) -> float:
        with self._lock:
            wall, steady = self._wall(), self._steady()
            self._now += max(wall - self._last_wall, steady - self._last_steady, 0.0)
            self._last_wall, self._last_steady = wall, steady
            return self._now
