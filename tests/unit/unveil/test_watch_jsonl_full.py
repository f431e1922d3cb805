"""`unveil watch --jsonl FILE` whose disk fills up: the sink says so once, as a typed error, and then writes nothing
more, so the loop's last events and the close are not refused again (/dev/full refuses every write with ENOSPC)."""
from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from fer_core.live import APPEAR, LiveEvent, LiveFace, LiveFrame
from unveil.watch.records import JsonLinesSink, JsonLinesWriteError

pytestmark = pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")


def test_a_full_disk_is_one_typed_error_naming_the_frame_and_the_sink_then_writes_nothing():
    face = LiveFace(1, (0, 0, 4, 4), "happy", {"happy": 1.0}, None)
    full = open("/dev/full", "w", encoding="utf-8")  # its close is refused too: closed below
    try:
        sink = JsonLinesSink(full)
        with pytest.raises(JsonLinesWriteError) as err:
            sink.frame(LiveFrame(7, 0.7, [face], [LiveEvent(APPEAR, 1, 0.7, None, "happy")]))
        assert (err.value.frame, err.value.detail) == (7, "No space left on device")
        sink.events([], 8)  # the loop's last events, then its close: nothing more is tried
        sink.close()
    finally:
        with contextlib.suppress(OSError):
            full.close()
