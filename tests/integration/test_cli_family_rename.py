"""`unveil family rename OLD NEW`: a member's name corrected or changed from the shell, their consent, face prints
and kept results kept. Before it the command did not exist (argparse: invalid choice, exit 2), and the only way was
`family purge` and a new `family enroll`, which erased their consent history and kept results and needed photos."""
from __future__ import annotations

import pytest

from fer_core.store import MAX_NAME_CHARS, NAME_LENGTH, FamilyStore
from governance import family
from tests.support import privacy_harness as h
from tests.support.privacy_harness import run_cli as run
from unveil.cli import family as cli_family


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    return h.cli_store(tmp_path / "data", monkeypatch, "Jonh Okafor", "Ana")


def _people(data_dir) -> list[tuple[str, str, int]]:
    with FamilyStore(data_dir) as store:
        store.unlock(h.PASSPHRASE)
        return [(p.id, p.name, p.consents) for p in store.people()]


def test_a_mistyped_name_is_corrected_and_their_consent_renewed_by_themself_stays_theirs(data_dir, capsys):
    ((jonh, _, _), _) = _people(data_dir)
    code, out, err = run(capsys, "family", "rename", "jonh okafor", "John Okafor", "--data-dir", str(data_dir))
    said = cli_family.RENAMED.format(before="Jonh Okafor", name="John Okafor", person_id=jonh)
    assert (code, out, err) == (0, said + cli_family.CONSENT_RESTATED + "\n", "")
    assert _people(data_dir)[0] == (jonh, "John Okafor", 2)
    code, out, _ = run(capsys, "consent", "renew", "John Okafor", "--days", "30", "--by-themself",
                       "--data-dir", str(data_dir))
    assert code == 0 and out.startswith("consent of John Okafor renewed until ") and "(self)" in out
    code, out, _ = run(capsys, "audit", "list", "--data-dir", str(data_dir))
    (line,) = [row for row in out.splitlines() if " renamed " in row]
    assert line.endswith("John Okafor                  consent_restated=True")


def test_the_name_of_another_member_is_refused_and_nothing_changes(data_dir, capsys):
    before = _people(data_dir)
    code, out, err = run(capsys, "family", "rename", "Jonh Okafor", "ANA", "--data-dir", str(data_dir))
    assert (code, out) == (1, "")
    assert err == f"error: {family.NAME_TAKEN.format(name='ANA', other='Ana')}\n"
    assert _people(data_dir) == before


def test_an_unknown_member_is_refused(data_dir, capsys):
    code, out, err = run(capsys, "family", "rename", "Zed", "Zed Two", "--data-dir", str(data_dir))
    assert (code, out, err) == (1, "", "error: no person named 'Zed' in the store\n")


def test_a_name_that_cannot_be_a_members_is_refused_before_the_passphrase_is_asked_for(data_dir, capsys, monkeypatch):
    monkeypatch.delenv("UNVEIL_PASSPHRASE")  # asked for, it would be a usage error (exit 2): no passphrase given
    for typed, count in (("  ", 0), ("J" * (MAX_NAME_CHARS + 1), MAX_NAME_CHARS + 1)):
        code, out, err = run(capsys, "family", "rename", "Ana", typed, "--data-dir", str(data_dir))
        assert (code, out, err) == (1, "", f"error: {NAME_LENGTH.format(most=MAX_NAME_CHARS, count=count)}\n")


def test_two_members_an_older_version_let_in_under_one_name_are_told_apart_by_renaming_one_by_id(
        data_dir, capsys, monkeypatch):
    from fer_core.store import NAME_AMBIGUOUS, _names  # noqa: PLC2701 (to let in names as older versions did)

    with FamilyStore(data_dir) as store, monkeypatch.context() as older:
        store.unlock(h.PASSPHRASE)
        older.setattr(_names, "clean_name", lambda name: name)
        older.setattr(_names, "same_name", lambda a, b: False)
        first, second = store.add_person("Ana María"), store.add_person("Ana  María")
    code, out, err = run(capsys, "family", "rename", "ana maría", "Ana María Lopes", "--data-dir", str(data_dir))
    assert (code, out) == (1, "")
    assert err == f"error: {NAME_AMBIGUOUS.format(count=2, name='ana maría', ids=f'{first}, {second}')}\n"
    code, out, _ = run(capsys, "family", "rename", second, "Ana María Lopes", "--data-dir", str(data_dir))
    assert (code, out) == (0, cli_family.RENAMED.format(before="Ana  María", name="Ana María Lopes", person_id=second)
                           + "\n")  # no consent record: enrolled so by an older version, nothing to restate
    assert [name for _, name, _ in _people(data_dir)][-2:] == ["Ana María", "Ana María Lopes"]
    code, out, _ = run(capsys, "consent", "list", "--data-dir", str(data_dir))
    assert code == 0 and "Ana María Lopes" in out
