"""The Live page in a real browser: Chromium's fake camera plays a real video (a public-domain portrait
moving across the frame) into the page over WebRTC, and the stream that comes back from the app has
boxes drawn on it. The frame rate the page reached is printed and recorded as a test property.

Needs what tests/integration/test_browser.py needs (Debian's Chromium, Playwright); skipped without them except
under CI.
"""
from __future__ import annotations

import io
import math
import re

import cv2
import numpy as np
import pytest
from PIL import Image

from fer_core.render import COLOURS
from tests.integration.test_browser import WAIT_MS, _no_exception, app_url, chromium_page  # noqa: F401 (fixture)
from tests.support.app import PUBLIC_DOMAIN

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

# What the page says while the stream plays: "**4.2 frames/s** · 37 frames analysed · 1. happy 91%".
STATUS = re.compile(r"([\d.]+) frames/s · (\d+) frames? analysed · (.+)")
FIRST_BOX = tuple(int(COLOURS[0][i:i + 2], 16) for i in (1, 3, 5))


def _moving_face_y4m(path, *, seconds: float = 4.0, fps: int = 30):
    """A 640x480 Y4M clip: the portrait, 240 px square, gliding left and right over a grey wall."""
    face = np.asarray(Image.open(PUBLIC_DOMAIN / "grace_hopper.jpg").convert("RGB").resize((240, 240)))
    frames = []
    for index in range(int(seconds * fps)):
        canvas = np.full((480, 640, 3), 200, dtype=np.uint8)
        left = 200 + round(150 * math.sin(2 * math.pi * index / (seconds * fps)))
        canvas[120:360, left:left + 240] = face
        frames.append(b"FRAME\n" + cv2.cvtColor(canvas, cv2.COLOR_RGB2YUV_I420).tobytes())
    path.write_bytes(f"YUV4MPEG2 W640 H480 F{fps}:1 Ip A1:1 C420jpeg\n".encode() + b"".join(frames))
    return path


def _box_pixels(png: bytes) -> int:
    """How many pixels of the picture are (near) the first face's box colour."""
    picture = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return int((np.abs(picture - np.array(FIRST_BOX)).max(axis=2) < 40).sum())


@pytest.fixture(scope="module")
def live_page(app_url, tmp_path_factory):  # noqa: F811 (the app_url fixture)
    feed = _moving_face_y4m(tmp_path_factory.mktemp("live_camera") / "moving.y4m")
    with chromium_page(tmp_path_factory, feed, viewport={"width": 1200, "height": 1100}) as page:
        yield page


def _start_stream(page, frame, status, tmp_path_factory) -> int:
    """Press START and wait for the page's status line; how many presses it took.

    In one fresh-clone run of the whole suite (2 cores, 918 s) the status line never came within 90 s of the
    press, and the same test passed alone every time after, also beside ten busy processes (load 10). So the
    second press is what a person would do when a stream does not start, and a failure after it says what the
    component and the server showed."""
    for attempt in (1, 2):
        frame.get_by_role("button", name=re.compile("start", re.IGNORECASE)).click()
        try:
            expect(status).to_be_visible(timeout=WAIT_MS // 2)
            return attempt
        except AssertionError:
            shown = frame.locator("body").inner_text()
            print(f"\nLive page, press {attempt}: no status line after {WAIT_MS // 2000} s; the component shows "
                  f"{shown!r}")
            stop = frame.get_by_role("button", name=re.compile("stop", re.IGNORECASE))
            if stop.count():
                stop.click()
            expect(frame.get_by_role("button", name=re.compile("start", re.IGNORECASE))).to_be_visible()
    logs = sorted(tmp_path_factory.getbasetemp().glob("browser_log*/streamlit.log"))
    server = logs[-1].read_text()[-4000:] if logs else "(no server log)"
    raise AssertionError(f"the Live page's stream did not start after two presses of START; the component shows "
                         f"{frame.locator('body').inner_text()!r}; the server's log ends:\n{server}")


def test_the_live_page_draws_faces_on_the_webcam_stream(live_page, app_url, record_property,  # noqa: F811
                                                        tmp_path_factory):
    page = live_page
    page.goto(app_url)
    page.locator('[data-testid="stSidebarNav"] a', has_text="Live").click()
    expect(page.get_by_role("heading", name="Live camera")).to_be_visible()
    frame = page.frame_locator('iframe[title*="streamlit_webrtc"]')
    status = page.get_by_text(STATUS)
    attempts = _start_stream(page, frame, status, tmp_path_factory)
    record_property("live_start_attempts", attempts)
    # Let it play for a while: ten analysed frames, then the rate over the last seconds.
    page.wait_for_function(
        "() => { const m = document.body.innerText.match(/(\\d+) frames? analysed/); return m && +m[1] >= 10; }",
        timeout=WAIT_MS)
    page.wait_for_timeout(3000)
    rate, frames, faces = STATUS.search(status.inner_text()).groups()
    print(f"\nLive page: {float(rate):.1f} frames/s after {frames} frames; faces: {faces}")
    record_property("live_frames_per_s", float(rate))
    assert float(rate) > 0
    assert faces.startswith("1. ") and re.search(r"\d+%", faces), faces

    # The video the app sends back carries the drawn box (the fake camera's own frames hold none of
    # its colour).
    video = frame.locator("video").first
    expect(video).to_be_visible()
    assert _box_pixels(video.screenshot()) > 200
    _no_exception(page)
    assert not [url for url in page.context.requested if not url.startswith(("http://localhost", "ws://localhost",
                                                                            "data:", "blob:"))]
