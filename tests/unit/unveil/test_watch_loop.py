"""The camera loop of `unveil watch` (unveil.watch.loop), around a scripted tracker: its recognitions are summed
into one audit entry a minute, a family store busy or locked by another session does not stop it, and a member who
leaves the gallery is named no more."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np
import pytest

from fer_core.live import APPEAR, LEAVE, LiveEvent, LiveFace, LiveFrame, LiveTracker
from fer_core.store import FamilyStore, StoreBusyError
from governance import recognition_tally as tallies
from governance.recognition_tally import RecognitionTally
from tests.support import privacy_harness as h
from unveil.watch.loop import watch
from unveil.watch.source import CAMERA, FILE, Source


class _Capture:
    """A video file of `frames` black frames."""

    def __init__(self, frames: int) -> None:
        self._left = frames

    def isOpened(self) -> bool:
        return True

    def read(self):
        self._left -= 1
        return (True, np.zeros((8, 8, 3), np.uint8)) if self._left >= 0 else (False, None)

    def get(self, prop: int) -> float:
        return 0.0

    def release(self) -> None:
        pass


@dataclass
class _Track:
    number: int
    identity: str | None
    person_id: str | None


class _Tracker:
    """Each step: the face of every track, and the events scripted for that frame."""

    def __init__(self, script: list[list[LiveEvent]], tracks: list[_Track] = ()) -> None:
        self.tracks, self._script, self._index = list(tracks), script, -1

    def step(self, rgb, time_s: float) -> LiveFrame:
        self._index += 1
        faces = [LiveFace(t.number, (0, 0, 4, 4), "happy", {"happy": 1.0}, t.identity) for t in self.tracks]
        return LiveFrame(self._index, time_s, faces, self._script[self._index])

    def finish(self, time_s: float) -> list[LiveEvent]:
        return [LiveEvent(LEAVE, t.number, time_s, t.identity, "happy", person_id=t.person_id) for t in self.tracks]

    unname = LiveTracker.unname  # the real one: it only renames self.tracks


class _Sink:
    def __init__(self) -> None:
        self.frames: list[LiveFrame] = []
        self.final: list[LiveEvent] = []
        self.forgotten: list[frozenset[str]] = []

    def frame(self, frame: LiveFrame) -> None:
        self.frames.append(frame)

    def events(self, events: list[LiveEvent], frame: int) -> None:
        self.final += events

    def close(self) -> None:
        pass

    def forget(self, person_ids: frozenset[str]) -> None:
        self.forgotten.append(person_ids)


def _appear(person_id: str | None) -> list[LiveEvent]:
    return [LiveEvent(APPEAR, 1, 0.0, None if person_id is None else "Ana", "happy", person_id=person_id)]


def _run(tracker: _Tracker, frames: int, **kwargs):
    return watch(Source(FILE, "room.mp4"), tracker, kwargs.pop("sinks", []), stop=threading.Event(),
                 opener=lambda source: _Capture(frames), **kwargs)


def _counted(store) -> list[dict]:
    return [entry.details for entry in store.audit_entries() if entry.event == "recognise"]


def test_appearances_within_a_minute_are_one_entry_with_the_summed_counts(store, clock):
    # Counted per appearance, a household camera wrote an entry each time someone came into view: thousands a day
    # (docs/reports/audit_log_growth.md). Summed as `unveil serve` does: one a minute.
    ana = h.enrol(store, "Ana Lima")

    class _Ticking(_Tracker):  # 10 s of the store's clock a frame
        def step(self, rgb, time_s):
            clock.now += 10
            return super().step(rgb, time_s)

    tally = RecognitionTally(store, period_s=60)
    with tally.running():
        summary = _run(_Ticking([_appear(ana), _appear(None), [], _appear(ana), _appear(None)]), 5,
                       on_recognition=tally.count)
    assert summary.frames == 5
    # From the first recognition (the first frame) to the loop's end, written then.
    assert _counted(store) == [{"faces": 4, "named": 2, "unknown": 2, "period_s": 40}]
    assert store.person(ana).last_seen_at == clock.now


def test_a_busy_store_keeps_the_counts_for_the_next_write_and_the_camera_goes_on(store, monkeypatch, caplog):
    ana = h.enrol(store, "Ana Lima")
    real, calls = store.mark_seen, []

    def busy_once(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise StoreBusyError(1.0)
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "mark_seen", busy_once)
    tally = RecognitionTally(store, period_s=0)
    with caplog.at_level(logging.WARNING, logger="unveil.recognition"):
        summary = _run(_Tracker([_appear(ana), _appear(None), [], _appear(None)]), 4, on_recognition=tally.count)
    assert summary.frames == 4
    assert [(d["faces"], d["named"]) for d in _counted(store)] == [(2, 1), (1, 0)]  # the first carried to the next
    assert caplog.messages == [tallies.KEPT.format(faces=1)]


class _RotatedElsewhere:
    """departed(): nobody; at its second call, another session (the app, `unveil family passwd --rotate`)
    replaces the store's master key, which locks the loop's session at its next transaction."""

    def __init__(self, other) -> None:
        self.calls, self._other = 0, other

    def departed(self) -> frozenset[str]:
        self.calls += 1
        if self.calls == 2:
            self._other.rotate_master_key(h.PASSPHRASE + " rotated", scrypt=h.FAST_SCRYPT)
        return frozenset()


def test_a_key_rotated_in_another_session_does_not_stop_the_camera_and_is_said_once(store, caplog):
    ana = h.enrol(store, "Ana Lima")
    tally = RecognitionTally(store, period_s=0)
    with h.open_store(store.data_dir) as other, caplog.at_level(logging.WARNING, logger="unveil.recognition"):
        with tally.running():
            summary = _run(_Tracker([_appear(ana), _appear(None), [], _appear(None), _appear(None)]), 5,
                           on_recognition=tally.count, household=_RotatedElsewhere(other))
    assert summary.frames == 5
    assert not store.is_unlocked
    # Once, not at each later count: this session writes nothing more until it is unlocked again.
    assert caplog.messages == [tallies.DROPPED.format(faces=1, named=0, reason=tallies.LOCKED)]
    with FamilyStore(store.data_dir) as reopened:  # the count made before the rotation was kept; the log verifies
        reopened.unlock(h.PASSPHRASE + " rotated")
        assert reopened.verify_audit().ok
        assert [e.details for e in reopened.audit_entries() if e.event == "recognise"] == [
            {"faces": 1, "named": 1, "unknown": 0, "period_s": 0}]


class _Household:
    """departed(): nobody, until the call numbered `at`, when these ids leave the gallery."""

    def __init__(self, at: int, gone: frozenset[str]) -> None:
        self.calls, self._at, self._gone = 0, at, gone

    def departed(self) -> frozenset[str]:
        self.calls += 1
        return self._gone if self.calls == self._at else frozenset()


def test_a_member_who_leaves_the_gallery_is_unnamed_at_the_next_frame_and_the_sinks_forget_them():
    tracks = [_Track(1, "Ana", "p1"), _Track(2, "Bruno", "p2")]
    sink = _Sink()
    _run(_Tracker([[]] * 4, tracks), 4, sinks=[sink], household=_Household(at=3, gone=frozenset({"p1"})))
    assert [[face.identity for face in frame.faces] for frame in sink.frames] == [
        ["Ana", "Bruno"], ["Ana", "Bruno"], [None, "Bruno"], [None, "Bruno"]]
    assert sink.forgotten == [frozenset({"p1"})]
    assert [(e.identity, e.person_id) for e in sink.final] == [(None, None), ("Bruno", "p2")]



class _ClosingSink(_Sink):
    def __init__(self) -> None:
        super().__init__()
        self.closed = False

    def close(self) -> None:
        self.closed = True


class _BrokenSink(_ClosingSink):
    """A sink whose reader went away (`unveil watch --jsonl - | head`)."""

    def events(self, events: list[LiveEvent], frame: int) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_failing_sink_does_not_keep_the_others_from_their_last_events_and_close():
    broken, mqtt = _BrokenSink(), _ClosingSink()
    tracker = _Tracker([[]] * 2, [_Track(1, "Ana", "ana-id")])
    with pytest.raises(BrokenPipeError):
        _run(tracker, 2, sinks=[broken, mqtt])
    assert broken.closed and mqtt.closed
    assert [(e.kind, e.person_id) for e in mqtt.final] == [(LEAVE, "ana-id")]


class _Gone:
    """A camera that cannot be opened."""

    def isOpened(self) -> bool:
        return False

    def release(self) -> None:
        pass


class _Camera(_Capture):
    def get(self, prop: int) -> float:
        return float("nan")  # a live source has no file time


class _Tries(threading.Event):
    """A stop event whose backoff waits return at once, the loop stopping at the wait numbered `stop_at`."""

    def __init__(self, stop_at: int) -> None:
        super().__init__()
        self.tries, self._stop_at = 0, stop_at

    def wait(self, timeout: float | None = None) -> bool:
        self.tries += 1
        return self.tries >= self._stop_at


class _Sourced(_ClosingSink):
    def __init__(self) -> None:
        super().__init__()
        self.said: list[tuple[str, object]] = []

    def events(self, events: list[LiveEvent], frame: int) -> None:
        self.said += [(e.kind, e.person_id) for e in events]

    def source_state(self, seeing: bool, frame: int, time_s: float) -> None:
        self.said.append(("seeing" if seeing else "lost", frame))


class _Finishing(_Tracker):
    def finish(self, time_s: float) -> list[LiveEvent]:
        """As LiveTracker.finish: everyone leaves, nobody is followed any more."""
        final, self.tracks = super().finish(time_s), []
        return final


def test_a_camera_away_for_many_tries_ends_the_visits_once_and_is_said_back_with_its_first_frame():
    # Two frames, then 4 failed tries (a read, then 3 opens), then one frame, and the loop stops at the next failure.
    captures = iter([_Camera(2), _Gone(), _Gone(), _Gone(), _Camera(1), _Gone()])
    tracker = _Finishing([[]] * 3, [_Track(1, "Ana", "p1")])
    sink = _Sourced()
    household = _Household(at=4, gone=frozenset({"p1"}))  # erased while the camera is away
    summary = watch(Source(CAMERA, 0), tracker, [sink], stop=_Tries(stop_at=6), household=household,
                    opener=lambda source: next(captures))
    assert summary.frames == 3
    # Ana leaves once, when the camera is lost, not at each try; her erasure meanwhile is not kept for a frame.
    assert sink.said == [("lost", 1), (LEAVE, "p1"), ("seeing", 2), ("lost", 2)]
    assert sink.forgotten == [frozenset({"p1"})] and household.calls == 3 + 6  # each frame, each failed try
    assert sink.closed
