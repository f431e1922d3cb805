"""The real app in a real browser: `streamlit run app.py` driven through Debian's Chromium by Playwright.

Flow, in one browser session (as a person would use it): upload a group photo and see the faces and
emotions; create the family store and enrol one person with consent; see them named (and the stranger
beside them "unknown") in a photo they were not enrolled from, and in a camera shot; explain a face; analyse a video; open the
governance page and run a bias audit; purge the person and see the receipt. A screenshot of each page
goes to $UNVEIL_SCREENSHOTS_DIR (docs/screenshots/ to refresh the README's pictures; a temporary folder
when unset, so a test run leaves the work tree clean). Any exception box in the page fails the test.

The people are two public-domain photos (tests/fixtures/public_domain), each made into several views by
`photo_views`, because the screenshots are published and LFW's photos may not be redistributed.

Needs: the `chromium` Debian package (/usr/bin/chromium) and `playwright` for Python (no browser
download: the system Chromium is launched through executable_path). Without them the test is skipped,
except under CI (CI=true), where it fails.
"""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.support.app import (
    PUBLIC_DOMAIN,
    env_for_app,
    free_port,
    panning_video,
    photo_views,
    side_by_side,
    streamlit_answers,
)
from tests.support.paths import REPO

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PASSPHRASE = "correct horse battery staple"
MEMBER_NAME = "Grace Hopper"
# Streamlit reruns asynchronously; the first analysis also loads the models in the server.
WAIT_MS = 90_000

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright is not installed (pip install 'unveil[test]')", allow_module_level=True)


@pytest.fixture(scope="module")
def app_url(app_models_dir, tmp_path_factory):
    """`streamlit run app.py` on a free localhost port with a fresh data folder; its URL.

    The address comes from the shipped .streamlit/config.toml (localhost), as for a user."""
    data_dir = tmp_path_factory.mktemp("browser_data")
    port = free_port()
    log = (tmp_path_factory.mktemp("browser_log") / "streamlit.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.headless", "true",
         "--server.port", str(port), "--server.fileWatcherType", "none"],
        cwd=REPO, env=env_for_app(data_dir, app_models_dir), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 60
        while not (streamlit_answers(url) and f"URL: {url}" in Path(log.name).read_text()):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start:\n{Path(log.name).read_text()}")
            time.sleep(0.3)
        banner = Path(log.name).read_text()
        # Bound to this machine only, and no look-up of the public IP (an outside HTTP call).
        assert "Network URL" not in banner and "External" not in banner, banner
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _camera_feed(photo: Path, path: Path) -> Path:
    """A Y4M clip of a real photo for Chromium's fake camera (--use-file-for-fake-video-capture)."""
    image = np.asarray(Image.open(photo).convert("RGB").resize((400, 400)))
    frame = np.full((480, 640, 3), 230, dtype=np.uint8)
    frame[40:440, 120:520] = image
    i420 = cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes()
    path.write_bytes(b"YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg\n" + (b"FRAME\n" + i420) * 3)
    return path


@pytest.fixture(scope="module")
def people(tmp_path_factory) -> dict[str, list[Path]]:
    """Eight views each of the member (Grace Hopper) and of the stranger (Eileen Collins)."""
    folder = tmp_path_factory.mktemp("people")
    return {"member": photo_views(PUBLIC_DOMAIN / "grace_hopper.jpg", folder, 8),
            "stranger": photo_views(PUBLIC_DOMAIN / "eileen_collins.jpg", folder, 8)}


@contextlib.contextmanager
def chromium_page(tmp_path_factory, feed: Path, *, viewport: dict[str, int]) -> Iterator[Any]:
    """A page in headless Chromium (fresh profile) whose camera is Chromium's fake device playing `feed`
    (a Y4M clip), with default waits long enough for model loading. Every URL it requests is kept in
    `page.context.requested`, to check that nothing leaves the machine."""
    if not CHROMIUM.is_file():
        message = f"{CHROMIUM} not found: apt-get install -y chromium chromium-driver"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    camera = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
              f"--use-file-for-fake-video-capture={feed}"]
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium_profile")), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS + camera, viewport=viewport, permissions=["camera"])
        context.set_default_timeout(WAIT_MS)
        expect.set_options(timeout=WAIT_MS)
        context.requested = []
        context.on("request", lambda request: context.requested.append(request.url))
        context.media = []  # (URL, Cache-Control) of every picture and download the app served
        context.on("response", lambda response: urlparse(response.url).path.startswith("/media/") and context.media.append(
            (response.url, response.headers.get("cache-control"))))
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


@pytest.fixture(scope="module")
def browser_page(app_url, tmp_path_factory, people):
    """The app's page in Chromium; its camera plays a real photo of the member (one not used to enrol
    them), so st.camera_input captures a real face through the browser."""
    feed = _camera_feed(people["member"][6], tmp_path_factory.mktemp("camera") / "camera.y4m")
    with chromium_page(tmp_path_factory, feed, viewport={"width": 1400, "height": 1300}) as page:
        yield page


def _no_exception(page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    expect(page.get_by_text("unexpected error")).to_have_count(0)


def _settled(page) -> None:
    """Wait until the script run triggered by the last action has finished."""
    page.wait_for_timeout(300)  # let the rerun start
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0)
    _no_exception(page)


def _go(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).click()
    _settled(page)


def _create_store(page) -> None:
    """On the Family page: create the store with PASSPHRASE; it is then unlocked."""
    _go(page, "Family")
    page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
    page.get_by_label("Repeat the passphrase").fill(PASSPHRASE)
    page.get_by_role("button", name="Create the store").click()
    expect(page.get_by_text("Family store unlocked")).to_be_visible()
    _settled(page)


def _upload(page, label: str, files: list[tuple[str, bytes, str]]) -> None:
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text=label)
    uploader.locator('input[type="file"]').set_input_files(
        [{"name": name, "mimeType": mime, "buffer": data} for name, data, mime in files])


@pytest.fixture
def screenshots(tmp_path_factory) -> Path:
    """$UNVEIL_SCREENSHOTS_DIR, or a folder pytest removes with its other old temporary folders: one made when the
    module was imported stayed behind after every run, even one that ran no browser test."""
    folder = os.environ.get("UNVEIL_SCREENSHOTS_DIR")
    return Path(folder) if folder else tmp_path_factory.mktemp("screenshots")


def _shot(page, name: str, folder: Path) -> None:
    """Screenshot once every visible chart (SVG) and table (canvas) has drawn: both render lazily."""
    for selector, drawn in (('[data-testid="stVegaLiteChart"]', "svg.marks"), ('[data-testid="stDataFrame"]', "canvas")):
        shown = page.locator(selector).filter(visible=True)
        for index in range(shown.count()):
            expect(shown.nth(index).locator(drawn).first).to_be_attached()
    page.wait_for_timeout(500)  # the first paint
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_the_app_end_to_end_in_chromium(browser_page, app_url, people, fer4_dir, tmp_path, screenshots):
    page = browser_page
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Analyze photos")).to_be_visible()
    _no_exception(page)

    # Analyze: two people, both found, each with an emotion and its probability bars.
    member, stranger = people["member"], people["stranger"]
    group = side_by_side(member[4], stranger[4])
    _upload(page, "Photos", [("group.jpg", group, "image/jpeg")])
    expect(page.get_by_text("Face 2:")).to_be_visible()
    _settled(page)
    expect(page.get_by_text("Face 1:")).to_be_visible()
    expect(page.get_by_text("2 faces", exact=True)).to_be_visible()
    _shot(page, "analyze", screenshots)

    # Family: create the store, enrol one person from 4 photos with their consent.
    _create_store(page)
    page.get_by_role("tab", name="Enrol a member").click()
    page.get_by_label("Name", exact=True).fill(MEMBER_NAME)
    page.get_by_label("Name", exact=True).press("Enter")
    _settled(page)
    _upload(page, "Photos of this person",
            [(path.name, path.read_bytes(), "image/jpeg") for path in member[:4]])
    _settled(page)
    page.get_by_text("The person (or their guardian) has read what is stored and why, and agrees").click()
    _settled(page)
    page.get_by_role("button", name="Enrol", exact=True).click()
    expect(page.get_by_text(f"Enrolled {MEMBER_NAME} with 4 face print(s)")).to_be_visible()
    _settled(page)
    _shot(page, "family", screenshots)

    # Analyze again: the member is named in a photo not used for enrolment; the stranger is not.
    _go(page, "Analyze")
    page.get_by_role("button", name="Clear all").click()  # the group photo stayed while the Family page was shown
    _settled(page)
    party = side_by_side(member[5], stranger[5])
    _upload(page, "Photos", [("party.jpg", party, "image/jpeg")])
    expect(page.get_by_text(MEMBER_NAME, exact=True).first).to_be_visible()
    _settled(page)
    expect(page.get_by_text("unknown", exact=True).first).to_be_visible()
    _shot(page, "analyze_named", screenshots)

    # The camera: a shot of the member (the fake camera plays a photo of them) is named too.
    page.get_by_text("Use the camera").click()
    take = page.get_by_role("button", name="Take Photo")
    expect(take).to_be_enabled()
    page.wait_for_timeout(1000)  # the first frames of the stream
    take.click()
    expect(page.get_by_role("heading", name="camera.jpg")).to_be_visible()
    _settled(page)
    named = page.locator('[data-testid="stMarkdownContainer"] p').filter(has_text=f"· {MEMBER_NAME}")
    expect(named).to_have_count(2)  # the member's face in party.jpg and in camera.jpg

    # Explain: a heatmap per emotion for the first face.
    _go(page, "Explain")
    expect(page.get_by_text("(predicted)")).to_be_visible()
    _settled(page)
    _shot(page, "explain", screenshots)

    # Video: two people tracked across frames, a timeline each.
    _go(page, "Video")
    video = panning_video([member[0], stranger[0]], tmp_path / "v.mp4", seconds=4.0)
    _upload(page, "Video", [("pan.mp4", video, "video/mp4")])
    _settled(page)
    page.get_by_role("button", name="Analyze video").click()
    expect(page.get_by_text("Dominant emotion per person")).to_be_visible()
    _settled(page)
    expect(page.get_by_text("seen in 8 frame(s)")).to_have_count(2)
    _shot(page, "video", screenshots)

    # Governance: the consent ledger, then a bias audit on real fer4 faces with its report in the page.
    _go(page, "Governance")
    expect(page.get_by_text("Who consented to being recognised")).to_be_visible()
    expect(page.locator('[data-testid="stDataFrame"]').first).to_be_visible()  # drawn on a canvas: no DOM text
    _shot(page, "governance", screenshots)
    # Uploaded as a zip of class folders, as a household would pick it, not typed as a path.
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        for folder in sorted(p for p in (fer4_dir / "test").iterdir() if p.is_dir()):
            for face in sorted(folder.iterdir())[:25]:
                zipped.write(face, f"audit/{folder.name}/{face.name}")
    page.get_by_role("tab", name="Bias audit").click()
    _upload(page, "Zip of the folder", [("audit.zip", archive.getvalue(), "application/zip")])
    _settled(page)
    page.get_by_role("button", name="Run the bias audit").click()
    expect(page.get_by_text("Emotion bias audit: 100 faces")).to_be_visible()
    _settled(page)
    expect(page.get_by_text("source: not compared, because every measured face is in one group")).to_be_visible()
    expect(page.frame_locator("iframe").first.get_by_role("heading", name="Emotion bias audit")).to_be_visible()
    page.locator("iframe").first.scroll_into_view_if_needed()
    _shot(page, "governance_bias_audit", screenshots)

    # Family: purge the member after confirming; the receipt is shown.
    _go(page, "Family")
    page.get_by_role("tab", name="Withdraw consent or erase").click()
    page.get_by_text(f"Yes, erase {MEMBER_NAME} for good").click()
    _settled(page)
    page.get_by_role("button", name="Erase", exact=True).click()
    expect(page.get_by_text(f"{MEMBER_NAME} was erased")).to_be_visible()
    _settled(page)
    _shot(page, "family_purged", screenshots)
    _no_exception(page)

    # The browser talked to the local app only (no fonts, telemetry or anything else from outside).
    hosts = {urlparse(url).hostname for url in page.context.requested if urlparse(url).scheme in ("http", "https", "ws", "wss")}
    assert hosts == {"localhost"}, [u for u in page.context.requested if "localhost" not in u]
    # No picture of a face nor any result was left in Chromium's disk cache (Streamlit sends no Cache-Control).
    assert page.context.media and all(cache == "no-store" for _, cache in page.context.media), page.context.media
