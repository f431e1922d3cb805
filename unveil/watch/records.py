"""The lines `unveil watch` writes: one per processed frame, and one per event, as JSON Lines.

    {"frame": 12, "time_s": 0.4, "faces": [{"track": 1, "x": 210, "y": 96, "w": 118, "h": 141,
     "emotion": "happy", "probabilities": {"angry": 0.02, ...}, "identity": "Ana"}]}
    {"event": "appear", "frame": 12, "time_s": 0.4, "track": 1, "identity": "Ana", "emotion": "happy"}

Events: appear, leave (unseen for longer than --leave-after), named (an unknown face recognised
later in its visit), emotion (the smoothed label changed; "previous" holds the old one). Only boxes,
labels and probabilities: never pixels or embeddings.
"""
from __future__ import annotations

import json
from typing import Any, TextIO

from fer_core.live import EMOTION, LiveEvent, LiveFrame


def frame_record(frame: LiveFrame) -> dict[str, Any]:
    return {
        "frame": frame.index,
        "time_s": round(frame.time_s, 3),
        "faces": [{"track": f.track, "x": f.box[0], "y": f.box[1], "w": f.box[2], "h": f.box[3],
                   "emotion": f.emotion, "probabilities": f.probabilities, "identity": f.identity}
                  for f in frame.faces],
    }


def event_record(event: LiveEvent, frame: int) -> dict[str, Any]:
    record = {"event": event.kind, "frame": frame, "time_s": round(event.time_s, 3), "track": event.track,
              "identity": event.identity, "emotion": event.emotion}
    if event.kind == EMOTION:
        record["previous"] = event.previous
    return record


class JsonLinesSink:
    """Writes each frame's events, then the frame, to `out`, flushed per frame so `tail -f` and a
    reader of a pipe see a frame as soon as it is processed."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def frame(self, frame: LiveFrame) -> None:
        self.events(frame.events, frame.index)
        self._out.write(json.dumps(frame_record(frame), ensure_ascii=False) + "\n")
        self._out.flush()

    def events(self, events: list[LiveEvent], frame: int) -> None:
        for event in events:
            self._out.write(json.dumps(event_record(event, frame), ensure_ascii=False) + "\n")
        self._out.flush()

    def close(self) -> None:
        self._out.flush()

    def forget(self, person_ids: frozenset[str]) -> None:
        """Nothing to take back: lines written stay with their reader; the faces' later lines (the loop
        un-names them) carry no name."""
