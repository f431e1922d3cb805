"""HEIC (iPhones' default) and AVIF photos through every front end, made here from LFW photos: the analyzer finds
the faces of the JPEG, `unveil analyze FOLDER` searches for them, the local API and the app's uploaders take
them, and a member is enrolled from them."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from fer_core import FaceAnalyzer
from fer_core.images import load_image
from tests.support import heif
from tests.support.app import MEMBER, STRANGER, photo_path, run_app, shipped_analyzer, widget
from unveil.api import ApiSettings, create_app
from unveil.cli import main
from unveil.cli.analyze import SUMMARY

TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PEOPLE = ((MEMBER, 1), (STRANGER, 1), ("Halle_Berry", 1), ("Tiger_Woods", 1))
# How far a face's box may move between a JPEG and its HEIC or AVIF copy (lossy coding), in pixels.
BOX_SLACK = 3
# ... and between a photo stored upright and stored on its side, as a share of the face's width: HEVC codes the
# turned pixels in other blocks, and MTCNN's box for Colin_Powell_0001 moves 7 px of 80 (1 px for the others).
TURNED_BOX_SLACK = 0.1
PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="module")
def analyzer(app_models_dir) -> FaceAnalyzer:
    return shipped_analyzer(app_models_dir)


def _rgb(faces_dir, person: str, number: int) -> np.ndarray:
    with Image.open(photo_path(faces_dir, person, number)) as image:
        return np.asarray(image.convert("RGB"))


def _same_faces(found, expected, slack: float = BOX_SLACK) -> None:
    assert len(found) == len(expected) >= 1
    for face, reference in zip(found, expected):
        assert np.abs(np.subtract(face.box, reference.box)).max() <= slack, (face.box, reference.box)
        assert face.emotion == reference.emotion


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_the_analyzer_finds_the_faces_of_the_jpeg_in_its_heic_and_avif_copies(analyzer, faces_dir, fmt):
    for person, number in PEOPLE:
        jpeg = photo_path(faces_dir, person, number).read_bytes()
        copy = heif.encoded(_rgb(faces_dir, person, number), fmt, quality=95)
        _same_faces(analyzer.analyze(load_image(copy)), analyzer.analyze(load_image(jpeg)))


def test_a_heic_stored_on_its_side_finds_the_faces_of_the_same_photo_as_an_exif_turned_jpeg(analyzer, faces_dir):
    unturned, portrait = Image.Exif(), Image.Exif()
    unturned[0x0112], portrait[0x0112] = 1, 6  # 6: "turn clockwise to show", what a phone writes for a portrait
    for person, number in PEOPLE:
        sideways = np.ascontiguousarray(np.rot90(_rgb(faces_dir, person, number), k=1))
        # As an iPhone saves a portrait: the pixels on their side, irot 3 (270 degrees anticlockwise), EXIF 6.
        as_heic = heif.encoded(sideways, "HEIF", exif=unturned, quality=95)
        as_heic = heif.with_exif_orientation(heif.rotated(as_heic, 3), 6)
        as_jpeg = io.BytesIO()
        Image.fromarray(sideways).save(as_jpeg, format="JPEG", quality=95, exif=portrait)
        expected = analyzer.analyze(load_image(as_jpeg.getvalue()))
        _same_faces(analyzer.analyze(load_image(as_heic)), expected, TURNED_BOX_SLACK * expected[0].box[2])


def test_unveil_analyze_searches_a_folder_for_heic_and_avif_photos(tmp_path, faces_dir, tiny_emotion_onnx, capsys):
    album = tmp_path / "iphone"
    (album / "2024").mkdir(parents=True)
    (album / "IMG_0001.HEIC").write_bytes(heif.encoded(_rgb(faces_dir, MEMBER, 1), "HEIF"))
    (album / "2024" / "IMG_0002.heif").write_bytes(heif.encoded(_rgb(faces_dir, STRANGER, 1), "HEIF"))
    (album / "2024" / "web.avif").write_bytes(heif.encoded(_rgb(faces_dir, "Halle_Berry", 1), "AVIF"))
    cut = heif.encoded(_rgb(faces_dir, "Tiger_Woods", 1), "HEIF")
    (album / "2024" / "IMG_0003.heic").write_bytes(cut[:-len(cut) // 3])
    code = main(["analyze", str(album), "--emotion-model", str(tiny_emotion_onnx), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0
    by_source = {line["source"]: line for line in map(json.loads, out.splitlines())}
    assert sorted(by_source) == sorted(str(album / p) for p in ("IMG_0001.HEIC", "2024/IMG_0002.heif",
                                                                 "2024/web.avif"))
    assert all(len(line["faces"]) == 1 and (line["width"], line["height"]) == (250, 250)
               for line in by_source.values())
    assert err.splitlines() == [
        "1 of 4 could not be read:",
        f"  {album / '2024' / 'IMG_0003.heic'}: truncated (the file ends before the image data does)",
        SUMMARY.format(analysed=3, not_read=1, noted=0),
    ]


def test_the_api_takes_a_heic_or_avif_body_or_upload_and_refuses_a_bad_one(analyzer, faces_dir):
    client = TestClient(create_app(settings=ApiSettings(token=TOKEN, max_body_bytes=2 * 1024**2), analyzer=analyzer),
                        base_url="http://127.0.0.1")
    rgb = _rgb(faces_dir, MEMBER, 1)
    jpeg = client.post("/v1/analyze", headers={**AUTH, "Content-Type": "image/jpeg"},
                       content=photo_path(faces_dir, MEMBER, 1).read_bytes()).json()
    photo = heif.encoded(rgb, "HEIF", quality=95)
    for reply in (client.post("/v1/analyze", headers={**AUTH, "Content-Type": "image/heic"}, content=photo),
                  client.post("/v1/analyze", headers=AUTH, files={"image": ("IMG_0001.HEIC", photo, "image/heic")}),
                  client.post("/v1/analyze", headers={**AUTH, "Content-Type": "image/avif"},
                              content=heif.encoded(rgb, "AVIF", quality=95))):
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert (body["width"], body["height"]) == (250, 250) and len(body["faces"]) == len(jpeg["faces"]) == 1
        assert body["faces"][0]["emotion"] == jpeg["faces"][0]["emotion"]
        assert max(abs(body["faces"][0][k] - jpeg["faces"][0][k]) for k in "xywh") <= BOX_SLACK
    truncated = client.post("/v1/analyze", headers={**AUTH, "Content-Type": "image/heic"}, content=photo[:-3000])
    assert truncated.status_code == 400 and truncated.json()["error"] == "unreadable_image"
    bomb = heif.claiming_size(heif.encoded(np.zeros((256, 256, 3), np.uint8), "HEIF"), 20_000, 20_000)
    refused = client.post("/v1/analyze", headers={**AUTH, "Content-Type": "image/heif"}, content=bomb)
    assert refused.status_code == 413 and refused.json()["error"] == "too_many_pixels"




def test_the_analyze_page_takes_heic_and_avif_uploads(app_env, faces_dir):
    at = run_app()
    uploads = widget(at, "file_uploader", "analyze_inputs_uploads_")
    assert {".heic", ".heif", ".avif"} <= set(uploads.allowed_type)
    uploads.set_value([
        ("IMG_0001.HEIC", heif.encoded(_rgb(faces_dir, MEMBER, 1), "HEIF"), "image/heic"),
        ("web.avif", heif.encoded(_rgb(faces_dir, STRANGER, 1), "AVIF"), "image/avif"),
    ]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error and not at.warning
    assert [s.value for s in at.header] == ["IMG_0001.HEIC", "web.avif", "Results"]
    assert [image.captions for image in at.image] == [["1 face"], ["1 face"]]


def test_a_member_is_enrolled_from_heic_photos_on_the_family_page(app_env, faces_dir):
    at = run_app("family")
    at.text_input(key="create_passphrase").input(PASSPHRASE)
    at.text_input(key="create_passphrase_again").input(PASSPHRASE)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    widget(at, "text_input", "enrol_name_").input("Colin Powell")
    photos = widget(at, "file_uploader", "enrol_photos_")
    assert {".heic", ".heif", ".avif"} <= set(photos.allowed_type)
    photos.set_value([(f"IMG_000{n}.HEIC", heif.encoded(_rgb(faces_dir, MEMBER, n), "HEIF"), "image/heic")
                      for n in range(2, 5)])
    widget(at, "checkbox", "enrol_agreed_").check()
    at.button(key="enrol_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any(s.value.startswith("Enrolled Colin Powell with 3 ") for s in at.success), [s.value for s in at.success]
