"""The Family and Governance pages say consent dates as days of the user's calendar: their browser's time zone (as
the enrolment form's date picker already did), whatever this machine's. The pages showed given_at as its UTC date and
a consent stored in UTC (one enrolled from the CLI) on its UTC day, so a household in Kiritimati read a consent given
at 08:00 on the 16th as given on the 15th. Here the machine is set in Pago Pago (UTC-11) and the browser in
Kiritimati (UTC+14): a day apart either way from UTC."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import numpy as np
from streamlit.testing.v1 import AppTest

from governance import family
from governance.consent import ConsentRecord
from tests.support import privacy_harness as h
from tests.support.paths import REPO
from tests.support.store import FakeClock
from tests.support.time_zones import machine_time_zone
from unveil.app import consents

APP = REPO / "app.py"
TIMEOUT = 120  # scrypt on unlock takes seconds on a loaded machine


def test_consent_dates_are_shown_on_the_browsers_calendar(app_env):
    # 18:00 UTC two days ago: 08:00 the next day in Kiritimati, 07:00 that day in Pago Pago.
    given_at = datetime.combine(datetime.now(UTC).date() - timedelta(days=2), time(18), tzinfo=UTC)
    with h.new_store(app_env, clock=FakeClock(given_at.timestamp())) as store:
        # Stored in UTC (a CLI on a UTC machine), whatever the zone of the machine running the suite.
        record = ConsentRecord.new(subject="Ana", purpose="name family members in our photos", days=400, now=given_at,
                                   zone=UTC)
        family.enroll(store, "Ana", np.ones((1, 8), np.float32), record, model="model.onnx")
    given_on, ends_on = (given_at + timedelta(days=1)).date(), (record.expires_at + timedelta(days=1)).date()

    with machine_time_zone("Pacific/Pago_Pago"):
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        at.context = {"timezone": "Pacific/Kiritimati"}
        at.switch_page("unveil/app/pages/family.py")
        at.run()
        at.text_input(key="unlock_passphrase").input(h.PASSPHRASE)
        at.button[0].click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.dataframe[0].value["expires"].tolist() == [ends_on.isoformat()]
        (picker,) = [box for box in at.selectbox if box.key and box.key.startswith("consent_member_")]
        assert picker.options == [f"Ana (consent until {ends_on})"]
        summary = consents.CONSENT_ACTIVE.format(name="Ana", until=ends_on, scope="recognition", given_by="Ana",
                                                 relation="self")
        assert summary in [m.value for m in at.markdown]

        at.switch_page("unveil/app/pages/governance.py").run()
        assert not at.exception, [e.value for e in at.exception]
        ledger = at.dataframe[0].value
        assert (ledger.loc[0, "given"], ledger.loc[0, "expires"]) == (given_on.isoformat(), ends_on.isoformat())
