"""fer_core.live.LiveTracker after a gap in the frames (the camera away, the machine asleep): everyone tracked before it
has left, and whoever stands there after it is a new face, asked for afresh. Scripted detector, model and gallery."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from fer_core.live import APPEAR, LEAVE, LiveTracker

FACE = np.array([[55, 45], [85, 45], [70, 62], [58, 80], [82, 80]], np.float32)
FRAME = np.zeros((120, 160, 3), np.uint8)
NIGHT = 8 * 3600.0


class _Model:
    classes = ("happy", "sad")

    def align(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        return np.zeros((2, 2, 3), np.uint8)

    def predict(self, aligned: np.ndarray) -> np.ndarray:
        return np.tile([0.9, 0.1], (len(aligned), 1))


class _Gallery:
    """Answers with whoever `standing` names: a member (id, name) or nobody."""

    def __init__(self) -> None:
        self.standing: tuple[str | None, str | None] = ("p-ana", "Ana")

    def identify(self, rgb: np.ndarray, landmarks: np.ndarray) -> SimpleNamespace:
        person_id, label = self.standing
        return SimpleNamespace(person_id=person_id, label=label)


def _tracker(gallery: _Gallery, detect_every: int = 1, **kwargs) -> LiveTracker:
    detection = SimpleNamespace(box=(40.0, 20.0, 60.0, 70.0), landmarks=FACE)
    return LiveTracker(detect=lambda rgb: [detection], emotion_model=_Model(), identify=gallery.identify,
                       detect_every=detect_every, emotion_every=1, **kwargs)


def test_after_a_night_without_frames_a_guest_where_a_member_stood_is_not_named_after_her():
    """Before, the track seen at night was matched to the morning's face where it stood and kept its name for the
    looks it takes to unname it (UNKNOWN_LOOKS_TO_UNNAME, a look a second): the guest was shown, and sent to MQTT,
    as Ana, in Ana's visit."""
    gallery = _Gallery()
    tracker = _tracker(gallery)
    evening = [tracker.step(FRAME, i / 10) for i in range(3)]
    assert [e.kind for e in evening[0].events] == [APPEAR] and evening[0].faces[0].identity == "Ana"
    gallery.standing = (None, None)  # a guest, in the morning
    morning = tracker.step(FRAME, 0.2 + NIGHT)
    assert [(e.kind, e.identity, e.time_s) for e in morning.events] == [(LEAVE, "Ana", 0.2 + NIGHT),
                                                                         (APPEAR, None, 0.2 + NIGHT)]
    assert [face.identity for face in morning.faces] == [None]
    assert morning.faces[0].track != evening[0].faces[0].track


def test_a_member_back_after_the_gap_is_a_new_appearance():
    gallery = _Gallery()
    tracker = _tracker(gallery)
    tracker.step(FRAME, 0.0)
    back = tracker.step(FRAME, 30.0)  # the camera away for 30 s
    assert [(e.kind, e.identity) for e in back.events] == [(LEAVE, "Ana"), (APPEAR, "Ana")]


def test_frames_closer_than_the_leave_period_or_a_video_s_gap_keep_the_face():
    """No frame for 2 s (a stream stalling) is within the 3 s a face may go unseen; with --leave-after 0.05 at 10 frames
    a second, a face followed on every frame stays too: the gap is between frames, not a face unseen."""
    gallery = _Gallery()
    for leave_after_s, times in ((3.0, [0.0, 2.0, 4.5]), (0.05, [0.0, 0.1, 0.2, 0.3])):
        tracker = _tracker(gallery, leave_after_s=leave_after_s)
        frames = [tracker.step(FRAME, time_s) for time_s in times]
        assert [e.kind for frame in frames for e in frame.events] == [APPEAR]
        assert {face.track for frame in frames for face in frame.faces} == {1}


def test_the_first_frame_after_finish_is_detected_whatever_its_number():
    """unveil watch finishes the visits when the camera fails and goes on with the frames' numbers when it is back:
    the member in view then appeared only at the next frame due for detection (frame 5 of detect_every 5, not 2)."""
    tracker = _tracker(_Gallery(), detect_every=5)
    assert [e.kind for e in tracker.step(FRAME, 0.0).events] == [APPEAR]
    tracker.step(FRAME, 0.1)
    assert [e.kind for e in tracker.finish(0.1)] == [LEAVE]
    back = tracker.step(FRAME, 3600.0)
    assert back.index == 2 and back.detected
    assert [(e.kind, e.identity) for e in back.events] == [(APPEAR, "Ana")]
