"""`unveil watch --jsonl FILE` when FILE's disk fills up (/dev/full refuses every write with ENOSPC): the loop stops
with one line that says so and exit status 1, not a chain of OSError tracebacks, and the family store is closed as
at any other stop: the recognition counts of the frames seen are written to its audit log."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fer_core.store import FamilyStore
from tests.support.app import FAMILY_PASSPHRASE, MEMBER, photo_path
from tests.support.watch_video import Walker, room_video
from unveil.cli import main
from unveil.cli import watch as watch_cli

pytestmark = pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")


def test_a_jsonl_file_on_a_full_disk_stops_the_loop_with_one_line_and_keeps_the_store_whole(
        faces_dir, app_models_dir, family_store_dir, tmp_path, monkeypatch, capsys):
    data_dir = tmp_path / "family"
    shutil.copytree(family_store_dir, data_dir)
    # The session's store may already hold other tests' recognition counts: only the entries this run adds count.
    before = len(_recognitions(data_dir))
    video = tmp_path / "hall.mp4"
    room_video([Walker(photo_path(faces_dir, MEMBER, 1), (320, 240))], video, seconds=1, fps=10)
    monkeypatch.setenv("UNVEIL_MODELS_DIR", str(app_models_dir))
    monkeypatch.setenv(watch_cli.PASSPHRASE_ENV, FAMILY_PASSPHRASE)
    code = main(["watch", "--source", str(video), "--jsonl", "/dev/full", "--data-dir", str(data_dir)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.splitlines()[-1] == watch_cli.JSONL_STOPPED.format(frame=0, path="/dev/full",
                                                                  detail="No space left on device")
    assert _recognitions(data_dir)[before:] == [1]


def _recognitions(data_dir: Path) -> list[int]:
    """The faces counted by each "recognise" entry of the store's audit log, once the store checks whole."""
    with FamilyStore(data_dir) as store:
        store.unlock(FAMILY_PASSPHRASE)
        assert store.check() == [] and store.verify_audit().ok
        return [e.details["faces"] for e in store.audit_entries() if e.event == "recognise"]
