"""The CLI on a machine far from UTC: a household in Pago Pago (UTC-11), Kiritimati (UTC+14) or Newfoundland
(UTC-3:30) reads consent dates, and counts a consent's days, on its own calendar, as the app's form does
(governance.consent.expires_on_day). Each test sets this machine's zone itself (tests.support.time_zones), so that
none depends on the zone of the machine running the suite."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from governance import consent, family
from governance.consent import ConsentRecord
from tests.support import privacy_harness as h
from tests.support.privacy_harness import run_cli as run
from tests.support.store import FakeClock
from tests.support.time_zones import machine_time_zone
from unveil.cli.consent import AS_ON_RECORD, GIVER_HINT, RENEWED

# When the consent was given (UTC), and that day on the household's calendar: 07:00 UTC on 15 January is the evening
# of the 14th in Pago Pago; 18:00 UTC the morning of the 16th in Kiritimati; 02:00 UTC 22:30 on the 14th in St John's.
ZONES = [
    ("Pacific/Pago_Pago", datetime(2026, 1, 15, 7, 0, tzinfo=UTC), date(2026, 1, 14)),
    ("Pacific/Kiritimati", datetime(2026, 1, 15, 18, 0, tzinfo=UTC), date(2026, 1, 16)),
    ("America/St_Johns", datetime(2026, 1, 15, 2, 0, tzinfo=UTC), date(2026, 1, 14)),
]
YEARS = 20  # the consent runs long past any CI machine's date


def _store_given_at(tmp_path, monkeypatch, given_at: datetime, days: int = YEARS * 365):
    """A store with one member, Ana, enrolled at `given_at` with a consent given then and ending `days` x 24 hours on
    (the UTC instant, as consents were stored before they ended at the end of a day): an end at any hour, which the
    lists must show on this machine's calendar."""
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    monkeypatch.delenv("UNVEIL_DATA_DIR", raising=False)
    data_dir = tmp_path / "data"
    with h.new_store(data_dir, clock=FakeClock(given_at.timestamp())) as store:
        record = ConsentRecord(subject="Ana", given_by="Ana", purpose="name family members in our photos",
                               given_at=given_at, expires_at=given_at + timedelta(days=days))
        family.enroll(store, "Ana", h.person_embeddings("Ana"), record)
    return data_dir, record


@pytest.mark.parametrize(("zone", "given_at", "given_on"), ZONES)
def test_the_lists_show_consent_dates_on_this_machines_calendar(tmp_path, monkeypatch, capsys, zone, given_at,
                                                                 given_on):
    """`consent list` printed given_at and expires_at as UTC dates: in Pago Pago a consent given on the evening of
    the 14th was listed as given on the 15th, and one ending on an evening there as running a day longer."""
    data_dir, record = _store_given_at(tmp_path, monkeypatch, given_at)
    ends_on = record.expires_at.astimezone(ZoneInfo(zone)).date()
    assert ends_on != record.expires_at.date()  # the UTC date, which the lists showed
    with machine_time_zone(zone):
        code, out, _ = run(capsys, "consent", "list", "--data-dir", str(data_dir))
        assert code == 0 and f" active           {given_on} to {ends_on}  by self " in out
        code, out, _ = run(capsys, "family", "list", "--data-dir", str(data_dir))
        assert code == 0 and f" until {ends_on} " in out and f" last seen {given_on}" in out


@pytest.mark.parametrize("zone", [zone for zone, _, _ in ZONES])
def test_a_renewal_runs_to_the_end_of_the_day_n_days_from_today_on_this_machines_calendar(tmp_path, monkeypatch,
                                                                                          capsys, zone):
    """`consent renew --days 30` ended 30 x 24 hours from now, and said so as a UTC date: in Pago Pago, renewed on
    an evening, "until" a date whose evening it had already ended by. It now runs to the end of the day 30 days from
    the household's today, the date it prints, as the app's form renews it."""
    data_dir, _ = _store_given_at(tmp_path, monkeypatch, datetime.now(UTC) - timedelta(days=1), days=3)
    with machine_time_zone(zone):
        today = datetime.now(UTC).astimezone().date()
        code, out, _ = run(capsys, "consent", "renew", "Ana", "--days", "30", "--data-dir", str(data_dir))
        after = datetime.now(UTC).astimezone().date()
    with h.open_store(data_dir) as store:
        (person_id,) = store.person_ids()
        renewed = consent.latest(store, person_id)
    local_end = renewed.expires_at.astimezone(ZoneInfo(zone))
    assert local_end.time().isoformat() == "23:59:59.999999"
    assert local_end.date() in {today + timedelta(days=30), after + timedelta(days=30)}
    assert (code, out) == (0, RENEWED.format(name="Ana", until=local_end.date(), given_by="Ana", relation="self",
                                             child="") + AS_ON_RECORD + "\n" + GIVER_HINT + "\n")
