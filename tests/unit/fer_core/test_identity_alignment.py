"""Alignment for the identity model: faces land on the model's template, and alignment undoes head roll."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from fer_core import ImageError
from fer_core.alignment import DLIB_150_TEMPLATE
from fer_core.detection import FaceDetector
from fer_core.identity import load_embedding_model
from tests.support.identity import read_rgb


@pytest.fixture(scope="module")
def model():
    return load_embedding_model()


@pytest.fixture(scope="module")
def detector():
    return FaceDetector()


@pytest.fixture(scope="module")
def karzai(faces_dir):
    return read_rgb(faces_dir / "Hamid_Karzai" / "Hamid_Karzai_0001.jpg")


def test_shipped_model_aligns_to_the_dlib_chip(model):
    assert model.input_size == (150, 150)
    np.testing.assert_allclose(model.template, DLIB_150_TEMPLATE, atol=1e-4)


def test_aligned_crop_puts_the_eyes_on_the_template(model, detector, karzai):
    crop = model.align(karzai, detector.detect(karzai)[0].landmarks)
    assert crop.shape == (150, 150, 3) and crop.dtype == np.uint8
    found = detector.detect(crop)
    assert len(found) == 1
    # The eyes fix scale and roll; the 5-point least-squares fit leaves nose and mouth a bit looser.
    assert np.abs(found[0].landmarks[:2] - DLIB_150_TEMPLATE[:2]).max() < 4.0
    assert np.abs(found[0].landmarks - DLIB_150_TEMPLATE).max() < 8.0


def test_alignment_undoes_a_rolled_head(model, detector, karzai):
    upright = model.embed_face(karzai, detector.detect(karzai)[0].landmarks)
    height, width = karzai.shape[:2]
    roll = cv2.getRotationMatrix2D((width / 2, height / 2), 25, 1.0)
    rolled = cv2.warpAffine(karzai, roll, (width, height), borderMode=cv2.BORDER_REPLICATE)

    realigned = model.embed_face(rolled, detector.detect(rolled)[0].landmarks)
    stale = model.embed_face(rolled, detector.detect(karzai)[0].landmarks)  # landmarks of the upright photo
    assert np.linalg.norm(realigned - upright) < 0.25  # same person, well within the threshold
    assert np.linalg.norm(stale - upright) > model.threshold  # misaligned: no longer recognised


def test_bad_landmarks_are_refused(model, karzai):
    with pytest.raises(ImageError, match=r"^landmarks must be 5 finite \(x, y\) points, got shape \(4, 2\)$"):
        model.align(karzai, np.zeros((4, 2)))
    with pytest.raises(ImageError, match=r"^landmarks must be 5 finite \(x, y\) points, got shape \(5, 2\)$"):
        model.align(karzai, np.full((5, 2), np.nan))


def test_non_rgb_images_are_refused(model):
    with pytest.raises(ImageError, match=r"^image must be uint8 RGB of shape \(H, W, 3\), got float32 \(20, 20, 3\)$"):
        model.align(np.zeros((20, 20, 3), np.float32), DLIB_150_TEMPLATE)
    with pytest.raises(ImageError, match=r"^aligned faces must be uint8 RGB of shape \(N, 150, 150, 3\), got uint8 \(150, 150, 3\)$"):
        model.embed(np.zeros((150, 150, 3), np.uint8))
