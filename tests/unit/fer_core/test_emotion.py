"""EmotionModel reads its contract from the ONNX metadata and refuses models that break it.

Uses the real tiny model that fer_core.training trains and exports (tests/conftest.py)."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from PIL import Image

from fer_core import ImageError, ModelError
from fer_core.alignment import ARCFACE_112_TEMPLATE
from fer_core.emotion import PREDICT_BATCH, EmotionModel
from tests.support.sessions import RowCounter


def _with_metadata(source, target, **changes):
    """A copy of the real model at `target` with metadata entries changed (None removes one)."""
    proto = onnx.load(str(source))
    props = {p.key: p.value for p in proto.metadata_props}
    for key, value in changes.items():
        if value is None:
            props.pop(key, None)
        else:
            props[key] = value
    onnx.helper.set_model_props(proto, props)
    onnx.save(proto, str(target))
    return target


@pytest.fixture(scope="module")
def model(tiny_emotion_onnx) -> EmotionModel:
    return EmotionModel(tiny_emotion_onnx)


def test_contract_comes_from_metadata(model, tiny_emotion_onnx):
    assert model.classes == ("happy", "neutral", "sad", "surprise")
    assert model.input_size == (48, 48)
    assert model.version == "test-tiny"
    assert model.temperature > 0
    meta = {p.key: p.value for p in onnx.load(str(tiny_emotion_onnx)).metadata_props}
    np.testing.assert_allclose(model.template, json.loads(meta["template"]), rtol=1e-6)


def test_without_a_template_arcface_is_scaled_to_the_input(tiny_emotion_onnx, tmp_path):
    bare = EmotionModel(_with_metadata(tiny_emotion_onnx, tmp_path / "bare.onnx", template=None))
    np.testing.assert_allclose(bare.template, ARCFACE_112_TEMPLATE * 48 / 112, rtol=1e-6)


def test_predict_gives_probabilities(model, fer4_dir):
    paths = sorted((fer4_dir / "test" / "happy").glob("*.jpg"))[:5]
    crops = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths])
    probs = model.predict(crops)
    assert probs.shape == (5, 4) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert (probs >= 0).all()
    assert model.predict(np.zeros((0, 48, 48, 3), np.uint8)).shape == (0, 4)


def test_predict_refuses_crops_of_the_wrong_size(model):
    with pytest.raises(ImageError, match=r"^aligned faces must be uint8 RGB of shape \(N, 48, 48, 3\), got uint8 \(1, 64, 64, 3\)$"):
        model.predict(np.zeros((1, 64, 64, 3), np.uint8))


def test_template_from_metadata_is_used(tiny_emotion_onnx, tmp_path):
    template = [[15.0, 20.0], [33.0, 20.0], [24.0, 29.0], [17.0, 38.0], [31.0, 38.0]]
    path = _with_metadata(tiny_emotion_onnx, tmp_path / "m.onnx", template=json.dumps(template))
    model = EmotionModel(path)
    np.testing.assert_array_equal(model.template, np.array(template, np.float32))
    image = np.random.default_rng(0).integers(0, 256, (120, 100, 3), dtype=np.uint8)
    assert model.align(image, np.array(template) * 2).shape == (48, 48, 3)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"classes": None}, r"^model m\.onnx has no 'classes' in its metadata$"),
        ({"classes": '["happy"]'}, r"^model m\.onnx: metadata 'classes' must list at least two names, got \['happy'\]$"),
        ({"classes": '["a", "b", "c", "d", "e"]'}, r"^model m\.onnx: output shape \[.+, 4\] does not match 5 classes$"),
        ({"input_size": "[64, 64]"}, r"^model m\.onnx: input shape \[.+, 48, 48, 3\] is not NHWC with metadata input_size \[64, 64\]$"),
        ({"input_size": "48"}, r"^model m\.onnx: metadata 'input_size' must be \[h, w\] positive integers, got 48$"),
        ({"temperature": "hot"}, r"^model m\.onnx: metadata 'temperature' is not a number: 'hot'$"),
        ({"template": "[[1, 2]]"}, r"^model m\.onnx: metadata 'template' must be 5 \(x, y\) points, got shape \(1, 2\)$"),
    ],
)
def test_models_that_break_the_contract_are_refused(tiny_emotion_onnx, tmp_path, changes, message):
    path = _with_metadata(tiny_emotion_onnx, tmp_path / "m.onnx", **changes)
    with pytest.raises(ModelError, match=message):
        EmotionModel(path)


def test_missing_model_file(tmp_path):
    with pytest.raises(ModelError, match=r"^model file not found: .*nothing\.onnx$"):
        EmotionModel(tmp_path / "nothing.onnx")


def test_predict_runs_at_most_predict_batch_faces_at_a_time_and_keeps_their_order(tiny_emotion_onnx, fer4_dir):
    model = EmotionModel(tiny_emotion_onnx)
    paths = sorted((fer4_dir / "test").glob("*/*.jpg"))[: 2 * PREDICT_BATCH + 3]
    crops = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths])
    one_by_one = np.concatenate([model.predict(crop[None]) for crop in crops])
    model._session = counter = RowCounter(model._session)
    probs = model.predict(crops)
    assert counter.rows == [PREDICT_BATCH, PREDICT_BATCH, 3]
    np.testing.assert_allclose(probs, one_by_one, atol=1e-5)
    assert np.ptp(probs, axis=0).max() > 100 * 1e-5  # faces far apart, so a shuffled order would fail above


def test_align_refuses_landmarks_that_are_not_five_finite_points():
    shipped = EmotionModel()  # align needs only the model's template: no tiny model trained for this
    image = np.zeros((100, 100, 3), np.uint8)
    for bad, shape in ((np.full((5, 2), np.nan), "(5, 2)"), (np.full((5, 2), np.inf), "(5, 2)"), (np.zeros((4, 2)), "(4, 2)")):
        with pytest.raises(ImageError) as caught:
            shipped.align(image, bad)
        assert str(caught.value) == f"landmarks must be 5 finite (x, y) points, got shape {shape}"
