"""`unveil watch` from the command line: what it refuses before loading any model, and a reader of
its stdout that goes away."""
from __future__ import annotations

import argparse
import contextlib
import errno
import os
import socket
import sqlite3
import subprocess
import sys

import pytest

from fer_core.store import DATA_FILE, StoreBusyError
from governance import family
from tests.support.app import FAMILY_PASSPHRASE, MEMBER, photo_path
from tests.support.paths import REPO
from tests.support.watch_video import Walker, room_video
from unveil.cli import EXIT_BROKEN_PIPE, main
from unveil.cli import watch as watch_cli
from unveil.watch import SOURCE_ENV
from unveil.watch import source as watch_source
from unveil.watch.mqtt import EVENTS_UNDELIVERED
from unveil.watch.source import NO_FILE, SourceError


@pytest.fixture
def no_models(monkeypatch):
    """Loading the models fails the test: what is refused must be refused before that."""
    def load(*_args):
        raise AssertionError("the models were loaded")

    monkeypatch.setattr(watch_cli, "_tracker", load)


def test_a_jsonl_folder_is_refused_before_the_models_load(tmp_path, capsys, no_models):
    video = tmp_path / "hall.mp4"
    video.write_bytes(b"never read")
    assert main(["watch", "--source", str(video), "--jsonl", str(tmp_path)]) == 2
    assert capsys.readouterr().err == watch_cli.JSONL_CANNOT_WRITE.format(path=tmp_path, detail="Is a directory") + "\n"


def test_an_unwritable_jsonl_file_is_refused_before_the_models_load(tmp_path, capsys, monkeypatch, no_models):
    video, target = tmp_path / "hall.mp4", tmp_path / "faces.jsonl"
    video.write_bytes(b"never read")
    target.write_text("yesterday's faces\n")

    # Tests run as root here, who may write anywhere: refuse this file as the kernel would refuse a user.
    def refusing_open(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(watch_cli, "open", refusing_open, raising=False)
    assert main(["watch", "--source", str(video), "--jsonl", str(target)]) == 2
    assert capsys.readouterr().err == watch_cli.JSONL_CANNOT_WRITE.format(path=target, detail="Permission denied") + "\n"
    assert target.read_text() == "yesterday's faces\n"


def test_a_source_of_digits_that_are_not_ascii_is_a_missing_file_not_a_crash(capsys, no_models):
    assert main(["watch", "--source", "²", "--jsonl", "-"]) == 1
    assert capsys.readouterr().err == "error: " + NO_FILE.format(path="²") + "\n"


def test_a_closed_stdout_stops_the_loop_quietly(faces_dir, app_models_dir, tmp_path):
    video = tmp_path / "hall.mp4"
    room_video([Walker(photo_path(faces_dir, MEMBER, 1), (320, 240))], video, seconds=2, fps=10)
    reader, writer = os.pipe()
    os.close(reader)  # as `unveil watch --jsonl - | head -0` leaves it: nobody reads
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNVEIL_")}
    env.update(PYTHONPATH=str(REPO), UNVEIL_MODELS_DIR=str(app_models_dir))
    try:
        result = subprocess.run([sys.executable, "-m", "unveil.cli", "watch", "--source", str(video), "--jsonl", "-"],
                                stdout=writer, stderr=subprocess.PIPE, env=env, text=True, timeout=300, check=False)
    finally:
        os.close(writer)
    assert result.returncode == EXIT_BROKEN_PIPE
    assert "Traceback" not in result.stderr and "Error" not in result.stderr


def test_a_run_whose_broker_never_got_its_events_exits_1_and_says_so(faces_dir, app_models_dir, tmp_path):
    video = tmp_path / "hall.mp4"
    room_video([Walker(photo_path(faces_dir, MEMBER, 1), (320, 240))], video, seconds=2, fps=10)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNVEIL_")}
    env.update(PYTHONPATH=str(REPO), UNVEIL_MODELS_DIR=str(app_models_dir))
    result = subprocess.run([sys.executable, "-m", "unveil.cli", "watch", "--source", str(video),
                             "--mqtt", f"127.0.0.1:{port}"], capture_output=True, env=env, text=True, timeout=300,
                            check=False)
    assert result.returncode == 1
    said = EVENTS_UNDELIVERED.split("{count}")
    assert said[0].format(host="127.0.0.1", port=port) in result.stderr and said[1] in result.stderr
    assert "Traceback" not in result.stderr


def test_the_loop_waits_a_second_not_fifteen_for_another_session_s_write(family_store_dir, monkeypatch):
    # The loop writes only its recognition counts, and a busy store keeps them for the next write
    # (governance.recognition_tally); waiting the store's default 15 s at a write froze the camera that long.
    monkeypatch.setenv(watch_cli.PASSPHRASE_ENV, FAMILY_PASSPHRASE)
    with contextlib.ExitStack() as stack:
        store = watch_cli._store(argparse.Namespace(data_dir=family_store_dir, key_file=None), stack)
        writer = sqlite3.connect(family_store_dir / DATA_FILE, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")  # another session's write in progress
        try:
            with pytest.raises(StoreBusyError) as busy:
                family.count_recognitions(store, [None])
        finally:
            writer.close()
    assert str(busy.value) == str(StoreBusyError(watch_cli.COUNT_BUSY_TIMEOUT_S)) and watch_cli.COUNT_BUSY_TIMEOUT_S <= 1


def test_a_new_jsonl_file_is_readable_by_its_owner_only(tmp_path, no_models):
    # The lines name family members and say when they were in the room: under the usual umask of 022 a
    # file made with open() would be readable by every user of the machine.
    video, target = tmp_path / "hall.mp4", tmp_path / "faces.jsonl"
    video.write_bytes(b"never read")
    umask = os.umask(0o022)
    try:
        with pytest.raises(AssertionError, match="the models were loaded"):  # the file is opened first
            main(["watch", "--source", str(video), "--jsonl", str(target)])
    finally:
        os.umask(umask)
    assert target.exists() and target.stat().st_mode & 0o777 == 0o600


def test_a_jsonl_file_emptied_by_a_log_rotation_gets_the_next_lines_at_its_start(tmp_path):
    # logrotate's copytruncate copies the file and truncates it while the loop keeps it open for months: written at the
    # old offset, the next line made the emptied file as long again at once (a hole, then the line).
    target = tmp_path / "faces.jsonl"
    with contextlib.ExitStack() as stack:
        out = watch_cli._open_jsonl(str(target), stack)
        out.write("a line of the first day\n")
        out.flush()
        os.truncate(target, 0)
        out.write("the next line\n")
        out.flush()
    assert target.read_bytes() == b"the next line\n"


def test_a_stream_address_with_a_password_can_come_from_the_environment(monkeypatch, capsys, no_models):
    # On the command line the address, password and all, is in /proc/PID/cmdline, which every user of
    # the machine can read for as long as the loop runs.
    url = "rtsp://admin:s3cret-pw@cam.local/live"
    given = []

    def parse(text):
        given.append(text)
        raise SourceError("stopped here")  # what matters is what the loop would open

    monkeypatch.setattr(watch_source, "parse_source", parse)
    monkeypatch.setenv(SOURCE_ENV, url)
    assert main(["watch", "--jsonl", "-"]) == 1
    assert main(["watch", "--source", "0", "--jsonl", "-"]) == 1  # the option, when given, wins
    assert given == [url, "0"]
    capsys.readouterr()
    monkeypatch.delenv(SOURCE_ENV)
    assert main(["watch", "--jsonl", "-"]) == 2
    assert capsys.readouterr().err == watch_cli.NO_SOURCE + "\n"
