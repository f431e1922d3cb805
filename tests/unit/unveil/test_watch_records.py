"""`unveil watch --jsonl`'s lines for an empty room: one line says it is empty, then none until someone comes, as the
loop runs for months on what is often an SD card (docs/reports/sd_wear.md)."""
from __future__ import annotations

import io
import json

from fer_core.live import APPEAR, LEAVE, LiveEvent, LiveFace, LiveFrame
from unveil.watch.records import JsonLinesSink

FACE = LiveFace(1, (10, 10, 40, 40), "happy", {"happy": 1.0}, None)


def _lines(frames: list[LiveFrame]) -> list[dict]:
    out = io.StringIO()
    sink = JsonLinesSink(out)
    for frame in frames:
        sink.frame(frame)
    sink.close()
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_an_empty_room_writes_one_frame_line_then_none_until_someone_comes():
    frames = [LiveFrame(i, i / 10, []) for i in range(100)]
    assert _lines(frames) == [{"frame": 0, "time_s": 0.0, "faces": []}]


def test_every_frame_with_a_face_gets_a_line_and_the_first_empty_one_after_it_too():
    empty = set(range(0, 3)) | set(range(5, 9))
    events = {3: APPEAR, 6: LEAVE}
    frames = [LiveFrame(i, i / 10, [] if i in empty else [FACE],
                        [LiveEvent(events[i], 1, i / 10, None, "happy")] if i in events else []) for i in range(11)]
    lines = _lines(frames)
    assert [(line["frame"], len(line["faces"])) for line in lines if "faces" in line] == \
        [(0, 0), (3, 1), (4, 1), (5, 0), (9, 1), (10, 1)]
    # Events are written whatever the frame: the leave of frame 6 is there, its frame line is not.
    assert [(line["event"], line["frame"]) for line in lines if "event" in line] == [(APPEAR, 3), (LEAVE, 6)]
