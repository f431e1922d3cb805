"""`unveil family set-aside-damaged` and `unveil family restore FOLDER`: the command-line twins of the Family page's
damaged-store path (governance.restoring), where the README had the household move files by hand: a store that fails
its checks is set aside unchanged, a backup restored into the data folder once it passes them."""
from __future__ import annotations

import contextlib
import shlex
import sqlite3

from fer_core.store import DATA_FILE, FamilyStore, set_aside_folders
from governance import restoring
from tests.support import privacy_harness as h
from unveil.cli.family import RESTORE_DONE, SET_ASIDE_DAMAGED_DONE


def test_a_damaged_store_is_set_aside_and_a_backup_restored_from_the_command_line(tmp_path, monkeypatch, capsys):
    data_dir = h.cli_store(tmp_path / "data", monkeypatch, "Ana Lima", "Ben Okafor")
    (tmp_path / "usb").mkdir()
    assert h.run_cli(capsys, "family", "backup", "--data-dir", str(data_dir), str(tmp_path / "usb" / "b"))[0] == 0
    code, _, err = h.run_cli(capsys, "family", "set-aside-damaged", "--data-dir", str(data_dir))
    assert (code, err.strip()) == (1, f"error: {restoring.NOT_DAMAGED.format(data_dir=data_dir)}")

    with contextlib.closing(sqlite3.connect(data_dir / DATA_FILE, isolation_level=None)) as conn:
        conn.execute("DELETE FROM consents")
    code, out, _ = h.run_cli(capsys, "family", "set-aside-damaged", "--data-dir", str(data_dir))
    (folder,) = set_aside_folders(data_dir)
    # The folder is quoted as a shell word, as start-over prints its set-aside folder: a path with a space reads whole.
    assert (code, out.strip()) == (0, SET_ASIDE_DAMAGED_DONE.format(folder=shlex.quote(str(folder)), data_dir=data_dir))

    code, out, _ = h.run_cli(capsys, "family", "restore", "--data-dir", str(data_dir), str(tmp_path / "usb" / "b"))
    with FamilyStore.open(data_dir) as store:
        seq = store.audit_entries()[-1].seq
    assert (code, out.strip()) == (0, RESTORE_DONE.format(folder=tmp_path / "usb" / "b", data_dir=data_dir, seq=seq,
                                                          people=2, embeddings=10, thumbnails=2, consents=2, analyses=0))
    assert h.run_cli(capsys, "family", "check", "--data-dir", str(data_dir))[0] == 0
    assert h.run_cli(capsys, "audit", "verify", "--data-dir", str(data_dir))[0] == 0
