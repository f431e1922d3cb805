"""`unveil watch`: the live tracker (fer_core.live) and the camera loop (unveil.watch) on real videos
made of LFW photos, with the real models, a real encrypted store and a real MQTT broker."""
from __future__ import annotations

import itertools
import json
import logging
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from fer_core.detection import FaceDetector
from fer_core.emotion import EmotionModel
from fer_core.live import APPEAR, EMOTION, LEAVE, EmotionSmoother, LiveTracker
from fer_core.model_files import identity_model_name
from fer_core.video import box_iou
from tests.support.app import FAMILY_PASSPHRASE, MEMBER, STRANGER, photo_path
from tests.support.mqtt_broker import MqttBroker
from tests.support.paths import REPO
from tests.support.watch_video import Walker, room_video
from unveil import clocks
from unveil.watch import source as watch_source
from unveil.watch.loop import watch
from unveil.watch.records import JsonLinesSink
from unveil.watch.source import CAMERA, Source, SourceError, parse_source

FPS = 15
SECONDS = 8.0
# The stranger walks in at 2 s and out at 4 s; faces count as gone after LEAVE_AFTER_S unseen.
STRANGER_IN_S, STRANGER_OUT_S = 2.0, 4.0
LEAVE_AFTER_S = 1.0


@pytest.fixture(scope="module")
def models(app_models_dir):
    """Detector and emotion model, loaded once (with UNVEIL_MODELS_DIR pointing at the test models)."""
    previous = os.environ.get("UNVEIL_MODELS_DIR")
    os.environ["UNVEIL_MODELS_DIR"] = str(app_models_dir)
    try:
        yield FaceDetector(min_face_size=20, threads=1, neck_check=True), EmotionModel(threads=1)
    finally:
        if previous is None:
            os.environ.pop("UNVEIL_MODELS_DIR")
        else:
            os.environ["UNVEIL_MODELS_DIR"] = previous


@pytest.fixture(scope="module")
def room(faces_dir, tmp_path_factory):
    """(video path, per-frame placements): the member circling on the left all along, the stranger on
    the right from 2 s to 4 s."""
    path = tmp_path_factory.mktemp("room") / "room.mp4"
    walkers = [Walker(photo_path(faces_dir, MEMBER, 1), (190, 240)),
               Walker(photo_path(faces_dir, STRANGER, 1), (450, 240), enter_s=STRANGER_IN_S, exit_s=STRANGER_OUT_S)]
    return path, room_video(walkers, path, seconds=SECONDS, fps=FPS)


def _tracker(models, **settings) -> LiveTracker:
    detector, emotion = models
    return LiveTracker(detect=detector.detect, emotion_model=emotion, leave_after_s=LEAVE_AFTER_S, **settings)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# ----------------------------------------------------------------------------- emotion smoothing


def test_the_smoothed_label_ignores_flicker_between_two_close_emotions():
    smoother = EmotionSmoother(("happy", "neutral", "sad"), window_s=1.0, hysteresis=0.1)
    changes = [smoother.update(p, i / 30) for i, p in
               enumerate([[0.48, 0.52, 0.0], [0.53, 0.47, 0.0]] * 60)]  # 4 s of a coin toss at 30 frames/s
    assert smoother.label == "neutral" and not any(changes)


def test_a_one_frame_spike_does_not_change_the_label_but_a_lasting_expression_does():
    smoother = EmotionSmoother(("happy", "neutral"), window_s=1.0, hysteresis=0.1)
    neutral, happy = [0.1, 0.9], [0.95, 0.05]
    for i in range(30):
        smoother.update(neutral, i / 30)
    assert not smoother.update(happy, 1.0) and smoother.label == "neutral"  # one happy frame
    changed_at = [i for i in range(31, 90) if smoother.update(happy, i / 30)]
    assert smoother.label == "happy" and len(changed_at) == 1
    # A lasting smile takes over within about the smoothing window, not at its first frame.
    assert 0.3 < (changed_at[0] - 30) / 30 < 1.2


def test_readings_at_an_irregular_pace_weigh_by_the_time_they_stand_for():
    a, b = EmotionSmoother(("x", "y")), EmotionSmoother(("x", "y"))
    a.update([1.0, 0.0], 0.0)
    b.update([1.0, 0.0], 0.0)
    for i in range(1, 11):  # one reading every 0.1 s...
        a.update([0.0, 1.0], i / 10)
    b.update([0.0, 1.0], 1.0)  # ...or one reading after 1 s: the same average
    assert a.probabilities == pytest.approx(b.probabilities, abs=1e-9)
    assert b.probabilities[1] == pytest.approx(1 - math.exp(-1.0))


# ----------------------------------------------------------------------------- the live tracker


def _true_face_boxes(models, photo: Path, side: int = 150) -> tuple[float, float, float, float]:
    """Where the detector puts the face in the photo as drawn in the room video (relative to its corner)."""
    detector, _ = models
    small = np.asarray(Image.open(photo).convert("RGB").resize((side, side), Image.LANCZOS))
    canvas = np.full((side + 80, side + 80, 3), 200, np.uint8)
    canvas[40:40 + side, 40:40 + side] = small
    (face,) = detector.detect(canvas)
    x, y, w, h = face.box
    return x - 40, y - 40, w, h


def test_the_tracker_follows_a_moving_face_between_detections(models, room, faces_dir):
    path, placements = room
    face = _true_face_boxes(models, photo_path(faces_dir, MEMBER, 1))
    tracker = _tracker(models, detect_every=10)
    capture = cv2.VideoCapture(str(path))
    overlaps, tracks, followed = [], set(), 0
    for index in range(len(placements)):
        ok, bgr = capture.read()
        assert ok
        frame = tracker.step(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), index / FPS)
        x, y, _, _ = placements[index][0]
        truth = (x + face[0], y + face[1], face[2], face[3])
        ious = [box_iou(f.box, truth) for f in frame.faces]
        assert ious and max(ious) > 0.5, f"frame {index}: the member's face is not followed"
        overlaps.append(max(ious))
        tracks.add(frame.faces[int(np.argmax(ious))].track)
        followed += not frame.detected
    capture.release()
    assert followed > 0.8 * len(placements)  # most frames had no detection: flow carried the box
    assert np.mean(overlaps) > 0.7
    assert tracks == {1}  # one track for the member from start to end, whatever the stranger did


def test_a_detection_centred_in_a_followed_face_continues_it_even_when_the_boxes_barely_overlap(models, faces_dir):
    detector, _ = models
    frame = np.full((480, 640, 3), 200, np.uint8)
    frame[100:350, 150:400] = np.asarray(Image.open(photo_path(faces_dir, MEMBER, 1)).convert("RGB"))
    (face,) = detector.detect(frame)
    x, y, w, h = face.box
    # The detector's box on the second frame: half the size, around the same centre (IoU 0.25).
    shrunk = type(face)((x + w / 4, y + h / 4, w / 2, h / 2), face.landmarks, face.score)
    answers = iter([[face], [shrunk]])
    tracker = LiveTracker(detect=lambda small: [_scaled(d, small.shape[1] / 640) for d in next(answers)],
                          emotion_model=models[1], detect_every=1)
    first, second = tracker.step(frame, 0.0), tracker.step(frame, 0.1)
    assert [f.track for f in first.faces] == [f.track for f in second.faces] == [1]
    assert not [e for e in second.events if e.kind == APPEAR]


def _scaled(face, scale: float):
    return type(face)(tuple(v * scale for v in face.box), face.landmarks * scale, face.score)


def test_every_frame_with_a_face_gets_a_line_and_people_appear_and_leave(models, room, tmp_path):
    path, placements = room
    out = tmp_path / "faces.jsonl"
    with open(out, "w", encoding="utf-8") as stream:
        summary = watch(parse_source(str(path)), _tracker(models), [JsonLinesSink(stream)], stop=threading.Event())
    lines = _lines(out)
    frames = [line for line in lines if "faces" in line]
    events = [line for line in lines if "event" in line]
    assert summary.frames == len(placements) and frames[0]["frame"] == 0
    # A frame is left out only after a line that said the room was empty (unveil.watch.records).
    assert all(b["frame"] == a["frame"] + 1 or (not a["faces"] and b["faces"]) for a, b in zip(frames, frames[1:]))
    assert all(f["time_s"] == pytest.approx(f["frame"] / FPS, abs=0.01) for f in frames)
    for frame in frames:
        for face in frame["faces"]:
            assert set(face) == {"track", "x", "y", "w", "h", "emotion", "probabilities", "identity"}
            assert face["identity"] is None and face["emotion"] in face["probabilities"]
            assert sum(face["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
    # Each frame's face count is the number of people drawn in it.
    visible = [sum(p is not None for p in places) for places in placements]
    assert sum(len(f["faces"]) == visible[f["frame"]] for f in frames) >= 0.95 * len(frames)
    appear = [e for e in events if e["event"] == APPEAR]
    leave = [e for e in events if e["event"] == LEAVE]
    assert [(e["track"], e["time_s"]) for e in appear] == [(1, 0.0), (2, pytest.approx(STRANGER_IN_S, abs=0.15))]
    # The stranger leaves once unseen for over LEAVE_AFTER_S; the member when the video ends.
    assert [e["track"] for e in leave] == [2, 1]
    assert STRANGER_OUT_S + LEAVE_AFTER_S <= leave[0]["time_s"] <= STRANGER_OUT_S + LEAVE_AFTER_S + 0.3
    assert leave[1]["time_s"] == frames[-1]["time_s"]
    for change in (e for e in events if e["event"] == EMOTION):
        assert change["previous"] != change["emotion"]


@pytest.fixture()
def unlocked(family_store_dir, app_models_dir):
    from fer_core.identity import load_embedding_model
    from fer_core.store import FamilyStore

    with FamilyStore(family_store_dir) as store:
        store.unlock(FAMILY_PASSPHRASE)
        yield store, load_embedding_model(Path(app_models_dir) / identity_model_name(), threads=1)


def test_a_member_is_named_and_each_appearance_is_audited_once(models, room, unlocked, tmp_path):
    from governance.family import count_recognitions
    from unveil.watch.household import Household

    store, model = unlocked
    before = len(store.audit_entries())
    out = tmp_path / "faces.jsonl"
    with open(out, "w", encoding="utf-8") as stream:
        watch(parse_source(str(room[0])), _tracker(models, identify=Household(store, model)),
              [JsonLinesSink(stream)], stop=threading.Event(),
              on_recognition=lambda person_ids: count_recognitions(store, person_ids))
    lines = _lines(out)
    appear = {e["track"]: e["identity"] for e in lines if e.get("event") == APPEAR}
    assert appear == {1: "Colin Powell", 2: None}
    named = [face["identity"] for line in lines if "faces" in line for face in line["faces"] if face["track"] == 1]
    assert len(named) > 100 and set(named) == {"Colin Powell"}
    audited = [e for e in store.audit_entries()[before:] if e.event == "recognise"]
    # Two appearances, two entries (one per appearance, not one per frame), counts only.
    assert sorted((e.details["named"], e.details["faces"]) for e in audited) == [(0, 1), (1, 1)]


def test_a_name_does_not_pass_to_whoever_stands_where_the_member_was(models, faces_dir, unlocked, tmp_path):
    # The member circles one spot until 3 s; from then on a stranger circles the very same spot (a cut, or
    # one person leaving as another arrives). The track carried the member's name and, never checked
    # again, kept naming the stranger "Colin Powell" to the end.
    store, model = unlocked
    path = tmp_path / "swap.mp4"
    cut_s = 3.0
    room_video([Walker(photo_path(faces_dir, MEMBER, 1), (320, 240), exit_s=cut_s),
                Walker(photo_path(faces_dir, STRANGER, 1), (320, 240), enter_s=cut_s)], path, seconds=8.0, fps=FPS)
    from unveil.watch.household import Household

    out = tmp_path / "faces.jsonl"
    with open(out, "w", encoding="utf-8") as stream:
        watch(parse_source(str(path)), _tracker(models, identify=Household(store, model)), [JsonLinesSink(stream)],
              stop=threading.Event())
    lines = _lines(out)
    frames = [line for line in lines if "faces" in line]
    names_before = [face["identity"] for line in frames if line["time_s"] < cut_s for face in line["faces"]]
    assert len(names_before) > 20 and set(names_before) == {"Colin Powell"}
    # Looks every second; nobody at three looks in a row unnames: the stranger is unnamed within about 3 s.
    names_after = [face["identity"] for line in frames if line["time_s"] > cut_s + 3.5 for face in line["faces"]]
    assert len(names_after) > 20 and set(names_after) == {None}
    leaves = [e for e in lines if e.get("event") == LEAVE and e["identity"] == "Colin Powell"]
    assert leaves and cut_s < leaves[0]["time_s"] <= cut_s + 3.5


class _ErasesAt:
    """A sink that, at frame `at`, erases `who` in another session: the app, in another process."""

    def __init__(self, data_dir: Path, who: str, at: int) -> None:
        self._data_dir, self._who, self._at = data_dir, who, at

    def frame(self, frame) -> None:
        from fer_core.store import FamilyStore
        from governance import family

        if frame.index == self._at:
            with FamilyStore(self._data_dir) as app:
                app.unlock(FAMILY_PASSPHRASE)
                family.purge(app, self._who)

    def events(self, events, frame: int) -> None:
        pass

    def close(self) -> None:
        pass

    def forget(self, person_ids) -> None:
        pass


def test_a_member_erased_while_in_view_is_named_no_more_from_the_next_frame(models, room, family_store_dir,
                                                                            app_models_dir, tmp_path):
    from fer_core.identity import load_embedding_model
    from fer_core.store import FamilyStore
    from unveil.watch.household import Household

    data_dir = tmp_path / "family"
    shutil.copytree(family_store_dir, data_dir)
    out = tmp_path / "faces.jsonl"
    with FamilyStore(data_dir) as store, open(out, "w", encoding="utf-8") as stream:
        store.unlock(FAMILY_PASSPHRASE)
        household = Household(store, load_embedding_model(Path(app_models_dir) / identity_model_name(), threads=1))
        watch(parse_source(str(room[0])), _tracker(models, identify=household),
              [_ErasesAt(data_dir, "Colin Powell", at=30), JsonLinesSink(stream)], stop=threading.Event(),
              household=household)
    lines = _lines(out)
    named = {line["frame"]: face["identity"] for line in lines if "faces" in line
             for face in line["faces"] if face["track"] == 1}
    assert {named[i] for i in range(31)} == {"Colin Powell"}
    assert {name for i, name in named.items() if i > 30} == {None}
    assert [e["identity"] for e in lines if e.get("event") == LEAVE and e["track"] == 1] == [None]


# ----------------------------------------------------------------------------- source: reconnect


class _Dropping:
    """A real capture of a video file that fails its reads after `frames` frames: a camera unplugged."""

    def __init__(self, path: Path, frames: int) -> None:
        self._capture, self._left, self.reads = cv2.VideoCapture(str(path)), frames, 0

    def isOpened(self) -> bool:
        return self._capture.isOpened()

    def read(self):
        self._left -= 1
        self.reads += 1
        return self._capture.read() if self._left >= 0 else (False, None)

    def get(self, prop: int) -> float:
        return self._capture.get(prop)

    def release(self) -> None:
        self._capture.release()


def _on_the_video_clock(monkeypatch, camera: _Dropping) -> None:
    """A live camera's frames are timed on the machine's clock (unveil.clocks.since_boot), so how many frames fall
    within the tracker's leave-after depended on how fast the machine ran the loop: on a busy CI machine the member
    left before the stranger. Here a frame comes each 1/FPS s, whatever the speed, as a real camera's do."""
    monkeypatch.setattr(clocks, "since_boot", lambda: camera.reads / FPS)


class _Waits(threading.Event):
    """A stop event that records each backoff wait instead of sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        return self.is_set()


def test_a_camera_that_fails_is_reopened_with_exponential_backoff(room, caplog):
    opened: list[str] = []

    def opener(source: Source):
        opened.append(str(source))
        if len(opened) <= 7 or len(opened) == 9:  # gone for 7 tries; back for 5 frames; gone once more
            return cv2.VideoCapture(str(room[0] / "absent.mp4"))
        return _Dropping(room[0], 5)

    stop = _Waits()
    got = []
    with caplog.at_level(logging.DEBUG, logger="unveil.watch"):
        for frame in watch_source.frames(Source(CAMERA, 3), stop=stop, opener=opener):
            got.append(frame)
            if len(got) == 12:
                stop.set()
    assert stop.waits == [1, 2, 4, 8, 16, 30, 30, 1, 2, 1]  # doubling, capped at 30 s, reset by frames
    assert len(got) == 12 and all(f.bgr.shape == (480, 640, 3) for f in got)
    times = [f.time_s for f in got]
    assert times == sorted(times)  # a live source's clock, not the file's
    # Each outage said once, when it starts and when it ends; every try in it was a warning (1,200 in ten hours).
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "cannot open camera 3 (attempt 1); retrying in 1 s", "camera 3 is back after 7 failed attempt(s)",
        "camera 3 stopped sending frames; reopening in 1 s", "camera 3 is back after 2 failed attempt(s)",
        "camera 3 stopped sending frames; reopening in 1 s", "camera 3 is back after 1 failed attempt(s)"]
    tries = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert tries[0] == "cannot open camera 3 (attempt 2); retrying in 2 s" and len(tries) == 6 + 1


def test_a_missing_file_is_refused(tmp_path):
    assert parse_source("0") == Source(CAMERA, 0)
    with pytest.raises(SourceError) as raised:
        parse_source(str(tmp_path / "nothing.mp4"))
    assert str(raised.value) == watch_source.NO_FILE.format(path=tmp_path / "nothing.mp4")
    (tmp_path / "notes.mp4").write_text("not a video")
    with pytest.raises(SourceError) as raised:
        list(watch_source.frames(parse_source(str(tmp_path / "notes.mp4")), stop=threading.Event()))
    assert str(raised.value) == watch_source.NOT_A_VIDEO.format(path=tmp_path / "notes.mp4")


# ----------------------------------------------------------------------------- the command


@pytest.fixture(scope="module")
def long_video(faces_dir, tmp_path_factory) -> Path:
    """Two minutes of the member circling: longer than any test lets the command run."""
    video = tmp_path_factory.mktemp("long") / "long.mp4"
    room_video([Walker(photo_path(faces_dir, MEMBER, 1), (320, 240))], video, seconds=120, fps=10)
    return video


def test_sigterm_stops_unveil_watch_cleanly_and_nothing_but_the_jsonl_is_written(long_video, app_models_dir, tmp_path):
    video = long_video
    root = tmp_path / "root"
    folders = ("home", "tmp", "work", "data", "xdg_cache", "xdg_config", "xdg_data", "xdg_state")
    for folder in folders:
        (root / folder).mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "UNVEIL_"))}
    env.update(HOME=str(root / "home"), TMPDIR=str(root / "tmp"), PYTHONPATH=str(REPO), PYTHONDONTWRITEBYTECODE="1",
               XDG_CACHE_HOME=str(root / "xdg_cache"), XDG_CONFIG_HOME=str(root / "xdg_config"),
               XDG_DATA_HOME=str(root / "xdg_data"), XDG_STATE_HOME=str(root / "xdg_state"),
               UNVEIL_DATA_DIR=str(root / "data"), UNVEIL_MODELS_DIR=str(app_models_dir))
    out = root / "work" / "faces.jsonl"
    process = subprocess.Popen([sys.executable, "-m", "unveil.cli", "watch", "--source", str(video), "--jsonl", str(out)],
                               cwd=root / "work", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if out.exists() and sum('"faces"' in line for line in out.read_text().splitlines()) >= 20:
                break
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert "SIGTERM received, stopping" in stderr and "stopped after" in stderr
    lines = _lines(out)
    frames = [line for line in lines if "faces" in line]
    assert 20 <= len(frames) < 1200  # stopped long before the video's end
    # The final lines: whoever was in view leaves.
    assert lines[-1]["event"] == LEAVE and lines[-1]["track"] == 1 and lines[-1]["frame"] == frames[-1]["frame"]
    written = {p.relative_to(root) for p in root.rglob("*") if not p.is_dir()}
    assert written == {Path("work") / "faces.jsonl"}


def test_sigterm_stops_unveil_watch_while_the_camera_is_away(app_models_dir, tmp_path):
    # The stream refuses every connection: the loop waits between attempts (1 s, 2 s, 4 s...) when SIGTERM comes.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the probe is: connections are refused
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNVEIL_")}
    env.update(PYTHONPATH=str(REPO), UNVEIL_MODELS_DIR=str(app_models_dir), UNVEIL_DATA_DIR=str(tmp_path / "data"))
    out, log = tmp_path / "faces.jsonl", tmp_path / "stderr.txt"
    with open(log, "w", encoding="utf-8") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "unveil.cli", "watch", "--source",
                                    f"rtsp://127.0.0.1:{port}/live", "--jsonl", str(out)],
                                   env=env, stdout=subprocess.DEVNULL, stderr=stderr, text=True)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and process.poll() is None and not (out.exists() and out.read_text()):
                time.sleep(0.1)  # until the loss is written: the loop then waits to try again
            process.send_signal(signal.SIGTERM)
            process.wait(60)
        finally:
            process.kill()
    said = log.read_text()
    assert process.returncode == 0, said
    assert "SIGTERM received, stopping" in said and "stopped after 0 frame(s)" in said
    # Lost before its first frame (-1): nobody to leave.
    assert _lines(out) == [{"source": "lost", "frame": -1, "time_s": 0.0}]


def test_the_command_names_members_with_the_passphrase_and_opens_no_socket_without_mqtt(
        room, family_store_dir, app_models_dir, tmp_path, monkeypatch, capsys):
    from fer_core.store import FamilyStore
    from unveil.cli import main

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    for name in ("socket", "create_connection", "getaddrinfo", "socketpair"):
        monkeypatch.setattr(socket, name, refuse)
    monkeypatch.setenv("UNVEIL_PASSPHRASE", FAMILY_PASSPHRASE)
    monkeypatch.setenv("UNVEIL_MODELS_DIR", str(app_models_dir))
    with FamilyStore(family_store_dir) as store:
        store.unlock(FAMILY_PASSPHRASE)
        before = len(store.audit_entries())
    out = tmp_path / "faces.jsonl"
    assert main(["watch", "--source", str(room[0]), "--jsonl", str(out), "--data-dir", str(family_store_dir),
                 "--leave-after", "1"]) == 0
    assert "source ended after 120 frame(s), 2 appearance(s)" in capsys.readouterr().err
    lines = _lines(out)
    assert {e["track"]: e["identity"] for e in lines if e.get("event") == APPEAR} == {1: "Colin Powell", 2: None}
    with FamilyStore(family_store_dir) as store:
        store.unlock(FAMILY_PASSPHRASE)
        # Two appearances within a minute: one entry with their summed counts (governance.recognition_tally),
        # written when the loop ended; counted per appearance, a household camera wrote thousands a day.
        counted = [e.details for e in store.audit_entries()[before:] if e.event == "recognise"]
        assert len(counted) == 1 and (counted[0]["faces"], counted[0]["named"]) == (2, 1)


def test_the_command_sweeps_when_it_starts_and_logs_counts_never_names(room, family_store_dir, app_models_dir,
                                                                         tmp_path, monkeypatch, caplog):
    """`unveil watch` runs for weeks with the store unlocked: it never swept, so a member whose consent had ended
    stayed stored until someone opened the app. It sweeps when it starts and once a day after; with --receipts, the
    member it erases gets their deletion receipt (before, none: nothing they could check)."""
    from fer_core.store import FamilyStore
    from governance import receipts
    from governance.scheduled_sweeps import REMOVED
    from tests.support.app import with_an_ended_consent
    from unveil.cli import main

    data_dir, swept_before = with_an_ended_consent(family_store_dir, tmp_path, "Zoë Quixbrandt")
    monkeypatch.setenv("UNVEIL_PASSPHRASE", FAMILY_PASSPHRASE)
    monkeypatch.setenv("UNVEIL_MODELS_DIR", str(app_models_dir))
    out, folder = tmp_path / "faces.jsonl", tmp_path / "receipts"
    caplog.set_level("INFO")
    assert main(["watch", "--source", str(room[0]), "--jsonl", str(out), "--data-dir", str(data_dir),
                 "--receipts", str(folder)]) == 0
    assert REMOVED.format(removed="1 member whose consent expired") in caplog.messages
    [path] = list(folder.iterdir())
    assert "quixbrandt" not in (caplog.text + out.read_text() + path.read_text()).lower()
    with FamilyStore(data_dir) as store:
        store.unlock(FAMILY_PASSPHRASE)
        assert [person.name for person in store.people()] == ["Colin Powell"]
        swept = [entry.details["consent_expired"] for entry in store.audit_entries() if entry.event == "sweep"]
        assert receipts.check(store, receipts.read(path.read_text())).ok
    assert swept[swept_before:] == [1]


def test_the_command_refuses_options_that_cannot_work(capsys, tmp_path, monkeypatch):
    from governance import receipts
    from unveil.cli import main, retention
    from unveil.cli import watch as watch_cli

    assert main(["watch", "--source", "0"]) == 2
    assert capsys.readouterr().err.strip() == watch_cli.NO_OUTPUT
    assert main(["watch", "--source", "0", "--jsonl", "-", "--detect-every", "0"]) == 2
    assert capsys.readouterr().err.strip() == watch_cli.DETECT_EVERY_INVALID.format(value=0)
    for option in (["--mqtt-tls"], ["--mqtt-ca", "home-ca.pem"], ["--mqtt-user", "unveil"]):
        assert main(["watch", "--source", "0", "--jsonl", "-", *option]) == 2
        assert capsys.readouterr().err.strip() == watch_cli.MQTT_OPTION_ALONE.format(option=option[0])
    monkeypatch.delenv("UNVEIL_PASSPHRASE", raising=False)  # no unattended unlock: no sweep, so no receipt
    assert main(["watch", "--source", "0", "--jsonl", "-", "--receipts", str(tmp_path / "receipts")]) == 2
    assert capsys.readouterr().err.strip() == retention.RECEIPTS_NEED_UNLOCK.format(command="unveil watch")
    assert not (tmp_path / "receipts").exists()
    monkeypatch.setenv("UNVEIL_PASSPHRASE", "checked only once the options are")
    (tmp_path / "receipts").write_text("")  # not a folder: said at start, not on the day a member is erased
    assert main(["watch", "--source", "0", "--jsonl", "-", "--receipts", str(tmp_path / "receipts")]) == 2
    assert capsys.readouterr().err.strip() == retention.RECEIPTS_FOLDER_REFUSED.format(
        command="unveil watch", reason=receipts.NOT_SAVED.format(path=tmp_path / "receipts", reason="File exists"))


def test_a_certificate_authority_that_cannot_be_read_stops_the_command_before_the_models_load(capsys, monkeypatch,
                                                                                             tmp_path):
    from unveil.cli import main
    from unveil.watch.mqtt import BAD_CA

    monkeypatch.setattr(FaceDetector, "__init__", lambda *args, **kwargs: pytest.fail("the models were loaded"))
    missing = tmp_path / "home-ca.pem"
    assert main(["watch", "--source", "0", "--mqtt", "hass.local", "--mqtt-ca", str(missing)]) == 1
    assert capsys.readouterr().err.strip() == "error: " + BAD_CA.format(path=missing, reason="No such file or directory")


# ----------------------------------------------------------------------------- MQTT / Home Assistant


@pytest.fixture()
def mqtt_broker():
    """A running MqttBroker."""
    running = MqttBroker()
    running.start()
    yield running
    running.close()


@pytest.fixture()
def broker(mqtt_broker):
    """The port of a running MQTT broker."""
    return mqtt_broker.port


def test_mqtt_publishes_home_assistant_discovery_states_and_events(models, room, unlocked, broker):
    import paho.mqtt.client as mqtt

    from unveil.watch.household import Household
    from unveil.watch.mqtt import HomeAssistantSink, member_key

    received: list[tuple[str, str, bool]] = []
    subscribed = threading.Event()
    listener = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    listener.on_message = lambda client, userdata, message: received.append(
        (message.topic, message.payload.decode(), message.retain))
    listener.on_subscribe = lambda *args: subscribed.set()
    listener.connect("127.0.0.1", broker)
    listener.subscribe("#", qos=1)
    listener.loop_start()
    try:
        assert subscribed.wait(10)
        store, model = unlocked
        sink = HomeAssistantSink("127.0.0.1", broker, node="hall")
        assert sink.start()
        watch(parse_source(str(room[0])), _tracker(models, identify=Household(store, model)), [sink],
              stop=threading.Event())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and ("unveil/hall/status", "offline") not in [(t, p) for t, p, _ in received]:
            time.sleep(0.1)
    finally:
        listener.loop_stop()
        listener.disconnect()
    topics = [t for t, _, _ in received]
    (colin,) = store.person_ids()
    key = member_key(colin, "Colin Powell")
    assert key.startswith("colin_powell_")
    config = json.loads(next(p for t, p, _ in received if t == f"homeassistant/sensor/unveil_hall_{key}/config"))
    assert config["state_topic"] == f"unveil/hall/person/{key}/state" and config["name"] == "Colin Powell emotion"
    assert config["availability_topic"] == "unveil/hall/status" and config["unique_id"] == f"unveil_hall_{key}"
    assert "homeassistant/sensor/unveil_hall_unknown/config" in topics
    states = [p for t, p, _ in received if t == f"unveil/hall/person/{key}/state"]
    assert states[0] in model_classes(models) and states[-1] == "away"
    unknown = [p for t, p, _ in received if t == "unveil/hall/unknown/state"]
    assert unknown[-3:] == ["0", "1", "0"]  # the stranger came and went
    events = [json.loads(p) for t, p, _ in received if t == "unveil/hall/events"]
    assert [(e["event"], e["identity"]) for e in events if e["event"] in (APPEAR, LEAVE)] == [
        (APPEAR, "Colin Powell"), (APPEAR, None), (LEAVE, None), (LEAVE, "Colin Powell")]
    status = [p for t, p, _ in received if t == "unveil/hall/status"]
    assert status[0] == "online" and status[-1] == "offline"


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A household's own certificate authority and the broker's certificate it signed, for 127.0.0.1 (as
    `openssl req -x509` then `openssl x509 -req` make them): (CA, broker certificate, broker key), PEM."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("Home CA")).issuer_name(name("Home CA"))
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    broker = (x509.CertificateBuilder().subject_name(name("broker")).issuer_name(ca.subject)
              .public_key(key.public_key()).serial_number(2).not_valid_before(now - datetime.timedelta(days=1))
              .not_valid_after(now + datetime.timedelta(days=30))
              .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                             critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.pem", folder / "broker.pem", folder / "broker.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(broker.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def test_over_tls_the_sink_trusts_the_household_ca_and_says_why_it_cannot_connect_without_it(tmp_path, caplog):
    import paho.mqtt.client as mqtt

    from unveil.watch import mqtt as sink_module
    from unveil.watch.mqtt import HomeAssistantSink, member_key, tls_context

    ca, certificate, key = _certificates(tmp_path)
    tls_broker = MqttBroker(tls=(certificate, key))
    tls_broker.start()
    try:
        with caplog.at_level(logging.WARNING, logger="unveil.watch"):
            untrusted = HomeAssistantSink("127.0.0.1", tls_broker.port, node="hall", tls=tls_context())
            assert not untrusted.start(wait_s=1.0)  # the system's authorities do not know the household's
            untrusted.close()
        (warning,) = [r.getMessage() for r in caplog.records if "TLS" in r.getMessage()]
        assert warning.startswith(f"MQTT broker 127.0.0.1:{tls_broker.port}: the TLS connection failed (") \
            and "certificate" in warning and warning.endswith("); paho keeps trying")
        assert not any(sink_module.PLAINTEXT[:20] in r.getMessage() for r in caplog.records)

        sink = HomeAssistantSink("127.0.0.1", tls_broker.port, node="hall", tls=tls_context(str(ca)))
        assert sink.start()
        sink.events(_ana_comes_and_goes_with_a_stranger()[:1], 0)
        got: dict[str, str] = {}
        listener = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)  # Home Assistant, trusting the same CA
        listener.tls_set(ca_certs=str(ca))
        listener.on_message = lambda c, u, message: got.__setitem__(message.topic, message.payload.decode())
        listener.connect("127.0.0.1", tls_broker.port)
        listener.subscribe("#", qos=1)
        listener.loop_start()
        state = _member_topics(member_key(ANA, "Ana"))[1]
        deadline = time.monotonic() + 10
        while state not in got and time.monotonic() < deadline:
            time.sleep(0.1)
        listener.loop_stop()
        listener.disconnect()
        sink.close()
        assert got[state] == "happy" and sink.undelivered == 0
    finally:
        tls_broker.close()


def model_classes(models) -> tuple[str, ...]:
    return models[1].classes


ANA, BRUNO = "a" * 32, "b" * 32  # members' ids, as random as the store's look


def _retained(port: int, until=lambda got: True, timeout_s: float = 20.0) -> dict[str, str]:
    """The retained messages a client subscribing now gets (topic -> payload), once `until(them)` holds
    or `timeout_s` passed: what Home Assistant reads when it (re)starts."""
    deadline = time.monotonic() + timeout_s
    while True:
        got = _retained_now(port)
        if until(got) or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def _retained_now(port: int) -> dict[str, str]:
    import paho.mqtt.client as mqtt

    got: dict[str, str] = {}
    subscribed = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = lambda c, u, message: got.__setitem__(message.topic, message.payload.decode()) \
        if message.retain else None
    client.on_subscribe = lambda *args: subscribed.set()
    client.connect("127.0.0.1", port)
    client.subscribe("#", qos=1)
    client.loop_start()
    subscribed.wait(10)
    time.sleep(0.5)  # retained messages follow the subscription's acknowledgement
    client.loop_stop()
    client.disconnect()
    return got


def _member_topics(key: str) -> tuple[str, str]:
    return f"homeassistant/sensor/unveil_hall_{key}/config", f"unveil/hall/person/{key}/state"


def _ana_comes_and_goes_with_a_stranger() -> list:
    from fer_core.live import LiveEvent

    return [LiveEvent(APPEAR, 1, 0.0, "Ana", "happy", person_id=ANA),
            LiveEvent(EMOTION, 1, 1.0, "Ana", "sad", previous="happy", person_id=ANA),
            LiveEvent(APPEAR, 2, 1.0, None, "neutral"), LiveEvent(LEAVE, 2, 2.0, None, "neutral"),
            LiveEvent(EMOTION, 1, 2.0, "Ana", "happy", previous="sad", person_id=ANA),
            LiveEvent(LEAVE, 1, 3.0, "Ana", "happy", person_id=ANA)]


def test_the_first_connection_sends_every_current_state_though_the_queue_overflowed(mqtt_broker, monkeypatch):
    from unveil.watch import mqtt
    from unveil.watch.mqtt import HomeAssistantSink, member_key

    monkeypatch.setattr(mqtt, "MAX_QUEUED", 2)  # paho refuses the newest messages beyond it
    mqtt_broker.stop()
    sink = HomeAssistantSink("127.0.0.1", mqtt_broker.port, node="hall")
    try:
        assert not sink.start(wait_s=0.2)
        sink.events(_ana_comes_and_goes_with_a_stranger(), 0)  # all while the broker is away
        mqtt_broker.start()
        config, state = _member_topics(member_key(ANA, "Ana"))
        got = _retained(mqtt_broker.port, until=lambda got: state in got)
    finally:
        sink.close()
    assert got[state] == "away" and got["unveil/hall/unknown/state"] == "0" and got["unveil/hall/status"] == "online"
    assert json.loads(got[config])["name"] == "Ana emotion" and "homeassistant/sensor/unveil_hall_unknown/config" in got


def test_events_the_broker_never_got_are_counted_and_said_at_close(mqtt_broker, caplog):
    # A file source with the broker away: the events were queued, then lost with the process while the
    # run ended as if all went.
    from unveil.watch.mqtt import EVENTS_UNDELIVERED, HomeAssistantSink

    events = _ana_comes_and_goes_with_a_stranger()
    reached = HomeAssistantSink("127.0.0.1", mqtt_broker.port, node="hall")
    assert reached.start()
    reached.events(events, 0)
    reached.close()
    assert reached.undelivered == 0
    mqtt_broker.stop()
    away = HomeAssistantSink("127.0.0.1", mqtt_broker.port, node="hall")
    assert not away.start(wait_s=0.2)
    with caplog.at_level(logging.WARNING, logger="unveil.watch"):
        away.events(events, 0)
        away.close()
    assert away.undelivered == len(events)
    assert EVENTS_UNDELIVERED.format(host="127.0.0.1", port=mqtt_broker.port, count=len(events)) in caplog.messages


def test_after_a_broker_restart_home_assistant_reads_the_states_of_now_not_of_the_outage(mqtt_broker, monkeypatch):
    from fer_core.live import LiveEvent
    from unveil.watch import mqtt
    from unveil.watch.mqtt import HomeAssistantSink, member_key

    monkeypatch.setattr(mqtt, "MAX_QUEUED", 8)  # room for what is in flight while connected; not for the outage
    config, state = _member_topics(member_key(ANA, "Ana"))
    sink = HomeAssistantSink("127.0.0.1", mqtt_broker.port, node="hall")
    try:
        assert sink.start()
        sink.events([LiveEvent(APPEAR, 1, 0.0, "Ana", "neutral", person_id=ANA)], 0)
        assert _retained(mqtt_broker.port, until=lambda got: got.get(state) == "neutral")[state] == "neutral"
        mqtt_broker.stop()  # without persistence: every retained message is lost
        time.sleep(1.0)
        sink.events(_ana_comes_and_goes_with_a_stranger(), 1)
        mqtt_broker.start()
        got = _retained(mqtt_broker.port, until=lambda got: state in got)
        time.sleep(1.0)  # anything paho still had queued from the outage has arrived by now
        again = _retained(mqtt_broker.port)
    finally:
        sink.close()
    for retained in (got, again):
        assert retained[state] == "away" and retained["unveil/hall/unknown/state"] == "0"
        assert retained["unveil/hall/status"] == "online" and config in retained


def test_a_member_who_may_no_longer_be_named_loses_their_sensor(broker):
    import paho.mqtt.client as mqtt_client

    from fer_core.live import LiveEvent
    from unveil.watch.mqtt import HomeAssistantSink, member_key

    ana_config, ana_state = _member_topics(member_key(ANA, "Ana"))
    bruno_config, bruno_state = _member_topics(member_key(BRUNO, "Bruno"))
    cleared: list[str] = []
    listener = mqtt_client.Client(mqtt_client.CallbackAPIVersion.VERSION2)
    listener.on_message = lambda c, u, message: cleared.append(message.topic) if not message.payload else None
    listener.connect("127.0.0.1", broker)
    listener.subscribe("#", qos=1)
    listener.loop_start()
    sink = HomeAssistantSink("127.0.0.1", broker, node="hall")
    try:
        assert sink.start()
        sink.events([LiveEvent(APPEAR, 1, 0.0, "Ana", "happy", person_id=ANA),
                     LiveEvent(APPEAR, 2, 0.0, "Bruno", "sad", person_id=BRUNO)], 0)
        assert {ana_state, bruno_state} <= set(_retained(broker, until=lambda got: bruno_state in got))
        sink.forget(frozenset({ANA}))  # erased in the app meanwhile; the loop un-named her face
        got = _retained(broker, until=lambda got: ana_state not in got)
    finally:
        sink.close()
        listener.loop_stop()
        listener.disconnect()
    assert ana_config not in got and ana_state not in got
    assert got[bruno_state] == "sad" and bruno_config in got
    assert got["unveil/hall/unknown/state"] == "1"  # her face is still in view, unnamed now
    assert {ana_config, ana_state} <= set(cleared)  # the empty payloads Home Assistant removes an entity by



def test_a_removal_the_broker_acknowledged_is_not_sent_again_when_it_comes_back(mqtt_broker):
    # The two empty messages of every erased member were kept for the life of the process and sent again at
    # every reconnection.
    import paho.mqtt.client as mqtt_client

    from fer_core.live import LiveEvent
    from unveil.watch.mqtt import HomeAssistantSink, member_key

    ana_topics = set(_member_topics(member_key(ANA, "Ana")))
    bruno_state = _member_topics(member_key(BRUNO, "Bruno"))[1]
    received: list[tuple[str, str]] = []
    listener = mqtt_client.Client(mqtt_client.CallbackAPIVersion.VERSION2)
    listener.on_connect = lambda client, *args: client.subscribe("#", qos=1)  # again after the restart
    listener.on_message = lambda c, u, message: received.append((message.topic, message.payload.decode()))
    listener.connect("127.0.0.1", mqtt_broker.port)
    listener.loop_start()
    sink = HomeAssistantSink("127.0.0.1", mqtt_broker.port, node="hall", members=frozenset({ANA, BRUNO}))
    try:
        assert sink.start()
        sink.events([LiveEvent(APPEAR, 1, 0.0, "Ana", "happy", person_id=ANA),
                     LiveEvent(APPEAR, 2, 0.0, "Bruno", "sad", person_id=BRUNO)], 0)
        assert _retained(mqtt_broker.port, until=lambda got: bruno_state in got)[bruno_state] == "sad"
        sink.forget(frozenset({ANA}))
        got = _retained(mqtt_broker.port, until=lambda got: not ana_topics & set(got))
        assert not ana_topics & set(got)
        time.sleep(0.5)  # the acknowledgements are in
        mqtt_broker.stop()
        received.clear()
        mqtt_broker.start()
        got = _retained(mqtt_broker.port, until=lambda got: got.get(bruno_state) == "sad")
        time.sleep(1.0)  # whatever the sink sends at its connection has arrived by now
    finally:
        sink.close()
        listener.loop_stop()
        listener.disconnect()
    assert got[bruno_state] == "sad" and got["unveil/hall/status"] == "online" and not ana_topics & set(got)
    assert ("unveil/hall/status", "online") in received  # the listener saw the sink's connection
    assert not [topic for topic, _ in received if topic in ana_topics]


def test_a_member_erased_while_home_assistant_was_down_is_removed_from_it_when_it_says_it_started(broker):
    # Home Assistant 2026.2.3, stopped while Ana was erased, showed "Ana emotion" unavailable for good once started
    # again: the broker keeps no empty message, and an empty config for an entity not sent since it started does
    # nothing. Here a client stands for it: subscribed to discovery as it is at its start, then its birth message.
    import paho.mqtt.client as mqtt_client

    from fer_core.live import LiveEvent
    from unveil.watch.mqtt import HomeAssistantSink, member_key

    ana_config, ana_state = _member_topics(member_key(ANA, "Ana"))
    sink = HomeAssistantSink("127.0.0.1", broker, node="hall", members=frozenset({ANA}))
    received: list[tuple[str, str, bool]] = []
    subscribed = threading.Event()
    home_assistant = mqtt_client.Client(mqtt_client.CallbackAPIVersion.VERSION2)
    home_assistant.on_message = lambda c, u, message: received.append(
        (message.topic, message.payload.decode(), message.retain))
    home_assistant.on_subscribe = lambda *args: subscribed.set()
    try:
        assert sink.start()
        sink.events([LiveEvent(APPEAR, 1, 0.0, "Ana", "happy", person_id=ANA)], 0)
        assert ana_state in _retained(broker, until=lambda got: ana_state in got)
        sink.forget(frozenset({ANA}))  # while Home Assistant is down
        assert ana_config not in _retained(broker, until=lambda got: ana_config not in got)
        home_assistant.connect("127.0.0.1", broker)
        home_assistant.subscribe("homeassistant/sensor/+/config", qos=0)
        home_assistant.loop_start()
        assert subscribed.wait(10)
        home_assistant.publish("homeassistant/status", "online", qos=0, retain=False)  # its birth message
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (ana_config, "", False) not in received:
            time.sleep(0.1)
    finally:
        sink.close()
        home_assistant.loop_stop()
        home_assistant.disconnect()
    ana = [(payload, retain) for topic, payload, retain in received if topic == ana_config]
    assert len(ana) == 2 and not ana[0][1] and ana[1] == ("", False)  # live, so not flagged retained
    stand_in = json.loads(ana[0][0])
    assert stand_in["unique_id"] == f"unveil_hall_{member_key(ANA, 'Ana')}" and "Ana" not in ana[0][0]
    assert ana_config not in _retained(broker)  # nothing is left on the broker


def test_a_killed_watch_is_reported_offline_by_its_last_will(long_video, app_models_dir, broker, tmp_path):
    import paho.mqtt.client as mqtt

    statuses: list[str] = []
    listener = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    listener.on_message = lambda client, userdata, message: statuses.append(message.payload.decode())
    listener.connect("127.0.0.1", broker)
    listener.subscribe("unveil/porch/status", qos=1)
    listener.loop_start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNVEIL_")}
    env.update(PYTHONPATH=str(REPO), UNVEIL_MODELS_DIR=str(app_models_dir), UNVEIL_DATA_DIR=str(tmp_path / "data"))
    process = subprocess.Popen([sys.executable, "-m", "unveil.cli", "watch", "--source", str(long_video),
                                "--mqtt", f"127.0.0.1:{broker}", "--mqtt-node", "porch"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and "online" not in statuses and process.poll() is None:
            time.sleep(0.1)
        assert statuses[-1:] == ["online"]
        process.kill()  # no chance to say goodbye: the broker publishes the last will
        process.wait(30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and statuses[-1] != "offline":
            time.sleep(0.1)
    finally:
        process.kill()
        listener.loop_stop()
        listener.disconnect()
    assert statuses[-2:] == ["online", "offline"]


def test_states_an_earlier_run_left_are_away_and_a_member_erased_meanwhile_loses_their_sensor(broker, caplog):
    # A run killed while Ana and Bruno were in view left their emotions retained; Ana was erased before the
    # next start. That run went online with both shown at home, and her sensor, named after her, stayed on
    # the broker for good: only a member seen in the run that erased them lost theirs.
    import paho.mqtt.client as mqtt_client

    from unveil.watch.mqtt import EARLIER_SENSOR_REMOVED, EARLIER_STATE_AWAY, HomeAssistantSink, member_key

    ana_config, ana_state = _member_topics(member_key(ANA, "Ana"))
    bruno_config, bruno_state = _member_topics(member_key(BRUNO, "Bruno"))
    earlier = mqtt_client.Client(mqtt_client.CallbackAPIVersion.VERSION2)
    earlier.connect("127.0.0.1", broker)
    earlier.loop_start()
    for topic, payload in ((ana_config, json.dumps({"name": "Ana emotion"})), (ana_state, "happy"),
                           (bruno_config, json.dumps({"name": "Bruno emotion"})), (bruno_state, "sad")):
        earlier.publish(topic, payload, qos=1, retain=True).wait_for_publish(10)
    earlier.loop_stop()
    earlier.disconnect()
    sink = HomeAssistantSink("127.0.0.1", broker, node="hall", members=frozenset({BRUNO}))
    try:
        with caplog.at_level(logging.INFO, logger="unveil.watch"):
            assert sink.start()
            got = _retained(broker, until=lambda got: ana_state not in got and got.get(bruno_state) == "away")
        assert ana_config not in got and ana_state not in got
        assert got[bruno_state] == "away" and bruno_config in got
        assert EARLIER_SENSOR_REMOVED in caplog.messages and EARLIER_STATE_AWAY in caplog.messages
        sink.forget(frozenset({BRUNO}))  # his consent ends while the loop runs, before he is seen
        got = _retained(broker, until=lambda got: bruno_state not in got)
    finally:
        sink.close()
    assert bruno_config not in got and bruno_state not in got
    assert not [topic for topic in got if "ana" in topic or "bruno" in topic]


def test_a_member_renamed_between_two_runs_loses_the_sensor_under_their_old_name(broker, family_store_dir,
                                                                                  app_models_dir, tmp_path):
    # `unveil family rename` between two runs of `unveil watch --mqtt`: the sensor "Colin Powell emotion" that the
    # first run left stayed on the broker, 'away' for good, beside the one the next run made under the new name.
    import argparse

    import paho.mqtt.client as mqtt_client

    from fer_core.identity import load_embedding_model
    from fer_core.store import FamilyStore
    from governance import family
    from unveil.cli.watch import _sinks  # noqa: PLC2701 (where the command makes its MQTT sink)
    from unveil.watch.household import Household
    from unveil.watch.mqtt import member_key

    data_dir = tmp_path / "store"
    shutil.copytree(family_store_dir, data_dir)
    with FamilyStore(data_dir) as store:
        store.unlock(FAMILY_PASSPHRASE)
        colin = family.rename(store, "Colin Powell", "Colin Luther Powell").person_id
        old_config, old_state = _member_topics(member_key(colin, "Colin Powell"))
        earlier = mqtt_client.Client(mqtt_client.CallbackAPIVersion.VERSION2)
        earlier.connect("127.0.0.1", broker)
        earlier.loop_start()
        for topic, payload in ((old_config, json.dumps({"name": "Colin Powell emotion"})), (old_state, "happy")):
            earlier.publish(topic, payload, qos=1, retain=True).wait_for_publish(10)
        earlier.loop_stop()
        earlier.disconnect()
        household = Household(store, load_embedding_model(Path(app_models_dir) / identity_model_name(), threads=1))
        (sink,) = _sinks(argparse.Namespace(mqtt_node="hall", mqtt_user=None), None, ("127.0.0.1", broker), household,
                         None)
        try:
            got = _retained(broker, until=lambda got: old_state not in got and old_config not in got)
        finally:
            sink.close()
    assert old_config not in got and old_state not in got


def test_a_sink_closed_on_purpose_does_not_say_the_broker_went_away(mqtt_broker, caplog):
    # Every run that ended well warned "MQTT broker disconnected (Normal disconnection); paho reconnects".
    from unveil.watch.mqtt import DISCONNECTED, HomeAssistantSink

    # Logged in: a broker that lets anyone in is warned of (mqtt.ANONYMOUS), which is not what this is about.
    sink = HomeAssistantSink("127.0.0.1", mqtt_broker.port, node="hall", username="unveil", password="pw")
    with caplog.at_level(logging.INFO, logger="unveil.watch"):
        assert sink.start()
        sink.close()
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert not [message for message in caplog.messages if message.startswith(DISCONNECTED.split("(")[0])]
    caplog.clear()
    broken = HomeAssistantSink("127.0.0.1", mqtt_broker.port, node="porch")
    try:
        assert broken.start()
        with caplog.at_level(logging.WARNING, logger="unveil.watch"):
            broken._on_disconnect(None, None, None, "Unspecified error", None)  # the connection broke meanwhile
    finally:
        broken.close()
    assert DISCONNECTED.format(reason="Unspecified error") in caplog.messages


class _Outage(threading.Event):
    """The stop event of a camera that goes away: each backoff wait runs the next of `steps` (without sleeping) and
    the loop stops after the last."""

    def __init__(self, steps: list) -> None:
        super().__init__()
        self._steps = steps

    def wait(self, timeout: float | None = None) -> bool:
        self._steps.pop(0)()
        if not self._steps:
            self.set()
        return self.is_set()


def test_a_camera_that_goes_away_ends_every_visit_at_once_and_home_assistant_shows_it_unavailable(
        models, room, family_store_dir, app_models_dir, mqtt_broker, tmp_path, monkeypatch):
    # The camera (Colin Powell in view) fails its reads after 20 frames, cannot be opened for 3 tries (an hour on the
    # loop's clock), comes back for 5 frames, and fails again. No frame came during the outage, so nobody left: the
    # broker held "online" and his emotion, and neither the JSON Lines nor the events said anything until a frame came;
    # nor was his erasure meanwhile applied. A camera gone for the night kept him "home" in Home Assistant all night.
    import paho.mqtt.client as mqtt_client

    from fer_core.identity import load_embedding_model
    from fer_core.store import FamilyStore
    from governance import family
    from unveil.watch.household import Household
    from unveil.watch.mqtt import HomeAssistantSink, member_key

    data_dir = tmp_path / "family"
    shutil.copytree(family_store_dir, data_dir)
    opened: list[int] = []

    def opener(source: Source):
        opened.append(len(opened))
        return _Dropping(room[0], 20 if len(opened) == 1 else 5) if len(opened) in (1, 5) else \
            cv2.VideoCapture(str(room[0] / "absent.mp4"))

    received: list[tuple[str, str]] = []
    listener = mqtt_client.Client(mqtt_client.CallbackAPIVersion.VERSION2)
    listener.on_message = lambda client, userdata, message: received.append((message.topic, message.payload.decode()))
    listener.connect("127.0.0.1", mqtt_broker.port)
    listener.subscribe("unveil/hall/+/+/state", qos=1)
    listener.subscribe("unveil/hall/status", qos=1)
    listener.loop_start()
    seen: dict[str, dict[str, str]] = {}

    # The loop reads the clock once as it starts and once a frame: a frame each 1/FPS s, whatever the machine's speed
    # (_on_the_video_clock says why), and the hour away added by the erasure below.
    ticks, away_s = itertools.count(), [0.0]
    monkeypatch.setattr(clocks, "since_boot", lambda: next(ticks) / FPS + away_s[0])

    def erase() -> None:
        away_s[0] = 3600.0
        with FamilyStore(data_dir) as app:
            app.unlock(FAMILY_PASSPHRASE)
            family.purge(app, "Colin Powell")

    out = tmp_path / "faces.jsonl"
    try:
        with FamilyStore(data_dir) as store, open(out, "w", encoding="utf-8") as stream:
            store.unlock(FAMILY_PASSPHRASE)
            (colin,) = store.person_ids()
            config, state = _member_topics(member_key(colin, "Colin Powell"))
            household = Household(store, load_embedding_model(Path(app_models_dir) / identity_model_name(), threads=1))
            sink = HomeAssistantSink("127.0.0.1", mqtt_broker.port, node="hall")
            assert sink.start()
            steps = [lambda: seen.__setitem__("outage", _retained(mqtt_broker.port, until=lambda got: got.get(
                         "unveil/hall/status") == "offline" and got.get(state) == "away")),
                     erase,  # in the app, while the camera is away
                     lambda: seen.__setitem__("erased", _retained(mqtt_broker.port, until=lambda got: not {
                         config, state} & got.keys())),
                     lambda: None, lambda: None]
            summary = watch(Source(CAMERA, 0), _tracker(models, identify=household), [JsonLinesSink(stream), sink],
                            stop=_Outage(steps), household=household, opener=opener)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and received[-1:] != [("unveil/hall/status", "offline")]:
            time.sleep(0.1)
    finally:
        listener.loop_stop()
        listener.disconnect()
    statuses = [payload for topic, payload in received if topic == "unveil/hall/status"]
    assert summary.frames == 25
    # During the outage: everyone left, and Home Assistant shows the sensors unavailable rather than "away".
    assert seen["outage"]["unveil/hall/status"] == "offline" and seen["outage"][state] == "away"
    assert seen["outage"]["unveil/hall/unknown/state"] == "0"
    assert config not in seen["erased"] and state not in seen["erased"]  # erased during it: his sensor went then
    # (The close writes "offline" once more.)
    assert [s for i, s in enumerate(statuses) if statuses[i - 1:i] != [s]] == ["online", "offline", "online", "offline"]
    # "offline" first: Home Assistant never sees him "away" (an automation's "left home") before the sensor goes
    # unavailable.
    assert received.index(("unveil/hall/status", "offline")) < received.index((state, "away"))
    lines = _lines(out)
    last_time_s = max(line["time_s"] for line in lines if "faces" in line and line["frame"] < 20)
    sources = [(line["source"], line["frame"]) for line in lines if "source" in line]
    assert sources == [("lost", 19), ("back", 20), ("lost", 24)]
    # The loss is said with the last frame the camera gave, and he left then, at its time; not at the recovery.
    lost_at = lines.index({"source": "lost", "frame": 19, "time_s": last_time_s})
    assert [(e["event"], e["identity"], e["time_s"]) for e in lines if e.get("event") == LEAVE][:1] == [
        (LEAVE, "Colin Powell", last_time_s)]
    assert lines[lost_at + 1] == {"event": LEAVE, "frame": 19, "time_s": last_time_s, "track": 1,
                                  "identity": "Colin Powell", "emotion": lines[lost_at + 1]["emotion"]}
    assert lines[lost_at + 2] == {"source": "back", "frame": 20, "time_s": lines[lost_at + 2]["time_s"]}
    assert lines[lost_at + 2]["time_s"] > last_time_s + 3600
    # Not again an hour later at the first frame back, as the tracker's rule for a gap in the frames would have it.
    assert [e["identity"] for e in lines if e.get("event") == LEAVE] == ["Colin Powell", None]
    after = [e for e in lines[lost_at + 2:] if e.get("event") == APPEAR]
    assert after and {e["identity"] for e in after} == {None}  # a new face, no longer named


class _Resized(_Dropping):
    """A camera whose frames change size after `frames` of them (a firmware's day/night switch): the room video's,
    then scaled by `scale`."""

    def __init__(self, path: Path, frames: int, scale: float) -> None:
        super().__init__(path, 10 ** 6)
        self._before, self._scale = frames, scale

    def read(self):
        ok, bgr = super().read()
        self._before -= 1
        if ok and self._before < 0:
            bgr = cv2.resize(bgr, None, fx=self._scale, fy=self._scale, interpolation=cv2.INTER_AREA)
        return ok, bgr


@pytest.mark.parametrize("scale", [0.5, 1.5])
def test_a_camera_whose_frame_size_changes_mid_stream_goes_on_following_the_face(models, room, tmp_path, scale,
                                                                                 monkeypatch):
    # Optical flow cannot follow a face across a change of size (fer_core.live's _follow counts it lost, and the frame
    # is detected). The tracks kept their boxes in the old size's pixels, where no detection met them: the member
    # left a second later and came back as a new face (a second appear, and a stranger counted twice meanwhile).
    out, camera = tmp_path / "faces.jsonl", _Resized(room[0], 30, scale)
    _on_the_video_clock(monkeypatch, camera)
    with open(out, "w", encoding="utf-8") as stream:
        summary = watch(Source(CAMERA, 0), _tracker(models, detect_every=10), [JsonLinesSink(stream)],
                        stop=_Outage([lambda: None]), opener=lambda source: camera)
    assert summary.frames == len(room[1])  # every frame of the video, then it "failed" and the loop stopped
    lines = _lines(out)
    # The member, on the left all along, is one visit (track 1) across the change; the stranger comes at 2 s.
    events = [(e["event"], e["track"]) for e in lines if e.get("event") in (APPEAR, LEAVE)]
    assert events == [(APPEAR, 1), (APPEAR, 2), (LEAVE, 2), (LEAVE, 1)]
    member = {line["frame"]: face for line in lines if "faces" in line for face in line["faces"] if face["track"] == 1}
    assert set(range(len(room[1]))) == member.keys()  # followed in every frame, before the change and after
    assert all(face["x"] + face["w"] <= 640 * scale and face["y"] + face["h"] <= 480 * scale
               for index, face in member.items() if index >= 30)


class _Squared(_Resized):
    """A camera whose frames turn square after `frames` of them (4:3 to 1:1, another stream of it): the room video's
    middle 480 columns, a crop that a plain scale of the boxes would not follow."""

    def __init__(self, path: Path, frames: int) -> None:
        super().__init__(path, frames, 1.0)

    def read(self):
        ok, bgr = super().read()
        return (ok, bgr[:, 80:560].copy()) if ok and self._before < 0 else (ok, bgr)


def test_a_camera_whose_frames_change_shape_ends_the_visits_and_finds_the_faces_afresh(models, room, tmp_path,
                                                                                       monkeypatch):
    # A camera may crop or squeeze to a new width/height ratio. The boxes scaled as if squeezed missed the member's
    # cropped face: a second track appeared for him at once, and the first left two seconds later (counted twice
    # meanwhile); in a room of two, a scaled box could land on the other one. Now the visits end at the change and
    # each face is detected afresh in the same frame.
    out, camera = tmp_path / "faces.jsonl", _Squared(room[0], 20)
    _on_the_video_clock(monkeypatch, camera)
    with open(out, "w", encoding="utf-8") as stream:
        watch(Source(CAMERA, 0), _tracker(models, detect_every=10), [JsonLinesSink(stream)],
              stop=_Outage([lambda: None]), opener=lambda source: camera)
    lines = _lines(out)
    events = [(e["event"], e["track"]) for e in lines if e.get("event") in (APPEAR, LEAVE)]
    assert events == [(APPEAR, 1), (LEAVE, 1), (APPEAR, 2), (APPEAR, 3), (LEAVE, 3), (LEAVE, 2)]
    changed = [(e["event"], e["track"]) for e in lines if e.get("event") in (APPEAR, LEAVE) and e["frame"] == 20]
    assert changed == [(LEAVE, 1), (APPEAR, 2)]
