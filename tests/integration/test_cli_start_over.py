"""`unveil family start-over|destroy-old`: a household that forgot its passphrase is told, after a wrong one, that
nothing recovers it and what starting over does; starting over asks first, sets the old store aside unopened, and
every later `family list` says it is there until `destroy-old` deletes it."""
from __future__ import annotations

import shlex

from fer_core.store import DATA_FILE, KEYS_FILE, FamilyStore, create_key_file, set_aside_folders
from governance import starting_over
from tests.support import privacy_harness as h
from tests.support.privacy_harness import run_cli as run
from unveil.cli._store_args import FORGOTTEN_NOTE  # noqa: PLC2701 (the message under test)
from unveil.cli.family import DESTROY_QUESTION, DESTROYED, START_OVER_DONE, START_OVER_QUESTION

NEW = "a new passphrase, written down this time"
NOT_CONFIRMED = " Refused: not confirmed (pass --yes to confirm non-interactively).\n"


def test_a_forgotten_passphrase_is_said_what_to_do_and_starting_over_keeps_the_old_store_until_destroyed(
        tmp_path, monkeypatch, capsys):
    data_dir = h.cli_store(tmp_path / "data", monkeypatch, "Halle Berry")
    monkeypatch.setenv("UNVEIL_PASSPHRASE", "what we thought it was")
    for _ in range(3):
        code, out, err = run(capsys, "family", "list", "--data-dir", str(data_dir))
        assert (code, out, err.splitlines()[-1]) == (1, "", FORGOTTEN_NOTE)
    assert sorted(p.name for p in data_dir.iterdir()) == [KEYS_FILE, DATA_FILE]  # tries never move anything

    monkeypatch.delenv("UNVEIL_PASSPHRASE")
    old = starting_over.current(data_dir)
    question = START_OVER_QUESTION.format(data_dir=data_dir, held=old.held())
    assert run(capsys, "family", "start-over", "--data-dir", str(data_dir)) == (1, "", question + NOT_CONFIRMED)
    assert set_aside_folders(data_dir) == []

    monkeypatch.setenv("UNVEIL_NEW_PASSPHRASE", NEW)
    code, out, err = run(capsys, "family", "start-over", "--data-dir", str(data_dir), "--yes")
    (folder,) = set_aside_folders(data_dir)
    assert (code, out, err) == (0, START_OVER_DONE.format(folder=shlex.quote(str(folder)), data_dir=data_dir, seq=2)
                                + "\n", "")
    with FamilyStore(folder) as kept:  # the old passphrase still opens it, set aside
        kept.unlock(h.PASSPHRASE)
        assert [p.name for p in kept.people()] == ["Halle Berry"]

    monkeypatch.setenv("UNVEIL_PASSPHRASE", NEW)
    (set_aside,) = starting_over.set_aside(data_dir)
    reminder = starting_over.SET_ASIDE_REMINDER.format(day=set_aside.set_aside_at.date(), folder=folder,
                                                       held=set_aside.held())
    assert run(capsys, "family", "list", "--data-dir", str(data_dir)) == (
        0, "no one is enrolled\n", f"note: {reminder}: unveil family destroy-old {shlex.quote(str(folder))}\n")
    question = DESTROY_QUESTION.format(day=set_aside.set_aside_at.date(), folder=folder, held=set_aside.held())
    assert run(capsys, "family", "destroy-old", str(folder), "--data-dir", str(data_dir)) == (
        1, "", question + NOT_CONFIRMED)
    assert set_aside_folders(data_dir) == [folder]
    assert run(capsys, "family", "destroy-old", str(folder), "--data-dir", str(data_dir), "--yes") == (
        0, DESTROYED.format(folder=folder, seq=3) + "\n", "")
    assert not folder.exists()
    code, out, _ = run(capsys, "audit", "list", "--data-dir", str(data_dir))
    assert [line.split()[4] for line in out.splitlines()] == ["store_created", "store_set_aside", "old_store_destroyed"]
    assert run(capsys, "family", "list", "--data-dir", str(data_dir)) == (0, "no one is enrolled\n", "")


def test_starting_over_is_refused_while_the_configured_key_file_opens_the_store_or_is_not_said_lost(
        tmp_path, monkeypatch, capsys):
    data_dir = h.cli_store(tmp_path / "data", monkeypatch, "Halle Berry")
    key_file = create_key_file(tmp_path / "unveil.key")
    with FamilyStore(data_dir) as store:
        store.unlock(h.PASSPHRASE)
        store.set_key_file(key_file)
    monkeypatch.delenv("UNVEIL_PASSPHRASE")
    monkeypatch.setenv("UNVEIL_NEW_PASSPHRASE", NEW)
    assert run(capsys, "family", "start-over", "--data-dir", str(data_dir), "--yes") == (
        1, "", f"error: {starting_over.KEY_FILE_NOT_SAID_LOST}\n")
    assert run(capsys, "family", "start-over", "--data-dir", str(data_dir), "--yes", "--key-file-lost",
               "--key-file", str(key_file)) == (
        1, "", f"error: {starting_over.KEY_FILE_OPENS.format(key_file=key_file)}\n")
    assert set_aside_folders(data_dir) == []


def test_a_store_only_its_key_file_opens_is_not_said_to_also_open_with_one(tmp_path, monkeypatch, capsys):
    # `unveil family init --key-file F --no-passphrase`, then the key file lost.
    data_dir, key_file = tmp_path / "data", tmp_path / "unveil.key"
    monkeypatch.delenv("UNVEIL_PASSPHRASE", raising=False)
    assert run(capsys, "family", "init", "--data-dir", str(data_dir), "--key-file", str(key_file),
               "--no-passphrase")[0] == 0
    assert run(capsys, "family", "start-over", "--data-dir", str(data_dir), "--yes") == (
        1, "", f"error: {starting_over.KEY_FILE_ONLY_NOT_SAID_LOST}\n")
    held = starting_over.HELD.format(people=0, embeddings=0, thumbnails=0, consents=0, analyses=0, backups=0,
                                     opens="key file")
    assert run(capsys, "family", "start-over", "--data-dir", str(data_dir), "--key-file-lost") == (
        1, "", START_OVER_QUESTION.format(data_dir=data_dir, held=held) + NOT_CONFIRMED)
    assert set_aside_folders(data_dir) == []
