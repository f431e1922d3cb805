"""Each page's main flow through streamlit.testing.v1.AppTest, with real photos from ../shared/data.

AppTest drives the real script in-process: uploads go through st.file_uploader / st.camera_input
(AppTest stages the bytes as the browser would), clicks through buttons. tests/test_browser.py covers
the same flows in a real browser.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests._app_support import (
    MEMBER,
    STRANGER,
    panning_video,
    photo_bytes,
    photo_path,
    side_by_side,
)

APP = Path(__file__).resolve().parents[1] / "app.py"
PASSPHRASE = "correct horse battery staple"
# Model loading on first use and scrypt on unlock take seconds on a loaded 2-core machine; AppTest's
# default of 3 s per run is too short.
TIMEOUT = 120


def _app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if page:
        at.switch_page(f"app_pages/{page}.py")
    return at.run()


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error if "unexpected error" in e.value]


def _face_lines(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**Face ")]


def _create_store_and_enrol(at: AppTest, faces_dir: Path) -> None:
    at.text_input(key="create_passphrase").input(PASSPHRASE)
    at.text_input(key="create_passphrase_again").input(PASSPHRASE)
    at.button[0].click().run()
    _no_exception(at)
    at.text_input(key="enrol_name").input("Colin Powell")
    at.file_uploader(key="enrol_photos").set_value(
        [(f"colin_{n}.jpg", photo_bytes(faces_dir, MEMBER, n), "image/jpeg") for n in range(1, 5)])
    at.checkbox(key="consent_agreed").check()
    at.button(key="enrol_submit").click().run()
    _no_exception(at)


# ----------------------------------------------------------------------------- Analyze


def test_analyze_uploads_show_each_face_and_a_friendly_error_for_a_corrupt_file(app_env, faces_dir):
    at = _app()
    assert at.info[0].value == "Upload one or several photos, or take one with the camera."
    group = side_by_side(photo_path(faces_dir, MEMBER, 5), photo_path(faces_dir, STRANGER, 5))
    blank = io.BytesIO()
    Image.new("RGB", (320, 240), (120, 160, 90)).save(blank, format="PNG")
    at.file_uploader(key="analyze_uploads").set_value([
        ("group.jpg", group, "image/jpeg"),
        ("broken.jpg", b"this is not a photo", "image/jpeg"),
        ("lawn.png", blank.getvalue(), "image/png"),
    ]).run()
    _no_exception(at)
    assert [s.value for s in at.subheader] == ["group.jpg", "broken.jpg", "lawn.png", "Results"]
    lines = _face_lines(at)
    assert len(lines) == 2 and all(line.count("%") == 1 for line in lines)
    assert [e.value for e in at.error] == [
        "broken.jpg could not be read: not an image, or its header is corrupt (format not recognised)"]
    assert [w.value for w in at.warning] == ["No face found in lawn.png."]
    assert at.image[0].captions == ["2 face(s)"]
    table = at.dataframe[0].value
    assert list(table["face"]) == [1, 2] and set(table["source"]) == {"group.jpg"}
    assert "identity" not in table.columns  # store locked: nobody is named, and no "unknown" is claimed
    assert [b.label for b in at.get("download_button")] == ["Annotated image (PNG)", "Download CSV", "Download JSON"]


def test_analyze_a_camera_shot(app_env, faces_dir):
    at = _app()
    at.toggle(key="analyze_camera_on").set_value(True).run()
    at.camera_input(key="analyze_camera").upload("shot.jpg", photo_bytes(faces_dir, STRANGER, 2)).run()
    _no_exception(at)
    assert [s.value for s in at.subheader] == ["camera.jpg", "Results"]
    assert len(_face_lines(at)) == 1


# ----------------------------------------------------------------------------- Video


def test_video_tracks_two_people_and_charts_their_emotions(app_env, faces_dir, tmp_path):
    video = panning_video([photo_path(faces_dir, MEMBER, 5), photo_path(faces_dir, STRANGER, 5)], tmp_path / "v.mp4")
    at = _app("video")
    at.file_uploader(key="video_upload").set_value(("pan.mp4", video, "video/mp4")).run()
    at.button(key="video_run").click().run()
    _no_exception(at)
    table = at.dataframe[0].value
    assert list(table["face"]) == ["Face 1", "Face 2"] and list(table["frames"]) == [6, 6]
    assert [m.value for m in at.markdown] == ["**Face 1**: seen in 6 frame(s)", "**Face 2**: seen in 6 frame(s)"]
    assert len(at.get("vega_lite_chart")) == 2

    at.file_uploader(key="video_upload").set_value(("broken.mp4", b"\x00not a video" * 300, "video/mp4")).run()
    at.button(key="video_run").click().run()
    _no_exception(at)
    assert [e.value for e in at.error] == [
        "Analysing broken.mp4: this file cannot be read as a video (corrupt or an unsupported format)"]


# ----------------------------------------------------------------------------- Family (+ Analyze naming)


def test_family_enrol_with_consent_then_named_in_a_new_photo_then_purged(app_env, faces_dir):
    at = _app("family")
    assert at.subheader[0].value == "Create the family store"
    at.text_input(key="create_passphrase").input(PASSPHRASE)
    at.text_input(key="create_passphrase_again").input("something else entirely")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["The two passphrases differ; nothing was created."]

    _create_store_and_enrol(at, faces_dir)
    assert at.success[0].value.startswith("Enrolled Colin Powell with 4 embedding(s) and 0 thumbnail(s).")
    members = at.dataframe[0].value
    assert list(members["name"]) == ["Colin Powell"] and list(members["consent"]) == ["active"]

    # A photo with two faces is refused, naming it; nothing is enrolled.
    at.text_input(key="enrol_name").input("Serena Williams")
    at.file_uploader(key="enrol_photos").set_value([
        ("serena.jpg", photo_bytes(faces_dir, STRANGER, 1), "image/jpeg"),
        ("two people.jpg", side_by_side(photo_path(faces_dir, STRANGER, 2), photo_path(faces_dir, MEMBER, 2)),
         "image/jpeg")])
    at.checkbox(key="consent_agreed").check()
    at.button(key="enrol_submit").click().run()
    _no_exception(at)
    assert len(at.error) == 1 and "two people.jpg" in at.error[0].value and "2 faces found" in at.error[0].value
    assert list(at.dataframe[0].value["name"]) == ["Colin Powell"]

    # The member is named in a photo they were not enrolled from; the stranger beside them is not.
    at.switch_page("app_pages/analyze.py").run()
    group = side_by_side(photo_path(faces_dir, MEMBER, 6), photo_path(faces_dir, STRANGER, 6))
    at.file_uploader(key="analyze_uploads").set_value(("party.jpg", group, "image/jpeg")).run()
    _no_exception(at)
    lines = _face_lines(at)
    assert lines[0].endswith("· **Colin Powell**") and lines[1].endswith("· **unknown**")
    assert list(at.dataframe[0].value["identity"]) == ["Colin Powell", "unknown"]
    at.button(key="analyze_keep").click().run()  # kept at the user's request, linked to the member
    assert "Kept 2 face result(s), encrypted." in [s.value for s in at.success]

    # Purge needs the confirmation, then shows the receipt.
    at.switch_page("app_pages/family.py").run()
    assert at.button(key="purge_submit").disabled
    at.checkbox(key="purge_confirm").check().run()
    at.button(key="purge_submit").click().run()
    _no_exception(at)
    assert at.success[0].value.startswith("Colin Powell was erased: 8 record(s) deleted, their key destroyed.")
    receipt = at.json[0].value
    assert '"reason": "request"' in receipt and '"embeddings": 4' in receipt and '"analyses": 1' in receipt
    assert "Colin" not in receipt
    assert at.info[0].value == "No one is enrolled yet."

    # Results that named the member are forgotten with them.
    at.switch_page("app_pages/explain.py").run()
    assert at.info[0].value.startswith("Analyse a photo with at least one face on the Analyze page first")
    at.switch_page("app_pages/analyze.py").run()
    at.file_uploader(key="analyze_uploads").set_value(("party.jpg", group, "image/jpeg")).run()
    assert not any("Colin" in line for line in _face_lines(at))


def test_wrong_passphrase_is_refused_with_a_message(app_env, faces_dir):
    at = _app("family")
    _create_store_and_enrol(at, faces_dir)
    fresh = _app("family")  # a new browser session: the store is locked
    assert fresh.subheader[0].value == "Unlock the family store"
    fresh.text_input(key="unlock_passphrase").input("not the passphrase")
    fresh.button[0].click().run()
    _no_exception(fresh)
    assert [e.value for e in fresh.error] == [
        "Unlocking the store: wrong passphrase: the store stays locked; only the failed attempt was logged"]
    fresh.text_input(key="unlock_passphrase").input(PASSPHRASE)
    fresh.button[0].click().run()
    _no_exception(fresh)
    assert list(fresh.dataframe[0].value["name"]) == ["Colin Powell"]
    fresh.button(key="sidebar_lock").click().run()
    assert fresh.subheader[0].value == "Unlock the family store"


def test_a_child_needs_a_guardians_consent(app_env, faces_dir):
    at = _app("family")
    at.text_input(key="create_passphrase").input(PASSPHRASE)
    at.text_input(key="create_passphrase_again").input(PASSPHRASE)
    at.button[0].click().run()
    at.text_input(key="enrol_name").input("Little One")
    # Enrolled from a camera shot, kept in memory until the enrolment.
    at.toggle(key="enrol_camera_on").set_value(True).run()
    at.camera_input(key="enrol_camera").upload("shot.jpg", photo_bytes(faces_dir, STRANGER, 3)).run()
    at.button(key="enrol_keep_shot").click().run()
    assert "1 camera shot(s) kept for this enrolment (in memory)." in [c.value for c in at.caption]
    at.checkbox(key="consent_child").check()
    at.checkbox(key="consent_agreed").check()
    at.button(key="enrol_submit").click().run()
    _no_exception(at)
    assert [e.value for e in at.error] == ["Enrolling Little One: Little One is a child: consent must be given by a guardian"]
    at.checkbox(key="consent_guardian").check().run()
    at.text_input(key="consent_given_by").input("Big One")
    at.radio(key="consent_scope").set_value("recognition+thumbnails")
    at.button(key="enrol_submit").click().run()
    _no_exception(at)
    members = at.dataframe[0].value
    assert members.to_dict("records")[0] | {"enrolled": None, "last seen": None, "expires": None} == {
        "name": "Little One", "consent": "active", "expires": None, "given by": "Big One (guardian)",
        "scope": "recognition+thumbnails", "embeddings": 1, "thumbnails": 1, "enrolled": None, "last seen": None}
    assert len(at.image) == 1  # the encrypted thumbnail, shown to the unlocked session


# ----------------------------------------------------------------------------- Governance


@pytest.fixture()
def small_audit_manifest(fer4_dir, tmp_path) -> Path:
    """A CSV manifest of 12 real fer4 test faces per class."""
    path = tmp_path / "audit.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label"])
        for folder in sorted(p for p in (fer4_dir / "test").iterdir() if p.is_dir()):
            for image in sorted(folder.iterdir())[:12]:
                writer.writerow([str(image), folder.name])
    return path


def test_governance_ledger_retention_audit_log_bias_audit_and_cards(app_env, faces_dir, small_audit_manifest):
    at = _app("governance")
    assert at.info[0].value == "Unlock the family store on the Family page to see this."
    at.switch_page("app_pages/family.py").run()
    _create_store_and_enrol(at, faces_dir)
    at.switch_page("app_pages/governance.py").run()
    _no_exception(at)
    ledger = at.dataframe[0].value
    assert ledger.to_dict("records")[0]["person"] == "Colin Powell" and ledger["status"].tolist() == ["active"]
    assert at.success[0].value.startswith("audit log intact: ")
    events = at.dataframe[1].value["event"].tolist()
    assert events[0] == "enrol" and events[-1] == "store_created"

    at.number_input(key="retention_days_analyses").set_value(7)
    at.button[0].click().run()  # the form's "Save the policy"
    assert "Saved (1 change(s))." in [s.value for s in at.success]
    at.button(key="retention_sweep").click().run()
    _no_exception(at)
    assert any(s.value.endswith("removed 0 item(s).") for s in at.success)

    at.text_input(key="bias_source").input(str(small_audit_manifest)).run()
    at.number_input(key="bias_min_group").set_value(5)
    at.number_input(key="bias_n_boot").set_value(200)
    at.button(key="bias_run").click().run()
    _no_exception(at)
    assert "Emotion bias audit: 48 faces" in [s.value for s in at.subheader]
    overall = at.dataframe[2].value
    assert "accuracy" in overall["metric"].tolist()
    assert len(at.get("iframe")) == 1  # the HTML report with its plots
    assert len(at.expander) >= 1  # one per model card in models/

    at.text_input(key="bias_source").input("/no/such/folder").run()
    at.button(key="bias_run").click().run()
    _no_exception(at)
    assert any(e.value.startswith("Running the bias audit: audit set /no/such/folder is neither") for e in at.error)


# ----------------------------------------------------------------------------- Explain


def test_explain_shows_a_heatmap_per_emotion_for_the_chosen_face(app_env, faces_dir):
    at = _app("explain")
    assert at.info[0].value.startswith("Analyse a photo with at least one face on the Analyze page first")
    at.switch_page("app_pages/analyze.py").run()
    group = side_by_side(photo_path(faces_dir, MEMBER, 5), photo_path(faces_dir, STRANGER, 5))
    at.file_uploader(key="analyze_uploads").set_value(("group.jpg", group, "image/jpeg")).run()
    at.switch_page("app_pages/explain.py").run()
    _no_exception(at)
    assert len(at.selectbox(key="explain_face").options) == 2
    at.selectbox(key="explain_face").select_index(1).run()
    captions = [caption for image in at.image for caption in image.captions]
    assert len(captions) == 4 and sum(c.endswith("(predicted)") for c in captions) == 1
    at.radio(key="explain_method").set_value("gradcam++").run()
    _no_exception(at)
    assert len(at.image) == 4


def test_missing_models_are_reported_in_the_page_not_as_a_traceback(app_env, faces_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("UNVEIL_MODELS_DIR", str(tmp_path / "no_models"))
    at = _app()
    at.file_uploader(key="analyze_uploads").set_value(("colin.jpg", photo_bytes(faces_dir, MEMBER, 1), "image/jpeg"))
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        f"Analysing the photos: model file not found: {tmp_path / 'no_models' / 'mtcnn_pnet.onnx'}"]
