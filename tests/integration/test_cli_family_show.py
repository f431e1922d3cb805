"""`unveil family show WHO`: what the store holds about one member, for them to see (the right of access). Before it
the command did not exist (argparse: invalid choice, exit 2): `family list`, `consent list` and `audit list` each
told a part of it, about everyone."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fer_core.store import FamilyStore
from governance import access, kept_results
from governance.consent import NO_ADULT_DATE, local_day
from tests.support import privacy_harness as h
from tests.support.privacy_harness import run_cli as run
from unveil.cli import family as cli_family


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    data_dir = h.cli_store(tmp_path / "data", monkeypatch, "Ana", "Benedikt")
    with h.open_store(data_dir) as store:
        ana, ben = (p.id for p in store.people())
        kept_results.keep_analysis(store, [{"identity": "Ana"}, {"identity": "Benedikt"}], person_ids=[ana, ben])
        kept_results.keep_analysis(store, [{"identity": "Benedikt"}], person_ids=[ben])
    return data_dir


def test_a_members_account_after_a_renewal_and_a_scope_change_is_all_theirs(data_dir, capsys):
    for argv in (("consent", "renew", "Ana", "--days", "30", "--given-by", "Marta"),
                 ("consent", "scope", "Ana", "recognition")):
        assert run(capsys, *argv, "--data-dir", str(data_dir))[0] == 0

    code, out, err = run(capsys, "family", "show", "ANA", "--data-dir", str(data_dir))

    assert (code, err) == (0, "")
    with FamilyStore(data_dir) as store:
        store.unlock(h.PASSPHRASE)
        ana = store.find_person("Ana")
        records = [entry.details for entry in store.consents(ana.id)]
        embeddings = store.embeddings(ana.id)
    lines = out.splitlines()
    day = local_day(datetime.fromtimestamp(ana.created_at, UTC)).isoformat()
    assert lines[:6] == [
        cli_family.SHOW_HEADER.format(name="Ana", person_id=ana.id, enrolled=day, last_seen=day),
        f"note: {access.RECOGNITIONS_NOT_COUNTED}",
        cli_family.SHOW_FACE_PRINTS.format(count=h.EMBEDDINGS_PER_PERSON, models=f"{h.EMBEDDINGS_PER_PERSON} of default"),
        cli_family.SHOW_THUMBNAILS.format(count=0),  # the scope narrowed to recognition deleted the one kept
        cli_family.SHOW_KEPT.format(count=1, days=f", kept {day}"),
        cli_family.SHOW_CONSENTS.format(count=3, status="active")]
    consents = lines[6:9]
    assert [(r["given_by"], r["scope"]) for r in records] == [
        ("Ana", "recognition+thumbnails"), ("Marta", "recognition+thumbnails"), ("Marta", "recognition")]
    assert consents[0].startswith("  1. for Ana, given ") and " by Ana (self), " in consents[0]
    assert " by Marta (guardian), " in consents[1] and not consents[1].endswith("[governs]")
    # A guardian's consent says from which day its subject decides for themself: here none was recorded.
    assert ("; scope recognition; purpose: name family members in our photos"
            + cli_family.SHOW_THEMSELF.format(when=NO_ADULT_DATE) + " [governs]") in consents[2]
    assert "decides for themself" not in consents[0]
    assert lines[9] == cli_family.SHOW_AUDIT.format(count=4)
    assert [line.split()[4:6] for line in lines[10:]] == [
        ["consent_granted", "Ana"], ["enrol", "Ana"], ["consent_renewed", "Ana"], ["consent_scope_changed", "Ana"]]
    assert "Benedikt" not in out
    # Never a face print: none of its numbers, as Python or NumPy would print them.
    assert not [v for v in embeddings.ravel()[:20] if f"{v:.4f}" in out or repr(float(v)) in out]


def test_someone_not_enrolled_is_told_so(data_dir, capsys):
    code, out, err = run(capsys, "family", "show", "Zed", "--data-dir", str(data_dir))
    assert (code, out, err) == (1, "", "error: no person named 'Zed' in the store\n")
