"""The lines `unveil watch` writes: one per processed frame with a face, and one per event, as JSON Lines.

    {"frame": 12, "time_s": 0.4, "faces": [{"track": 1, "x": 210, "y": 96, "w": 118, "h": 141,
     "emotion": "happy", "probabilities": {"angry": 0.02, ...}, "identity": "Ana"}]}
    {"event": "appear", "frame": 12, "time_s": 0.4, "track": 1, "identity": "Ana", "emotion": "happy"}

Events: appear, leave (unseen for longer than --leave-after), named (an unknown face recognised
later in its visit), emotion (the smoothed label changed; "previous" holds the old one). Only boxes,
labels and probabilities: never pixels or embeddings.

When a camera or stream fails (unplugged, gone from the network, silent), a line says the source was lost, with its
last frame and that frame's time (-1 and 0 when it failed before its first frame), and everyone in view leaves then,
at that time; another line says it is back, with the first frame after it:

    {"source": "lost", "frame": 12, "time_s": 0.4}
    {"source": "back", "frame": 13, "time_s": 95.2}

A line is thus told by its key: `faces` (a frame), `event` or `source`.

A frame with no face gets a line only when it is the first, or the frame before had faces: an empty room says so
once, then writes nothing until someone comes. Its later frames' lines would only repeat `"faces": []`, and the loop
runs for months on what is often an SD card: at 10 frames/s they were 1.7 MB an hour, 14 GB a year of a file that
only grows (docs/reports/sd_wear.md).
"""
from __future__ import annotations

import json
from typing import Any, TextIO

from fer_core import UnveilError
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


SOURCE_LOST = "lost"
SOURCE_BACK = "back"


def source_record(seeing: bool, frame: int, time_s: float) -> dict[str, Any]:
    return {"source": SOURCE_BACK if seeing else SOURCE_LOST, "frame": frame, "time_s": round(time_s, 3)}


class JsonLinesWriteError(UnveilError):
    """`out` refused a write (a full disk, an I/O error) while the lines of frame `frame` were written: the loop
    stops, as a log that went on without its lines would not say what it missed. `detail` is the system's word."""

    def __init__(self, frame: int, detail: str) -> None:
        self.frame, self.detail = frame, detail
        super().__init__(f"the JSON Lines output refused a write at frame {frame} ({detail})")


class JsonLinesSink:
    """Writes each frame's events, then the frame (an empty one only after a frame with faces, or first: see
    above), to `out`, flushed per frame so `tail -f` and a reader of a pipe see a frame as soon as it is processed.
    Once `out` refuses a write (JsonLinesWriteError), the sink writes nothing more: the loop's last events and close
    would only be refused again."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._failed = False
        self._frame = -1  # the last frame given, which a refused close names
        self._said_empty = False  # the last frame line written had no face: later empty frames get none

    def frame(self, frame: LiveFrame) -> None:
        self.events(frame.events, frame.index)
        if frame.faces or not self._said_empty:
            self._write([json.dumps(frame_record(frame), ensure_ascii=False)], frame.index)
            self._said_empty = not frame.faces

    def events(self, events: list[LiveEvent], frame: int) -> None:
        self._frame = frame
        self._write([json.dumps(event_record(event, frame), ensure_ascii=False) for event in events], frame)

    def source_state(self, seeing: bool, frame: int, time_s: float) -> None:
        self._frame = frame
        self._write([json.dumps(source_record(seeing, frame, time_s))], frame)

    def close(self) -> None:
        self._write([], self._frame)

    def _write(self, lines: list[str], frame: int) -> None:
        if self._failed:
            return
        try:
            for line in lines:
                self._out.write(line + "\n")
            self._out.flush()
        except BrokenPipeError:  # the reader went away: the CLI stops quietly (unveil.cli.main)
            raise
        except OSError as exc:
            self._failed = True
            raise JsonLinesWriteError(frame, exc.strerror or str(exc)) from None

    def forget(self, person_ids: frozenset[str]) -> None:
        """Nothing to take back: lines written stay with their reader; the faces' later lines (the loop
        un-names them) carry no name."""
