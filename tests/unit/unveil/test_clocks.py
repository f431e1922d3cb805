"""unveil.clocks: the clock that counts the machine's sleep and is never set, and LongestElapsed, which moves by the
most that the wall clock or that one moved. Fake clocks: nothing sleeps."""
from __future__ import annotations

import sys
import time

import pytest

from unveil import clocks
from unveil.clocks import LongestElapsed


class _Two:
    def __init__(self) -> None:
        self.wall, self.steady = 1_800_000_000.0, 100.0

    def clock(self) -> LongestElapsed:
        return LongestElapsed(wall=lambda: self.wall, steady=lambda: self.steady)


def test_it_starts_at_the_wall_clock_and_moves_with_both_while_neither_is_set():
    two = _Two()
    clock = two.clock()
    assert clock() == 1_800_000_000.0
    two.wall, two.steady = two.wall + 90, two.steady + 90
    assert clock() == 1_800_000_090.0


def test_a_wall_clock_put_back_does_not_shorten_what_the_steady_clock_counted():
    two = _Two()
    clock = two.clock()
    start = clock()
    two.wall -= 3600 - 60  # put back an hour, a minute after the start
    two.steady += 60
    assert clock() - start == 60
    two.wall += 30
    two.steady += 30
    assert clock() - start == 90


def test_sleep_that_the_steady_clock_missed_is_counted_from_the_wall_clock():
    two = _Two()
    clock = two.clock()
    start = clock()
    two.wall += 8 * 3600  # the machine asleep: a clock that stops in sleep did not move
    assert clock() - start == 8 * 3600


def test_it_never_goes_back():
    two = _Two()
    clock = two.clock()
    start = clock()
    two.wall -= 60
    two.steady -= 1  # neither clock should, but a fake one or a bad one may
    assert clock() == start


@pytest.mark.parametrize(("platform", "clock_id"), [("linux", "CLOCK_BOOTTIME"), ("darwin", "CLOCK_MONOTONIC")])
def test_the_clock_that_counts_sleep_is_the_platform_s_own(monkeypatch, platform, clock_id):
    """time.monotonic is CLOCK_MONOTONIC on Linux and mach_absolute_time on macOS: neither counts a night asleep."""
    asked = []
    monkeypatch.setattr(time, "clock_gettime", lambda which: asked.append(which) or 7.0)
    assert clocks._asleep_too(platform)() == 7.0
    assert asked == [getattr(time, clock_id)]


def test_elsewhere_it_is_time_monotonic():
    assert clocks._asleep_too("win32") is time.monotonic


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="CLOCK_BOOTTIME is Linux's")
def test_since_boot_reads_the_boot_clock_here():
    before = time.clock_gettime(time.CLOCK_BOOTTIME)
    read = clocks.since_boot()
    assert before <= read <= time.clock_gettime(time.CLOCK_BOOTTIME)
