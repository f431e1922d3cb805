"""`unveil family list`, `unveil consent list` and `unveil retention sweep` say who reaches the unseen_people period
(365 days without being recognised) within consent.ENDING_NOTICE_DAYS days: the sweep then erases them, and nothing
said so before (the reproduction: a member last seen 360 days ago was listed with "last seen" only)."""
from __future__ import annotations

import json
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from fer_core.model_files import identity_model_name
from governance import consent, family, retention
from governance.consent import ConsentRecord
from tests.support import privacy_harness as h
from tests.support.privacy_harness import run_cli as run
from tests.support.store import FakeClock
from unveil.cli import consent as cli_consent
from unveil.cli import retention as cli_retention


@pytest.fixture
def household(tmp_path, monkeypatch) -> tuple[Path, date]:
    """(data folder, the day Ana Lima was last seen): Ana Lima last seen 360 days ago (erased from 5 days on), Bea Lima
    340 days ago (25 days on), Halle Berry enrolled today; each with a consent in force for years. The store is used
    every 20 days meanwhile (a sweep), as a household that runs the app or `unveil watch` does: the date stays settled.

    The day is read on this machine's calendar, as the CLI reads it: 360 x 24 h ago is not date.today() - 360 days
    within an hour of midnight where the UTC offset changed since (summer time now or then, not both), so the days
    the lists give are counted from it."""
    start = time.time() - 360 * 86400
    clock = FakeClock(start=start)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)  # as h.cli_store, whose store is made today
    monkeypatch.delenv("UNVEIL_DATA_DIR", raising=False)
    with h.new_store(data_dir, clock=clock) as store:
        for name, days_on in (("Ana Lima", 20), ("Bea Lima", 340)):
            record = ConsentRecord.new(subject=name, purpose="family photos", days=1000, now=consent.store_now(store))
            family.enroll(store, name, h.person_embeddings(name), record, model=identity_model_name())
            for _ in range(days_on // 20):
                clock.advance(days=20)
                retention.sweep(store)
        h.enrol(store, "Halle Berry")
    return data_dir, date.fromtimestamp(start)


def _line(out: str, name: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(name))


def test_the_lists_mark_who_reaches_the_unseen_period_soon(household, capsys):
    data_dir, seen = household
    erased_in = (seen + timedelta(days=365) - date.today()).days  # 5 but near midnight (see household)
    note = cli_consent.UNSEEN_NOTE.format(count=1, period=365, days=14) + "\n"
    assert note == (
        "note: 1 member(s) marked \"erased ... unless recognised\" reach 365 days without being recognised within 14 "
        "days; a retention sweep from that day erases them (face prints, thumbnails, kept results) unless they are "
        "recognised again (a photo or video of them in the app, or unveil watch or unveil serve seeing them) or the "
        "period is changed: unveil retention set unseen_people DAYS (or off)\n")
    for command in ("family", "consent"):
        code, out, err = run(capsys, command, "list", "--data-dir", str(data_dir))
        assert code == 0 and err.startswith(note)
        assert _line(out, "Ana Lima").endswith(f"  erased in {erased_in} days unless recognised")
        assert "erased" not in _line(out, "Bea Lima") and "erased" not in _line(out, "Halle Berry")
    code, out, _ = run(capsys, "family", "list", "--data-dir", str(data_dir))
    assert f"last seen {seen}" in _line(out, "Ana Lima")

    # A longer period, or none: no one is marked.
    for days in ("400", "off"):
        run(capsys, "retention", "set", "unseen_people", days, "--data-dir", str(data_dir))
        code, out, err = run(capsys, "family", "list", "--data-dir", str(data_dir))
        assert "erased" not in out and "unseen_people" not in err


def test_a_sweep_lists_who_the_next_sweeps_erase_as_unseen_named_only_where_it_names_the_erased(household, capsys):
    data_dir, seen = household
    code, out, err = run(capsys, "retention", "sweep", "--data-dir", str(data_dir))
    report = json.loads(out)
    assert code == 0 and report["consents_ending"] == [] and report["removed"]["unseen_people"] == 0
    assert [(u["name"], u["last_seen"], u["erased_from"]) for u in report["unseen_ending"]] == [
        (None, str(seen), str(seen + timedelta(days=365)))]
    assert "Lima" not in out  # not a terminal: a scheduled sweep's log keeps no name
    assert err == cli_retention.UNSEEN_NOTE.format(count=1, period=365, days=14) + "\n" == (
        "note: 1 member(s) reach 365 days without being recognised within 14 days (see \"unseen_ending\"): a sweep "
        "from that day erases them unless they are recognised again or the period is changed (unveil retention set "
        "unseen_people DAYS); unveil family list marks them\n")
    code, out, _ = run(capsys, "retention", "sweep", "--names", "--data-dir", str(data_dir))
    assert [u["name"] for u in json.loads(out)["unseen_ending"]] == ["Ana Lima"]
