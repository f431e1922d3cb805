"""unveil.app.enrolment without Streamlit: the Family form's camera shots, photo labels and consent end."""
from __future__ import annotations

import time
from datetime import UTC, date, datetime

import pytest

from governance.consent import ConsentError, ConsentRecord
from unveil.app import enrolment as app_enrolment

# 03:00 UTC on 1 May is 23:00 on 30 April in New York: the user's today is still 30 April.
NEW_YORK_EVENING = datetime(2026, 5, 1, 3, 0, tzinfo=UTC)


def _consent(expires_on: date, zone) -> ConsentRecord:
    return app_enrolment.consent_from_form(name="Ana", given_by="", guardian=False, child=False, purpose="photos",
                                           scope="recognition", expires_on=expires_on, now=NEW_YORK_EVENING,
                                           zone=zone)


def test_a_camera_shot_kept_twice_is_kept_once_until_cleared():
    shots = app_enrolment.CameraShots()
    shots.keep(b"frame a")
    shots.keep(b"frame a")  # "Keep this shot" clicked again on the same frame
    shots.keep(b"frame b")
    assert len(shots) == 2 and shots.shots() == [b"frame a", b"frame b"]
    shots.clear()
    assert not shots and shots.shots() == []


def test_uploads_with_one_name_are_each_used_under_a_label_of_their_own():
    uploads = [("IMG_0001.jpg", b"phone a"), ("IMG_0001.jpg", b"phone b"), ("IMG_0001.jpg", b"phone c"),
               ("IMG_0002.jpg", b"phone a, next")]
    assert app_enrolment.form_photos(uploads, [b"shot 1", b"shot 2"]) == {
        "IMG_0001.jpg": b"phone a", "IMG_0001.jpg (2)": b"phone b", "IMG_0001.jpg (3)": b"phone c",
        "IMG_0002.jpg": b"phone a, next", "camera shot 1": b"shot 1", "camera shot 2": b"shot 2"}


def test_a_consent_ending_on_the_users_today_ends_at_their_midnight_and_is_in_force():
    zone = app_enrolment.user_zone("America/New_York")
    today = app_enrolment.today(NEW_YORK_EVENING, zone)
    assert today == date(2026, 4, 30)  # the first day the picker offers
    record = _consent(today, zone)
    assert record.expires_at == datetime(2026, 5, 1, 3, 59, 59, 999999, tzinfo=UTC)
    record.validate(now=NEW_YORK_EVENING)  # not refused as expired
    # Stored and read back, it still ends on the day the user picked (the Members table shows that date).
    assert ConsentRecord.from_details(record.to_details()).expires_at.strftime("%Y-%m-%d") == "2026-04-30"
    with pytest.raises(ConsentError, match="the consent must expire after it was given"):
        _consent(date(2026, 4, 29), zone).validate(now=NEW_YORK_EVENING)  # the day before the user's today


@pytest.fixture()
def machine_in_new_york(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("browser_zone", [None, "", "Not/A_Zone", "../etc/passwd"])
def test_without_a_known_browser_zone_the_days_are_this_machines(machine_in_new_york, browser_zone):
    assert app_enrolment.user_zone(browser_zone) is None
    assert app_enrolment.today(NEW_YORK_EVENING, None) == date(2026, 4, 30)
    assert _consent(date(2026, 4, 30), None).expires_at == datetime(2026, 5, 1, 3, 59, 59, 999999, tzinfo=UTC)
