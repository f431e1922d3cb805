"""FaceDetector behaviour beyond parity: the package's NMS rule, the pyramid, edge inputs, settings."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from fer_core import FaceAnalyzer, ModelError, _boxes, detection  # noqa: PLC2701 (the box helpers, unit-tested)
from fer_core.detection import (
    MIN_FACE_SIZE_NOT_FINITE,
    DetectedFace,
    FaceDetector,
    detect_faces,
)
from fer_core.images import load_image


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


@pytest.fixture(scope="module")
def photo(faces_dir) -> np.ndarray:
    with Image.open(faces_dir / "Colin_Powell" / "Colin_Powell_0001.jpg") as image:
        return np.asarray(image.convert("RGB"))


def test_nms_drops_a_box_overlapped_by_an_already_dropped_one():
    # A overlaps B, B overlaps C, A does not overlap C. Greedy NMS would keep A and C; the package
    # drops C because B (itself dropped) overlaps it, and we must do the same.
    boxes = np.array([[0, 0, 10, 10, 0.9], [3, 0, 13, 10, 0.8], [6, 0, 16, 10, 0.7]], dtype=np.float64)
    kept = _boxes.nms(boxes, 0.5)
    np.testing.assert_array_equal(kept, boxes[:1])


def test_nms_min_method_drops_a_box_nested_in_a_better_one():
    boxes = np.array([[0, 0, 100, 100, 0.99], [10, 10, 40, 40, 0.9]], dtype=np.float64)
    assert len(_boxes.nms(boxes, 0.7, method="union")) == 2  # IoU 0.09
    assert len(_boxes.nms(boxes, 0.7, method="min")) == 1  # fully inside the first


def test_square_keeps_the_centre():
    out = _boxes.square(np.array([[10.0, 20.0, 30.0, 60.0, 0.5]]))
    np.testing.assert_allclose(out, [[0.0, 20.0, 40.0, 60.0, 0.5]])


def test_pyramid_levels(detector):
    scales = detector.pyramid_scales(480, 640)
    assert len(scales) == 10  # what the package uses for 640x480
    assert scales[0] == pytest.approx(0.6)
    assert 480 * scales[-1] >= 12 > 480 * scales[-1] * 0.709
    # a bigger minimum face drops the largest levels: that is where the speed-up comes from
    assert FaceDetector(min_face_size=40).pyramid_scales(480, 640)[0] == pytest.approx(0.3)


def test_a_smallest_face_relative_to_the_photo_skips_a_big_photos_largest_levels_only():
    relative = FaceDetector(min_face_size=40, min_face_fraction=0.02)
    fixed = FaceDetector(min_face_size=40)
    # A phone photo: 2% of 3000 px is 60 px, so the first level is 12/60 of the photo, and the rest follow.
    assert relative.pyramid_scales(3000, 4000)[0] == pytest.approx(0.2)
    assert relative.pyramid_scales(3000, 4000)[1] == pytest.approx(0.2 * 0.709)
    assert fixed.pyramid_scales(3000, 4000)[0] == pytest.approx(0.3)
    # A webcam frame: 2% of 480 is under 40 px, so min_face_size decides, as without the fraction.
    assert relative.pyramid_scales(480, 640) == fixed.pyramid_scales(480, 640)
    with pytest.raises(ValueError, match=r"^min_face_fraction must be in \[0, 1\), got 1.0$"):
        FaceDetector(min_face_fraction=1.0)


def test_one_face_with_plausible_landmarks(detector, photo):
    faces = detector.detect(photo)
    assert len(faces) == 1
    face = faces[0]
    assert isinstance(face, DetectedFace)
    x, y, w, h = face.box  # (x, y, w, h): the one public box convention
    assert 0 <= x and 0 < w and x + w <= 249 and 0 <= y and 0 < h and y + h <= 249
    assert face.landmarks.shape == (5, 2) and face.landmarks.dtype == np.float32
    left_eye, right_eye, nose, mouth_left, mouth_right = face.landmarks
    assert left_eye[0] < nose[0] < right_eye[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])
    assert 0.8 < face.score <= 1.0


def test_detect_faces_uses_the_shipped_models(photo, detector):
    assert [f.box for f in detect_faces(photo)] == [f.box for f in detector.detect(photo)]


def test_no_face_and_tiny_images_give_an_empty_list(detector):
    assert detector.detect(np.full((240, 320, 3), 128, np.uint8)) == []
    assert detector.detect(np.zeros((8, 300, 3), np.uint8)) == []


def test_faces_smaller_than_min_face_size_are_skipped(photo):
    small = np.asarray(Image.fromarray(photo).resize((100, 100), Image.BILINEAR))  # face box ~35x45 px
    assert len(FaceDetector().detect(small)) == 1
    assert FaceDetector(min_face_size=100).detect(small) == []


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"^need an HxWx3 uint8 RGB array, got float32 \(10, 10, 3\)$"):
        FaceDetector().detect(np.zeros((10, 10, 3), np.float32))
    with pytest.raises(ValueError, match=r"^min_face_size must be at least 12 px, got 8$"):
        FaceDetector(min_face_size=8)
    for value in (float("nan"), float("inf")):
        with pytest.raises(ValueError) as error:
            FaceDetector(min_face_size=value)
        assert str(error.value) == MIN_FACE_SIZE_NOT_FINITE.format(value=value)
    with pytest.raises(ValueError, match=r"^scale_factor must be in \(0, 1\), got 1.2$"):
        FaceDetector(scale_factor=1.2)
    with pytest.raises(ValueError, match=r"^thresholds must be three probabilities in \[0, 1\), got \(0.6, 0.7\)$"):
        FaceDetector(thresholds=(0.6, 0.7))
    with pytest.raises(ModelError, match=r"^model file not found: .*missing\.onnx$"):
        FaceDetector(pnet="missing.onnx")


# --- memory: big photos ------------------------------------------------------------------------


def _same_faces(a: list[DetectedFace], b: list[DetectedFace], *, pixels: float) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x.box, y.box, atol=pixels)
        np.testing.assert_allclose(x.landmarks, y.landmarks, atol=pixels)
        assert x.score == pytest.approx(y.score, abs=0.01)


def test_pnet_in_bands_of_rows_gives_exactly_one_runs_faces(photo, detector, monkeypatch):
    whole = detector.detect(photo)
    monkeypatch.setattr(detection, "PNET_BAND_PIXELS", 3_000)  # bands of 24 rows on the 150 px first level
    in_bands = detector.detect(photo)
    assert [(f.box, f.score) for f in in_bands] == [(f.box, f.score) for f in whole]
    np.testing.assert_array_equal(in_bands[0].landmarks, whole[0].landmarks)


def test_a_photo_shrunk_to_the_first_level_first_gives_the_same_faces(photo, monkeypatch):
    analyzer_detector = FaceDetector(min_face_size=40)
    bigger = cv2.resize(photo, (1600, 1200), interpolation=cv2.INTER_CUBIC)
    whole = analyzer_detector.detect(bigger)
    monkeypatch.setattr(detection, "FULL_PYRAMID_MAX_PIXELS", 1_000_000)  # the 1.9 MP photo is then "big"
    # within 1% of the face's width (on 20 LFW photos at this size: 0.6% at worst)
    width = whole[0].box[2]
    _same_faces(analyzer_detector.detect(bigger), whole, pixels=0.01 * width)


def test_the_face_of_a_12_megapixel_photo_is_found(photo, tmp_path):
    big = cv2.resize(photo, (4200, 3000), interpolation=cv2.INTER_CUBIC)  # 12.6 MP: shrunk before P-Net
    path = tmp_path / "big.jpg"
    Image.fromarray(big).save(path, quality=90)
    detector = FaceDetector(min_face_size=40)
    faces = detector.detect(load_image(path))
    assert len(faces) == 1
    found = np.array(faces[0].box) / np.array([4200 / 250, 3000 / 250] * 2)
    # The same face as in the original photo: MTCNN's box of a face 17 times larger is a little
    # different (that of the unshrunk pyramid too), but overlaps it well.
    assert _iou(found, np.array(detector.detect(photo)[0].box)) > 0.6


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two (x, y, w, h) boxes."""
    width = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = width * height
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def _detected(box, score=0.99) -> DetectedFace:
    return DetectedFace(box=box, landmarks=np.zeros((5, 2), np.float32), score=score)


def test_on_a_neck_is_a_small_box_at_a_faces_bottom_edge_inside_its_width():
    face = _detected((100.0, 100.0, 100.0, 120.0))  # (x, y, w, h)
    assert detection.on_a_neck(_detected((90.0, 222.0, 52.0, 59.0)), face)  # 52x59 under the chin
    assert not detection.on_a_neck(_detected((90.0, 270.0, 52.0, 59.0)), face)  # 0.42 face heights lower
    assert not detection.on_a_neck(_detected((40.0, 222.0, 52.0, 59.0)), face)  # beside the face, not under it
    assert not detection.on_a_neck(_detected((110.0, 222.0, 90.0, 100.0)), face)  # as large as a face
    assert not detection.on_a_neck(face, _detected((90.0, 222.0, 52.0, 59.0)))


def test_the_neck_check_drops_the_false_face_on_a_neck_and_keeps_the_face(faces_dir):
    # On this LFW photo with a 20 px border O-Net scores a 52x60 box on the neck 0.83, the false
    # face of a group photo; the analyzer's detector has the neck check on.
    with Image.open(faces_dir / "_unknown" / "Lisa_Stone_0001.jpg") as image:
        photo = np.asarray(ImageOps.expand(image.convert("RGB"), border=20, fill=(200, 200, 200)))
    plain = FaceDetector(min_face_size=40).detect(photo)
    assert len(plain) == 2 and detection.on_a_neck(plain[1], plain[0])
    checked = FaceAnalyzer(identity_model=False).detector.detect(photo)
    assert [(f.box, f.score) for f in checked] == [(plain[0].box, plain[0].score)]
