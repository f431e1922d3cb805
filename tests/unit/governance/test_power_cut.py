"""The power cut right after a message (tests/support/durability.py records the calls): a deletion receipt said to be
written, a backup said to be written, a store said to be restored are on the disk, whole; a bias report written again
is the earlier one or the new one, never an empty file."""
from __future__ import annotations

import pandas as pd

from fer_core.store import DATA_FILE, KEYS_FILE
from governance import backup, erasure, receipts, restoring
from governance.bias_audit import AuditSettings, run_identity_audit, write_report
from tests.support import privacy_harness as h
from tests.support.durability import DiskCalls, needs_proc

pytestmark = needs_proc


def test_each_receipt_saved_is_whole_on_the_disk_when_save_returns(tmp_path, monkeypatch):
    # Written in place and never synced, a receipt could be an empty file after a cut, the erasure kept: the
    # person erased would hold nothing to check it with.
    with h.new_store(tmp_path / "data") as store:
        done = [erasure.purge_person(store, h.enrol(store, name)) for name in ("Ann", "Bob")]
        disk = DiskCalls(monkeypatch)
        written = receipts.save(done, tmp_path / "receipts")
    assert [disk.placed_durably(path) for path in written] == [[], []]
    assert sorted(path.name for path in (tmp_path / "receipts").iterdir()) == sorted(r.file_name() for r in done)
    assert [receipts.read(path.read_text()).digest for path in written] == [r.digest for r in done]


def test_a_restored_store_is_on_the_disk_when_restore_returns(tmp_path, monkeypatch):
    # The copy's files were linked into place unsynced: keys.db, which restoring does not write to, could be
    # empty after a cut, and the store said to be restored read as damaged.
    with h.new_store(tmp_path / "data") as store:
        h.enrol(store, "Ann")
        backup.back_up(store, tmp_path / "backup")
    disk = DiskCalls(monkeypatch)
    restoring.restore(tmp_path / "new", tmp_path / "backup", passphrase=h.PASSPHRASE).store.close()
    assert disk.placed_durably(tmp_path / "new" / DATA_FILE) == []
    assert disk.placed_durably(tmp_path / "new" / KEYS_FILE) == []


def test_a_backup_is_on_the_disk_when_back_up_returns(tmp_path, monkeypatch):
    with h.new_store(tmp_path / "data") as store:
        h.enrol(store, "Ann")
        disk = DiskCalls(monkeypatch)
        backup.back_up(store, tmp_path / "backup")
    assert disk.placed_durably(tmp_path / "backup") == []  # the folder, renamed from its hidden name once whole
    renamed = next(index for index, call in enumerate(disk.calls) if call.path == (tmp_path / "backup").resolve())
    assert {DATA_FILE, KEYS_FILE} <= {call.path.name for call in disk.calls[:renamed] if call.name == "fsync"}


def test_a_bias_report_written_again_replaces_the_earlier_one_whole(tmp_path, monkeypatch):
    # Each file was opened "w" over the earlier report: emptied first, its new bytes unsynced.
    trials = pd.DataFrame({"genuine": [True, False] * 20, "score": [0.3, 0.9] * 20, "group": ["a", "b"] * 20})
    audit = run_identity_audit(trials=trials, threshold=0.5, score_kind="distance", settings=AuditSettings(n_boot=50))
    write_report(audit, tmp_path / "report")
    disk = DiskCalls(monkeypatch)
    paths = write_report(audit, tmp_path / "report")
    assert [disk.placed_durably(path) for path in (paths.json, paths.rows, paths.html)] == [[], [], []]
    assert sorted(path.name for path in (tmp_path / "report").iterdir()) == sorted(
        path.name for path in (paths.html, paths.json, paths.rows))
