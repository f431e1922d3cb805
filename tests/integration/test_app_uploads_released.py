"""A tab kept open for hours: the photos the app has taken in are not also kept by Streamlit.

Streamlit holds the bytes of every file uploaded in a browser session (its UploadedFileManager) until the user
takes the file out of its uploader, or the session ends. The Analyze page draws its uploader again under a new key
once its photos are in the session's batch, and the Family page its forms once an enrolment is made, so nobody can
take those files out any more: before unveil.app.widgets.release_uploads, each photo uploaded in a tab stayed in the
server's memory until the tab closed, "Clear all" or not (5.4 MB a 12 MP JPEG; benchmarks/soak.py app,
docs/reports/soak.md). These tests count what Streamlit's file manager still holds after the run that took the
photos in; they time nothing.
"""
from __future__ import annotations

import pytest
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.testing.v1 import AppTest

from tests.support.app import MEMBER, STRANGER, photo_bytes
from tests.support.paths import REPO

APP = REPO / "app.py"
PASSPHRASE = "correct horse battery staple"
TIMEOUT = 120  # model loading and scrypt on a loaded 2-core machine


@pytest.fixture()
def file_managers(monkeypatch) -> list[MemoryUploadedFileManager]:
    """Streamlit's uploaded-file manager of each AppTest run (one per run), in order."""
    made: list[MemoryUploadedFileManager] = []
    original = MemoryUploadedFileManager.__init__

    def recording(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(MemoryUploadedFileManager, "__init__", recording)
    return made


def _held(manager: MemoryUploadedFileManager) -> int:
    return sum(len(files) for files in manager.file_storage.values())


def _widget(at: AppTest, kind: str, key_prefix: str):
    (widget,) = [w for w in at.get(kind) if w.key and w.key.startswith(key_prefix)]
    return widget


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error if "unexpected error" in e.value]


def test_photos_and_a_camera_shot_added_on_the_analyze_page_are_not_kept_by_streamlit_as_well(
        app_env, faces_dir, file_managers):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.switch_page("unveil/app/pages/analyze.py").run()
    _widget(at, "file_uploader", "analyze_inputs_uploads_").set_value(
        [(f"colin_{n}.jpg", photo_bytes(faces_dir, MEMBER, n), "image/jpeg") for n in (1, 2)]).run()
    _no_exception(at)
    assert len([m for m in at.markdown if m.value.startswith("**Face ")]) == 2  # both photos were taken in
    assert _held(file_managers[-1]) == 0

    at.toggle(key="analyze_camera_on").set_value(True).run()
    _widget(at, "camera_input", "analyze_inputs_camera_").upload("shot.jpg", photo_bytes(faces_dir, STRANGER, 2)).run()
    _no_exception(at)
    assert len([m for m in at.markdown if m.value.startswith("**Face ")]) == 3
    assert _held(file_managers[-1]) == 0


def test_the_photos_of_an_enrolment_are_not_kept_by_streamlit_once_it_is_made(app_env, faces_dir, file_managers):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.switch_page("unveil/app/pages/family.py").run()
    at.text_input(key="create_passphrase").input(PASSPHRASE)
    at.text_input(key="create_passphrase_again").input(PASSPHRASE)
    at.button[0].click().run()
    _no_exception(at)
    _widget(at, "text_input", "enrol_name_").input("Colin Powell")
    _widget(at, "file_uploader", "enrol_photos_").set_value(
        [(f"colin_{n}.jpg", photo_bytes(faces_dir, MEMBER, n), "image/jpeg") for n in range(1, 5)]).run()
    _no_exception(at)
    assert _held(file_managers[-1]) == 4  # the form is not done: its photos are still the uploader's
    _widget(at, "checkbox", "enrol_agreed_").check()
    at.button(key="enrol_submit").click().run()
    _no_exception(at)
    assert at.success[0].value.startswith("Enrolled Colin Powell")
    assert _held(file_managers[-1]) == 0
