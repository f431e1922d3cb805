"""The app says, above its pages, whose consent ends within consent.ENDING_NOTICE_DAYS days: the day after it ends
the member is no longer named and the next retention sweep (the app's own, once a day) erases them, and the app said
nothing of it before (the Members table showed the end date only). Time is moved on the unlocked store's clock, as
tests/integration/test_app_family_adult_on.py moves it."""
from __future__ import annotations

import shutil
import time

from streamlit.testing.v1 import AppTest

from fer_core.store import FamilyStore
from governance import consent, family
from governance.consent import ENDING_NOTICE_DAYS, ConsentRecord
from governance.scheduled_sweeps import ScheduledSweeps
from tests.support.app import FAMILY_PASSPHRASE, widget
from tests.support.paths import REPO
from unveil.app import consents
from unveil.app.widgets import SCHEDULED_SWEEPS, STORE

TIMEOUT = 120  # model loading and scrypt on a loaded 2-core machine, as tests/integration/test_app_pages.py


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _notices(at: AppTest) -> list[str]:
    return [w.value for w in at.warning if w.value.startswith(consents.ENDING_HEADING)]


def _days_on(at: AppTest, monkeypatch, days: int) -> None:
    """The unlocked store's clock `days` days on (and a minute), its daily sweep just done."""
    store = at.session_state[STORE]
    monkeypatch.setattr(store, "_clock", lambda: time.time() + days * 86400 + 60)
    at.session_state[SCHEDULED_SWEEPS] = ScheduledSweeps(store, swept_at=consent.store_now(store).timestamp() - 60)


def test_a_consent_ending_within_the_days_said_is_shown_above_every_page_until_renewed(app_env, family_store_dir,
                                                                                        monkeypatch):
    shutil.copytree(family_store_dir, app_env)
    with FamilyStore(app_env) as store:
        store.unlock(FAMILY_PASSPHRASE)
        (colin,) = store.people()  # his consent runs until 2099
        model = next(iter(store.embedding_models()[colin.id]))
        record = ConsentRecord.new(subject="Ana Lima", purpose="family photos", days=ENDING_NOTICE_DAYS + 1,
                                   now=consent.store_now(store))
        ana = family.enroll(store, "Ana Lima", store.embeddings(colin.id) + 1, record, model=model).person_id
        last_day = consent.until_day(record)

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.switch_page("unveil/app/pages/family.py").run()
    at.text_input(key="unlock_passphrase").input(FAMILY_PASSPHRASE)
    at.button[0].click().run()
    _no_exception(at)
    assert _notices(at) == [] and not at.page_link  # N+1 days before its last day: nothing yet

    _days_on(at, monkeypatch, 2)  # N-1 days before
    at.run()
    _no_exception(at)
    said = consents.ENDING_HEADING + "\n\n" + consents.ENDING_MEMBER.format(
        name="Ana Lima", when=f"in {ENDING_NOTICE_DAYS - 1} days", day=last_day)
    assert _notices(at) == [said]
    assert [link.value for link in at.page_link] == [consents.ENDING_LINK]
    at.switch_page("unveil/app/pages/governance.py").run()  # every page, not the Family page only
    _no_exception(at)
    assert _notices(at) == [said]

    # Renewed on the Family page's consent form: no longer said.
    at.switch_page("unveil/app/pages/family.py").run()
    widget(at, "selectbox", "consent_member_").set_value(ana).run()
    at.button(key="consent_renew").click().run()
    _no_exception(at)
    assert [s.value for s in at.success if s.value.startswith("The consent of Ana Lima now runs until ")]
    assert _notices(at) == [] and not at.page_link
