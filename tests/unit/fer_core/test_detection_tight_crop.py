"""The detector's tight-crop retry: a photo cropped to the face is read, in the photo's own pixels."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from fer_core import FaceAnalyzer, detection
from fer_core.analyzer import default_detector
from fer_core.detection import FaceDetector
from fer_core.images import load_image

PORTRAIT = Path(__file__).parents[2] / "fixtures" / "public_domain" / "grace_hopper.jpg"


@pytest.fixture(scope="module")
def detectors() -> tuple[FaceDetector, FaceDetector]:
    """The analyzer's detector without and with the retry."""
    plain, retrying = default_detector(), default_detector()
    plain.tight_crop_retry = False
    return plain, retrying


@pytest.fixture(scope="module")
def portrait(detectors) -> tuple[np.ndarray, detection.DetectedFace]:
    rgb = load_image(PORTRAIT)
    (face,) = detectors[0].detect(rgb)
    return rgb, face


def _inset_crop(rgb: np.ndarray, face: detection.DetectedFace, inset: float) -> tuple[np.ndarray, np.ndarray]:
    """The photo cut inside the face box by `inset` of its size on every side, and the crop's offset."""
    x, y, w, h = face.box
    x0, y0 = int(x + inset * w), int(y + inset * h)
    x1, y1 = int(x + w - inset * w), int(y + h - inset * h)
    return np.ascontiguousarray(rgb[y0:y1, x0:x1]), np.array([x0, y0], np.float32)


def test_the_analyzer_retries_and_a_plain_detector_keeps_the_packages_output():
    assert default_detector().tight_crop_retry
    assert not FaceDetector().tight_crop_retry


def test_a_face_cropped_inside_its_box_is_found_with_its_landmarks_in_the_crops_pixels(detectors, portrait):
    plain, retrying = detectors
    rgb, face = portrait
    crop, offset = _inset_crop(rgb, face, 0.05)
    assert plain.detect(crop) == []
    (found,) = retrying.detect(crop)
    # The same eyes, nose and mouth as in the whole photo, within 4% of the face's width.
    assert np.abs(found.landmarks + offset - face.landmarks).max() < 0.04 * face.box[2]
    x, y, w, h = found.box
    assert 0 <= x and 0 <= y and x + w <= crop.shape[1] - 1 and y + h <= crop.shape[0] - 1
    assert w > 0.8 * crop.shape[1] and h > 0.8 * crop.shape[0]


def test_a_big_tight_crop_is_searched_shrunk_and_mapped_back(detectors, portrait):
    retrying = detectors[1]
    rgb, face = portrait
    crop, _ = _inset_crop(rgb, face, 0.05)
    small = retrying.detect(crop)[0].landmarks
    factor = 6  # about 900x1100 px: searched at about a fifth of that
    big = cv2.resize(crop, (crop.shape[1] * factor, crop.shape[0] * factor), interpolation=cv2.INTER_CUBIC)
    assert detection.TIGHT_CROP_MIN_FACE * min(big.shape[:2]) > 4 * detection.TIGHT_CROP_FACE_PX
    (found,) = retrying.detect(big)
    assert np.abs(found.landmarks / factor - small).max() < 0.04 * crop.shape[1]


def test_photos_without_a_face_stay_without_one(detectors):
    retrying = detectors[1]
    rng = np.random.default_rng(0)
    assert retrying.detect(np.full((120, 100, 3), 128, np.uint8)) == []
    assert retrying.detect(rng.integers(0, 256, (90, 90, 3), dtype=np.uint8)) == []
    ramp = np.repeat(np.linspace(0, 255, 200, dtype=np.uint8)[None, :, None], 3, axis=2)
    assert retrying.detect(np.ascontiguousarray(np.repeat(ramp, 150, axis=0))) == []


def test_a_banner_is_not_searched_again_a_square_photo_is(detectors, monkeypatch):
    padded, pad_photo = [], detection._padded
    monkeypatch.setattr(detection, "_padded", lambda image, pad: padded.append(image.shape) or pad_photo(image, pad))
    flat = np.full((40, 40 * int(detection.TIGHT_CROP_MAX_ASPECT) + 40, 3), 128, np.uint8)
    assert detectors[1].detect(flat) == [] and padded == []
    assert detectors[1].detect(np.full((60, 60, 3), 128, np.uint8)) == [] and padded == [(60, 60, 3)]


def test_the_analyzer_reads_the_emotion_of_a_tight_crop(portrait):
    rgb, face = portrait
    crop, _ = _inset_crop(rgb, face, 0.05)
    (read,) = FaceAnalyzer(identity_model=False).analyze(crop)
    assert read.emotion in read.emotion_probs and sum(read.emotion_probs.values()) == pytest.approx(1, abs=1e-4)
