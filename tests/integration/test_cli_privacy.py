"""`unveil family|consent|retention|audit`: passphrase handling (prompted without echo, or from the
environment, never printed), key files, enrolment from real photos with consent, erasure receipts,
and exit codes with one-line errors."""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
import types
import unicodedata
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer_core.identity import stored_name
from fer_core.model_files import identity_model_name, models_dir
from fer_core.store import DATA_FILE, FamilyStore, create_key_file
from governance import consent, enrolment, family, retention
from governance.consent import CHILD_NEEDS_GUARDIAN, CHILD_RENEWS_THEMSELF, CONSENT_DAYS_OUT_OF_RANGE
from governance.enrolment import NO_FACE_TO_ENROL
from governance.family import MUST_REENROL
from tests.support import privacy_harness as h
from tests.support.app import side_by_side
from tests.support.identity_versions import another_version
from tests.support.paths import REPO
from tests.support.privacy_harness import run_cli as run
from unveil.cli import build_parser, main
from unveil.cli._store_args import EMPTY_ENV, EMPTY_LINE, FORGOTTEN_NOTE, NO_PASSPHRASE  # noqa: PLC2701 (the messages of the commands under test)
from unveil.cli._terminal import json_shown  # noqa: PLC2701 (the function under test)
from unveil.cli.consent import AS_ON_RECORD, FOR_A_CHILD, GIVER_HINT, NO_ADULT_ON_NOTE, RENEWED, SHORTENED
from unveil.cli.family import IDENTITY_MODEL_MISSING, KEY_FILE_ALONE, MEMBERS_NOT_READ, NOT_RECOGNISED, PURGE_QUESTION
from unveil.cli.retention import DATE_IS_RIGHT_HOW, DAYS_TOO_MANY, NAMES_LEFT_OUT, UNSEEN_PEOPLE_ZERO


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A store with cheap scrypt (the CLI's own `init` uses the strong default) and two members."""
    return h.cli_store(tmp_path / "data", monkeypatch, "Halle Berry", "Hamid Karzai")


def _in_a_terminal(monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(isatty=lambda: True))


def test_init_prompts_twice_without_echo_and_never_prints_the_passphrase(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("UNVEIL_PASSPHRASE", raising=False)
    _in_a_terminal(monkeypatch)
    prompts = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or "typed secret phrase")
    code, out, err = run(capsys, "family", "init", "--data-dir", str(tmp_path / "d"))
    assert (code, out, err) == (0, f"created an encrypted store in {tmp_path / 'd'}\n", "")
    assert prompts == ["New passphrase: ", "Repeat it: "]
    code, out, err = run(capsys, "family", "list", "--data-dir", str(tmp_path / "d"))
    assert (code, out) == (0, "no one is enrolled\n") and prompts[-1] == "Passphrase: "
    assert "typed secret phrase" not in out + err
    code, _, err = run(capsys, "family", "init", "--data-dir", str(tmp_path / "d"))
    assert (code, err) == (1, f"error: an Unveil store already exists in {tmp_path / 'd'}; nothing was changed\n")


def test_mismatched_new_passphrases_are_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("UNVEIL_PASSPHRASE", raising=False)
    _in_a_terminal(monkeypatch)
    answers = iter(["first passphrase", "second passphrase"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    code, _, err = run(capsys, "family", "init", "--data-dir", str(tmp_path / "d"))
    assert (code, err) == (1, "error: the two passphrases differ; nothing was changed\n")
    assert not (tmp_path / "d" / DATA_FILE).exists()


def _cli(tmp_path, *argv: str, stdin: str | None, passphrase: str | None):
    """The CLI as a process with no terminal: `stdin` (None: at its end), UNVEIL_PASSPHRASE unset or `passphrase`."""
    env = {k: v for k, v in os.environ.items() if k != "UNVEIL_PASSPHRASE"}
    if passphrase is not None:
        env["UNVEIL_PASSPHRASE"] = passphrase
    return subprocess.run([sys.executable, "-m", "unveil.cli", *argv, "--data-dir", str(tmp_path / "d")],
                          input=stdin or "", env=env, capture_output=True, text=True, timeout=120, cwd=REPO)


def test_without_a_terminal_the_passphrase_is_one_line_of_stdin_or_a_one_line_error(tmp_path):
    empty_env = _cli(tmp_path, "family", "init", stdin=None, passphrase="")
    assert (empty_env.returncode, empty_env.stderr) == (2, f"error: {EMPTY_ENV.format(env='UNVEIL_PASSPHRASE')}\n")
    nothing = _cli(tmp_path, "family", "init", stdin=None, passphrase=None)
    assert (nothing.returncode, nothing.stderr) == (2, f"error: {NO_PASSPHRASE.format(env='UNVEIL_PASSPHRASE')}\n")
    blank = _cli(tmp_path, "family", "init", stdin="\n", passphrase=None)
    assert (blank.returncode, blank.stderr) == (2, f"error: {EMPTY_LINE}\n")
    assert not (tmp_path / "d" / DATA_FILE).exists()
    created = _cli(tmp_path, "family", "init", stdin="piped secret phrase\n", passphrase=None)
    assert created.returncode == 0, created.stderr
    listed = _cli(tmp_path, "family", "list", stdin="piped secret phrase\n", passphrase=None)
    assert (listed.returncode, listed.stdout) == (0, "no one is enrolled\n")
    assert "piped secret phrase" not in created.stdout + created.stderr + listed.stdout + listed.stderr


def test_list_warns_of_a_damaged_member_on_stderr_and_keeps_stdout_one_line_per_member(data_dir, capsys):
    with contextlib.closing(sqlite3.connect(data_dir / DATA_FILE, isolation_level=None)) as conn:
        (person_id, name), _ = conn.execute("SELECT id, name FROM people ORDER BY created_at").fetchall()
        conn.execute("UPDATE people SET name = ? WHERE id = ?", (bytes([name[0] ^ 1]) + name[1:], person_id))
    code, out, err = run(capsys, "family", "list", "--data-dir", str(data_dir))
    assert code == 0
    assert [line.split()[:2] for line in out.splitlines()] == [["Hamid", "Karzai"]]
    assert err.splitlines()[-1] == MEMBERS_NOT_READ.format(count=1)
    assert main(["family", "purge", person_id, "--data-dir", str(data_dir), "--yes"]) == 0  # erased by id all the same
    capsys.readouterr()
    with contextlib.closing(sqlite3.connect(data_dir / DATA_FILE, isolation_level=None)) as conn:
        (other, name), = conn.execute("SELECT id, name FROM people").fetchall()
        conn.execute("UPDATE people SET name = ? WHERE id = ?", (bytes([name[0] ^ 1]) + name[1:], other))
    code, out, err = run(capsys, "family", "list", "--data-dir", str(data_dir))
    assert (code, out) == (0, "")  # not "no one is enrolled": someone is, unreadable
    assert err.splitlines()[-1] == MEMBERS_NOT_READ.format(count=1)


def test_wrong_passphrase_is_one_line_and_logged(data_dir, monkeypatch, capsys):
    monkeypatch.setenv("UNVEIL_PASSPHRASE", "not the passphrase")
    code, out, err = run(capsys, "family", "list", "--data-dir", str(data_dir))
    assert (code, out, err) == (1, "", "error: wrong passphrase: the store stays locked; only the failed attempt was "
                                       f"logged\n{FORGOTTEN_NOTE}\n")
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    code, out, _ = run(capsys, "audit", "list", "--data-dir", str(data_dir))
    assert code == 0 and out.splitlines()[-1].split()[4:] == ["unlock_failed", "-", "method=passphrase"]


def test_key_file_store(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("UNVEIL_PASSPHRASE", raising=False)
    key = tmp_path / "unveil.key"
    code, out, _ = run(capsys, "family", "init", "--data-dir", str(tmp_path / "d"), "--key-file", str(key), "--no-passphrase")
    assert code == 0 and out.startswith(f"created key file {key} (mode 0600)")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    code, out, _ = run(capsys, "family", "list", "--data-dir", str(tmp_path / "d"), "--key-file", str(key))
    assert (code, out) == (0, "no one is enrolled\n")
    code, _, err = run(capsys, "family", "init", "--data-dir", str(tmp_path / "e"), "--no-passphrase")
    assert (code, err) == (2, "error: --no-passphrase needs --key-file\n")


def test_init_with_a_key_file_but_no_passphrase_makes_nothing_and_says_what_was_needed(tmp_path, monkeypatch, capsys):
    """`family init --key-file F` without a passphrase (no terminal, none on stdin, UNVEIL_PASSPHRASE unset) made F,
    printed 'keep it apart from backups', then failed: a key file that unlocks nothing. The passphrase is now read
    before anything is made, and the error says how to have the key file alone unlock."""
    monkeypatch.delenv("UNVEIL_PASSPHRASE", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    key = tmp_path / "unveil.key"
    code, out, err = run(capsys, "family", "init", "--data-dir", str(tmp_path / "d"), "--key-file", str(key))
    needed = KEY_FILE_ALONE.format(message=NO_PASSPHRASE.format(env="UNVEIL_PASSPHRASE"), key_file=key)
    assert (code, out, err) == (2, "", f"error: {needed}\n")
    assert sorted(tmp_path.iterdir()) == []


def test_init_that_fails_leaves_no_key_file_it_made(tmp_path, monkeypatch, capsys):
    """A store already in the folder (or a passphrase too short): the key file made for the new store unlocks
    nothing, so it is removed; a key file that was there before is kept."""
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    h.new_store(tmp_path / "d").close()
    key = tmp_path / "unveil.key"
    code, out, err = run(capsys, "family", "init", "--data-dir", str(tmp_path / "d"), "--key-file", str(key))
    assert (code, out, err) == (1, "", f"error: an Unveil store already exists in {tmp_path / 'd'}; nothing was changed\n")
    assert not key.exists()
    monkeypatch.setenv("UNVEIL_PASSPHRASE", "short")
    code, out, _ = run(capsys, "family", "init", "--data-dir", str(tmp_path / "e"), "--key-file", str(key))
    assert (code, out) == (1, "") and not key.exists() and not (tmp_path / "e" / DATA_FILE).exists()
    create_key_file(key)
    code, out, _ = run(capsys, "family", "init", "--data-dir", str(tmp_path / "d"), "--key-file", str(key))
    assert (code, out) == (1, "") and key.exists()


def test_enroll_from_real_photos_with_consent(data_dir, faces_dir, tmp_path, capsys):
    photos = [str(faces_dir / "Colin_Powell" / f"Colin_Powell_000{i}.jpg") for i in range(1, 5)]
    blank, group = tmp_path / "wall.png", tmp_path / "two people.jpg"  # no face; two faces
    Image.new("RGB", (200, 200), (128, 128, 128)).save(blank)
    group.write_bytes(side_by_side(Path(photos[1]), faces_dir / "Serena_Williams" / "Serena_Williams_0001.jpg"))
    # No photo gives a face: refused, each photo named with why, and nothing stored.
    code, out, err = run(capsys, "family", "enroll", "Colin Powell", str(blank), str(group),
                         "--data-dir", str(data_dir), "--purpose", "name family in our photos")
    assert (code, out) == (1, "") and err.splitlines() == [
        f"{blank}: no face found, so it is not used.", f"{group}: 2 faces and none picked, so it is not used.",
        f"error: {NO_FACE_TO_ENROL}"]
    # Photos without a usable face are left out, with a note, as the app does; the others enrol.
    code, out, err = run(capsys, "family", "enroll", "Colin Powell", *photos, str(blank), "--data-dir", str(data_dir),
                         "--purpose", "name family in our photos", "--days", "30")
    assert code == 0 and err == f"{blank}: no face found, so it is not used.\n"
    assert "with 4 embeddings and 0 thumbnails; consent until" in out
    code, out, err = run(capsys, "family", "list", "--data-dir", str(data_dir))
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["Halle", "Hamid", "Colin"]
    assert "consent active" in lines[2] and "4 embeddings" in lines[2] and not lines[2].endswith("re-enrolled")
    # The fixture's members were stored with another model's (synthetic) embeddings: not recognised.
    assert lines[0].endswith(NOT_RECOGNISED) and lines[1].endswith(NOT_RECOGNISED)
    assert err.splitlines() == ["note: " + MUST_REENROL.format(name=name, theirs="default",
                                                               model=identity_model_name())
                                for name in ("Halle Berry", "Hamid Karzai")]
    with h.open_store(data_dir) as store:
        (entry,) = store.gallery(model=identity_model_name())
        assert entry.name == "Colin Powell" and entry.embeddings.shape[0] == 4


def test_child_enrolment_needs_a_guardian(data_dir, faces_dir, capsys):
    photos = [str(faces_dir / "Jennifer_Lopez" / "Jennifer_Lopez_0001.jpg")]
    code, _, err = run(capsys, "family", "enroll", "Jennifer Lopez", *photos, "--data-dir", str(data_dir),
                       "--purpose", "p", "--child")
    assert (code, err) == (1, "error: Jennifer Lopez is a child: consent must be given by a guardian\n")
    code, _, err = run(capsys, "family", "enroll", "Jennifer Lopez", *photos, "--data-dir", str(data_dir),
                       "--purpose", "p", "--child", "--given-by", "Halle Berry")
    # Enrolled, and asked for the day from which the child decides for themself (`--adult-on`, left out here).
    assert (code, err) == (0, NO_ADULT_ON_NOTE.format(name="Jennifer Lopez", given_by="Halle Berry",
                                                      who="'Jennifer Lopez'") + "\n")
    code, out, _ = run(capsys, "consent", "list", "--data-dir", str(data_dir))
    assert "by guardian Halle Berry (child)" in out.splitlines()[-1]


def test_purge_needs_confirmation_and_prints_the_receipt(data_dir, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(isatty=lambda: False))
    code, _, err = run(capsys, "family", "purge", "Halle Berry", "--data-dir", str(data_dir))
    assert (code, err) == (1, PURGE_QUESTION.format(who="Halle Berry")
                           + " Refused: not confirmed (pass --yes to confirm non-interactively).\n")
    code, out, _ = run(capsys, "family", "purge", "halle berry", "--yes", "--data-dir", str(data_dir))
    receipt = json.loads(out)
    assert code == 0 and receipt["reason"] == "request" and receipt["records"]["embeddings"] == 5
    code, out, _ = run(capsys, "audit", "list", "--data-dir", str(data_dir))
    assert receipt["digest"] in out and "Halle" not in out
    code, _, err = run(capsys, "family", "purge", "Halle Berry", "--yes", "--data-dir", str(data_dir))
    assert (code, err) == (1, "error: no person named 'Halle Berry' in the store\n")
    code, out, _ = run(capsys, "family", "purge", "--all", "--yes", "--data-dir", str(data_dir))
    assert code == 0 and json.loads(out)["records"]["people"] == 1
    with FamilyStore(data_dir) as store:
        assert store.counts()["people"] == 0 and store.counts()["data_keys"] == 0


def test_consent_commands(data_dir, capsys):
    code, out, _ = run(capsys, "consent", "list", "--data-dir", str(data_dir))
    assert code == 0 and [line.split()[3] for line in out.splitlines()] == ["active", "active"]
    code, out, _ = run(capsys, "consent", "renew", "Hamid Karzai", "--days", "10", "--data-dir", str(data_dir))
    assert code == 0 and out.startswith("consent of Hamid Karzai renewed until ")
    code, out, _ = run(capsys, "consent", "scope", "Hamid Karzai", "recognition", "--data-dir", str(data_dir))
    assert (code, out) == (0, "consent of Hamid Karzai now covers recognition; 1 thumbnails deleted\n")
    code, out, _ = run(capsys, "consent", "withdraw", "Hamid Karzai", "--yes", "--data-dir", str(data_dir))
    assert code == 0 and json.loads(out)["reason"] == "consent withdrawn"
    code, out, _ = run(capsys, "family", "list", "--data-dir", str(data_dir))
    assert [line.split()[0] for line in out.splitlines()] == ["Halle"]


def test_a_renewal_that_shortens_a_consent_says_so(data_dir, capsys):
    """--days counts from today: renewing a consent with a year left for 10 days shortens it, and the
    command says so instead of reporting it as a renewal only."""
    with h.open_store(data_dir) as store:
        (person_id,) = [p for p in store.person_ids() if store.person(p).name == "Hamid Karzai"]
        before = consent.latest(store, person_id).expires_at
    code, out, _ = run(capsys, "consent", "renew", "Hamid Karzai", "--days", "10", "--data-dir", str(data_dir))
    with h.open_store(data_dir) as store:
        after = consent.latest(store, person_id).expires_at
    assert after < before
    # The dates as this machine's calendar reads them (tests/integration/test_cli_time_zones.py), whatever its zone.
    assert (code, out) == (0, RENEWED.format(name="Hamid Karzai", until=consent.local_day(after), given_by="Hamid Karzai",
                                             relation="self", child="") + AS_ON_RECORD
                           + SHORTENED.format(before=consent.local_day(before)) + "\n" + GIVER_HINT + "\n")
    code, out, _ = run(capsys, "consent", "renew", "Hamid Karzai", "--days", "400", "--data-dir", str(data_dir))
    assert code == 0 and out.startswith("consent of Hamid Karzai renewed until ") and "sooner" not in out


def test_a_renewal_records_who_gives_the_consent_now(data_dir, capsys):
    """A renewal is a consent given now: by a new guardian (--given-by), or by the person themself (--by-themself,
    with --adult for a child now grown up); the output says who gave it, and the ledger records it. A child's consent
    renewed by themself is refused, nothing stored."""
    def renew(*flags):
        code, out, err = run(capsys, "consent", "renew", "Hamid Karzai", "--days", "400", *flags,
                             "--data-dir", str(data_dir))
        with h.open_store(data_dir) as store:
            (person_id,) = [p for p in store.person_ids() if store.person(p).name == "Hamid Karzai"]
            return code, out, err, consent.latest(store, person_id), store.person(person_id).consents

    code, out, err, record, count = renew("--given-by", "Mariam Karzai", "--child")
    no_day = NO_ADULT_ON_NOTE.format(name="Hamid Karzai", given_by="Mariam Karzai", who="'Hamid Karzai'") + "\n"
    assert (code, out, err, count) == (0, RENEWED.format(name="Hamid Karzai", until=record.expires_at,
                                                         given_by="Mariam Karzai", relation="guardian",
                                                         child=FOR_A_CHILD) + "\n", no_day, 2)
    assert (record.given_by, record.relation, record.subject_is_child) == ("Mariam Karzai", "guardian", True)

    code, out, err, record, count = renew("--by-themself")
    # Said with how to record that they are now an adult (--adult), as a child renewing it themself most likely is.
    said = CHILD_RENEWS_THEMSELF.format(subject="Hamid Karzai")
    assert (code, out, err, count) == (1, "", f"error: {said}\n", 2)
    assert "--adult" in CHILD_RENEWS_THEMSELF and CHILD_RENEWS_THEMSELF.startswith(CHILD_NEEDS_GUARDIAN)
    assert record.given_by == "Mariam Karzai"

    code, out, err, record, count = renew()  # no giver: the guardian on record, said so
    assert (code, out, count) == (0, RENEWED.format(name="Hamid Karzai", until=record.expires_at,
                                                    given_by="Mariam Karzai", relation="guardian", child=FOR_A_CHILD)
                                  + AS_ON_RECORD + "\n" + GIVER_HINT + "\n", 3)

    code, out, err, record, count = renew("--by-themself", "--adult")
    assert (code, out, count) == (0, RENEWED.format(name="Hamid Karzai", until=record.expires_at,
                                                    given_by="Hamid Karzai", relation="self", child="") + "\n", 4)
    assert (record.given_by, record.relation, record.subject_is_child) == ("Hamid Karzai", "self", False)
    code, out, _ = run(capsys, "consent", "list", "--data-dir", str(data_dir))
    assert [line for line in out.splitlines() if line.startswith("Hamid")][0].split("by ")[1].startswith("self  scope")

    with pytest.raises(SystemExit) as exit_:
        main(["consent", "renew", "Hamid Karzai", "--days", "9", "--given-by", "X", "--by-themself",
              "--data-dir", str(data_dir)])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "unveil consent renew: error: argument --by-themself: not allowed with argument --given-by")


def test_the_member_list_says_when_the_identity_model_is_not_installed(data_dir, monkeypatch, capsys):
    """A mistyped UNVEIL_IDENTITY_MODEL left the list without any 'not recognised' and without a word,
    as if everyone could be named."""
    monkeypatch.setenv("UNVEIL_IDENTITY_MODEL", "face_recognition_mobilefacenet.onxx")
    code, out, err = run(capsys, "family", "list", "--data-dir", str(data_dir))
    assert code == 0 and [line.split()[0] for line in out.splitlines()] == ["Halle", "Hamid"]
    assert err == IDENTITY_MODEL_MISSING.format(model="face_recognition_mobilefacenet.onxx", folder=models_dir()) + "\n"


def test_the_member_list_says_who_another_version_of_the_identity_model_cannot_name(data_dir, tmp_path, monkeypatch,
                                                                                    capsys):
    """models/ given another version of the installed file (its metadata's version says so): the list flagged no one,
    their prints being stored under the file name alone, though recognition compared faces with them in vain."""
    with h.open_store(data_dir) as store:
        family.add_embeddings(store, "Halle Berry", np.ones((2, 192), np.float32), model=identity_model_name())
    monkeypatch.setenv("UNVEIL_MODELS_DIR", str(another_version(tmp_path, identity_model_name(), "retrained").parent))
    code, out, err = run(capsys, "family", "list", "--data-dir", str(data_dir))
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("Halle") and lines[0].endswith(NOT_RECOGNISED)
    assert err.splitlines()[0] == "note: " + MUST_REENROL.format(
        name="Halle Berry", theirs=f"default, {identity_model_name()}", model=stored_name(identity_model_name(), "retrained"))


def test_retention_commands(data_dir, capsys):
    code, out, _ = run(capsys, "retention", "set", "analyses", "off", "--data-dir", str(data_dir))
    assert (code, out) == (0, "analyses: kept until erased by hand\n")
    code, out, _ = run(capsys, "retention", "show", "--data-dir", str(data_dir))
    assert [line.split()[:2] for line in out.splitlines()] == [["unseen_people", "365"], ["thumbnails", "90"],
                                                               ["analyses", "off"]]
    code, out, _ = run(capsys, "retention", "sweep", "--data-dir", str(data_dir))
    assert code == 0 and json.loads(out)["removed"] == {"consent_expired": 0, "consent_missing": 0, "unseen_people": 0,
                                                        "thumbnails": 0, "analyses": 0}
    with pytest.raises(SystemExit):
        main(["retention", "set", "analyses", "-3", "--data-dir", str(data_dir)])
    assert "days must be >= 0, got -3" in capsys.readouterr().err


def test_a_sweep_after_a_jump_of_the_clock_waits_for_the_date_to_be_confirmed(tmp_path, monkeypatch, capsys):
    """Last used 400 days ago (or the clock jumped): the sweep removes nothing for the date's sake, says why on
    stderr and exits 1, until --date-is-right."""
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    data_dir = tmp_path / "data"
    with h.new_store(data_dir, clock=lambda: time.time() - 400 * 86400) as store:
        h.enrol(store, "Halle Berry")  # a consent of 365 days: ended 35 days ago
    code, out, err = run(capsys, "retention", "sweep", "--data-dir", str(data_dir))
    waiting = {"consent_expired": 1, "unseen_people": 0, "thumbnails": 1, "analyses": 0}
    assert (code, json.loads(out)["removed"], json.loads(out)["waiting_for_the_date"]) == (1, dict.fromkeys(
        ["consent_expired", "consent_missing", "unseen_people", "thumbnails", "analyses"], 0), waiting)
    with FamilyStore.open(data_dir) as store:
        store.unlock(h.PASSPHRASE)
        assert len(store.person_ids()) == 1
        last_use = store.latest_sealed_audit(["date_unconfirmed"]).details["last_used"]
    # Days of this machine's calendar, as the household's clock shows them, and the days between them on it (400,
    # or 401 had this run straddled a midnight)
    today, last = date.today(), datetime.fromtimestamp(last_use).date()
    said = retention.DATE_UNCONFIRMED.format(now=today, days=(today - last).days, last=last,
                                             waiting="1 member whose consent expired, 1 thumbnail")
    assert err == f"{said} {DATE_IS_RIGHT_HOW}\n"
    code, out, err = run(capsys, "retention", "sweep", "--date-is-right", "--data-dir", str(data_dir))
    assert (code, err) == (0, NAMES_LEFT_OUT.format(count=1) + "\n") and json.loads(out)["removed"]["consent_expired"] == 1
    assert json.loads(out)["waiting_for_the_date"] is None


def _a_household_with_an_ended_consent(tmp_path, monkeypatch, name: str) -> tuple[Path, str]:
    """Two members enrolled two days ago, `name` with a consent that ended a minute later: the next sweep erases them."""
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    data_dir = tmp_path / "data"
    with h.new_store(data_dir, clock=lambda: time.time() - 2 * 86400) as store:
        person_id = h.enrol_briefly(store, name, 60)
        h.enrol(store, "Hamid Karzai")
    return data_dir, person_id


def test_a_sweep_run_in_a_terminal_names_each_member_it_erased(tmp_path, monkeypatch, capsys):
    """Its output gave the receipts' hashes only, and the receipts hold random ids: whoever ran it could not tell
    who was erased. In a terminal it names them, as the sweep read them before erasing; the log holds ids only."""
    data_dir, person_id = _a_household_with_an_ended_consent(tmp_path, monkeypatch, "Zoë Brûlé")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, out, err = run(capsys, "retention", "sweep", "--data-dir", str(data_dir))
    assert (code, err) == (0, "")
    report = json.loads(out)
    (digest,) = report["receipts"]
    with h.open_store(data_dir) as store:
        (entry,) = [e for e in store.audit_entries() if e.event == "purge"]
        assert [p.name for p in store.people()] == ["Hamid Karzai"]
        logged = json.dumps([e.details for e in store.audit_entries()], ensure_ascii=False)
    assert report["erased"] == [{"name": "Zoë Brûlé", "id": person_id, "reason": "consent expired", "receipt": digest,
                                 "audit_entry": entry.seq}]
    assert '"name": "Zoë Brûlé"' in out  # as it is written, not \u00eb
    assert "Zoë" not in logged and entry.details["receipt"] == digest
    on_disk = b"".join(path.read_bytes() for path in data_dir.rglob("*") if path.is_file())
    assert "Zoë Brûlé".encode() not in on_disk


def test_a_sweep_whose_output_goes_to_a_log_names_no_one_unless_asked(tmp_path, monkeypatch, capsys):
    """A scheduled sweep's output is kept (cron's mail, the journal): there a name would outlive the erasure in
    clear. Not in a terminal the erased are listed by id, with a note on stderr, and --names prints the names."""
    data_dir, person_id = _a_household_with_an_ended_consent(tmp_path, monkeypatch, "Halle Berry")
    code, out, err = run(capsys, "retention", "sweep", "--data-dir", str(data_dir))
    assert (code, err) == (0, NAMES_LEFT_OUT.format(count=1) + "\n") and "Halle" not in out
    assert [(e["name"], e["id"]) for e in json.loads(out)["erased"]] == [(None, person_id)]
    assert json.loads(out)["removed"]["consent_expired"] == 1

    data_dir, person_id = _a_household_with_an_ended_consent(tmp_path / "again", monkeypatch, "Halle Berry")
    code, out, err = run(capsys, "retention", "sweep", "--names", "--data-dir", str(data_dir))
    assert (code, err) == (0, "") and [(e["name"], e["id"]) for e in json.loads(out)["erased"]] == [
        ("Halle Berry", person_id)]


def test_the_json_a_terminal_is_given_shows_control_characters_as_escapes_and_reads_back_the_same():
    value = {"name": "Zoë \u202eevil\x1b[2J\x85\U000e0001"}
    text = json_shown(value, indent=2)
    assert json.loads(text) == value and "Zoë" in text
    assert not [ch for ch in text if ch != "\n" and unicodedata.category(ch) in {"Cc", "Cf"}]


def test_no_consent_is_renewed_or_widened_while_the_date_is_in_question(tmp_path, monkeypatch, capsys):
    """Last used 40 days ago (or the clock jumped): `consent renew` and a `consent scope` that does not narrow would
    date the consent by that clock; they say why not, exit 1 and change nothing, until the date is confirmed.
    Narrowing it to recognition gives data up, on the consent's own dates: it is made."""
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    data_dir = tmp_path / "data"
    with h.new_store(data_dir, clock=lambda: time.time() - 40 * 86400) as store:
        h.enrol(store, "Halle Berry")  # a consent of 365 days with thumbnails, still in force
    for argv in (["renew", "Halle Berry", "--days", "30"], ["scope", "Halle Berry", "recognition+thumbnails"]):
        code, out, err = run(capsys, "consent", *argv, "--data-dir", str(data_dir))
        assert (code, out, err) == (1, "", f"error: {consent.DATE_IN_QUESTION}\n")
    with h.open_store(data_dir) as store:
        (person,) = store.people()
        assert (person.consents, person.thumbnails) == (1, 1)
        assert not {"consent_renewed", "consent_scope_changed"} & {e.event for e in store.audit_entries()}
        before = consent.latest(store, person.id)
    code, out, err = run(capsys, "consent", "scope", "Halle Berry", "recognition", "--data-dir", str(data_dir))
    assert (code, out, err) == (0, "consent of Halle Berry now covers recognition; 1 thumbnails deleted\n", "")
    code, out, err = run(capsys, "consent", "scope", "Halle Berry", "recognition+thumbnails", "--data-dir", str(data_dir))
    assert (code, out, err) == (1, "", f"error: {consent.DATE_IN_QUESTION}\n")  # widening it again waits
    with h.open_store(data_dir) as store:
        (person,) = store.people()
        assert (person.consents, person.thumbnails) == (2, 0)
        assert consent.latest(store, person.id) == replace(before, scope="recognition")  # its own dates
        assert [e.event for e in store.audit_entries()].count("consent_scope_changed") == 1
    assert run(capsys, "retention", "sweep", "--date-is-right", "--data-dir", str(data_dir))[0] == 0
    code, out, _ = run(capsys, "consent", "renew", "Halle Berry", "--days", "30", "--data-dir", str(data_dir))
    assert code == 0 and out.startswith("consent of Halle Berry renewed until ")


def test_a_consent_recorded_while_the_clock_ran_ahead_is_listed_not_yet_in_force(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    data_dir = tmp_path / "data"
    with h.new_store(data_dir, clock=lambda: time.time() + 20 * 86400) as store:
        h.enrol(store, "Halle Berry")
    with h.open_store(data_dir) as store:
        h.enrol(store, "Colin Powell")  # in force: its columns line up with the other's
    code, out, _ = run(capsys, "consent", "list", "--data-dir", str(data_dir))
    assert code == 0 and " not yet in force " in out and "expired" not in out
    assert len({line.index(" to ") for line in out.splitlines()}) == 1
    code, out, _ = run(capsys, "family", "list", "--data-dir", str(data_dir))
    assert code == 0 and " consent not yet in force " in out


def test_days_beyond_the_limits_are_refused_before_anything_changes(data_dir, faces_dir, capsys, monkeypatch):
    with pytest.raises(SystemExit) as exit_:
        main(["retention", "set", "unseen_people", "3000000", "--data-dir", str(data_dir)])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "unveil retention set: error: argument days: " + DAYS_TOO_MANY.format(maximum=36_500, value=3_000_000))
    with pytest.raises(SystemExit) as exit_:
        main(["consent", "renew", "Hamid Karzai", "--days", "1000000000", "--data-dir", str(data_dir)])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "unveil consent renew: error: argument --days: "
        + CONSENT_DAYS_OUT_OF_RANGE.format(maximum=36_500, days=1_000_000_000))
    # family enroll's --days as consent renew's, checked before any photo is read (it was checked after the photos
    # were read and searched for faces, with the models loaded and the passphrase asked for: read for nothing).
    def read_photo(*args, **kwargs):
        raise AssertionError("a photo was read")

    monkeypatch.setattr(enrolment, "read_photo", read_photo)
    photo = str(faces_dir / "Colin_Powell" / "Colin_Powell_0001.jpg")
    for days in (1_000_000_000, 0):
        with pytest.raises(SystemExit) as exit_:
            main(["family", "enroll", "Colin Powell", photo, "--data-dir", str(data_dir), "--purpose", "p",
                  "--days", str(days)])
        assert exit_.value.code == 2
        assert capsys.readouterr().err.splitlines()[-1] == (
            "unveil family enroll: error: argument --days: " + CONSENT_DAYS_OUT_OF_RANGE.format(maximum=36_500, days=days))
    code, out, _ = run(capsys, "retention", "sweep", "--data-dir", str(data_dir))
    assert code == 0 and json.loads(out)["removed"]["unseen_people"] == 0
    code, out, _ = run(capsys, "family", "list", "--data-dir", str(data_dir))
    assert [line.split()[0] for line in out.splitlines()] == ["Halle", "Hamid"]


def test_zero_days_for_unseen_people_is_refused_in_the_commands_own_words(data_dir, capsys):
    """The store's own refusal names Python's None; the command's names 'off', what the user types instead."""
    code, out, err = run(capsys, "retention", "set", "unseen_people", "0", "--data-dir", str(data_dir))
    assert (code, out, err) == (2, "", f"error: {UNSEEN_PEOPLE_ZERO}\n")
    assert "None" not in err
    code, out, _ = run(capsys, "retention", "show", "--data-dir", str(data_dir))
    assert out.splitlines()[0].split()[:2] == ["unseen_people", "365"]
    code, out, _ = run(capsys, "retention", "set", "analyses", "0", "--data-dir", str(data_dir))
    assert (code, out) == (0, "analyses: 0 days\n")


def test_audit_verify_reports_the_first_broken_link(data_dir, monkeypatch, capsys):
    code, out, _ = run(capsys, "audit", "verify", "--data-dir", str(data_dir))
    assert (code, out) == (0, "audit log intact: 5 entries, hash chain and seals verified\n")
    with contextlib.closing(sqlite3.connect(data_dir / DATA_FILE, isolation_level=None)) as conn:
        conn.execute("DELETE FROM audit WHERE seq = 3")
    monkeypatch.delenv("UNVEIL_PASSPHRASE")
    code, out, _ = run(capsys, "audit", "verify", "--no-unlock", "--data-dir", str(data_dir))
    assert (code, out) == (1, ("audit log BROKEN at entry 3: entry 3 is missing (the log jumps to entry 4): "
                               "entries were deleted or moved\n"))


def test_passwd_changes_the_passphrase(data_dir, monkeypatch, capsys):
    monkeypatch.setenv("UNVEIL_NEW_PASSPHRASE", "another long passphrase")
    code, out, _ = run(capsys, "family", "passwd", "--data-dir", str(data_dir))
    assert (code, out) == (0, "passphrase changed\n")
    code, _, err = run(capsys, "family", "list", "--data-dir", str(data_dir))
    assert code == 1 and err.startswith("error: wrong passphrase")
    monkeypatch.setenv("UNVEIL_PASSPHRASE", "another long passphrase")
    code, out, _ = run(capsys, "family", "check", "--data-dir", str(data_dir))
    assert (code, out) == (0, "every encrypted value authenticates (2 people, 10 embeddings)\n")


def test_every_command_is_registered_where_the_parser_is_built():
    """No plugin look-up: the parser lists every command group, `audit bias` included."""
    parser = build_parser()
    commands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    assert set(commands.choices) == {"analyze", "app", "watch", "serve", "family", "consent", "retention", "audit"}
    from unveil.cli import bias

    assert parser.parse_args(["audit", "bias", "emotion", "faces/", "--out", "report/"]).handler is bias._emotion


def test_no_traceback_for_a_missing_store(tmp_path, capsys):
    code, out, err = run(capsys, "audit", "verify", "--no-unlock", "--data-dir", str(tmp_path / "none"))
    assert (code, out, err) == (1, "", f"error: no Unveil store in {tmp_path / 'none'}: create one first\n")


def test_embeddings_never_reach_the_terminal(data_dir, capsys):
    vector = h.person_embeddings("Halle Berry")[0]
    for argv in (["family", "list"], ["consent", "list"], ["audit", "list"], ["family", "check"]):
        _, out, err = run(capsys, *argv, "--data-dir", str(data_dir))
        assert f"{vector[0]:.4f}" not in out + err and np.float32(vector[0]).tobytes().hex() not in out + err
