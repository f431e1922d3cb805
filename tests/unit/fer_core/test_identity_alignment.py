"""Alignment for the identity model: faces land on the model's template, and alignment undoes head roll."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from fer_core import ImageError
from fer_core.alignment import ARCFACE_112_TEMPLATE, DLIB_150_TEMPLATE
from fer_core.detection import FaceDetector
from fer_core.identity import load_embedding_model, pairwise_distances
from fer_core.model_files import models_dir
from tests.support.identity import read_rgb

# Each shipped identity model and the template its card documents.
TEMPLATES = {"face_recognition_dlib.onnx": DLIB_150_TEMPLATE, "face_recognition_mobilefacenet.onnx": ARCFACE_112_TEMPLATE}


@pytest.fixture(scope="module", params=sorted(TEMPLATES))
def model(request):
    return load_embedding_model(models_dir() / request.param)


@pytest.fixture(scope="module")
def detector():
    return FaceDetector()


@pytest.fixture(scope="module")
def karzai(faces_dir):
    return read_rgb(faces_dir / "Hamid_Karzai" / "Hamid_Karzai_0001.jpg")


def test_shipped_model_aligns_to_its_documented_template(model):
    template = TEMPLATES[model.name]
    side = 150 if template is DLIB_150_TEMPLATE else 112
    assert model.input_size == (side, side)
    np.testing.assert_allclose(model.template, template, atol=1e-4)


def test_aligned_crop_puts_the_eyes_on_the_template(model, detector, karzai):
    crop = model.align(karzai, detector.detect(karzai)[0].landmarks)
    assert crop.shape == (*model.input_size, 3) and crop.dtype == np.uint8
    found = detector.detect(crop)
    assert len(found) == 1
    # The eyes fix scale and roll; the 5-point least-squares fit leaves nose and mouth a bit looser.
    assert np.abs(found[0].landmarks[:2] - model.template[:2]).max() < 4.0
    assert np.abs(found[0].landmarks - model.template).max() < 8.0


def test_alignment_undoes_a_rolled_head(model, detector, karzai):
    upright = model.embed_face(karzai, detector.detect(karzai)[0].landmarks)
    height, width = karzai.shape[:2]
    roll = cv2.getRotationMatrix2D((width / 2, height / 2), 25, 1.0)
    rolled = cv2.warpAffine(karzai, roll, (width, height), borderMode=cv2.BORDER_REPLICATE)

    realigned = model.embed_face(rolled, detector.detect(rolled)[0].landmarks)
    stale = model.embed_face(rolled, detector.detect(karzai)[0].landmarks)  # landmarks of the upright photo
    realigned_distance, stale_distance = pairwise_distances(upright[None], np.stack([realigned, stale]),
                                                            model.distance)[0]
    assert realigned_distance < model.threshold / 2  # same person, well within the threshold
    # Misaligned, the face drifts away: dlib 0.54 (past its threshold) against 0.13 realigned; MobileFaceNet,
    # less sensitive to roll, 0.34 against 0.015.
    assert stale_distance > 3 * realigned_distance


def test_bad_landmarks_are_refused(model, karzai):
    with pytest.raises(ImageError, match=r"^landmarks must be 5 finite \(x, y\) points, got shape \(4, 2\)$"):
        model.align(karzai, np.zeros((4, 2)))
    with pytest.raises(ImageError, match=r"^landmarks must be 5 finite \(x, y\) points, got shape \(5, 2\)$"):
        model.align(karzai, np.full((5, 2), np.nan))


def test_non_rgb_images_are_refused(model):
    with pytest.raises(ImageError, match=r"^image must be uint8 RGB of shape \(H, W, 3\), got float32 \(20, 20, 3\)$"):
        model.align(np.zeros((20, 20, 3), np.float32), DLIB_150_TEMPLATE)
    side = model.input_size[0]
    with pytest.raises(ImageError, match=rf"^aligned faces must be uint8 RGB of shape \(N, {side}, {side}, 3\), got uint8 "
                                         rf"\({side}, {side}, 3\)$"):
        model.embed(np.zeros((side, side, 3), np.uint8))
