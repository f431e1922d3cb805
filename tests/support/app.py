"""Fixtures and real-photo helpers shared by the app tests (test_app_services, test_app_pages, test_browser).

conftest.py registers this module as a plugin, so its fixtures reach every test without an import.
"""
from __future__ import annotations

import io
import os
import shutil
import socket
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

from fer_core import FaceAnalyzer
from fer_core.emotion import DEFAULT_MODEL as EMOTION_MODEL
from fer_core.model_files import identity_model_name, models_dir
from fer_core.store import FamilyStore
from tests.support.paths import FIXTURES, REPO

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

# Real LFW people used across the app tests (../shared/data/faces): one to enrol, one stranger.
MEMBER = "Colin_Powell"
STRANGER = "Serena_Williams"
# The passphrase of `family_store_dir`.
FAMILY_PASSPHRASE = "correct horse battery staple, at home"
# Public-domain photos (fixtures/public_domain/README.md), for tests whose pictures are published: the
# browser test's screenshots are the README's, and LFW's photos may not be redistributed.
PUBLIC_DOMAIN = FIXTURES / "public_domain"


@pytest.fixture(scope="session")
def app_models_dir(request, tmp_path_factory) -> Path:
    """The models folder the app runs on: the shipped one when it holds the emotion model; otherwise a
    folder with the shipped detector and identity models plus the real tiny emotion model that the
    training code exports (conftest's tiny_emotion_onnx), under the shipped model's name."""
    shipped = models_dir()
    if (shipped / EMOTION_MODEL).is_file():
        return shipped
    tiny = request.getfixturevalue("tiny_emotion_onnx")
    folder = tmp_path_factory.mktemp("app_models")
    for item in shipped.iterdir():
        (folder / item.name).symlink_to(item)
    (folder / EMOTION_MODEL).symlink_to(tiny)
    return folder


def photo_path(faces_dir: Path, person: str, number: int) -> Path:
    return faces_dir / person / f"{person}_{number:04d}.jpg"


def photo_bytes(faces_dir: Path, person: str, number: int) -> bytes:
    return photo_path(faces_dir, person, number).read_bytes()


def side_by_side(*photos: Path) -> bytes:
    """A group photo made of real LFW photos placed side by side, as JPEG bytes."""
    images = [Image.open(p).convert("RGB") for p in photos]
    canvas = Image.new("RGB", (sum(i.width for i in images), max(i.height for i in images)), "white")
    x = 0
    for image in images:
        canvas.paste(image, (x, 0))
        x += image.width
    buffer = io.BytesIO()
    canvas.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def photo_views(photo: Path, folder: Path, count: int) -> list[Path]:
    """`count` JPEG photos made from one, for a flow that needs several photos of one person: each is
    turned by up to 6 degrees, cropped to 75-90% of the shorter side at its own offset (inside the
    turned photo's corners), made up to 15% lighter or darker, and every second one is mirrored.
    Written to `folder` as <stem>_<n>.jpg."""
    image = Image.open(photo).convert("RGB")
    side = min(image.size)
    folder.mkdir(parents=True, exist_ok=True)
    views = []
    for index, t in enumerate(np.linspace(0.0, 1.0, count)):
        crop = int(side * (0.9 - 0.15 * t))
        left = int((image.width - crop) * (0.5 + 0.4 * np.sin(5 * t)))
        top = int((image.height - crop) * (0.5 + 0.4 * np.cos(3 * t)))
        turned = image.rotate(6 * np.sin(7 * t), resample=Image.BICUBIC, center=(left + crop / 2, top + crop / 2))
        view = turned.crop((left, top, left + crop, top + crop))
        view = ImageEnhance.Brightness(view).enhance(1.0 + 0.15 * np.sin(11 * t))
        if index % 2:
            view = ImageOps.mirror(view)
        path = folder / f"{photo.stem}_{index + 1}.jpg"
        view.save(path, quality=92)
        views.append(path)
    return views


def panning_video(photos: list[Path], path: Path, *, seconds: float = 3.0, fps: int = 10) -> bytes:
    """An MPEG-4 video of real photos side by side, drifting right by 2 px a frame (a slow pan).

    Written with OpenCV's FFmpeg writer (cv2.VideoWriter needs a file); returns the file's bytes."""
    images = [np.asarray(Image.open(p).convert("RGB")) for p in photos]
    height = max(i.shape[0] for i in images) + 20
    frames = int(seconds * fps)
    width = sum(i.shape[1] for i in images) + 2 * frames + 20
    width += width % 2
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    assert writer.isOpened(), "OpenCV cannot write MPEG-4 here"
    try:
        for index in range(frames):
            canvas = np.full((height, width, 3), 255, dtype=np.uint8)
            x = 10 + 2 * index
            for image in images:
                canvas[10:10 + image.shape[0], x:x + image.shape[1]] = image
                x += image.shape[1]
            writer.write(cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return path.read_bytes()


@pytest.fixture(scope="session")
def family_store_dir(tmp_path_factory, faces_dir, app_models_dir) -> Path:
    """A real family store (FAMILY_PASSPHRASE) with MEMBER enrolled (make_family_store). Tests that change it copy
    it first."""
    folder = tmp_path_factory.mktemp("family")
    make_family_store(folder, faces_dir, Path(app_models_dir) / identity_model_name())
    return folder


def make_family_store(folder: Path, faces_dir: Path, model_file: Path | None = None) -> None:
    """A family store created in `folder` (FAMILY_PASSPHRASE; scrypt made light for tests) with MEMBER enrolled
    through governance as "Colin Powell", with consent, from 4 of their photos in `faces_dir` (numbers 2-5: tests
    use 1 and 6-8 as photos not enrolled from), embedded by the identity model `model_file` (None: models_dir()'s,
    as load_embedding_model)."""
    from datetime import UTC, date, datetime

    from fer_core.detection import FaceDetector
    from fer_core.identity import embed_enrollment_photos, load_embedding_model
    from fer_core.images import load_image
    from fer_core.store import ScryptParams
    from governance import family
    from unveil.app import enrolment

    model = load_embedding_model(model_file, threads=1)
    photos = {str(p): load_image(p) for p in (photo_path(faces_dir, MEMBER, n) for n in range(2, 6))}
    embeddings = embed_enrollment_photos(photos, detect=FaceDetector(threads=1).detect, model=model)
    with FamilyStore.create(folder, passphrase=FAMILY_PASSPHRASE, scrypt=ScryptParams(n=2**10, r=8, p=1)) as store:
        record = enrolment.consent_from_form(name="Colin Powell", given_by="", guardian=False, child=False,
                                             purpose="family photos", scope="recognition",
                                             expires_on=date(2099, 1, 1), now=datetime.now(UTC))
        family.enroll(store, "Colin Powell", embeddings, record, model=model.name)


@pytest.fixture()
def app_env(monkeypatch, tmp_path, app_models_dir) -> Path:
    """UNVEIL_DATA_DIR (a fresh temporary folder) and UNVEIL_MODELS_DIR for an app under test."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("UNVEIL_DATA_DIR", str(data_dir))
    monkeypatch.setenv("UNVEIL_MODELS_DIR", str(app_models_dir))
    return data_dir


def copy_with_key_file(family_store_dir: Path, data_dir: Path, key_file: Path) -> Path:
    """`family_store_dir` copied to `data_dir` (which must not exist), with `key_file` (made by create_key_file) added
    beside its passphrase; returns `key_file`."""
    shutil.copytree(family_store_dir, data_dir)
    with FamilyStore(data_dir) as store:
        store.unlock(FAMILY_PASSPHRASE)
        store.set_key_file(key_file)
    return key_file


def logged(data_dir: Path, event: str) -> list[dict]:
    """The details of the `event` entries of the audit log of the store in `data_dir` (opened, not unlocked)."""
    with FamilyStore.open(data_dir) as store:
        return [entry.details for entry in store.audit_entries() if entry.event == event]


def free_port() -> int:
    """A TCP port on localhost that nothing listens on now, for a server a test starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_an_ended_consent(family_store_dir: Path, folder: Path, name: str) -> tuple[Path, int]:
    """A copy of the family store in `folder`/store with `name` enrolled three days ago under a consent that ended a
    minute later (for a sweep to erase), and how many sweeps its audit log holds already (the fixture's own)."""
    import shutil
    import time

    from fer_core.store import FamilyStore
    from tests.support import privacy_harness

    data_dir = folder / "store"
    shutil.copytree(family_store_dir, data_dir)
    with FamilyStore(data_dir, clock=lambda: time.time() - 3 * 86400) as earlier:
        earlier.unlock(FAMILY_PASSPHRASE)
        privacy_harness.enrol_briefly(earlier, name, seconds=60)
        return data_dir, sum(entry.event == "sweep" for entry in earlier.audit_entries())


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def streamlit_answers(url: str) -> bool:
    """Whether the Streamlit server at `url` (http://host:port) answers its health check now (asked directly,
    whatever proxy the environment names: the server is on this machine)."""
    try:
        with _NO_PROXY.open(f"{url}/_stcore/health", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def env_for_app(data_dir: Path, models: Path) -> dict[str, str]:
    """The environment of a `streamlit run` subprocess: this one plus the app's folders."""
    env = dict(os.environ)
    env.update(UNVEIL_DATA_DIR=str(data_dir), UNVEIL_MODELS_DIR=str(models))
    return env


def crossing_video(photos: tuple[Path, Path], path: Path, *, seconds: float = 90.0, fps: int = 2,
                   side: int = 120) -> bytes:
    """An MPEG-4 video of two people crossing: the first photo (shrunk to `side` px) walks from the left
    edge to the right, the second from the right to the left and in front of it, hiding the first
    person's face for a few seconds midway. Small and slow (`fps`) so a long video stays cheap."""
    first, second = (np.asarray(Image.open(p).convert("RGB").resize((side, side), Image.LANCZOS)) for p in photos)
    width, height = 4 * side, side + 20
    frames = int(seconds * fps)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    assert writer.isOpened(), "OpenCV cannot write MPEG-4 here"
    try:
        for index in range(frames):
            travel = round((width - side) * index / (frames - 1))
            canvas = np.full((height, width, 3), 255, dtype=np.uint8)
            canvas[10:10 + side, travel:travel + side] = first
            canvas[10:10 + side, width - side - travel:width - travel] = second
            writer.write(cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return path.read_bytes()


def run_app(page: str | None = None, *, timeout: float = 120) -> AppTest:
    """The app (app.py) run once by Streamlit's AppTest, on `page` (a file of unveil/app/pages) if given. The
    timeout covers loading the models on first use and scrypt on unlock on a loaded 2-core machine."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=timeout)
    if page:
        at.switch_page(f"unveil/app/pages/{page}.py")
    return at.run()


def unlocked_family_page(*, timeout: float = 120) -> AppTest:
    """The app on its Family page with the data folder's store (a copy of `family_store_dir`) unlocked by
    FAMILY_PASSPHRASE, as a household opens it; the unlock is not checked here, each test says what it expects."""
    at = run_app("family", timeout=timeout)
    at.text_input(key="unlock_passphrase").input(FAMILY_PASSPHRASE)
    at.button(key="FormSubmitter:unlock_store-Unlock").click().run()
    return at


def widget(at: AppTest, kind: str, key_prefix: str):
    """The one widget of `kind` whose key starts with `key_prefix`: the app renews some keys (with a
    generation number at the end) to draw a form or a confirmation again empty."""
    (found,) = [w for w in at.get(kind) if w.key and w.key.startswith(key_prefix)]
    return found


def shipped_analyzer(models: Path) -> FaceAnalyzer:
    """What `unveil serve` analyses with: the shipped emotion and identity models in `models`, the detector with
    the analyzer's settings."""
    os.environ.setdefault("UNVEIL_MODELS_DIR", str(models))
    from fer_core.detection import FaceDetector
    from fer_core.emotion import EmotionModel
    from fer_core.identity import load_embedding_model

    return FaceAnalyzer(detector=FaceDetector(min_face_size=40, neck_check=True),
                        emotion_model=EmotionModel(models / "emotion_vgg16.onnx"),
                        identity_model=load_embedding_model(models / identity_model_name()))
