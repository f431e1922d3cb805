"""`unveil watch --source SRC`: a headless camera loop for a small computer in a room.

    unveil watch --source 0 --jsonl -                          # camera 0, a JSON line per frame with a face
    unveil watch --source rtsp://cam.local/stream --mqtt homeassistant.local
    unveil watch --source hallway.mp4 --jsonl faces.jsonl      # a file: as fast as it goes, then exit
    unveil watch --source 0 --jsonl - --ignore 0,0,0.3,0.4     # faces in the top-left part (a photo on the wall) left out
    UNVEIL_WATCH_SOURCE='rtsp://user:pw@cam/' unveil watch --mqtt hass.local   # a password kept out of `ps`

Faces are followed on every frame (detection on some frames, optical flow between), with a smoothed
emotion each and, when the family store can be unlocked without a prompt (--key-file, or the
passphrase in UNVEIL_PASSPHRASE), the member's name. Output: --jsonl (see unveil.watch.records) and/or
--mqtt (Home Assistant discovery, see unveil.watch.mqtt). A camera that goes away is reopened with
backoff, everyone in view leaving at once (MQTT status offline until it is back); SIGINT, SIGTERM or SIGHUP
stops the loop cleanly (everyone leaves, MQTT status offline). No frame or face image is written or sent anywhere.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from fer_core.store import owner_only
from unveil._core_dumps import forbid_core_dumps
from unveil.cli._store_args import (
    PASSPHRASE_ENV,
    add_store_arguments,
    open_unlocked_unattended,
    reports_errors,
    stop_signals_to,
)
from unveil.cli.retention import add_scheduled_receipts_argument, scheduled_receipts_refusal
from unveil.watch import DEFAULT_NODE, MQTT_PASSWORD_ENV, SOURCE_ENV

NO_SOURCE = f"unveil watch: nothing to watch: give --source, or set {SOURCE_ENV} (a stream address with a password)"
# The loop writes only its recognition counts, summed into one entry a minute (governance.recognition_tally), and
# waits this long for another session's write before keeping them for the next write: a period's counts are written
# from the loop's thread, and the store's 15 s would freeze the camera that long.
COUNT_BUSY_TIMEOUT_S = 1.0
NO_OUTPUT = "unveil watch: nothing to output: give --jsonl FILE (or - for stdout) and/or --mqtt HOST[:PORT]"
DETECT_EVERY_INVALID = "unveil watch: --detect-every must be at least 1, got {value}"
LEAVE_AFTER_INVALID = "unveil watch: --leave-after must be a number of seconds >= 0, got {value}"
IGNORE_INVALID = ("unveil watch: --ignore takes X0,Y0,X1,Y1, a part of the frame from its top-left corner, as fractions "
                  "of its width and height (0 <= X0 < X1 <= 1, 0 <= Y0 < Y1 <= 1), got {value}")
# Said at the start, so a mask left over from another camera's setup is seen in the log.
IGNORING = "faces centred in {count} part(s) of the frame are ignored (--ignore)"
MQTT_OPTION_ALONE = "unveil watch: {option} applies to --mqtt HOST[:PORT], which is not given"
JSONL_FOLDER_MISSING = "unveil watch: cannot write --jsonl {path}: the folder {folder} does not exist"
JSONL_CANNOT_WRITE = "unveil watch: cannot write --jsonl {path}: {detail}"
# The disk filled up (or refused a write) while the loop ran: it stops, with every output closed (MQTT offline).
JSONL_STOPPED = ("unveil watch: stopped at frame {frame}: --jsonl {path} could not be written ({detail}). The lines "
                 "before are kept (the last may be cut short); free some space, or give a file on another disk, and "
                 "start it again")
NO_RECOGNITION = ("unveil watch: names are not checked (give --key-file, or set {env}, to recognise family "
                  "members)")
NOBODY_NAMED_YET = ("unveil watch: nobody can be named yet (no member enrolled with the installed identity model has "
                    "a consent in force); members enrolled later are named without a restart")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "watch", help="headless camera loop: faces, emotions and names live, to JSON Lines or MQTT",
        description="Follow faces on a camera, stream or video file, entirely on this machine.",
    )
    parser.add_argument("--source", default=None,
                        help="camera index (0), stream URL (rtsp://...) or video file (read once, then exit); "
                             f"default ${SOURCE_ENV}, where a stream address with a password belongs (on the "
                             "command line every user of the machine can read it, with `ps`)")
    parser.add_argument("--jsonl", default=None, metavar="FILE",
                        help="write one JSON line per frame with a face (an empty room: one) and per event here "
                             "(- for stdout)")
    parser.add_argument("--mqtt", default=None, metavar="HOST[:PORT]",
                        help="publish events to this MQTT broker, with Home Assistant discovery (an IPv6 "
                             "address: ::1, or [::1]:PORT)")
    parser.add_argument("--mqtt-user", default=None, help=f"MQTT user name (password from ${MQTT_PASSWORD_ENV})")
    parser.add_argument("--mqtt-tls", action="store_true",
                        help="connect to the broker over TLS (default port 8883), its certificate checked against "
                             "the system's certificate authorities")
    parser.add_argument("--mqtt-ca", default=None, metavar="FILE",
                        help="connect over TLS, trusting the certificate authority in FILE (PEM): for a broker "
                             "with a certificate of your own")
    parser.add_argument("--mqtt-node", default=DEFAULT_NODE,
                        help=f"this camera's name in topics and sensor ids (default {DEFAULT_NODE})")
    parser.add_argument("--detect-every", type=int, default=None, metavar="N",
                        help="run the face detector on one frame in N (default 5); faces are followed between")
    parser.add_argument("--leave-after", type=float, default=None, metavar="S",
                        help="a face unseen for longer than S seconds has left (default 3)")
    parser.add_argument("--ignore", action="append", default=[], metavar="X0,Y0,X1,Y1",
                        help="leave out faces whose centre lies in this part of the frame (a photo on the wall, a "
                             "TV, a mirror): its corners as fractions of the width and height from the top left, "
                             "e.g. 0,0,0.3,0.4; may be repeated")
    add_store_arguments(parser)
    add_scheduled_receipts_argument(parser)
    parser.set_defaults(handler=run)


def _refusal(args: argparse.Namespace) -> str | None:
    import math

    if not (args.source or os.environ.get(SOURCE_ENV)):
        return NO_SOURCE
    if not args.jsonl and not args.mqtt:
        return NO_OUTPUT
    if not args.mqtt:  # an option for a broker that is not there would be ignored without a word
        for option, given in (("--mqtt-tls", args.mqtt_tls), ("--mqtt-ca", args.mqtt_ca), ("--mqtt-user", args.mqtt_user)):
            if given:
                return MQTT_OPTION_ALONE.format(option=option)
    if args.detect_every is not None and args.detect_every < 1:
        return DETECT_EVERY_INVALID.format(value=args.detect_every)
    if args.leave_after is not None and not (math.isfinite(args.leave_after) and args.leave_after >= 0):
        return LEAVE_AFTER_INVALID.format(value=args.leave_after)
    for value in args.ignore:
        if ignored_region(value) is None:
            return IGNORE_INVALID.format(value=value)
    if args.jsonl and args.jsonl != "-" and not Path(args.jsonl).parent.is_dir():
        return JSONL_FOLDER_MISSING.format(path=args.jsonl, folder=Path(args.jsonl).parent)
    return None


def ignored_region(value: str) -> tuple[float, float, float, float] | None:
    """An --ignore value as a fer_core.live.Region, or None when it is not one."""
    from fer_core.live import is_region

    try:
        x0, y0, x1, y1 = (float(part) for part in value.split(","))  # not four numbers: ValueError too
    except ValueError:
        return None
    return (x0, y0, x1, y1) if is_region((x0, y0, x1, y1)) else None


@reports_errors
def run(args: argparse.Namespace) -> int:
    from unveil.watch.mqtt import TLS_PORT, parse_address, tls_context
    from unveil.watch.source import parse_source

    forbid_core_dumps()  # before the store is unlocked: it stays so for the loop's life
    logging.basicConfig(level=logging.INFO, format="unveil watch: %(message)s", stream=sys.stderr)
    refusal = _refusal(args)
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    source = parse_source(args.source or os.environ[SOURCE_ENV])
    tls = tls_context(args.mqtt_ca) if args.mqtt and (args.mqtt_tls or args.mqtt_ca) else None
    address = parse_address(args.mqtt, **({"default_port": TLS_PORT} if tls else {})) if args.mqtt else None
    stop = threading.Event()
    with contextlib.ExitStack() as stack:
        # Opened before the models load (seconds): a --jsonl that cannot be written is told at once.
        try:
            jsonl = _open_jsonl(args.jsonl, stack) if args.jsonl else None
        except OSError as exc:
            print(JSONL_CANNOT_WRITE.format(path=args.jsonl, detail=exc.strerror or exc), file=sys.stderr)
            return 2
        if refusal := scheduled_receipts_refusal(args, "unveil watch"):
            print(refusal, file=sys.stderr)
            return 2
        store = _store(args, stack)
        if store is not None:  # swept now, as the app does at unlock, and once a day while the loop runs
            from governance.scheduled_sweeps import ScheduledSweeps

            sweeps = ScheduledSweeps(store, receipts_folder=args.receipts)
            sweeps.run_if_due()
            stack.enter_context(sweeps.running())
        tracker, household = _tracker(args, store)
        sinks = _sinks(args, jsonl, address, household, tls)
        _stop_on_signals(stop, stack)
        from governance.recognition_tally import RecognitionTally
        from unveil.watch.loop import watch
        from unveil.watch.records import JsonLinesWriteError

        on_recognition = None
        if household is not None:  # one "recognise" entry a minute, not one per appearance; the rest at the end
            on_recognition = stack.enter_context(RecognitionTally(store).running()).count
        try:
            summary = watch(source, tracker, sinks, stop=stop, on_recognition=on_recognition, household=household)
        except JsonLinesWriteError as exc:
            # The loop has closed its outputs (MQTT says everyone left), and the stack now closes the store.
            print(JSONL_STOPPED.format(frame=exc.frame, path=args.jsonl, detail=exc.detail), file=sys.stderr)
            return 1
    how = "stopped" if stop.is_set() else "source ended"
    print(f"unveil watch: {how} after {summary.frames} frame(s), {summary.appearances} appearance(s)",
          file=sys.stderr)
    # Events the MQTT broker never received (the sink logged how many): the run did not do all it was asked.
    return 1 if any(getattr(sink, "undelivered", 0) for sink in sinks) else 0


def _store(args: argparse.Namespace, stack: contextlib.ExitStack) -> Any:
    """The unlocked family store when it can be unlocked without a prompt (a headless loop has nobody
    to type), else None: recognition is then off and every face unknown."""
    store = open_unlocked_unattended(args, busy_timeout=COUNT_BUSY_TIMEOUT_S)
    if store is None:
        print(NO_RECOGNITION.format(env=PASSPHRASE_ENV), file=sys.stderr)
        return None
    stack.callback(store.close)
    return store


def _tracker(args: argparse.Namespace, store: Any) -> tuple[Any, Any]:
    """The live tracker over the shipped models, and the household that names faces (None without a store).
    The household is kept even while nobody can be named: it follows the store, so a member enrolled
    while the loop runs is named, and one erased or whose consent ends is no longer."""
    from fer_core.detection import FaceDetector
    from fer_core.emotion import EmotionModel
    from fer_core.live import DEFAULT_DETECT_EVERY, DEFAULT_LEAVE_AFTER_S, LiveTracker
    from unveil.watch.household import Household

    household = None
    if store is not None:
        from fer_core.identity import load_embedding_model

        household = Household(store, load_embedding_model(threads=1))
        if not household.person_ids:
            print(NOBODY_NAMED_YET, file=sys.stderr)
    # One thread per network: the loop is sequential, and on 2 cores a second thread only competes
    # with the decoder and the optical flow.
    detector = FaceDetector(min_face_size=20, threads=1, neck_check=True)
    ignore = [ignored_region(value) for value in args.ignore]  # each checked by _refusal
    if ignore:
        logging.getLogger("unveil.watch").info(IGNORING.format(count=len(ignore)))
    tracker = LiveTracker(
        detect=detector.detect, emotion_model=EmotionModel(threads=1), identify=household,
        detect_every=args.detect_every or DEFAULT_DETECT_EVERY,
        leave_after_s=DEFAULT_LEAVE_AFTER_S if args.leave_after is None else args.leave_after, ignore=ignore,
    )
    return tracker, household


def _open_jsonl(path: str, stack: contextlib.ExitStack) -> TextIO:
    """Where --jsonl writes: stdout for -, else the file, opened for writing (closed with `stack`). A new
    file is made 0600: its lines name family members and say when they were seen. A file that exists
    keeps the mode its owner gave it (another user's service may be reading it on purpose)."""
    if path == "-":
        return sys.stdout
    handle = open(path, "w", encoding="utf-8", opener=_owner_only_appending)
    stack.callback(_close_after_sink, handle)
    return handle


def _owner_only_appending(path: str, flags: int) -> int:
    """owner_only, each write going to the file's end as it is then (O_APPEND). A face in view adds about 8 MB an hour
    and the loop keeps its file for months, so it is rotated while open (logrotate's copytruncate): without O_APPEND
    the next line went to the old offset, and the emptied file was as long again at once, a hole then its lines."""
    return owner_only(path, flags | os.O_APPEND)


def _close_after_sink(handle: TextIO) -> None:
    # The sink flushed every line it wrote: what is left here is only what the disk refused, which the sink
    # reported (JsonLinesWriteError). Closing tries it again; the file is closed all the same.
    with contextlib.suppress(OSError):
        handle.close()


def _sinks(args: argparse.Namespace, jsonl: TextIO | None, address: tuple[str, int] | None,
           household: Any, tls: Any) -> list[Any]:
    from unveil.watch.records import JsonLinesSink

    sinks: list[Any] = []
    if jsonl is not None:
        sinks.append(JsonLinesSink(jsonl))
    if address is not None:
        from unveil.watch.mqtt import HomeAssistantSink

        sink = HomeAssistantSink(*address, node=args.mqtt_node, username=args.mqtt_user,
                                 password=os.environ.get(MQTT_PASSWORD_ENV),
                                 members=None if household is None else household.person_ids,
                                 names=None if household is None else household.names, tls=tls)
        sink.start()
        sinks.append(sink)
    return sinks


def _stop_on_signals(stop: threading.Event, stack: contextlib.ExitStack) -> None:
    """SIGINT, SIGTERM and SIGHUP (the terminal closed, the SSH session lost) set `stop`: the loop finishes its frame,
    everyone leaves, outputs close. SIGHUP's default ended the process at once, no one left and --jsonl cut short.
    One ignored stays so, as reports_errors leaves it: `nohup unveil watch` is meant to outlive its terminal."""
    def handler(signum: int, _frame: Any) -> None:
        logging.getLogger("unveil.watch").info("%s received, stopping", signal.Signals(signum).name)
        stop.set()

    stack.enter_context(stop_signals_to(handler))
