"""Members' names on the command line: every verb that takes a name reads it by the store's one rule
(fer_core.store._names), never erases someone it is not sure of, and refuses a name it cannot enrol at once."""
from __future__ import annotations

import json

import pytest

from fer_core.store import (
    NAME_AMBIGUOUS,
    NAME_HIDDEN_CHARACTER,
    FamilyStore,
    _names,  # noqa: PLC2701 (to let in names as older versions did)
)
from tests.support import privacy_harness as h
from tests.support.privacy_harness import run_cli as run


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    return h.cli_store(tmp_path / "data", monkeypatch, "Ayşe Yılmaz", "İpek", "--help")


def _names_in(data_dir):
    with FamilyStore(data_dir) as store:
        store.unlock(h.PASSPHRASE)
        return [p.name for p in store.people()]


def test_a_turkish_name_typed_in_capitals_or_without_its_letters_is_found_and_erased(data_dir, capsys):
    # "no person named 'AYŞE YILMAZ' in the store": an erasure request that found no one.
    code, out, err = run(capsys, "family", "purge", "AYŞE YILMAZ", "--yes", "--data-dir", str(data_dir))
    assert (code, err) == (0, "") and json.loads(out)["reason"] == "request"
    code, out, _ = run(capsys, "consent", "renew", "ipek", "--days", "30", "--data-dir", str(data_dir))
    assert code == 0 and out.startswith("consent of İpek renewed until ")
    assert _names_in(data_dir) == ["İpek", "--help"]


def test_a_name_that_reads_as_an_option_is_given_after_a_double_dash(data_dir, capsys):
    code, out, _ = run(capsys, "family", "purge", "--yes", "--data-dir", str(data_dir), "--", "--help")
    assert code == 0 and json.loads(out)["records"]["person"] == 1
    assert _names_in(data_dir) == ["Ayşe Yılmaz", "İpek"]


def test_a_name_two_members_read_as_erases_no_one_and_the_error_gives_their_ids(data_dir, capsys, monkeypatch):
    with FamilyStore(data_dir) as store, monkeypatch.context() as older:  # as versions before space folding let in
        store.unlock(h.PASSPHRASE)
        older.setattr(_names, "clean_name", lambda name: name)
        older.setattr(_names, "same_name", lambda a, b: False)
        first, second = store.add_person("Ana María"), store.add_person("Ana  María")
    code, out, err = run(capsys, "family", "purge", "ana maría", "--yes", "--data-dir", str(data_dir))
    assert (code, out) == (1, "")
    assert err == f"error: {NAME_AMBIGUOUS.format(count=2, name='ana maría', ids=f'{first}, {second}')}\n"
    assert len(_names_in(data_dir)) == 5
    code, out, _ = run(capsys, "family", "purge", second, "--yes", "--data-dir", str(data_dir))
    assert code == 0 and json.loads(out)["subject"] == second
    assert "Ana  María" not in _names_in(data_dir)


def test_a_name_that_cannot_be_enrolled_is_refused_before_any_photo_is_read(data_dir, tmp_path, capsys):
    # It was refused only after every photo was searched for faces (or as a consent "for no one" when empty).
    missing = tmp_path / "not-a-photo.jpg"
    code, out, err = run(capsys, "family", "enroll", "Ana\u200b", str(missing), "--purpose", "family photos",
                         "--data-dir", str(data_dir))
    assert (code, out) == (1, "")
    assert err == f"error: {NAME_HIDDEN_CHARACTER.format(code='U+200B', position=4)}\n"


def test_the_lists_columns_line_up_after_chinese_names_and_hebrew_vowel_marks(tmp_path, monkeypatch, capsys):
    # Padded by characters, the id column stood 3 columns right after 王小明 (each character is two columns wide)
    # and 3 left after שָׁלוֹם כהן (its 3 vowel marks take none).
    names = {"Ana": 3, "王小明": 6, "שָׁלוֹם כהן": 8}  # the columns each takes in a terminal
    data_dir = h.cli_store(tmp_path / "data", monkeypatch, *names)
    with FamilyStore(data_dir) as store:
        store.unlock(h.PASSPHRASE)
        ids = {p.name: p.id[:8] for p in store.people()}
    for command in ("family", "consent"):
        code, out, _ = run(capsys, command, "list", "--data-dir", str(data_dir))
        assert code == 0
        for name, columns in names.items():
            line = next(line for line in out.splitlines() if ids[name] in line)
            assert line.startswith(name + " " * (28 - columns + 1) + ids[name]), (command, line)


def test_purge_all_is_refused_while_a_member_is_named_all(tmp_path, monkeypatch, capsys):
    # `unveil family purge --all --yes`, typed to erase the member named "--all", erased every member.
    from unveil.cli.family import PURGE_ALL_NAMES_A_MEMBER

    assert PURGE_ALL_NAMES_A_MEMBER == (
        'a member is named "--all": it is not clear whether they or everyone is to be erased, and nothing was. To '
        'erase them, give their name after "--" (unveil family purge --yes -- --all) or their id; to erase everyone, '
        'rename them first')
    data_dir = h.cli_store(tmp_path / "data", monkeypatch, "Ana", "--ALL", "Ben")
    code, out, err = run(capsys, "family", "purge", "--all", "--yes", "--data-dir", str(data_dir))
    assert (code, out, err) == (1, "", f"error: {PURGE_ALL_NAMES_A_MEMBER}\n")
    assert _names_in(data_dir) == ["Ana", "--ALL", "Ben"]
    code, out, _ = run(capsys, "family", "purge", "--yes", "--data-dir", str(data_dir), "--", "--all")
    assert code == 0 and _names_in(data_dir) == ["Ana", "Ben"]
    code, out, _ = run(capsys, "family", "purge", "--all", "--yes", "--data-dir", str(data_dir))
    assert code == 0 and _names_in(data_dir) == []
