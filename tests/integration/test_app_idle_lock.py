"""The app locks an unlocked family store left unused (unveil.app.idle_lock): before, a tab left open stayed unlocked
for as long as the server ran, with the members' names on its pages. The lock drops the store's keys as "Lock the
store" does, says why above the page, and comes back to the pages as a locked session; "Lock the store" in one tab
locks the others. The clock is a fake one handed to the app's IdleLocks: nothing sleeps."""
from __future__ import annotations

import asyncio
import shutil
import threading

import pytest
from streamlit.runtime import Runtime
from streamlit.testing.v1 import AppTest

from tests.support.app import FAMILY_PASSPHRASE, unlocked_family_page
from tests.support.store import FakeClock
from unveil.app import idle_lock, widgets

MINUTE = 60.0


@pytest.fixture()
def locks(monkeypatch):
    """The app's IdleLocks, on a fake clock, with every tab connected; no thread checks it: the tests call check()."""
    clock = FakeClock()
    made = idle_lock.IdleLocks(after_s=15 * MINUTE, connected=lambda session: True, close=lambda session: None,
                               clock=clock)
    made.clock = clock
    monkeypatch.setattr(widgets, "idle_locks", lambda: made)
    return made


def _unlocked(app_env, family_store_dir) -> AppTest:
    if not app_env.exists():
        shutil.copytree(family_store_dir, app_env)
    at = unlocked_family_page()
    assert not at.exception and at.button(key="sidebar_lock")
    return at


def _names_shown(at: AppTest) -> bool:
    return any("Colin Powell" in expander.label for expander in at.expander)


def test_a_tab_left_alone_for_the_period_is_locked_with_its_keys_dropped_and_says_why(
        app_env, family_store_dir, locks):
    at = _unlocked(app_env, family_store_dir)
    held = at.session_state[widgets.STORE]
    assert _names_shown(at)
    assert [c.value for c in at.sidebar.caption][0] == idle_lock.LOCKS_ITSELF.format(period="15 minutes")

    locks.clock.now += 15 * MINUTE
    locks.check()  # the server's thread, while nobody touches the tab
    assert not held.is_unlocked  # the keys are gone before the page runs again

    at.run()  # the page's periodic check (or any click) runs it again
    assert not at.exception
    why = idle_lock.LOCKED_IDLE.format(period="15 minutes", setting="UNVEIL_APP_LOCK_AFTER_MINUTES")
    assert at.warning[0].value == why  # above the page
    assert not _names_shown(at)
    assert widgets.STORE not in at.session_state
    assert [i.value for i in at.sidebar.info] == ["Family store locked: faces are not named. Unlock it on the Family page."]
    at.run()
    assert at.warning[0].value == why  # said until the store is unlocked again

    at.text_input(key="unlock_passphrase").input(FAMILY_PASSPHRASE)
    at.button(key="FormSubmitter:unlock_store-Unlock").click().run()
    assert why not in [w.value for w in at.warning] and _names_shown(at)


def test_a_tab_in_use_stays_unlocked(app_env, family_store_dir, locks):
    at = _unlocked(app_env, family_store_dir)
    for _ in range(4):
        locks.clock.now += 14 * MINUTE
        at.run()  # a click
        locks.check()
    assert at.session_state[widgets.STORE].is_unlocked and _names_shown(at)


def test_a_click_after_the_period_finds_the_store_locked_before_the_thread_has_looked(
        app_env, family_store_dir, locks):
    at = _unlocked(app_env, family_store_dir)
    held = at.session_state[widgets.STORE]
    locks.clock.now += 16 * MINUTE
    at.run()
    assert not held.is_unlocked and not _names_shown(at)
    assert at.warning[0].value == idle_lock.LOCKED_IDLE.format(period="15 minutes", setting=idle_lock.SETTING)


def test_lock_the_store_in_one_tab_locks_the_other_tabs(app_env, family_store_dir, locks, monkeypatch):
    """Each tab is a session that unlocks on its own: before, "Lock the store" in one left the others unlocked."""
    tab = {"id": "first"}
    monkeypatch.setattr(widgets, "_session_id", lambda: tab["id"])  # AppTest gives every app the same session id
    first = _unlocked(app_env, family_store_dir)
    tab["id"] = "second"
    second = _unlocked(app_env, family_store_dir)
    other = second.session_state[widgets.STORE]
    tab["id"] = "first"
    first.button(key="sidebar_lock").click().run()
    assert not other.is_unlocked
    tab["id"] = "second"
    second.run()
    assert second.warning[0].value == idle_lock.LOCKED_ELSEWHERE
    assert not _names_shown(second)


def test_a_setting_that_is_not_minutes_is_said_in_the_sidebar_and_the_default_applies(
        app_env, family_store_dir, monkeypatch):
    monkeypatch.setenv(idle_lock.SETTING, "15m")
    at = _unlocked(app_env, family_store_dir)
    assert [w.value for w in at.sidebar.warning] == [idle_lock.BAD_SETTING.format(
        setting=idle_lock.SETTING, value="15m", default=15)]
    assert [c.value for c in at.sidebar.caption][0] == idle_lock.LOCKS_ITSELF.format(period="15 minutes")


class _Server:
    """What widgets._close_session uses of Streamlit's Runtime, on an event loop of its own thread as the server's."""

    def __init__(self, loop: asyncio.AbstractEventLoop, connected: set[str]) -> None:
        self.stopped = loop.create_future()
        self.connected, self.closed = connected, []

    def is_active_session(self, session_id: str) -> bool:
        return session_id in self.connected

    def close_session(self, session_id: str) -> None:
        self.closed.append((session_id, threading.current_thread().name))


def test_a_gone_tab_s_session_is_closed_on_the_server_s_event_loop_and_one_back_meanwhile_is_not(monkeypatch):
    """Before, the idle lock only locked a closed tab's store: its session (photos, results naming members) stayed
    in the server. Runtime.close_session must run on the event loop, where a reconnection would also run."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="server-event-loop", daemon=True)
    thread.start()
    try:
        server = _Server(loop, connected={"back"})
        monkeypatch.setattr(Runtime, "exists", staticmethod(lambda: True))
        monkeypatch.setattr(Runtime, "instance", staticmethod(lambda: server))
        widgets._close_session("gone")  # from the idle lock's thread
        widgets._close_session("back")  # its tab reconnected since the idle lock looked
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop).result(timeout=10)  # after both callbacks
        assert server.closed == [("gone", "server-event-loop")]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
