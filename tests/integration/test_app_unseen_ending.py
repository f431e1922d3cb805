"""The app says, above its pages, who reaches the unseen_people period within consent.ENDING_NOTICE_DAYS days: the
retention sweep (the app's own, once a day) then erases them, and the app said nothing of it before (the Members table
showed "last seen" only). Recognised again, they are no longer said. Time is moved on the unlocked store's clock, as
tests/integration/test_app_consent_ending.py moves it; the period is set to ENDING_NOTICE_DAYS + 2 days, so that it is
reached weeks, not a year, after the shared store's member was enrolled (the 365-day case:
tests/unit/governance/test_retention_unseen_soon.py)."""
from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta

from streamlit.testing.v1 import AppTest

from fer_core.store import FamilyStore
from governance import consent, family, retention
from governance.consent import ENDING_NOTICE_DAYS
from governance.scheduled_sweeps import ScheduledSweeps
from tests.support.app import FAMILY_PASSPHRASE
from tests.support.paths import REPO
from unveil.app import consents
from unveil.app.widgets import SCHEDULED_SWEEPS, STORE

TIMEOUT = 120  # model loading and scrypt on a loaded 2-core machine, as tests/integration/test_app_pages.py
PERIOD = ENDING_NOTICE_DAYS + 2


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _notices(at: AppTest) -> list[str]:
    return [w.value for w in at.warning if w.value.startswith(consents.UNSEEN_HEADING.format(period=PERIOD))]


def _days_on(at: AppTest, monkeypatch, days: int) -> None:
    """The unlocked store's clock `days` days on (and a minute), its daily sweep just done."""
    store = at.session_state[STORE]
    monkeypatch.setattr(store, "_clock", lambda: time.time() + days * 86400 + 60)
    at.session_state[SCHEDULED_SWEEPS] = ScheduledSweeps(store, swept_at=consent.store_now(store).timestamp() - 60)


def test_a_member_about_to_reach_the_unseen_period_is_shown_above_every_page_until_recognised(app_env,
                                                                                             family_store_dir,
                                                                                             monkeypatch):
    shutil.copytree(family_store_dir, app_env)
    with FamilyStore(app_env) as store:
        store.unlock(FAMILY_PASSPHRASE)
        retention.set_policy(store, "unseen_people", PERIOD)
        (colin,) = store.people()  # his consent runs until 2099: only the unseen period can erase him
    last_seen = datetime.fromtimestamp(colin.last_seen_at, UTC)
    erased_from = consent.local_day(last_seen + timedelta(days=PERIOD))

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.switch_page("unveil/app/pages/family.py").run()
    at.text_input(key="unlock_passphrase").input(FAMILY_PASSPHRASE)
    at.button[0].click().run()
    _no_exception(at)
    assert _notices(at) == [] and not at.page_link  # N+2 days before: nothing yet

    _days_on(at, monkeypatch, 3)  # N-1 days before
    at.run()
    _no_exception(at)
    days_left = (erased_from - consent.local_day(consent.store_now(at.session_state[STORE]))).days
    assert days_left <= ENDING_NOTICE_DAYS
    said = consents.UNSEEN_HEADING.format(period=PERIOD) + "\n\n" + consents.UNSEEN_MEMBER.format(
        name="Colin Powell", seen=consent.local_day(last_seen), period=PERIOD, when=consent.days_said(days_left),
        day=erased_from)
    assert _notices(at) == [said]
    assert [link.value for link in at.page_link] == [consents.UNSEEN_LINK]
    at.switch_page("unveil/app/pages/governance.py").run()  # every page, not the Family page only
    _no_exception(at)
    assert _notices(at) == [said]

    # Recognised again (what the Analyze page calls after naming him in a photo): his period starts afresh.
    family.count_recognitions(at.session_state[STORE], [colin.id])
    at.run()
    _no_exception(at)
    assert _notices(at) == [] and not at.page_link
