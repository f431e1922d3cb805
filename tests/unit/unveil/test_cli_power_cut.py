"""The power cut (tests/support/durability.py records the calls): a file the CLI or the API server writes aside and
renames onto its name is synced first, so a cut leaves it as it was or whole, never empty (ext4 writes a renamed
file's bytes out only seconds later), and its folder is synced after."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from governance import receipts
from tests.support import privacy_harness as h
from tests.support.durability import Call, DiskCalls, needs_proc
from unveil.api import TOKEN_ENV, TOKEN_FILE, load_or_create
from unveil.cli import (
    _resume,  # noqa: PLC2701 (the writer under test)
    main,
)
from unveil.cli.analyze import _save_annotated  # noqa: PLC2701 (the writer under test)

pytestmark = needs_proc


def test_an_annotated_copy_is_synced_before_it_is_renamed_onto_its_name(tmp_path, monkeypatch):
    # Renamed unsynced over the copy an earlier run made, a cut could leave an empty file for a whole one.
    target = tmp_path / "copies" / "photo_annotated.png"
    disk = DiskCalls(monkeypatch)
    _save_annotated(np.full((40, 60, 3), 128, np.uint8), [], target)
    assert disk.placed_durably(target) == []
    assert target.read_bytes().startswith(b"\x89PNG")


def test_an_output_rewritten_for_resume_is_synced_before_it_replaces_the_records_it_held(tmp_path, monkeypatch):
    # --resume rewrites -o without the records it drops: unsynced, a cut could leave it empty, every record lost.
    path = tmp_path / "results.jsonl"
    lines = [json.dumps({"source": f"{n}.jpg", "bytes": n, "modified": "2026-12-07T21:00:00Z", "faces": []})
             for n in range(3)]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    earlier = _resume.read(path, "jsonl", [])
    disk = DiskCalls(monkeypatch)
    _resume.replace(path, earlier, earlier.records[:2])
    assert disk.placed_durably(path) == []
    assert path.read_text(encoding="utf-8") == "".join(line + "\n" for line in lines[:2])


def test_a_new_api_token_is_on_the_disk_when_the_server_is_given_it(tmp_path, monkeypatch):
    # The token printed for clients to use: its file was synced, its name in the folder was not.
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    disk = DiskCalls(monkeypatch)
    token, made = load_or_create(tmp_path / "data")
    assert made and disk.placed_durably(tmp_path / "data" / TOKEN_FILE) == []
    assert load_or_create(tmp_path / "data") == (token, False)


@pytest.mark.parametrize(("command", "reason"), [(["family", "purge"], "request"),
                                                 (["consent", "withdraw"], "consent withdrawn")])
def test_a_deletion_receipt_printed_into_a_file_is_synced_before_the_command_returns(tmp_path, monkeypatch, command,
                                                                                       reason):
    # `unveil family purge NAME > receipt.json` (README), and `unveil consent withdraw NAME > receipt.json`: the
    # erasure was committed synced, the receipt it printed into the file was not, so a power cut right after could
    # leave the person erased an empty receipt.
    data_dir = h.cli_store(tmp_path / "data", monkeypatch, "Ann")
    path = tmp_path / "ann-receipt.json"
    with open(path, "w", encoding="utf-8") as out:
        monkeypatch.setattr(sys, "stdout", out)
        disk = DiskCalls(monkeypatch)
        code = main([*command, "Ann", "--yes", "--data-dir", str(data_dir)])
        monkeypatch.setattr(sys, "stdout", sys.__stdout__)
    assert code == 0 and Call("fsync", path.resolve()) in disk.calls
    assert receipts.read(path.read_text(encoding="utf-8")).reason == reason
