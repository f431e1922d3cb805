"""The CLI on a terminal whose encoding is not UTF-8 (a household's old ISO-8859-1 locale, PYTHONIOENCODING=latin-1):
members' names in other scripts are written as escapes (unveil.cli._terminal.UNENCODABLE), never a crash. Before,
the first name outside the encoding raised UnicodeEncodeError: a list stopped half printed, and a renewal that was
stored ended in a traceback, as if it had failed. Each test sets the encoding itself, whatever the machine's locale."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from fer_core.store import PASSPHRASE_NOT_TEXT, FamilyStore
from governance import consent
from tests.support import privacy_harness as h
from tests.support.paths import REPO

LI_LEI = "李雷"  # not in ISO-8859-1
LI_LEI_ESCAPED = "\\u674e\\u96f7"  # as the CLI writes it there: JSON's escapes, valid inside JSON strings too


def _cli(data_dir, *argv: str) -> subprocess.CompletedProcess:
    """`unveil ARGV` as a process whose stdout and stderr are ISO-8859-1 (Latin-1), as on such a terminal."""
    env = {**os.environ, "PYTHONIOENCODING": "latin-1", "UNVEIL_PASSPHRASE": h.PASSPHRASE}
    env.pop("UNVEIL_DATA_DIR", None)
    done = subprocess.run([sys.executable, "-m", "unveil.cli", *argv, "--data-dir", str(data_dir)], env=env,
                          capture_output=True, timeout=120, cwd=REPO)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode("latin-1"),
                                       done.stderr.decode("latin-1"))


@pytest.fixture
def data_dir(tmp_path):
    with h.new_store(tmp_path / "data") as store:
        h.enrol(store, "Zoë")  # in Latin-1: written as it is
        h.enrol(store, LI_LEI)
    return tmp_path / "data"


@pytest.mark.parametrize("command", [("family", "list"), ("consent", "list"), ("audit", "list")])
def test_a_list_naming_members_outside_the_terminals_encoding_is_printed_whole(data_dir, command):
    listed = _cli(data_dir, *command)
    assert (listed.returncode, "Traceback" in listed.stderr) == (0, False), listed.stderr
    lines = listed.stdout.splitlines()
    assert any(line.startswith(f"{LI_LEI_ESCAPED} ") or f" {LI_LEI_ESCAPED} " in line for line in lines)
    assert any("Zoë" in line for line in lines)


def test_a_renewal_stored_is_reported_as_done(data_dir):
    renewed = _cli(data_dir, "consent", "renew", LI_LEI, "--days", "30")
    with h.open_store(data_dir) as store:
        (person_id,) = [p for p in store.person_ids() if store.person(p).name == LI_LEI]
        record = consent.latest(store, person_id)
    assert (renewed.returncode, renewed.stderr) == (0, "")
    assert renewed.stdout.startswith(f"consent of {LI_LEI_ESCAPED} renewed until {consent.local_day(record.expires_at)}, "
                                     f"given by {LI_LEI_ESCAPED} (self)")


def test_json_naming_a_member_stays_valid_json_of_the_same_name(data_dir):
    with h.open_store(data_dir, clock=lambda: time.time() - 86400) as store:  # a day ago, for a minute: ended
        h.enrol_briefly(store, "Ольга", seconds=60)  # the sweep erases her and, with --names, names her
    swept = _cli(data_dir, "retention", "sweep", "--names")
    assert (swept.returncode, swept.stderr) == (0, "")
    assert "\\u041e\\u043b\\u044c\\u0433\\u0430" in swept.stdout
    assert [who["name"] for who in json.loads(swept.stdout)["erased"]] == ["Ольга"]
    with FamilyStore(data_dir) as store:
        store.unlock(h.PASSPHRASE)
        assert sorted(person.name for person in store.people()) == sorted(["Zoë", LI_LEI])


def test_a_passphrase_in_latin_1_is_said_to_be_one_not_a_damaged_store(data_dir, tmp_path):
    # "contraseña" from a Latin-1 file into $UNVEIL_PASSPHRASE: the CLI said the sound store "cannot be read (text in
    # the file is not valid UTF-8); restore it from a backup", and `family init` printed a traceback quoting the byte.
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("UNVEIL_DATA_DIR", None)
    for argv in (("family", "list", "--data-dir", str(data_dir)),
                 ("family", "init", "--data-dir", str(tmp_path / "new"))):
        done = subprocess.run([sys.executable, "-m", "unveil.cli", *argv], capture_output=True, timeout=120, cwd=REPO,
                              env={**env, "UNVEIL_PASSPHRASE": "contraseña segura".encode("latin-1")})
        assert (done.returncode, done.stdout, done.stderr) == (1, b"", f"error: {PASSPHRASE_NOT_TEXT}\n".encode())
    assert not (tmp_path / "new").exists()
