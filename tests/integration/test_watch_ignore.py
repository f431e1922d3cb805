"""`unveil watch --ignore`: a member's photo framed on the hallway wall is a face the camera sees all day. Without a
mask it was named and reported for the whole video (the member "home", for ever); with the wall's part of the frame
ignored, only the member who walks in and out is. Real LFW photos, the real models and store, the command's own
code path."""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import cv2
import pytest

from fer_core.live import APPEAR, LEAVE, LiveTracker
from tests.support.app import FAMILY_PASSPHRASE, MEMBER, STRANGER, logged, photo_path
from tests.support.watch_video import Picture, Walker, room_video
from unveil.cli import main
from unveil.cli import watch as watch_cli

FPS = 15
# The member walks in at 2 s and out at 5 s of an 8 s video; the photo hangs at the top left all along.
IN_S, OUT_S = 2.0, 5.0
WALL_CORNER = (20, 20)  # the picture's frame covers x and y from 20 to 190 px of 640x480
WALL_MASK = "0,0,0.33,0.42"


@pytest.fixture(scope="module")
def hall(faces_dir, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hall") / "hall.mp4"
    picture = Picture(photo_path(faces_dir, MEMBER, 7), corner=WALL_CORNER)
    room_video([Walker(photo_path(faces_dir, MEMBER, 1), (430, 260), enter_s=IN_S, exit_s=OUT_S)], path,
               seconds=8.0, fps=FPS, pictures=(picture,))
    return path


@pytest.fixture
def watching(family_store_dir, app_models_dir, tmp_path, monkeypatch):
    """Runs `unveil watch` on a video with the family store unlocked (a copy of family_store_dir); returns its lines
    and the store's folder."""
    data_dir = tmp_path / "data"
    shutil.copytree(family_store_dir, data_dir)
    monkeypatch.setenv("UNVEIL_MODELS_DIR", str(app_models_dir))
    monkeypatch.setenv(watch_cli.PASSPHRASE_ENV, FAMILY_PASSPHRASE)

    def run(video: Path, *options: str) -> list[dict]:
        out = tmp_path / "faces.jsonl"
        assert main(["watch", "--source", str(video), "--jsonl", str(out), "--data-dir", str(data_dir), *options]) == 0
        return [json.loads(line) for line in out.read_text().splitlines()]

    return run, data_dir


def _centres(lines: list[dict]) -> list[tuple[float, float, str | None]]:
    return [((f["x"] + f["w"] / 2) / 640, (f["y"] + f["h"] / 2) / 480, f["identity"])
            for line in lines if "faces" in line for f in line["faces"]]


def test_without_a_mask_the_photo_on_the_wall_is_the_member_at_home_all_along(hall, watching):
    run, _ = watching
    lines = run(hall)
    on_the_wall = [name for x, y, name in _centres(lines) if x < 0.33 and y < 0.42]
    assert len(on_the_wall) > 100 and set(on_the_wall) == {"Colin Powell"}


def test_a_face_in_an_ignored_part_of_the_frame_is_not_reported_named_or_counted(hall, watching, caplog):
    run, data_dir = watching
    before = logged(data_dir, "recognise")
    with caplog.at_level(logging.INFO, logger="unveil.watch"):
        lines = run(hall, "--ignore", WALL_MASK)
    assert watch_cli.IGNORING.format(count=1) in caplog.messages
    centres = _centres(lines)
    assert not [c for c in centres if c[0] < 0.33 and c[1] < 0.42]
    # The member who walks in is still followed and named, and appears and leaves when they do.
    assert len(centres) > 30 and {name for _, _, name in centres} == {"Colin Powell"}
    events = [(e["event"], e["identity"], e["time_s"]) for e in lines if "event" in e]
    assert [(kind, name) for kind, name, _ in events] == [(APPEAR, "Colin Powell"), (LEAVE, "Colin Powell")]
    assert events[0][2] == pytest.approx(IN_S, abs=0.2) and OUT_S < events[1][2] < OUT_S + 4
    # One appearance compared with the family, not two: the photo is not counted in the audit log either.
    counted = logged(data_dir, "recognise")[len(before):]
    assert sum(entry["faces"] for entry in counted) == 1


def test_a_face_followed_into_an_ignored_part_is_lost_there_and_found_again_outside(faces_dir, app_models_dir,
                                                                                   tmp_path, monkeypatch):
    # Optical flow carries a face between detections (one frame in five): walking into the ignored part, it must be
    # dropped at once, not reported there until the next detection.
    from fer_core.detection import FaceDetector
    from fer_core.emotion import EmotionModel

    monkeypatch.setenv("UNVEIL_MODELS_DIR", str(app_models_dir))
    video = tmp_path / "across.mp4"
    places = room_video([Walker(photo_path(faces_dir, STRANGER, 1), (320, 240), radius=(160.0, 40.0))], video,
                        seconds=8.0, fps=FPS)
    tracker = LiveTracker(detect=FaceDetector(min_face_size=20, threads=1, neck_check=True).detect,
                          emotion_model=EmotionModel(threads=1), ignore=[(0.6, 0.0, 1.0, 1.0)])
    capture = cv2.VideoCapture(str(video))
    seen_left, reported_right = [], []
    for index, ((x, _, side, _),) in enumerate(places):
        ok, bgr = capture.read()
        assert ok
        faces = tracker.step(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), index / FPS).faces
        reported_right += [f for f in faces if f.box[0] + f.box[2] / 2 >= 0.6 * 640]
        if x + side / 2 < 0.5 * 640:  # the photo well left of the ignored part
            seen_left.append(bool(faces))
    capture.release()
    assert not reported_right
    assert len(seen_left) > 30 and sum(seen_left) >= 0.9 * len(seen_left)


@pytest.mark.parametrize("value", ["0,0,0.3", "0,0,0.3,0.4,1", "a,b,c,d", "0.5,0,0.2,1", "0,0,1,1.5", "-0.1,0,1,1",
                                   "nan,0,1,1", "0,0,0,0.4", ""])
def test_a_region_that_is_not_four_ordered_fractions_is_refused_before_the_models_load(value, tmp_path, capsys,
                                                                                      monkeypatch):
    def load(*_args):
        raise AssertionError("the models were loaded")

    monkeypatch.setattr(watch_cli, "_tracker", load)
    video = tmp_path / "hall.mp4"
    video.write_bytes(b"never read")
    assert main(["watch", "--source", str(video), "--jsonl", "-", f"--ignore={value}"]) == 2
    assert capsys.readouterr().err == watch_cli.IGNORE_INVALID.format(value=value) + "\n"


def test_the_tracker_refuses_a_region_that_is_not_one():
    with pytest.raises(ValueError, match="an ignored region must be"):
        LiveTracker(detect=list, emotion_model=None, ignore=[(0.5, 0.0, 0.2, 1.0)])
