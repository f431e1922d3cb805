"""unveil.app.live without Streamlit or a browser: real frames analysed and drawn on, the rate counted."""
from __future__ import annotations

import gc
import logging
import platform
import subprocess
import sys
import weakref

import numpy as np
import pytest
from PIL import Image

from fer_core import EmotionModel, FaceDetector
from fer_core.identity import Match
from fer_core.live import LiveTracker
from fer_core.render import COLOURS, contrast_ratio, ink
from governance import erasure, family
from governance.consent import ConsentRecord, store_now
from tests.support import privacy_harness as h
from tests.support.app import MEMBER, photo_path
from unveil import clocks
from unveil.app import live
from unveil.watch.household import GALLERY_UNREADABLE, Household

FIRST_BOX = np.array([int(COLOURS[0][i:i + 2], 16) for i in (1, 3, 5)])


@pytest.fixture(scope="module")
def frame(faces_dir) -> np.ndarray:
    """A 640x480 webcam-like frame with one real face in it."""
    canvas = np.full((480, 640, 3), 200, dtype=np.uint8)
    canvas[115:365, 195:445] = np.asarray(Image.open(photo_path(faces_dir, MEMBER, 1)).convert("RGB"))
    return canvas


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _tracker(**kwargs) -> LiveTracker:
    return LiveTracker(detect=FaceDetector(min_face_size=20).detect, emotion_model=EmotionModel(), **kwargs)


def test_a_frame_comes_back_the_same_size_with_its_face_boxed_and_labelled(frame):
    overlay = live.LiveOverlay(_tracker(), recognition=False)
    drawn = overlay.process(frame)
    assert drawn.shape == frame.shape and drawn.dtype == np.uint8
    assert not np.shares_memory(drawn, frame)
    near_box = (np.abs(drawn.astype(int) - FIRST_BOX).max(axis=2) < 10).sum()
    assert near_box > 300 and (np.abs(frame.astype(int) - FIRST_BOX).max(axis=2) < 10).sum() == 0
    stats = overlay.stats()
    assert stats.frames == 1 and len(stats.labels) == 1
    emotion, share = stats.labels[0].split(" ")
    assert emotion in EmotionModel().classes and share.endswith("%")
    assert overlay.take_recognitions() == []


def test_the_rate_is_counted_over_the_last_two_seconds():
    clock = _Clock()
    overlay = live.LiveOverlay(_tracker(), recognition=True, clock=clock)
    blank = np.zeros((48, 64, 3), dtype=np.uint8)
    assert overlay.stats().frames_per_s == 0.0
    for _ in range(11):  # 10 frames/s for a second
        overlay.process(blank)
        clock.now += 0.1
    assert overlay.stats().frames_per_s == pytest.approx(10.0)
    clock.now += 5.0  # a stall: only the frames of the last RATE_WINDOW_S count
    for _ in range(3):
        overlay.process(blank)
        clock.now += 0.5
    assert overlay.stats().frames_per_s == pytest.approx(2.0)
    assert overlay.stats().frames == 14 and overlay.stats().labels == ()


def test_the_frames_are_timed_on_the_clock_that_counts_the_night_the_laptop_slept(monkeypatch):
    """Timed on time.monotonic (which stops in sleep on Linux and macOS), a stream playing on after a night asleep
    gave the tracker its next frame a moment after the last, so nobody in view before had left."""
    readings, timed = iter([50.0, 50.1, 50.1 + 8 * 3600]), []
    monkeypatch.setattr(clocks, "since_boot", lambda: next(readings))

    class _Timed(LiveTracker):
        def step(self, rgb, time_s):
            timed.append(time_s)
            return super().step(rgb, time_s)

    overlay = live.LiveOverlay(_Timed(detect=lambda rgb: [], emotion_model=EmotionModel()), recognition=False)
    blank = np.zeros((48, 64, 3), dtype=np.uint8)
    for _ in range(3):
        overlay.process(blank)
    assert timed == [50.0, 50.1, 50.1 + 8 * 3600]


def test_labels_name_faces_only_when_the_gallery_was_consulted():
    probabilities = {"happy": 0.874, "sad": 0.126}
    assert live.face_label("happy", probabilities, None, recognition=False) == "happy 87%"
    assert live.face_label("happy", probabilities, None, recognition=True) == "happy 87% · unknown"
    assert live.face_label("happy", probabilities, "Ana", recognition=True) == "happy 87% · Ana"


def test_each_appearance_is_counted_once_for_the_audit_log(frame, faces_dir):
    """A named face that stays in view is one recognition, however many frames it is in."""
    ana = Match("id-ana", "Ana", 0.3, "id-ana", None, float("inf"), "match")
    overlay = live.LiveOverlay(_tracker(identify=lambda rgb, landmarks: ana), recognition=True)
    for _ in range(12):
        overlay.process(frame)
    assert overlay.take_recognitions() == ["id-ana"]
    assert overlay.take_recognitions() == []
    assert overlay.stats().labels[0].endswith(" · Ana")


class _EveryFaceIsAna:
    """An identity model that embeds every face as the one embedding Ana was enrolled with."""

    name, threshold, distance = "fake", 1.0, "euclidean"

    def embed_face(self, rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        return np.ones(4, np.float32)


def test_a_member_erased_in_another_tab_while_the_stream_plays_is_unnamed_at_the_next_frame(frame, store):
    """The page once kept the gallery it started with for as long as the stream played."""
    record = ConsentRecord.new(subject="Ana Lima", purpose="name family members", days=365, now=store_now(store))
    ana = family.enroll(store, "Ana Lima", np.ones((1, 4), np.float32), record, model="fake").person_id
    household = Household(store, _EveryFaceIsAna())
    overlay = live.LiveOverlay(_tracker(identify=household), recognition=True, departed=household.departed)
    for _ in range(3):
        overlay.process(frame)
    assert overlay.stats().labels[0].endswith(" · Ana Lima") and overlay.take_recognitions() == [ana]
    with h.open_store(store.data_dir) as other:  # another tab, the CLI
        erasure.purge_person(other, ana)
    overlay.process(frame)
    assert overlay.stats().labels[0].endswith(" · unknown")
    for _ in range(12):  # detected and compared again: the gallery no longer holds her
        overlay.process(frame)
    assert overlay.stats().labels[0].endswith(" · unknown") and overlay.take_recognitions() == []


def test_a_store_locked_while_the_stream_plays_names_no_one_and_keeps_the_stream(frame, store, caplog):
    """"Lock the store" in the sidebar closes the session's store while the stream's worker still runs the old
    overlay until the page has run again: its next frame raised StoreError ("the store is closed"), which ends
    streamlit-webrtc's worker thread for good, so the stream froze."""
    record = ConsentRecord.new(subject="Ana Lima", purpose="name family members", days=365, now=store_now(store))
    family.enroll(store, "Ana Lima", np.ones((1, 4), np.float32), record, model="fake")
    household = Household(store, _EveryFaceIsAna())
    overlay = live.LiveOverlay(_tracker(identify=household), recognition=True, departed=household.departed)
    for _ in range(3):
        overlay.process(frame)
    assert overlay.stats().labels[0].endswith(" · Ana Lima")
    store.close()
    with caplog.at_level(logging.WARNING, logger="unveil.watch"):
        for _ in range(6):
            assert overlay.process(frame).shape == frame.shape
    assert overlay.stats().labels[0].endswith(" · unknown") and household.person_ids == frozenset()
    assert [r.getMessage() for r in caplog.records] == [GALLERY_UNREADABLE.format(kind="StoreError")]  # once


def test_a_retired_overlay_lets_go_of_the_household_and_hands_frames_back_unchanged(frame, store):
    """aiortc's MediaRelay keeps a connection that ended before its video flowed, and with it the page run's
    overlay, for the life of the process: retired, that overlay held on to its tracker and household all the same."""
    record = ConsentRecord.new(subject="Ana Lima", purpose="name family members", days=365, now=store_now(store))
    family.enroll(store, "Ana Lima", np.ones((1, 4), np.float32), record, model="fake")
    household = Household(store, _EveryFaceIsAna())
    tracker = _tracker(identify=household)
    overlay = live.LiveOverlay(tracker, recognition=True, departed=household.departed)
    for _ in range(3):
        overlay.process(frame)
    gone = weakref.ref(household), weakref.ref(tracker)
    overlay.retire()
    del household, tracker
    gc.collect()
    assert [ref() for ref in gone] == [None, None]
    assert overlay.process(frame) is frame  # a frame the worker hands it after all
    assert overlay.take_recognitions() == [] and overlay.stats().labels == () and overlay.recognition


def test_a_frame_the_worker_began_before_the_overlay_was_retired_is_drawn_and_nothing_of_it_kept(frame):
    ana = Match("id-ana", "Ana", 0.3, "id-ana", None, float("inf"), "match")

    def departed() -> frozenset[str]:  # asked as the frame begins: the page's next run retires the overlay then
        overlay.retire()
        return frozenset()

    overlay = live.LiveOverlay(_tracker(identify=lambda rgb, landmarks: ana), recognition=True, departed=departed)
    drawn = overlay.process(frame)
    assert drawn.shape == frame.shape and drawn is not frame
    assert overlay.stats() == live.LiveStats(0, 0.0, ()) and overlay.take_recognitions() == []
    assert overlay.process(frame) is frame


def test_the_stream_asks_no_stun_or_turn_server():
    """Left unset, streamlit-webrtc looks up public STUN/TURN servers for the browser and the server
    side; the page's configuration gives both an empty list, so that look-up never runs.

    Checked in a fresh interpreter: aiortc's pylibsrtp crashes the process (SIGSEGV) when it loads after
    TensorFlow, which other tests of this suite have loaded (`python -c "import tensorflow, aiortc"`)."""
    script = """
from streamlit_webrtc import component
from unveil.app import live

def outside(*args, **kwargs):
    raise AssertionError("an outside ICE server was looked up")

component.get_available_ice_servers = outside
frontend = component.enhance_frontend_rtc_configuration.__wrapped__(live.RTC_CONFIGURATION)
server = component._resolve_server_rtc_configuration(live.RTC_CONFIGURATION)
print(frontend["iceServers"], server.iceServers)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == "[] []"


def test_every_label_on_the_video_contrasts_with_its_coloured_tag():
    """The annotated photo's numbers were made black or white by contrast (render.ink); the live video's labels stayed
    white, 2.0-2.7:1 on tab10's orange, pink, olive and cyan, unreadable with low vision."""
    frame = np.full((480, 2200, 3), 128, np.uint8)
    boxes = [(20 + 215 * i, 200, 150, 150) for i in range(len(COLOURS))]
    drawn = live.draw_in_frame(frame, boxes, ["happy 87%"] * len(boxes)).astype(int)
    for (x, y, w, _), colour in zip(boxes, COLOURS):
        fill = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        tag = drawn[max(0, y - 40):y - 2, x + 2:x + w - 2].reshape(-1, 3)
        tag = tag[(np.abs(tag - 128).sum(axis=1) > 0)]  # the tag's pixels, not the grey frame around it
        farthest = tag[np.abs(tag - fill).sum(axis=1).argmax()]  # the ink at its fullest
        expected = np.array([0, 0, 0] if ink(colour) == "#000000" else [255, 255, 255])
        assert np.abs(farthest - expected).max() < 60, (colour, tuple(farthest))
        assert contrast_ratio(ink(colour), colour) >= 4.5


class _Taken:
    """An overlay whose take_recognitions gives these lists in turn (then nothing)."""

    def __init__(self, *taken: list[str | None]) -> None:
        self._taken = list(taken)

    def take_recognitions(self) -> list[str | None]:
        return self._taken.pop(0) if self._taken else []


def _playing(times: int):
    left = [times]

    def playing() -> bool:
        left[0] -= 1
        return left[0] >= 0

    return playing


def _counted(store) -> list[dict]:
    return [entry.details for entry in store.audit_entries() if entry.event == "recognise"]


def test_the_pages_appearances_within_a_minute_are_one_entry_with_the_summed_counts(store, clock):
    # The page wrote an entry for each appearance it took (every half second while someone came into view); a
    # kiosk tab wrote thousands a day. Summed as `unveil watch` and `unveil serve` do: one a minute at most.
    ana = h.enrol(store, "Ana Lima")
    overlay = _Taken([ana], [None, None], [], [ana])

    def each() -> None:
        clock.now += 10

    live.while_playing(_playing(4), overlay, store, each, every_s=0)
    assert _counted(store) == [{"faces": 4, "named": 2, "unknown": 2, "period_s": 30}]  # written once STOP ended it
    live.while_playing(_playing(3), _Taken([None]), None, each, every_s=0)  # no store: nothing counted
    assert len(_counted(store)) == 1


def test_what_the_page_counted_is_written_when_streamlit_stops_its_script(store, clock):
    # A rerun, or the session's end (the tab closed), stops the script with an exception at its next Streamlit call:
    # the counts taken until then are written, not lost with the script.
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    ana = h.enrol(store, "Ana Lima")
    calls = []

    def each() -> None:
        calls.append(None)
        clock.now += 10
        if len(calls) == 3:
            raise StopException()

    with pytest.raises(StopException):
        live.while_playing(_playing(100), _Taken([ana], [None]), store, each, every_s=0)
    assert _counted(store) == [{"faces": 2, "named": 1, "unknown": 1, "period_s": 20}]


def test_the_page_gives_back_the_memory_its_stream_freed_while_it_plays(monkeypatch):
    # glibc kept what a stream's threads freed in its arenas: a kiosk's resident memory rose with each STOP/START
    # and each busy moment (docs/reports/soak.md). The loop asks for it back every TRIM_EVERY_S.
    given_back = []
    monkeypatch.setattr(live, "TRIM_EVERY_S", 0.0)
    monkeypatch.setattr(live, "give_back_freed_memory", lambda: given_back.append(None) or True)
    live.while_playing(_playing(3), _Taken(), None, lambda: None, every_s=0)
    assert len(given_back) == 3


# A stream as glibc sees it: 60 frames made on a thread of its own (streamlit-webrtc's), a small block kept between
# two frames (what the stream's other work leaves), the frames freed when the thread ends. A 16 MiB block freed
# beforehand raises glibc's mmap threshold past a frame (to 16 MiB), as a process's first large blocks do.
_A_STREAM_FREED = """
import threading
import numpy as np
from unveil.app import live

def rss_mib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))

first = np.ones(16 << 20, np.uint8)
del first
kept = []

def stream():
    frames = []
    for _ in range(60):
        frames.append(np.ones((480, 640, 3), np.uint8))
        kept.append(bytearray(4096))

thread = threading.Thread(target=stream)
thread.start()
thread.join()
held = rss_mib()
assert live.give_back_freed_memory()
print(held, rss_mib())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="malloc_trim is glibc's")
def test_the_memory_a_streams_thread_freed_goes_back_to_the_system():
    # In a process of its own: the test's own heap does not blur the 52 MiB of frames.
    run = subprocess.run([sys.executable, "-c", _A_STREAM_FREED], capture_output=True, text=True, check=True)
    held, after = (float(mib) for mib in run.stdout.split())
    assert held - after > 40  # 60 frames of 900 KiB: 52.7 MiB


@pytest.mark.parametrize("name", ["José", "Ayşe Yılmaz", "Мария", "Ελένη", "שרה", "محمد"])
def test_every_letter_of_a_name_on_the_video_is_drawn(name):
    # Drawn in Pillow's own font (113 characters), "José" showed "Jos" and an empty box on the video, "Мария" five.
    frame, box = np.full((240, 320, 3), 128, np.uint8), [(100, 100, 80, 80)]
    empty_box = live.draw_in_frame(frame, box, ["happy 87% \u0378"])  # unassigned: drawn as the font's empty box
    for letter in dict.fromkeys(name.replace(" ", "")):
        assert not np.array_equal(live.draw_in_frame(frame, box, [f"happy 87% {letter}"]), empty_box), letter
