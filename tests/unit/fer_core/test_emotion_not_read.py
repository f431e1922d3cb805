"""A face whose mouth is outside the photo gets no emotion (fer_core.emotion.mouth_outside), and every front end
says so instead of a reading: the analyzer, the legend and records, the video summary and the live tracker.

Why: cut off at the nose, faces of the real-photo dev set read no better than always answering the most frequent
label, shown at a mean top probability of 0.62 (docs/reports/emotion_poor_faces.md)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from fer_core.analyzer import FaceAnalyzer
from fer_core.emotion import mouth_outside
from fer_core.live import LiveTracker
from fer_core.render import EMOTION_NOT_READ, face_details, face_records
from fer_core.video import Track, dominant_emotions

PHOTO = "Colin_Powell/Colin_Powell_0001.jpg"
# Eyes, nose, mouth corners of a face in a 160x120 frame.
FACE = np.array([[55, 45], [85, 45], [70, 62], [58, 80], [82, 80]], np.float32)


def _moved(dy: float = 0.0, dx: float = 0.0) -> np.ndarray:
    return FACE + np.array([dx, dy], np.float32)


def test_a_mouth_inside_the_photo_is_read_and_one_beyond_any_edge_is_not():
    shape = (120, 160, 3)
    assert not mouth_outside(FACE, shape)
    assert mouth_outside(_moved(dy=45), shape)  # its middle at y = 125: below a 120-row photo
    assert mouth_outside(_moved(dy=-85), shape)
    assert mouth_outside(_moved(dx=100), shape)  # its middle at x = 170, right of a 160-column photo
    assert mouth_outside(_moved(dx=-75), shape)


def test_half_of_the_mouth_in_the_photo_is_enough():
    """A face cut at its vertical middle keeps half of its mouth, and reads as well as whole ones do."""
    shape = (120, 160)
    assert not mouth_outside(np.array([[55, 45], [85, 45], [70, 62], [148, 80], [170, 80]]), shape)  # middle x 159
    assert mouth_outside(np.array([[55, 45], [85, 45], [70, 62], [150, 80], [170, 80]]), shape)  # middle x 160
    assert not mouth_outside(_moved(dy=39), shape)  # its middle in the last row, at y = 119
    assert mouth_outside(_moved(dy=40), shape)


@pytest.fixture(scope="module")
def analyzer(tiny_emotion_onnx) -> FaceAnalyzer:
    return FaceAnalyzer(emotion_model=tiny_emotion_onnx, identity_model=False)


def _photo(faces_dir) -> np.ndarray:
    with Image.open(faces_dir / PHOTO) as image:
        return np.asarray(image.convert("RGB"))


def test_a_face_cut_off_at_the_nose_is_found_and_its_emotion_not_read(analyzer, faces_dir):
    rgb = _photo(faces_dir)
    whole = analyzer.analyze(rgb)
    assert len(whole) == 1 and whole[0].emotion is not None and len(whole[0].emotion_probs) == 4
    nose = round(float(whole[0].landmarks[2, 1]))
    cut = analyzer.analyze(rgb[:nose])
    assert len(cut) == 1
    assert cut[0].emotion is None and cut[0].emotion_probs == {}
    assert mouth_outside(cut[0].landmarks, rgb[:nose].shape)


def test_of_two_faces_only_the_one_cut_off_goes_unread(analyzer, faces_dir):
    """One photo above another, the lower one cut at its nose: the upper face keeps its reading."""
    rgb = _photo(faces_dir)
    nose = round(float(analyzer.analyze(rgb)[0].landmarks[2, 1]))
    faces = analyzer.analyze(np.concatenate([rgb, rgb[:nose]]))
    assert len(faces) == 2
    assert faces[0].emotion is not None and faces[1].emotion is None


def _face(emotion: str | None, probs: dict[str, float]) -> SimpleNamespace:
    return SimpleNamespace(box=(1, 2, 30, 40), score=0.99, emotion=emotion, emotion_probs=probs, embedding=None,
                           person_id=None, identity=None)


def test_the_legend_and_the_records_say_the_emotion_was_not_read():
    unread = _face(None, {})
    assert EMOTION_NOT_READ == "emotion not read: mouth outside the photo"
    assert face_details(unread, recognition=False) == EMOTION_NOT_READ
    assert face_details(unread, recognition=True) == f"{EMOTION_NOT_READ} unknown"
    assert face_details(_face("happy", {"happy": 0.87, "sad": 0.13}), recognition=False) == "happy 87%"
    [row] = face_records([unread], source="a.jpg", recognition=False)
    assert row["emotion"] is None and not any(key.startswith("p_") for key in row)


def test_a_video_face_counts_only_the_frames_it_was_read_in_and_one_never_read_says_so():
    read = [(0.0, _face("happy", {"happy": 0.8, "sad": 0.2})), (1.0, _face("happy", {"happy": 0.6, "sad": 0.4}))]
    partly = Track(number=1, observations=[*read, (2.0, _face(None, {}))])
    never = Track(number=2, observations=[(0.0, _face(None, {})), (1.0, _face(None, {}))])
    table = dominant_emotions([partly, never], recognition=False).to_dict("records")
    assert table[0]["dominant emotion"] == "happy"
    assert table[0]["mean probability"] == pytest.approx(0.7)
    assert table[0]["share of frames"] == 0.6667  # 2 of its 3 frames, rounded as the table shows it
    assert table[1]["dominant emotion"] == EMOTION_NOT_READ
    assert math.isnan(table[1]["mean probability"]) and math.isnan(table[1]["share of frames"])  # blank cells


@dataclass
class _Model:
    """Reads every face as happy and counts the faces it was given."""

    classes: tuple[str, ...] = ("happy", "sad")
    faces: int = 0

    def align(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        return np.zeros((2, 2, 3), np.uint8)

    def predict(self, aligned: np.ndarray) -> np.ndarray:
        self.faces += len(aligned)
        return np.tile([0.9, 0.1], (len(aligned), 1))


@pytest.mark.parametrize(("landmarks", "shown"), [(FACE, 1), (_moved(dy=45), 0)])
def test_live_reads_no_face_whose_mouth_is_outside_the_frame(landmarks, shown):
    model = _Model()
    detection = SimpleNamespace(box=(40.0, 20.0, 60.0, 70.0), landmarks=landmarks)
    tracker = LiveTracker(detect=lambda rgb: [detection], emotion_model=model, detect_every=1, emotion_every=1)
    frames = [tracker.step(np.zeros((120, 160, 3), np.uint8), i / 10) for i in range(3)]
    assert [len(frame.faces) for frame in frames] == [shown] * 3
    assert model.faces == 3 * shown
