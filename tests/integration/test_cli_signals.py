"""Ctrl-C (SIGINT), SIGTERM (`kill`, systemd, `docker stop`) and SIGHUP (the terminal closed, the SSH session lost)
sent to the real `unveil` process at a chosen moment: the command is paused there (a method patched to print PAUSED
and wait for a line on stdin), the signal sent once PAUSED is read, then the command let go on. No timing.

Before: SIGTERM and SIGHUP ended `family backup` and `family restore` at once, leaving their hidden
.unveil-backup-partial-* / .unveil-restore-partial-* folder (a copy of the store) behind; Ctrl-C or SIGTERM while a
purge scrubbed the store's files erased the member all the same, but printed no receipt and said "nothing more was
changed"."""
from __future__ import annotations

import contextlib
import csv
import json
import os
import pty
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from fer_core.store import FamilyStore
from tests.support import privacy_harness as h
from tests.support.paths import REPO
from unveil.cli import watch as watch_cli
from unveil.cli._store_args import (  # noqa: PLC2701 (the messages under test)
    EXIT_INTERRUPTED,
    FINISHED_BEFORE_STOPPING,
    INTERRUPTED,
)
from unveil.cli.family import ROTATED_DONE

_PAUSED = textwrap.dedent("""
    import importlib, signal, sys
    module, attribute, ignored = sys.argv[1:4]
    owner, _, method = attribute.rpartition(".")
    cls = importlib.import_module(module)
    cls = getattr(cls, owner) if owner else cls
    original = getattr(cls, method)
    def paused(*args, **kwargs):
        print("PAUSED", file=sys.stderr, flush=True)
        sys.stdin.readline()
        return original(*args, **kwargs)
    setattr(cls, method, paused)
    # As a terminal starts a command, whatever started this test run: `nohup` leaves SIGHUP ignored, and a shell's
    # background job (`... &`) SIGINT, and the command keeps a signal it finds ignored ignored.
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if ignored:  # as `nohup` leaves it
        signal.signal(getattr(signal, ignored), signal.SIG_IGN)
    from unveil.cli import main
    sys.exit(main(sys.argv[4:]))
""")


def _signalled_at(where: str, signum: signal.Signals, *argv: str, ignored: str = "",
                  env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run `unveil argv...` paused at `where` (module:Class.method or module:function), send `signum` there, let it
    go on; its exit status, stdout and stderr (the PAUSED line left out)."""
    module, _, attribute = where.partition(":")
    env = {**os.environ, "PYTHONPATH": str(REPO), "UNVEIL_PASSPHRASE": h.PASSPHRASE, **(env or {})}
    process = subprocess.Popen([sys.executable, "-c", _PAUSED, module, attribute, ignored, *argv], env=env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        before = []
        while (line := process.stderr.readline()) and line != "PAUSED\n":
            before.append(line)
        assert line == "PAUSED\n", "".join(before)
        process.send_signal(signum)
        out, err = process.communicate("\n", timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, out, "".join(before) + err


def test_what_a_command_stopped_by_a_signal_says():
    assert (INTERRUPTED, EXIT_INTERRUPTED) == ("interrupted; nothing more was changed", 130)
    assert FINISHED_BEFORE_STOPPING == ("interrupted: the change under way was finished first, and is said above; "
                                        "nothing more was changed")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_backup_stopped_by_a_signal_leaves_no_copy_of_the_store_behind(tmp_path, signum):
    with h.new_store(tmp_path / "data") as store:
        h.enrol(store, "Ana Lima")
    usb = tmp_path / "usb"
    usb.mkdir()
    code, out, err = _signalled_at("fer_core.store._store:FamilyStore._check_backup", signum,
                                   "family", "backup", "--data-dir", str(tmp_path / "data"), str(usb / "b"))
    assert (code, out, err) == (EXIT_INTERRUPTED, "", INTERRUPTED + "\n")
    assert list(usb.iterdir()) == []  # nor the .unveil-backup-partial-* folder, holding the store's copy


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_restore_stopped_by_a_signal_leaves_the_data_folder_as_it_was(tmp_path, signum):
    with h.new_store(tmp_path / "data") as store:
        h.enrol(store, "Ana Lima")
        store.back_up(tmp_path / "b")
    code, out, err = _signalled_at("governance.restoring:_checked", signum,
                                   "family", "restore", "--data-dir", str(tmp_path / "new"), str(tmp_path / "b"))
    assert (code, out, err) == (EXIT_INTERRUPTED, "", INTERRUPTED + "\n")
    assert not (tmp_path / "new").exists()  # nor its .unveil-restore-partial-* folder, holding the backup's copy


def test_sighup_ignored_by_nohup_stays_ignored_and_the_backup_is_made(tmp_path):
    with h.new_store(tmp_path / "data") as store:
        h.enrol(store, "Ana Lima")
    code, _, _ = _signalled_at("fer_core.store._store:FamilyStore._check_backup", signal.SIGHUP, "family", "backup",
                               "--data-dir", str(tmp_path / "data"), str(tmp_path / "b"), ignored="SIGHUP")
    assert code == 0 and sorted(path.name for path in (tmp_path / "b").iterdir()) == ["keys.db", "unveil.db"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_purge_interrupted_while_scrubbing_finishes_and_prints_its_receipt(tmp_path, signum, capsys, monkeypatch):
    with h.new_store(tmp_path / "data") as store:
        person_id = h.enrol(store, "Ana Lima")
        h.enrol(store, "Ben Okafor")
    code, out, err = _signalled_at("fer_core.store._store:FamilyStore.scrub", signum,
                                   "family", "purge", "--data-dir", str(tmp_path / "data"), "Ana Lima", "--yes")
    assert (code, err) == (EXIT_INTERRUPTED, FINISHED_BEFORE_STOPPING + "\n")
    receipt = json.loads(out)
    assert (receipt["subject"], receipt["storage_scrubbed"]) == (person_id, True)
    with h.open_store(tmp_path / "data") as store:
        assert [person.name for person in store.people()] == ["Ben Okafor"]
    (tmp_path / "receipt.json").write_text(out)
    monkeypatch.setenv("UNVEIL_PASSPHRASE", h.PASSPHRASE)
    assert h.run_cli(capsys, "audit", "receipt", "--data-dir", str(tmp_path / "data"),
                     str(tmp_path / "receipt.json"))[0] == 0


def test_a_sweep_interrupted_while_scrubbing_prints_and_saves_its_receipts(tmp_path):
    h.new_store(tmp_path / "data").close()
    with h.open_store(tmp_path / "data", clock=lambda: time.time() - 86400) as store:
        person_id = h.enrol_briefly(store, "Ana Lima", seconds=60)  # a day ago, for a minute: ended
    code, out, err = _signalled_at("fer_core.store._store:FamilyStore.scrub", signal.SIGTERM, "retention", "sweep",
                                   "--data-dir", str(tmp_path / "data"), "--receipts", str(tmp_path / "receipts"))
    assert (code, err.splitlines()[-1]) == (EXIT_INTERRUPTED, FINISHED_BEFORE_STOPPING)
    assert [erased["id"] for erased in json.loads(out)["erased"]] == [person_id]
    (saved,) = (tmp_path / "receipts").iterdir()
    assert json.loads(saved.read_text())["subject"] == person_id


def test_a_passphrase_change_interrupted_while_scrubbing_is_said_to_be_made(tmp_path):
    # Before: "interrupted; nothing more was changed", while the new passphrase alone opened the store.
    with h.new_store(tmp_path / "data") as store:
        h.enrol(store, "Ana Lima")
    new = "a new passphrase, typed twice"
    code, out, err = _signalled_at("fer_core.store._store:FamilyStore.scrub", signal.SIGINT, "family", "passwd",
                                   "--rotate", "--data-dir", str(tmp_path / "data"),
                                   env={"UNVEIL_NEW_PASSPHRASE": new})
    assert (code, out, err) == (EXIT_INTERRUPTED, ROTATED_DONE + "\n", FINISHED_BEFORE_STOPPING + "\n")
    with FamilyStore(tmp_path / "data") as store:
        store.unlock(new)


def test_analyze_stopped_while_saving_an_annotated_copy_leaves_no_copy_cut_short(tmp_path, faces_dir):
    # Before: the copy was written under its name from the first byte; stopped there, a broken image stayed.
    album = tmp_path / "album"
    album.mkdir()
    shutil.copy(faces_dir / "Colin_Powell" / "Colin_Powell_0001.jpg", album / "IMG_0001.jpg")
    code, _, err = _signalled_at("PIL.Image:Image.save", signal.SIGTERM, "analyze", str(album), "--annotate",
                                 str(tmp_path / "annotated"), "-o", str(tmp_path / "faces.jsonl"), "--no-progress")
    assert (code, err.splitlines()[-1]) == (EXIT_INTERRUPTED, INTERRUPTED)
    assert [path.name for path in (tmp_path / "annotated").rglob("*") if path.is_file()] == []


def test_analyze_stopped_as_its_terminal_closes_still_writes_the_errors_file(tmp_path, faces_dir):
    # SIGHUP as the terminal closes: each line to stderr then raises (EIO). The summary was printed before the
    # --errors file was written, so the file stayed empty.
    album = tmp_path / "album"
    album.mkdir()
    (album / "Broken.jpg").write_bytes(b"\xff\xd8\xff")  # read first, before the pause in the next photo's analysis
    shutil.copy(faces_dir / "Colin_Powell" / "Colin_Powell_0001.jpg", album / "IMG_0001.jpg")
    errors = tmp_path / "errors.csv"
    terminal, its_side = pty.openpty()
    process = subprocess.Popen([sys.executable, "-c", _PAUSED, "fer_core.analyzer", "FaceAnalyzer.analyze", "",
                                "analyze", str(album), "-o", str(tmp_path / "faces.jsonl"), "--errors", str(errors)],
                               env={**os.environ, "PYTHONPATH": str(REPO)}, stdin=subprocess.PIPE, stdout=its_side,
                               stderr=its_side, start_new_session=True)
    os.close(its_side)
    try:
        seen = b""
        while b"PAUSED" not in seen:
            seen += os.read(terminal, 4096)
        os.close(terminal)  # the terminal window is closed
        process.send_signal(signal.SIGHUP)
        process.communicate(b"\n", timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == EXIT_INTERRUPTED
    with open(errors, newline="", encoding="utf-8") as stream:
        assert [row["path"] for row in csv.DictReader(stream)] == [str(album / "Broken.jpg")]


def test_starting_over_interrupted_while_the_new_key_is_derived_is_finished_and_said(tmp_path):
    # Before: the old store was set aside, no new one made, and "nothing more was changed" said.
    with h.new_store(tmp_path / "data") as store:
        h.enrol(store, "Ana Lima")
    new = "a new passphrase, typed twice"
    code, out, err = _signalled_at("fer_core.store._store:FamilyStore.create", signal.SIGTERM, "family", "start-over",
                                   "--yes", "--data-dir", str(tmp_path / "data"),
                                   env={"UNVEIL_PASSPHRASE": "the one forgotten", "UNVEIL_NEW_PASSPHRASE": new})
    assert (code, err) == (EXIT_INTERRUPTED, FINISHED_BEFORE_STOPPING + "\n") and out.startswith("the old store was set")
    with FamilyStore(tmp_path / "data") as store:
        store.unlock(new)
        assert store.counts()["people"] == 0


def test_sighup_stops_unveil_watch_as_sigterm_does():
    # The terminal closed under `unveil watch`: SIGHUP's default ended it at once, no one left, --jsonl cut short.
    # Raised in this process, so a handler of its own stands in for the default: left to it, the run would end here.
    stop, reached_before = threading.Event(), []
    before = signal.signal(signal.SIGHUP, lambda signum, frame: reached_before.append(signum))
    try:
        with contextlib.ExitStack() as stack:
            watch_cli._stop_on_signals(stop, stack)
            signal.raise_signal(signal.SIGHUP)
            assert stop.is_set() and reached_before == []
        signal.raise_signal(signal.SIGHUP)
        assert reached_before == [signal.SIGHUP]  # the handler before is back
    finally:
        signal.signal(signal.SIGHUP, before)


def test_sighup_ignored_by_nohup_stays_ignored_under_unveil_watch():
    # `nohup unveil watch ... &`, then the terminal closed: the loop's own SIGHUP handler replaced nohup's SIG_IGN,
    # and the camera watch meant to outlive the terminal stopped with it.
    stop, before = threading.Event(), signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with contextlib.ExitStack() as stack:
            watch_cli._stop_on_signals(stop, stack)
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            signal.raise_signal(signal.SIGHUP)
            assert not stop.is_set()
    finally:
        signal.signal(signal.SIGHUP, before)


_WITHOUT_SIGHUP = textwrap.dedent("""
    import contextlib, signal, sys, threading
    del signal.SIGHUP  # as on Windows, which has none
    import uvicorn
    import unveil.api
    unveil.api.create_app = lambda **settings: None
    uvicorn.run = lambda app, **options: print("served")
    from unveil.cli import main, watch
    with contextlib.ExitStack() as stack:
        watch._stop_on_signals(threading.Event(), stack)
    sys.exit(main(sys.argv[1:]))
""")


@pytest.mark.parametrize("argv", [("family", "list"), ("serve", "--port", "0")], ids=["family list", "serve"])
def test_the_commands_run_where_there_is_no_sighup(tmp_path, argv):
    # Windows (a platform the README installs on) has no signal.SIGHUP: naming it failed every `unveil` command with
    # an AttributeError as the CLI was imported, and `unveil serve` and `unveil watch` as they started.
    with h.new_store(tmp_path / "data") as store:
        h.enrol(store, "Ana Lima")
    env = {**os.environ, "PYTHONPATH": str(REPO), "UNVEIL_PASSPHRASE": h.PASSPHRASE}
    done = subprocess.run([sys.executable, "-c", _WITHOUT_SIGHUP, *argv, "--data-dir", str(tmp_path / "data")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert ("Ana Lima" if argv[0] == "family" else "served") in done.stdout
