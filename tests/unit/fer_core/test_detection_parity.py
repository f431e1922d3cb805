"""The ONNX cascade against the reference it was ported from: the PyPI `mtcnn` 1.0.0 package (TensorFlow).

On real photos (every 5th image of the shared LFW set and a few fer4 faces) both must find the same
number of faces on >= 95% of images, and each face the package finds must have a counterpart whose
box overlaps it with IoU >= 0.9 and whose landmarks lie within 2 px.
"""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fer_core.detection import FaceDetector

MIN_SAME_COUNT = 0.95
MIN_IOU = 0.9
MAX_LANDMARK_PX = 2.0
_KEYPOINTS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


@pytest.fixture(scope="module")
def reference():
    mtcnn = pytest.importorskip("mtcnn", reason="the reference detector is in the training extra")
    return mtcnn.MTCNN()


@pytest.fixture(scope="module")
def photos(faces_dir, fer4_dir) -> list[tuple[str, np.ndarray]]:
    paths = sorted(faces_dir.glob("*/*.jpg"))[::5]
    for label in ("happy", "neutral", "sad", "surprise"):
        paths += sorted((fer4_dir / "test" / label).glob("*.jpg"))[:3]
    out = []
    for path in paths:
        with Image.open(path) as image:
            out.append((f"{path.parent.name}/{path.name}", np.asarray(image.convert("RGB"))))
    return out


@pytest.fixture(scope="module")
def both(reference, photos):
    detector = FaceDetector()
    return [(name, reference.detect_faces(rgb), detector.detect(rgb)) for name, rgb in photos]


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """IoU of two (x, y, w, h) boxes: the package's convention and ours."""
    width = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = width * height
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def test_the_test_set_is_real_and_not_trivial(photos, both):
    assert len(photos) >= 40
    found = sum(len(ours) for _, _, ours in both)
    assert found >= 36  # the LFW photos show faces: an empty detector must not pass by agreeing on nothing


def test_same_face_count_on_most_images(both):
    same = [name for name, ref, ours in both if len(ref) == len(ours)]
    assert len(same) / len(both) >= MIN_SAME_COUNT, [
        (name, len(ref), len(ours)) for name, ref, ours in both if len(ref) != len(ours)
    ]


def test_boxes_and_landmarks_match_the_package(both):
    worst_iou, worst_px = 1.0, 0.0
    for name, ref, ours in both:
        for face in ref:
            ref_box = tuple(face["box"])
            assert ours, f"{name}: the package found a face at {face['box']}, we found none"
            match = max(ours, key=lambda d: _iou(ref_box, d.box))
            iou = _iou(ref_box, match.box)
            ref_points = np.array([face["keypoints"][k] for k in _KEYPOINTS], dtype=np.float32)
            px = float(np.abs(ref_points - match.landmarks).max())
            assert iou >= MIN_IOU, f"{name}: box IoU {iou:.3f} with the package's {face['box']}"
            assert px <= MAX_LANDMARK_PX, f"{name}: landmarks {px:.2f} px from the package's"
            assert match.score == pytest.approx(float(face["confidence"]), abs=1e-3)
            worst_iou, worst_px = min(worst_iou, iou), max(worst_px, px)
    print(f"worst IoU {worst_iou:.4f}, worst landmark distance {worst_px:.2f} px")
