"""`unveil consent list`, `unveil family list` and `unveil retention sweep` say whose consent ends within
consent.ENDING_NOTICE_DAYS days: the first sweep after its last day erases the member, and nothing said so before
(the lists showed the end date only)."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from governance import consent, family
from governance.consent import ENDING_NOTICE_DAYS, ConsentRecord
from tests.support import privacy_harness as h
from tests.support.privacy_harness import run_cli as run
from unveil.cli import consent as cli_consent
from unveil.cli import retention as cli_retention


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """Halle Berry (a year), Ana Lima (her consent ends tomorrow), Caio Lima (his guardian's consent ends in 5 days:
    he decides for himself from the day after) and Dora Lima (ends the day after the days said)."""
    data_dir = h.cli_store(tmp_path / "data", monkeypatch, "Halle Berry")
    with h.open_store(data_dir) as store:
        now = consent.store_now(store)
        records = {
            "Ana Lima": ConsentRecord.new(subject="Ana Lima", purpose="family photos", days=1, now=now),
            "Caio Lima": ConsentRecord.new(subject="Caio Lima", given_by="Ana Lima", relation="guardian",
                                           subject_is_child=True, purpose="family photos", days=365, now=now,
                                           adult_on=consent.local_day(now) + timedelta(days=6)),
            "Dora Lima": ConsentRecord.new(subject="Dora Lima", purpose="family photos", days=ENDING_NOTICE_DAYS + 1,
                                           now=now),
        }
        for name, record in records.items():
            family.enroll(store, name, h.person_embeddings(name), record)
    return data_dir


def _line(out: str, name: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(name))


def test_the_lists_mark_the_consents_ending_soon(data_dir, capsys):
    note = cli_consent.ENDING_NOTE.format(count=2, days=14) + "\n"
    assert note == (
        "note: 2 consent(s) marked \"ends\" end within 14 days; the first retention sweep after its last day erases the "
        "member (face prints, thumbnails, kept results) unless it is renewed: unveil consent renew WHO --days N "
        "(--by-themself where only their own consent can follow)\n")
    for command in ("consent", "family"):
        code, out, err = run(capsys, command, "list", "--data-dir", str(data_dir))
        assert code == 0 and err.startswith(note)
        assert _line(out, "Ana Lima").endswith("  ends tomorrow")
        assert _line(out, "Caio Lima").endswith("  ends in 5 days: only their own consent can follow")
        assert " ends " not in _line(out, "Halle Berry") and " ends " not in _line(out, "Dora Lima")
    code, out, _ = run(capsys, "consent", "list", "--data-dir", str(data_dir))
    today = date.today()
    assert f" to {today + timedelta(days=1)}  by self " in _line(out, "Ana Lima")

    # Renewed, she is no longer marked, and the note counts Caio only.
    run(capsys, "consent", "renew", "Ana Lima", "--days", "365", "--data-dir", str(data_dir))
    code, out, err = run(capsys, "consent", "list", "--data-dir", str(data_dir))
    assert " ends " not in _line(out, "Ana Lima") and err == cli_consent.ENDING_NOTE.format(count=1, days=14) + "\n"


def test_a_sweep_lists_who_the_next_sweeps_erase_named_only_where_it_names_the_erased(data_dir, capsys):
    code, out, err = run(capsys, "retention", "sweep", "--data-dir", str(data_dir))
    today = date.today()
    ending = json.loads(out)["consents_ending"]
    assert code == 0 and [(e["name"], e["last_day"], e["only_their_own_consent_can_follow"]) for e in ending] == [
        (None, str(today + timedelta(days=1)), False), (None, str(today + timedelta(days=5)), True)]
    assert "Lima" not in out  # not a terminal: a scheduled sweep's log keeps no name
    assert err == cli_retention.ENDING_NOTE.format(count=2, days=14) + "\n" == (
        "note: 2 member(s) whose consent ends within 14 days (see \"consents_ending\"): the first sweep after its last "
        "day erases them unless it is renewed; unveil consent list marks them\n")
    code, out, _ = run(capsys, "retention", "sweep", "--names", "--data-dir", str(data_dir))
    assert [e["name"] for e in json.loads(out)["consents_ending"]] == ["Ana Lima", "Caio Lima"]
