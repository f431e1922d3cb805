"""`unveil audit receipt FILE`: the erased person's receipt checked against the store, with exit status 0 (genuine,
nothing left under its id), 1 (not, and which check failed) or 2 (FILE unreadable or not a receipt), never a name."""
from __future__ import annotations

import io
import json
import stat
import time

import pytest

from governance import audit_log, erasure, receipts
from tests.support import privacy_harness as h
from tests.support.privacy_harness import run_cli as run
from unveil.cli.audit import RECEIPT_INVALID, RECEIPT_UNREADABLE
from unveil.cli.family import PURGE_QUESTION
from unveil.cli.retention import NAMES_LEFT_OUT, RECEIPTS_NOT_SAVED, RECEIPTS_SAVED


@pytest.fixture
def purged(tmp_path, monkeypatch, capsys):
    """A store with two members, one purged with `unveil family purge`, and the receipt file it printed."""
    data_dir = h.cli_store(tmp_path / "data", monkeypatch, "Halle Berry", "Hamid Karzai")
    code, out, _ = run(capsys, "family", "purge", "Halle Berry", "--yes", "--data-dir", str(data_dir))
    assert code == 0
    (tmp_path / "receipt.json").write_text(out)
    return data_dir, tmp_path / "receipt.json"


def test_a_genuine_receipt_exits_0_with_the_checks_lines(purged, capsys):
    data_dir, path = purged
    receipt = receipts.read(path.read_text())
    assert json.loads(path.read_text())[erasure.ABOUT_FIELD] == erasure.ABOUT
    code, out, err = run(capsys, "audit", "receipt", str(path), "--data-dir", str(data_dir))
    with h.open_store(data_dir) as store:
        expected = receipts.check(store, receipt).lines()
    assert (code, out, err) == (0, "\n".join(expected) + "\n", "")
    assert expected[2] == receipts.NOTHING_HELD.format(subject=receipt.subject) and "Halle" not in out
    code, out, _ = run(capsys, "audit", "receipt", str(path), "--no-unlock", "--data-dir", str(data_dir))
    assert code == 0 and "(unlock to check the seals too)" in out.splitlines()[1]


class _Terminal(io.StringIO):
    """Standard input as a terminal where the household types its answer."""

    def isatty(self) -> bool:
        return True


def test_a_purge_confirmed_in_a_terminal_writes_the_receipt_alone_to_stdout(tmp_path, monkeypatch, capsys):
    """`unveil family purge NAME > receipt.json`, confirmed at the terminal, saves a receipt that checks: the question
    goes to stderr. Before, it went to stdout, so the household never saw it and the file began with it, which
    `unveil audit receipt` refused as not JSON (exit 2)."""
    data_dir = h.cli_store(tmp_path / "data", monkeypatch, "Halle Berry")
    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    code, out, err = run(capsys, "family", "purge", "Halle Berry", "--data-dir", str(data_dir))
    assert (code, err) == (0, PURGE_QUESTION.format(who="Halle Berry") + " [y/N] ")
    (tmp_path / "receipt.json").write_text(out)
    code, out, _ = run(capsys, "audit", "receipt", str(tmp_path / "receipt.json"), "--data-dir", str(data_dir))
    assert code == 0 and out.splitlines()[2] == receipts.NOTHING_HELD.format(subject=receipts.read(
        (tmp_path / "receipt.json").read_text()).subject)


def test_an_edited_receipt_exits_1(purged, capsys):
    data_dir, path = purged
    data = json.loads(path.read_text())
    data["records"]["embeddings"] -= 1
    path.write_text(json.dumps(data))
    code, out, _ = run(capsys, "audit", "receipt", str(path), "--data-dir", str(data_dir))
    assert code == 1 and out.splitlines()[0] == receipts.EDITED


def test_a_receipt_from_another_store_exits_1(purged, tmp_path, monkeypatch, capsys):
    _, path = purged
    other = h.cli_store(tmp_path / "other", monkeypatch, "Halle Berry")
    code, out, _ = run(capsys, "audit", "receipt", str(path), "--data-dir", str(other))
    receipt = receipts.read(path.read_text())
    assert code == 1 and out.splitlines()[0] == receipts.NOT_IN_LOG.format(seq=receipt.audit_seq,
                                                                        erased_at=receipt.erased_at)


def test_a_file_that_is_not_a_receipt_exits_2_before_the_store_is_opened(purged, tmp_path, monkeypatch, capsys):
    data_dir, _ = purged
    monkeypatch.delenv("UNVEIL_PASSPHRASE")  # never asked for: the file is refused first
    (tmp_path / "list.json").write_text("[]")
    code, out, err = run(capsys, "audit", "receipt", str(tmp_path / "list.json"), "--data-dir", str(data_dir))
    assert (code, out, err) == (2, "", RECEIPT_INVALID.format(path=tmp_path / "list.json",
                                                              reason=receipts.NOT_AN_OBJECT) + "\n")
    code, out, err = run(capsys, "audit", "receipt", str(tmp_path / "none.json"), "--data-dir", str(data_dir))
    assert (code, out, err) == (2, "", RECEIPT_UNREADABLE.format(path=tmp_path / "none.json",
                                                                 reason="No such file or directory") + "\n")


def test_checking_writes_nothing_to_the_log(purged, capsys):
    data_dir, path = purged
    with h.open_store(data_dir) as store:
        before = audit_log.entries(store)
    run(capsys, "audit", "receipt", str(path), "--data-dir", str(data_dir))
    with h.open_store(data_dir) as store:
        assert audit_log.entries(store) == before


def test_a_member_a_sweep_erases_gets_a_receipt_file_that_checks(tmp_path, monkeypatch, capsys):
    """Before, `unveil retention sweep` printed each erased member's receipt hash and entry only: without its time and
    counts no receipt could be checked, so the person a scheduled sweep erased had none to hold."""
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    data_dir = tmp_path / "data"
    with h.new_store(data_dir, clock=lambda: time.time() - 2 * 86400) as store:
        gone = h.enrol_briefly(store, "Halle Berry", 60)
        h.enrol(store, "Hamid Karzai")
    folder = tmp_path / "receipts"
    code, out, err = run(capsys, "retention", "sweep", "--receipts", str(folder), "--data-dir", str(data_dir))
    [entry] = json.loads(out)["erased"]
    [path] = list(folder.iterdir())
    receipt = receipts.read(path.read_text())
    assert (code, err) == (0, NAMES_LEFT_OUT.format(count=1) + "\n" + RECEIPTS_SAVED.format(count=1, folder=folder)
                           + "\n")
    assert (receipt.subject, receipt.digest, receipt.audit_seq) == (gone, entry["receipt"], entry["audit_entry"])
    assert path.name == receipt.file_name() and "Halle" not in path.read_text()
    assert (stat.S_IMODE(folder.stat().st_mode), stat.S_IMODE(path.stat().st_mode)) == (0o700, 0o600)
    code, out, _ = run(capsys, "audit", "receipt", str(path), "--data-dir", str(data_dir))
    assert code == 0 and out.splitlines()[2] == receipts.NOTHING_HELD.format(subject=gone)

    with h.open_store(data_dir, clock=lambda: time.time() - 3600) as store:  # a file of its name is there: kept
        h.enrol_briefly(store, "Laura Bush", 60)
    (folder / "unveil_deletion_receipt_blocked").mkdir()
    monkeypatch.setattr(erasure.ErasureReceipt, "file_name", lambda self: "unveil_deletion_receipt_blocked")
    code, out, err = run(capsys, "retention", "sweep", "--receipts", str(folder), "--data-dir", str(data_dir))
    assert code == 1 and json.loads(out)["removed"]["consent_expired"] == 1
    assert err.splitlines()[-1] == RECEIPTS_NOT_SAVED.format(reason=receipts.NOT_SAVED.format(
        path=folder, reason="File exists"))
