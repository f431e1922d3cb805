"""`unveil family enroll --adult-on`, `unveil consent adult-on`: the day from which a member enrolled with a guardian's
consent decides for themself, in the ledger's lists and `family show`; from that day the guardian cannot renew it and
the member's own renewal is taken."""
from __future__ import annotations

import time
from datetime import date, timedelta

import pytest

from governance import consent, family
from governance.consent import (
    ADULT_ON_NEEDS_GUARDIAN,
    ADULT_ON_NOT_AHEAD,
    GUARDIAN_CONSENT_ENDED,
    NO_ADULT_DATE,
    ConsentRecord,
)
from tests.support import privacy_harness as h
from tests.support.privacy_harness import run_cli as run
from unveil.cli.consent import (
    ADULT_ON_SET,
    AS_ON_RECORD,
    DAY_FORMAT,
    FOR_A_CHILD,
    GIVER_HINT,
    NO_ADULT_ON_NOTE,
    RENEWED,
)
from unveil.cli.family import SHOW_THEMSELF


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """Halle Berry, enrolled with her own consent, and Caio Lima, a child enrolled with his guardian's, as a store
    from before the day could be recorded holds it (no day)."""
    data_dir = h.cli_store(tmp_path / "data", monkeypatch, "Halle Berry")
    with h.open_store(data_dir) as store:
        record = ConsentRecord.new(subject="Caio Lima", given_by="Ana Lima", relation="guardian", subject_is_child=True,
                                   purpose="name family members in our photos", days=365, now=consent.store_now(store))
        assert "adult_on" not in record.to_details()  # stored as code before the day could be recorded stored it
        family.enroll(store, "Caio Lima", h.person_embeddings("Caio Lima"), record)
    return data_dir


def _line(out: str, name: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(name))


def test_a_guardians_consent_without_a_day_is_flagged_and_the_day_is_set_later(data_dir, capsys):
    code, out, _ = run(capsys, "consent", "list", "--data-dir", str(data_dir))
    assert code == 0 and _line(out, "Caio Lima").endswith(f"  decides for themself: {NO_ADULT_DATE}")
    assert "decides for themself" not in _line(out, "Halle Berry")  # her own consent has no such day
    code, out, _ = run(capsys, "family", "show", "Caio Lima", "--data-dir", str(data_dir))
    assert SHOW_THEMSELF.format(when=NO_ADULT_DATE) + " [governs]" in out

    day = date.today() + timedelta(days=100)
    code, out, err = run(capsys, "consent", "adult-on", "caio lima", day.isoformat(), "--data-dir", str(data_dir))
    assert (code, out, err) == (0, ADULT_ON_SET.format(name="Caio Lima", day=day, given_by="Ana Lima",
                                                     until=day - timedelta(days=1)) + "\n", "")
    code, out, _ = run(capsys, "consent", "list", "--data-dir", str(data_dir))
    line = _line(out, "Caio Lima")
    assert line.split()[3] == "active" and line.endswith(f"  decides for themself: from {day}")
    assert f" to {day - timedelta(days=1)}  by guardian Ana Lima (child)" in line  # its last day: the day before
    code, out, _ = run(capsys, "family", "list", "--data-dir", str(data_dir))
    assert f" until {day - timedelta(days=1)} " in _line(out, "Caio Lima")
    code, out, _ = run(capsys, "family", "show", "Caio Lima", "--data-dir", str(data_dir))
    assert SHOW_THEMSELF.format(when=f"from {day}") + " [governs]" in out
    assert "consent_adult_on_set   Caio Lima" in out and str(day) not in out.split("audit log entries")[1]

    code, _, err = run(capsys, "consent", "adult-on", "Halle Berry", day.isoformat(), "--data-dir", str(data_dir))
    assert (code, err) == (1, f"error: {ADULT_ON_NEEDS_GUARDIAN.format(subject='Halle Berry')}\n")
    with pytest.raises(SystemExit):
        run(capsys, "consent", "adult-on", "Caio Lima", "17/05/2031", "--data-dir", str(data_dir))
    assert DAY_FORMAT.format(text="17/05/2031") in capsys.readouterr().err


def _stored(data_dir) -> tuple:
    """Caio's consent records and the audit log's length: what a refused command must leave as it was."""
    with h.open_store(data_dir) as store:
        (caio,) = [p.id for p in store.people() if p.name == "Caio Lima"]
        return store.consents(caio), len(store.audit_entries())


def test_a_day_that_has_come_is_refused_and_nothing_is_stored(data_dir, capsys):
    """Today, yesterday, or a year mistyped (2016 for 2036) would end the guardian's consent at once, and the day's
    sweep would erase Caio: refused, and neither a consent record nor an audit entry is stored."""
    before = _stored(data_dir)
    for day in (date.today(), date.today() - timedelta(days=1), date(2016, 5, 17)):
        code, out, err = run(capsys, "consent", "adult-on", "Caio Lima", day.isoformat(), "--data-dir", str(data_dir))
        assert (code, out, err) == (1, "", f"error: {ADULT_ON_NOT_AHEAD.format(subject='Caio Lima', day=day)}\n")
        assert _stored(data_dir) == before
    code, out, _ = run(capsys, "consent", "list", "--data-dir", str(data_dir))
    assert _line(out, "Caio Lima").split()[3] == "active" and _line(out, "Caio Lima").endswith(NO_ADULT_DATE)


def test_from_the_day_only_the_members_own_renewal_is_taken(data_dir, capsys):
    """Dora Lima, enrolled ten days ago by the clock of then with the day she decides for herself recorded as today:
    the guardian's consent has ended, and the day is not moved. A renewal by the guardian is refused, nothing stored;
    by Dora herself, it is taken."""
    today = date.today()
    with h.open_store(data_dir, clock=lambda: time.time() - 10 * 86400) as store:
        record = ConsentRecord.new(subject="Dora Lima", given_by="Ana Lima", relation="guardian",
                                   subject_is_child=True, purpose="name family members in our photos", days=365,
                                   now=consent.store_now(store), adult_on=today)
        family.enroll(store, "Dora Lima", h.person_embeddings("Dora Lima"), record)
    code, out, _ = run(capsys, "consent", "list", "--data-dir", str(data_dir))
    assert _line(out, "Dora Lima").split()[3] == "expired"
    code, out, err = run(capsys, "consent", "adult-on", "Dora Lima", (today + timedelta(days=30)).isoformat(),
                         "--data-dir", str(data_dir))
    assert (code, out, err) == (1, "", f"error: {GUARDIAN_CONSENT_ENDED.format(subject='Dora Lima', day=today)}\n")

    for giver in ((), ("--given-by", "Bruno Lima")):
        code, out, err = run(capsys, "consent", "renew", "Dora Lima", "--days", "365", *giver, "--data-dir",
                             str(data_dir))
        assert (code, out, err) == (1, "", f"error: {GUARDIAN_CONSENT_ENDED.format(subject='Dora Lima', day=today)}\n")
    code, out, err = run(capsys, "consent", "renew", "Dora Lima", "--days", "365", "--by-themself", "--data-dir",
                         str(data_dir))
    assert code == 0 and out.startswith("consent of Dora Lima renewed until ") and "given by Dora Lima (self)" in out
    assert err == ""  # their own consent: no day to ask for
    code, out, _ = run(capsys, "consent", "list", "--data-dir", str(data_dir))
    assert "active" in _line(out, "Dora Lima") and "decides for themself" not in _line(out, "Dora Lima")


def test_a_guardians_renewal_without_a_day_asks_for_it(data_dir, capsys):
    code, out, err = run(capsys, "consent", "renew", "Caio Lima", "--days", "30", "--data-dir", str(data_dir))
    assert code == 0 and err == NO_ADULT_ON_NOTE.format(name="Caio Lima", given_by="Ana Lima", who="'Caio Lima'") + "\n"


def test_a_guardians_renewal_past_the_day_does_not_say_it_shortens_the_consent(data_dir, capsys):
    """Caio Lima decides for himself in 30 days: his guardian's consent ends the day before, whether it was given for
    a year or renewed for 60 days, so the renewal ends it no sooner (before, 'it ran until' the year's end, a day it
    never ran to)."""
    day = date.today() + timedelta(days=30)
    run(capsys, "consent", "adult-on", "Caio Lima", day.isoformat(), "--data-dir", str(data_dir))
    code, out, err = run(capsys, "consent", "renew", "Caio Lima", "--days", "60", "--data-dir", str(data_dir))
    assert (code, out, err) == (0, RENEWED.format(name="Caio Lima", until=day - timedelta(days=1), given_by="Ana Lima",
                                                  relation="guardian", child=FOR_A_CHILD)
                                + AS_ON_RECORD + "\n" + GIVER_HINT + "\n", "")


def test_a_day_after_the_consents_end_date_is_said_with_the_day_it_ends(data_dir, capsys):
    """Caio Lima's guardian's consent runs for a year: recording that he decides for himself in two years leaves it
    ending at its own end date, which the line says (before: it 'counts until then', two years on)."""
    with h.open_store(data_dir) as store:
        (caio,) = [m for m in family.members(store) if m.name == "Caio Lima"]
        until = consent.until_day(caio.consent)
    day = date.today() + timedelta(days=730)
    code, out, err = run(capsys, "consent", "adult-on", "Caio Lima", day.isoformat(), "--data-dir", str(data_dir))
    assert (code, out, err) == (0, ADULT_ON_SET.format(name="Caio Lima", day=day, given_by="Ana Lima", until=until)
                                + "\n", "")
    assert str(until) in out and until < day - timedelta(days=1)


def test_enrolment_records_the_day(data_dir, faces_dir, capsys):
    photos = [str(faces_dir / "Jennifer_Lopez" / "Jennifer_Lopez_0001.jpg")]
    enrol = ("family", "enroll", "Jennifer Lopez", *photos, "--data-dir", str(data_dir), "--purpose", "p", "--child",
             "--given-by", "Halle Berry", "--adult-on")
    code, _, err = run(capsys, *enrol, date.today().isoformat())  # from today: a guardian's consent never counts
    assert (code, err) == (1, f"error: {GUARDIAN_CONSENT_ENDED.format(subject='Jennifer Lopez', day=date.today())}\n")
    day = date.today() + timedelta(days=30)
    code, out, err = run(capsys, *enrol, day.isoformat())
    assert code == 0 and out.endswith(f"; consent until {day - timedelta(days=1)}\n") and err == ""
    code, out, _ = run(capsys, "consent", "list", "--data-dir", str(data_dir))
    assert _line(out, "Jennifer Lopez").endswith(f"  decides for themself: from {day}")
