"""Every picture the pages show has a text alternative a screen reader reads (st.image's alt; without it the
browser announces an unnamed image: axe-core's image-alt, found on the Analyze page in Chromium), through
streamlit.testing.v1.AppTest with real photos from ../shared/data. The words themselves are unit-tested in
tests/unit/unveil/test_app_accessibility.py."""
from __future__ import annotations

import io
import json

from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.support.app import MEMBER, STRANGER, photo_path, run_app, side_by_side, widget

TIMEOUT = 120




def _alts(at: AppTest) -> list[str]:
    return [img.alt for image in at.image for img in image.proto.imgs]


def test_analysed_photos_their_charts_and_heatmaps_are_said_in_words(app_env, faces_dir):
    at = run_app()
    group = side_by_side(photo_path(faces_dir, MEMBER, 5), photo_path(faces_dir, STRANGER, 5))
    lawn = io.BytesIO()
    Image.new("RGB", (320, 240), (120, 160, 90)).save(lawn, format="PNG")
    widget(at, "file_uploader", "analyze_inputs_uploads_").set_value(
        [("group.jpg", group, "image/jpeg"), ("lawn.png", lawn.getvalue(), "image/png")]).run()
    assert not at.exception
    faces = [m.value for m in at.markdown if m.value.startswith("**Face ")]
    assert len(faces) == 2
    photo_alt, lawn_alt = _alts(at)
    # Each face's number, emotion and probability, as the lines beside the picture say them.
    assert photo_alt.startswith("group.jpg, 2 faces boxed and numbered. face 1: ")
    for number, line in enumerate(faces, start=1):
        emotion, percent = line.split(": ", 1)[1].split(" (")[:2]
        assert f"face {number}: {emotion} {percent.split(')')[0]}" in photo_alt, (line, photo_alt)
    assert lawn_alt == "lawn.png: no face found."
    # Each probability chart names every bar's value (Vega-Lite's description: the SVG's accessible name).
    charts = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    assert [spec["description"].split(":")[0] for spec in charts] == [
        "Probability of each emotion for face 1", "Probability of each emotion for face 2"]

    at.switch_page("unveil/app/pages/explain.py").run()
    assert not at.exception
    heatmaps = _alts(at)
    assert heatmaps and all(alt.startswith("Heatmap for ") and "over group.jpg, face 1:" in alt for alt in heatmaps)
    assert sum("the emotion the model read" in alt for alt in heatmaps) == 1


def test_a_group_photo_in_the_enrolment_form_says_where_each_numbered_face_is(app_env, faces_dir):
    at = run_app("family")
    at.text_input(key="create_passphrase").input("correct horse battery staple")
    at.text_input(key="create_passphrase_again").input("correct horse battery staple")
    at.button[0].click().run()
    group = side_by_side(photo_path(faces_dir, MEMBER, 5), photo_path(faces_dir, STRANGER, 5))
    widget(at, "file_uploader", "enrol_photos_").set_value(("two people.jpg", group, "image/jpeg")).run()
    assert not at.exception
    assert _alts(at) == ["two people.jpg: 2 faces, each boxed and numbered: face 1 at the left, face 2 at the "
                         "right. Pick the person by number."]
