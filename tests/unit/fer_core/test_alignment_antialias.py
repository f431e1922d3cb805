"""Antialiased alignment: a face larger than the crop is averaged down like a proper image downscale."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from fer_core.alignment import (
    similarity_transform,
    supersampling_factor,
    warp_to_crop,
)
from tests.support.identity import read_rgb

CROP = (48, 48)


def _downscale_matrix(source: int, crop: int, offset: float = 0.0) -> np.ndarray:
    """The photo -> crop matrix of cv2.resize from a `source`-px square at (offset, offset) to `crop` px:
    pixel centres map as (x + 0.5) * s - 0.5, as in OpenCV's resize."""
    s = crop / source
    shift = 0.5 * s - 0.5 - offset * s
    return np.array([[s, 0.0, shift], [0.0, s, shift]])


def _zone_plate(n: int) -> np.ndarray:
    """Rings whose frequency rises to well above what a 48 px crop can hold: aliasing shows as moire."""
    y, x = np.mgrid[0:n, 0:n].astype(np.float64)
    rings = 127.5 + 127.5 * np.cos(np.pi * ((x - n / 2) ** 2 + (y - n / 2) ** 2) / n * 0.9)
    return np.repeat(rings.astype(np.uint8)[..., None], 3, axis=-1)


@pytest.mark.parametrize(("scale", "factor"), [(2.0, 1), (1.0, 1), (0.25, 4), (0.3, 4), (48 / 168, 4), (0.05, 20)])
def test_supersampling_reads_every_source_pixel(scale, factor):
    rotation = np.array([[np.cos(0.3), -np.sin(0.3)], [np.sin(0.3), np.cos(0.3)]]) * scale
    assert supersampling_factor(np.hstack([rotation, [[5.0], [7.0]]])) == factor


def test_integer_downscale_equals_inter_area_exactly():
    image = np.random.default_rng(0).integers(0, 256, (192, 192, 3), dtype=np.uint8)
    crop = warp_to_crop(image, _downscale_matrix(192, 48), CROP)
    np.testing.assert_array_equal(crop, cv2.resize(image, CROP, interpolation=cv2.INTER_AREA))


def test_fractional_downscale_of_a_zone_plate_matches_inter_area_where_bilinear_aliases():
    image = _zone_plate(168)  # 3.5 source pixels per crop pixel: supersampled 4x
    matrix = _downscale_matrix(168, 48)
    reference = cv2.resize(image, CROP, interpolation=cv2.INTER_AREA).astype(np.float64)
    antialiased = np.abs(warp_to_crop(image, matrix, CROP).astype(np.float64) - reference)
    bilinear = np.abs(warp_to_crop(image, matrix, CROP, antialias=False).astype(np.float64) - reference)
    assert antialiased.mean() < 1.5 and antialiased.max() <= 6
    assert bilinear.mean() > 30  # the moire the antialiased crop avoids


def test_a_real_face_cut_from_its_photo_matches_inter_area_of_the_same_region(faces_dir):
    photo = read_rgb(faces_dir / "Hamid_Karzai" / "Hamid_Karzai_0001.jpg")
    reference = cv2.resize(photo[41:209, 41:209], CROP, interpolation=cv2.INTER_AREA).astype(np.float64)
    crop = warp_to_crop(photo, _downscale_matrix(168, 48, offset=41), CROP).astype(np.float64)
    assert np.abs(crop - reference).mean() < 0.5 and np.abs(crop - reference).max() <= 4


def test_an_enlarged_face_is_the_plain_bilinear_warp():
    image = np.random.default_rng(1).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    matrix = np.array([[1.5, 0.1, 2.0], [-0.1, 1.5, 3.0]])
    expected = cv2.warpAffine(image, matrix, (48, 48), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    np.testing.assert_array_equal(warp_to_crop(image, matrix, CROP), expected)


def test_identity_crops_stay_bilinear(faces_dir):
    """The identity model's threshold was measured on bilinear crops; its alignment keeps them."""
    from fer_core.detection import FaceDetector
    from fer_core.identity import load_embedding_model

    photo = read_rgb(faces_dir / "Hamid_Karzai" / "Hamid_Karzai_0001.jpg")
    landmarks = FaceDetector().detect(photo)[0].landmarks
    model = load_embedding_model()
    matrix = similarity_transform(landmarks, model.template)
    height, width = model.input_size
    expected = cv2.warpAffine(photo, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    np.testing.assert_array_equal(model.align(photo, landmarks), expected)


def test_the_emotion_crop_is_antialiased(faces_dir):
    from fer_core.detection import FaceDetector
    from fer_core.emotion import EmotionModel

    photo = read_rgb(faces_dir / "Hamid_Karzai" / "Hamid_Karzai_0001.jpg")
    landmarks = FaceDetector().detect(photo)[0].landmarks
    model = EmotionModel()
    matrix = similarity_transform(landmarks, model.template)
    assert supersampling_factor(matrix) > 1  # an LFW face is larger than the 48 px crop
    np.testing.assert_array_equal(model.align(photo, landmarks), warp_to_crop(photo, matrix, model.input_size))
