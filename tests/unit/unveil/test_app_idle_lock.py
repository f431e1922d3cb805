"""unveil.app.idle_lock: a session's store is locked after the idle period without a page run, or a minute after its
tab is seen closed, when the session is closed too; a playing stream (a page run's use) keeps it; "Lock the store"
locks every session's. The clock is a fake one: nothing sleeps."""
from __future__ import annotations

import time

import pytest

from tests.support.store import FakeClock
from unveil import clocks
from unveil.app import idle_lock
from unveil.app.idle_lock import IdleLocks

MINUTE = 60.0


class Store:
    """What IdleLocks uses of a FamilyStore: whether it holds its keys, and lock(), which drops them."""

    def __init__(self) -> None:
        self.is_unlocked = True

    def lock(self) -> None:
        self.is_unlocked = False


def _locks(clock: FakeClock, *, minutes: float | None = 15, closed: set[str] = frozenset(),
           asked: list[str] | None = None) -> IdleLocks:
    """IdleLocks whose tabs in `closed` are gone; the sessions it asks the server to close are appended to `asked`."""
    return IdleLocks(after_s=None if minutes is None else minutes * MINUTE,
                     connected=lambda session: session not in closed,
                     close=(lambda session: None) if asked is None else asked.append, clock=clock)


def _locked_exactly_at_the_period(locks: IdleLocks, clock: FakeClock, store: Store) -> None:
    """The default 15 minutes after the last use: unlocked a second before, locked at it."""
    clock.now += 15 * MINUTE - 1
    locks.check()
    assert store.is_unlocked
    clock.now += 1
    locks.check()
    assert not store.is_unlocked


def test_a_store_left_alone_for_the_period_is_locked_by_the_check_and_its_session_told_why_once():
    clock, store = FakeClock(), Store()
    locks = _locks(clock)
    assert locks.used("tab", store) is None
    _locked_exactly_at_the_period(locks, clock, store)
    why = idle_lock.LOCKED_IDLE.format(period="15 minutes", setting="UNVEIL_APP_LOCK_AFTER_MINUTES")
    assert locks.locked_why("tab") == why  # asked by the page's periodic fragment: not taken
    assert locks.used("tab", None) == why
    assert locks.used("tab", None) is None


def test_each_page_run_starts_the_period_again():
    clock, store = FakeClock(), Store()
    locks = _locks(clock)
    locks.used("tab", store)
    for _ in range(10):
        clock.now += 14 * MINUTE
        assert locks.used("tab", store) is None
        locks.check()
    assert store.is_unlocked


def test_a_page_run_after_the_period_locks_before_the_thread_has_checked():
    clock, store = FakeClock(), Store()
    locks = _locks(clock)
    locks.used("tab", store)
    clock.now += 16 * MINUTE
    assert locks.used("tab", store) == idle_lock.LOCKED_IDLE.format(period="15 minutes", setting=idle_lock.SETTING)
    assert not store.is_unlocked


def test_a_laptop_asleep_overnight_is_locked_at_the_first_check_after_it_wakes():
    """The wall clock moves on while the machine sleeps (a monotonic clock would not, on Linux)."""
    clock, store = FakeClock(), Store()
    locks = _locks(clock)
    locks.used("tab", store)
    clock.advance(days=0.4)
    locks.check()
    assert not store.is_unlocked


class _Clocks:
    """The wall clock (time.time) and the one that is never set (clocks.since_boot), moved by the test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.wall, self.steady = 1_800_000_000.0, 5_000.0
        monkeypatch.setattr(time, "time", lambda: self.wall)
        monkeypatch.setattr(clocks, "since_boot", lambda: self.steady)


def _default_locks() -> IdleLocks:
    """IdleLocks on the clock the app gives it (none passed)."""
    return IdleLocks(after_s=15 * MINUTE, connected=lambda session: True, close=lambda session: None)


def test_a_clock_put_back_an_hour_does_not_keep_a_store_unlocked_an_hour_longer(monkeypatch):
    """On the wall clock alone, 15 minutes after its last use with the clock put back an hour meanwhile (an NTP step,
    a person fixing a clock they think is an hour ahead) read as 45 minutes before it: the store stayed unlocked."""
    now, store = _Clocks(monkeypatch), Store()
    locks = _default_locks()
    locks.used("tab", store)
    now.steady += 15 * MINUTE - 1
    now.wall += 15 * MINUTE - 1 - 3600
    locks.check()
    assert store.is_unlocked
    now.steady += 1
    now.wall += 1
    locks.check()
    assert not store.is_unlocked


def test_a_night_asleep_locks_the_store_where_the_steady_clock_stops_in_sleep(monkeypatch):
    """A monotonic clock that stops while the machine sleeps (time.monotonic on Linux and macOS) still locks: the wall
    clock counted the night."""
    now, store = _Clocks(monkeypatch), Store()
    locks = _default_locks()
    locks.used("tab", store)
    now.wall += 8 * 3600
    locks.check()
    assert not store.is_unlocked


def test_a_closed_tab_is_locked_a_minute_after_it_is_seen_closed_whatever_the_period():
    clock, store, closed = FakeClock(), Store(), set()
    locks = _locks(clock, minutes=None, closed=closed)
    locks.used("tab", store)
    closed.add("tab")
    locks.check()  # first seen closed
    clock.now += idle_lock.DISCONNECTED_S - 1
    locks.check()
    assert store.is_unlocked  # a WebSocket back within the minute resumes its session unlocked
    clock.now += 1
    locks.check()
    assert not store.is_unlocked
    assert locks.used("tab", None) == idle_lock.LOCKED_CLOSED


def test_a_tab_that_reconnects_within_the_minute_starts_the_minute_again_when_it_drops_next():
    clock, store, closed = FakeClock(), Store(), {"tab"}
    locks = _locks(clock, minutes=None, closed=closed)
    locks.used("tab", store)
    locks.check()
    clock.now += 50
    closed.clear()
    locks.check()
    closed.add("tab")
    clock.now += 50
    locks.check()
    assert store.is_unlocked


def test_a_closed_tab_s_session_is_closed_a_minute_after_it_is_seen_closed_unlocked_or_not_and_once():
    """Before, only the keys went: the session, with its photos and results naming members, stayed in the server
    until another session's disconnection made Streamlit remove it."""
    clock, store, closed, asked = FakeClock(), Store(), set(), []
    locks = _locks(clock, minutes=None, closed=closed, asked=asked)
    locks.used("unlocked", store)
    locks.used("locked", None)  # its photos are the household's too
    closed.update({"unlocked", "locked"})
    locks.check()  # first seen closed
    clock.now += idle_lock.DISCONNECTED_S - 1
    locks.check()
    assert asked == []  # a WebSocket back within the minute resumes its session
    clock.now += 1
    locks.check()
    assert sorted(asked) == ["locked", "unlocked"] and not store.is_unlocked
    clock.now += idle_lock.DISCONNECTED_S
    locks.check()
    assert len(asked) == 2


def test_an_open_tab_and_one_back_within_the_minute_are_not_closed():
    clock, closed, asked = FakeClock(), {"back"}, []
    locks = _locks(clock, closed=closed, asked=asked)
    locks.used("open", None)
    locks.used("back", Store())
    locks.check()
    clock.now += 50
    closed.clear()
    locks.check()
    clock.now += 10 * MINUTE
    locks.check()
    assert asked == []


def test_off_never_locks_an_open_tab():
    clock, store = FakeClock(), Store()
    locks = _locks(clock, minutes=None)
    locks.used("tab", store)
    clock.advance(days=30)
    locks.check()
    assert store.is_unlocked


def test_lock_the_store_locks_every_other_session_and_says_so_there():
    clock, mine, other, third = FakeClock(), Store(), Store(), Store()
    locks = _locks(clock)
    locks.used("mine", mine)
    locks.used("other", other)
    locks.used("third", third)
    mine.lock()  # widgets.lock_store, in the session clicked
    locks.lock_all(but="mine")
    assert not other.is_unlocked and not third.is_unlocked
    assert locks.used("other", None) == idle_lock.LOCKED_ELSEWHERE
    assert locks.used("mine", None) is None


def test_a_store_unlocked_again_after_the_lock_is_held_from_then_on():
    clock, first, second = FakeClock(), Store(), Store()
    locks = _locks(clock)
    locks.used("tab", first)
    clock.now += 15 * MINUTE
    locks.check()
    assert locks.used("tab", second) == idle_lock.LOCKED_IDLE.format(period="15 minutes", setting=idle_lock.SETTING)
    clock.now += 14 * MINUTE
    locks.check()
    assert second.is_unlocked
    clock.now += MINUTE
    locks.check()
    assert not second.is_unlocked


def test_a_store_locked_by_its_session_is_let_go():
    clock, store = FakeClock(), Store()
    locks = _locks(clock)
    locks.used("tab", store)
    store.lock()  # "Lock the store", or its master key replaced in another session
    clock.now += 15 * MINUTE
    locks.check()
    assert locks.used("tab", None) is None


@pytest.mark.parametrize(("value", "minutes"), [(None, 15), ("", 15), ("5", 5), (" 60 ", 60), ("0", None),
                                                ("off", None), ("OFF", None)])
def test_the_setting(value, minutes):
    environ = {} if value is None else {idle_lock.SETTING: value}
    assert idle_lock.minutes_set(environ) == minutes


@pytest.mark.parametrize("value", ["15m", "-5", "1.5", "never", "١٥"])
def test_a_setting_that_is_not_minutes_is_refused_with_what_applies(value):
    with pytest.raises(idle_lock.IdleLockSettingError) as raised:
        idle_lock.minutes_set({idle_lock.SETTING: value})
    assert str(raised.value) == (f"UNVEIL_APP_LOCK_AFTER_MINUTES={value!r} is not a number of minutes (a whole number "
                                 "from 1, or 0 or off for never): the store is locked after 15 minutes without use")


def test_a_period_of_one_minute_is_said_as_one():
    clock, store = FakeClock(), Store()
    locks = _locks(clock, minutes=1)
    locks.used("tab", store)
    clock.now += MINUTE
    locks.check()
    assert locks.used("tab", None) == ("The family store was locked after 1 minute without use "
                                       "(UNVEIL_APP_LOCK_AFTER_MINUTES), and what this session showed of its members "
                                       "was dropped. Unlock it on the Family page to go on.")
    assert idle_lock.LOCKS_ITSELF.format(period=idle_lock.period_text(1)).startswith("Locks itself after 1 minute without")


def test_a_page_run_longer_than_the_period_is_not_locked_under_it_and_the_period_starts_at_its_end():
    """A batch of hundreds of photos or a long video may outlast the period while it uses the store: the thread locked
    it under the run before, which then met a locked store."""
    clock, store = FakeClock(), Store()
    locks = _locks(clock)
    with locks.running("tab"):
        locks.used("tab", store)
        clock.now += 40 * MINUTE
        locks.check()
        assert store.is_unlocked
    _locked_exactly_at_the_period(locks, clock, store)


def test_a_run_that_ends_by_raising_still_lets_the_period_run():
    """Streamlit stops and reruns a script by raising in it: the run still ends for the idle lock."""
    clock, store = FakeClock(), Store()
    locks = _locks(clock)
    with pytest.raises(RuntimeError), locks.running("tab"):
        locks.used("tab", store)
        raise RuntimeError("rerun")
    clock.now += 15 * MINUTE
    locks.check()
    assert not store.is_unlocked


def test_a_closed_tab_is_locked_after_the_minute_even_while_its_run_lasts():
    """Streamlit asks a closed tab's script to stop; its keys go at the minute all the same."""
    clock, store = FakeClock(), Store()
    locks = _locks(clock, closed={"tab"})
    with locks.running("tab"):
        locks.used("tab", store)
        locks.check()
        clock.now += MINUTE
        locks.check()
        assert not store.is_unlocked
