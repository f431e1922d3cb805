"""The Family page, through streamlit.testing.v1.AppTest: the day from which a member enrolled with a guardian's
consent decides for themself. The enrolment form asks for it when a guardian consents; the consent form says when
none is recorded (a store from before it could be), records it, and from that day offers the member's own renewal
(the guardian's is refused)."""
from __future__ import annotations

import shutil
import time
from datetime import timedelta

from streamlit.testing.v1 import AppTest

from fer_core.store import FamilyStore
from governance import audit_log, consent, family
from governance.consent import ConsentRecord
from governance.scheduled_sweeps import ScheduledSweeps
from tests.support.app import FAMILY_PASSPHRASE, widget
from tests.support.paths import REPO
from unveil.app import consents
from unveil.app import enrolment as app_enrolment
from unveil.app.widgets import SCHEDULED_SWEEPS, STORE

TIMEOUT = 120  # model loading and scrypt on a loaded 2-core machine, as tests/integration/test_app_pages.py


def _consent_tab(at: AppTest):
    return next(tab for tab in at.tabs if tab.label == "Renew consent or change scope")


def _said(at: AppTest) -> list[str]:
    return [getattr(node, "value", None) for node in _consent_tab(at)]


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_the_day_a_child_decides_for_themself_is_asked_recorded_and_ends_the_guardians_consent(
        app_env, family_store_dir, monkeypatch):
    shutil.copytree(family_store_dir, app_env)
    with FamilyStore(app_env) as store:
        store.unlock(FAMILY_PASSPHRASE)
        (colin,) = store.people()
        model = next(iter(store.embedding_models()[colin.id]))
        # As a store from before the day could be recorded holds a guardian's consent: no day.
        record = ConsentRecord.new(subject="Caio Lima", given_by="Ana Lima", relation="guardian",
                                   subject_is_child=True, purpose="family photos", days=365,
                                   now=consent.store_now(store))
        caio = family.enroll(store, "Caio Lima", store.embeddings(colin.id) + 1, record, model=model).person_id

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.switch_page("unveil/app/pages/family.py").run()
    at.text_input(key="unlock_passphrase").input(FAMILY_PASSPHRASE)
    at.button[0].click().run()
    _no_exception(at)

    # The enrolment form asks for the day once a guardian gives the consent; it may be left empty.
    assert not [d for d in at.date_input if d.key and d.key.startswith("enrol_adult_on_")]
    widget(at, "checkbox", "enrol_guardian_").check().run()
    asked = widget(at, "date_input", "enrol_adult_on_")
    assert (asked.label, asked.value) == (app_enrolment.ADULT_ON_LABEL, None)
    assert app_enrolment.ADULT_ON_ASK in [c.value for c in at.caption]

    widget(at, "selectbox", "consent_member_").set_value(caio).run()
    _no_exception(at)
    member = next(m for m in family.members(at.session_state[STORE]) if m.person_id == caio)
    assert consents.consent_summary(member) in _said(at)
    assert consents.consent_summary(member).endswith(consents.ADULT_ON_MISSING.format(name="Caio Lima"))
    today = consent.local_day(consent.store_now(at.session_state[STORE]))
    # It starts at tomorrow: a day that has come would end the guardian's consent at once (refused if sent anyway).
    assert widget(at, "date_input", "consent_adult_on_").min == today + timedelta(days=1)
    day = today + timedelta(days=2)
    widget(at, "date_input", "consent_adult_on_").set_value(day).run()
    at.button(key="consent_adult_on_submit").click().run()
    _no_exception(at)
    assert consents.ADULT_ON_SET.format(name="Caio Lima", day=day, given_by="Ana Lima",
                                        until=day - timedelta(days=1)) in [s.value for s in at.success]
    members = at.dataframe[0].value.set_index("name")
    assert members.loc["Caio Lima", "expires"] == str(day - timedelta(days=1))
    store = at.session_state[STORE]
    assert [e.event for e in audit_log.entries(store)][-1] == "consent_adult_on_set"

    # The day comes (two days on: the date is not in question). The session's daily sweep ran just before it.
    monkeypatch.setattr(store, "_clock", lambda: time.time() + 2 * 86400 + 60)
    at.session_state[SCHEDULED_SWEEPS] = ScheduledSweeps(store, swept_at=consent.store_now(store).timestamp() - 60)
    at.run()
    _no_exception(at)
    member = next(m for m in family.members(store) if m.person_id == caio)
    assert consents.CONSENT_ADULT_ENDED.format(name="Caio Lima", day=day, given_by="Ana Lima",
                                               until=day - timedelta(days=1)) in _said(at)
    assert (widget(at, "checkbox", "consent_guardian_").value, widget(at, "checkbox", "consent_child_").value) == (
        False, False)  # prefilled with Caio himself, no longer a child
    assert not [d for d in at.date_input if d.key and d.key.startswith("consent_adult_on_")]
    at.button(key="consent_renew").click().run()
    _no_exception(at)
    assert [s.value for s in at.success if s.value.startswith("The consent of Caio Lima now runs until ")]
    assert next(m for m in family.members(store) if m.person_id == caio).consent.relation == "self"

