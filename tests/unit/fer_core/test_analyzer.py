"""FaceAnalyzer: photo in, Face objects out, in reading order, with emotion and (optionally) identity.

The emotion model is the real tiny one trained and exported by fer_core.training (tests/conftest.py);
the identity tests use the shipped identity model when it is present.
"""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from fer_core import ImageError
from fer_core.analyzer import Face, FaceAnalyzer, identify
from fer_core.emotion import EmotionModel
from fer_core.model_files import identity_model_name, models_dir

ONE_FACE = ("Colin_Powell/Colin_Powell_0001.jpg", "Halle_Berry/Halle_Berry_0001.jpg",
            "Tiger_Woods/Tiger_Woods_0001.jpg", "Naomi_Watts/Naomi_Watts_0001.jpg",
            "Hugo_Chavez/Hugo_Chavez_0001.jpg", "Laura_Bush/Laura_Bush_0001.jpg")


@pytest.fixture(scope="module")
def analyzer(tiny_emotion_onnx) -> FaceAnalyzer:
    return FaceAnalyzer(emotion_model=tiny_emotion_onnx, identity_model=False)


def _rgb(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _centre_crop(image: np.ndarray, size: int = 150) -> np.ndarray:
    top = (image.shape[0] - size) // 2
    left = (image.shape[1] - size) // 2
    return image[top:top + size, left:left + size]


def test_one_face_with_every_field(analyzer, faces_dir):
    faces = analyzer.analyze(faces_dir / ONE_FACE[0])
    assert len(faces) == 1
    face = faces[0]
    assert isinstance(face, Face)
    assert all(isinstance(v, int) for v in face.box)
    x, y, w, h = face.box
    assert 0 <= x and 0 <= y and x + w <= 250 and y + h <= 250 and w > 40 and h > 40
    assert face.landmarks.shape == (5, 2)
    assert 0.8 < face.score <= 1.0
    assert list(face.emotion_probs) == ["happy", "neutral", "sad", "surprise"]
    assert sum(face.emotion_probs.values()) == pytest.approx(1.0, abs=1e-5)
    assert face.emotion == max(face.emotion_probs, key=face.emotion_probs.get)
    assert face.embedding is None and face.identity is None  # no identity model loaded
    assert face.aligned is None  # not kept unless asked


def test_every_input_kind_gives_the_same_faces(analyzer, faces_dir):
    path = faces_dir / ONE_FACE[1]
    rgb = _rgb(path)
    expected = [(f.box, f.emotion) for f in analyzer.analyze(path)]
    with Image.open(path) as pil:
        from_pil = analyzer.analyze(pil)
    for faces in (analyzer.analyze(str(path)), analyzer.analyze(path.read_bytes()),
                  analyzer.analyze(io.BytesIO(path.read_bytes())), from_pil, analyzer.analyze(rgb)):
        assert [(f.box, f.emotion) for f in faces] == expected


def test_boxes_are_in_upright_pixels_of_an_exif_rotated_photo(analyzer, faces_dir):
    rgb = _rgb(faces_dir / ONE_FACE[0])[:, :200]
    sideways = np.rot90(rgb, k=1)  # stored rotated 90 degrees counter-clockwise...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...with the tag that tells viewers to turn it back clockwise
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(sideways)).save(buffer, format="PNG", exif=exif)
    from_tagged = analyzer.analyze(buffer.getvalue())
    upright = analyzer.analyze(rgb)
    assert len(from_tagged) == len(upright) == 1
    assert np.abs(np.subtract(from_tagged[0].box, upright[0].box)).max() <= 1


def test_keep_aligned_returns_the_emotion_models_input(analyzer, faces_dir):
    (face,) = analyzer.analyze(faces_dir / ONE_FACE[0], keep_aligned=True)
    assert face.aligned.shape == (*analyzer.emotion_model.input_size, 3)
    assert face.aligned.dtype == np.uint8


def test_a_photo_without_a_face_gives_an_empty_list(analyzer):
    sky = np.linspace(90, 200, 320 * 240 * 3).reshape(240, 320, 3).astype(np.uint8)
    assert analyzer.analyze(sky) == []


def test_faces_come_in_reading_order(analyzer, faces_dir):
    # A real group shot: six single-face photos in two rows of three. The right column sits
    # 20 px lower (people are never perfectly level) and must still count as the same row.
    tiles = [_centre_crop(_rgb(faces_dir / name)) for name in ONE_FACE]
    canvas = np.full((2 * 150 + 40, 3 * 150, 3), 255, np.uint8)
    origins = []
    for i, tile in enumerate(tiles):
        row, col = divmod(i, 3)
        top, left = row * 170 + (20 if col == 2 else 0), col * 150
        canvas[top:top + 150, left:left + 150] = tile
        origins.append((left, top))
    faces = analyzer.analyze(canvas)
    assert len(faces) == 6
    for (left, top), face in zip(origins, faces):
        cx, cy = face.box[0] + face.box[2] / 2, face.box[1] + face.box[3] / 2
        assert left <= cx < left + 150 and top <= cy < top + 150


def test_unreadable_input_raises_image_error(analyzer):
    with pytest.raises(ImageError, match=r"^image bytes: not an image"):
        analyzer.analyze(b"GIF89a but not really")


def test_models_are_given_as_objects_or_paths(tiny_emotion_onnx, faces_dir):
    model = EmotionModel(tiny_emotion_onnx)
    analyzer = FaceAnalyzer(emotion_model=model, identity_model=False)
    assert analyzer.emotion_model is model
    assert len(analyzer.analyze(faces_dir / ONE_FACE[2])) == 1


_IDENTITY = models_dir() / identity_model_name()
needs_identity_model = pytest.mark.skipif(not _IDENTITY.is_file(), reason="identity model not shipped yet")


@needs_identity_model
def test_identity_model_fills_embedding_and_the_gallery_given_per_call_names_people(tiny_emotion_onnx, faces_dir):
    from fer_core.identity import Gallery

    analyzer = FaceAnalyzer(emotion_model=tiny_emotion_onnx)  # the shipped identity model, found by default
    assert analyzer.identity_model is not None
    enrol = {}
    for person in ("Colin_Powell", "Halle_Berry"):
        faces = [analyzer.analyze(faces_dir / person / f"{person}_000{i}.jpg")[0] for i in (1, 2, 3)]
        assert all(f.embedding is not None and f.match is None and f.identity is None for f in faces)  # no gallery
        enrol[f"id-{person}"] = np.stack([f.embedding for f in faces])
    model = analyzer.identity_model
    gallery = Gallery(enrol, labels={pid: pid[3:] for pid in enrol}, threshold=model.threshold,
                      distance=model.distance)
    probe_path = faces_dir / "Colin_Powell" / "Colin_Powell_0006.jpg"
    probe = analyzer.analyze(probe_path, gallery=gallery)
    assert [(f.person_id, f.identity) for f in probe] == [("id-Colin_Powell", "Colin_Powell")]
    assert probe[0].match.reason == "match"
    stranger = analyzer.analyze(faces_dir / "_unknown" / "Ben_Stein_0001.jpg", gallery=gallery)
    assert [(f.person_id, f.identity, f.match.reason) for f in stranger] == [(None, None, "beyond threshold")]
    # The gallery belongs to the call, not to the analyzer: the next call without one names nobody.
    assert not hasattr(analyzer, "gallery")
    assert [f.match for f in analyzer.analyze(probe_path)] == [None]
    # Faces analysed without a gallery are named later from their embeddings alone.
    assert [f.person_id for f in identify(analyzer.analyze(probe_path), gallery)] == ["id-Colin_Powell"]


def test_unveil_identity_model_picks_the_identity_model_the_analyzer_loads(tiny_emotion_onnx, monkeypatch):
    monkeypatch.delenv("UNVEIL_IDENTITY_MODEL", raising=False)
    assert FaceAnalyzer(emotion_model=tiny_emotion_onnx).identity_model.name == "face_recognition_mobilefacenet.onnx"
    monkeypatch.setenv("UNVEIL_IDENTITY_MODEL", "face_recognition_dlib.onnx")
    analyzer = FaceAnalyzer(emotion_model=tiny_emotion_onnx)
    assert (analyzer.identity_model.name, analyzer.identity_model.embedding_dim) == ("face_recognition_dlib.onnx", 128)
    monkeypatch.setenv("UNVEIL_IDENTITY_MODEL", "not_installed.onnx")
    assert FaceAnalyzer(emotion_model=tiny_emotion_onnx).identity_model is None  # nobody named, as without a model
