"""The identity converters: the shipped dlib ResNet reproduces face-api's JavaScript; the Keras path exports a real net."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from fer_core.identity import load_embedding_model
from fer_core.model_files import models_dir
from tests.support.identity import aligned_fixture_faces, reference_embeddings

MODEL = models_dir() / "face_recognition_dlib.onnx"


def test_onnx_reproduces_faceapi_javascript_embeddings():
    model = load_embedding_model(MODEL, flip_average=False)  # the JS reference has no flip averaging
    ours = model.embed(aligned_fixture_faces())
    reference = reference_embeddings()
    assert ours.shape == reference.shape == (4, 128)
    assert np.abs(ours - reference).max() < 1e-5


def test_reference_embeddings_tell_people_apart_at_the_shipped_threshold():
    model = load_embedding_model(MODEL, flip_average=False)
    e = reference_embeddings()  # Halle Berry twice, Hamid Karzai, Jackie Chan
    same = np.linalg.norm(e[0] - e[1])
    different = [np.linalg.norm(e[i] - e[j]) for i, j in [(0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]]
    assert same <= model.threshold < min(different)


def test_shipped_model_matches_its_checksum_line():
    sums = dict(reversed(line.split()) for line in (models_dir() / "SHA256SUMS").read_text().splitlines() if line.strip())
    assert hashlib.sha256(MODEL.read_bytes()).hexdigest() == sums["face_recognition_dlib.onnx"]


def test_decode_weights_dequantises_like_tfjs():
    from fer_core.training import convert_faceapi as converter

    specs = [
        {"name": "q", "shape": [2, 2], "dtype": "float32", "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0}},
        {"name": "f", "shape": [2], "dtype": "float32"},
    ]
    data = bytes([0, 1, 2, 255]) + np.array([1.5, -2.25], dtype="<f4").tobytes()
    weights = converter.decode_weights(specs, data)
    np.testing.assert_array_equal(weights["q"], np.array([[-1.0, -0.5], [0.0, 126.5]], dtype=np.float32))
    np.testing.assert_array_equal(weights["f"], np.array([1.5, -2.25], dtype=np.float32))
    with pytest.raises(ValueError, match="^weights file has 3 bytes the manifest does not describe$"):
        converter.decode_weights(specs, data + b"xyz")


def test_keras_embedding_net_exports_through_the_vggface_converter(tmp_path):
    """A small real Keras net (seeded weights) through export_embedding_model loads and matches Keras."""
    import keras

    from fer_core.training import convert_vggface as converter

    keras.utils.set_random_seed(0)
    inputs = keras.Input((64, 64, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu", name="conv1_1")(inputs)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu", name="conv1_2")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    net = keras.Model(inputs, keras.layers.Dense(12, name="fc")(x))
    template = np.array([[20.0, 20.0], [44.0, 20.0], [32.0, 34.0], [22.0, 46.0], [42.0, 46.0]], dtype=np.float32)
    mean_rgb = (131.0912, 103.8827, 91.4953)
    path = tmp_path / "tiny.onnx"
    converter.export_embedding_model(
        net, path, mean_rgb=mean_rgb, bgr=True, template=template, distance="cosine", threshold=0.3,
        version="test net", source="tests", licence="test",
    )

    model = load_embedding_model(path, flip_average=False)
    assert (model.input_size, model.distance, model.threshold, model.embedding_dim) == ((64, 64), "cosine", 0.3, 12)
    np.testing.assert_allclose(model.template, template)
    faces = aligned_fixture_faces()[:, ::2, ::2][:, 5:69, 5:69].copy()  # real faces at 64x64
    expected = net.predict((faces.astype(np.float32) - np.array(mean_rgb, np.float32))[..., ::-1], verbose=0)
    np.testing.assert_allclose(model.embed(faces), expected, rtol=1e-4, atol=1e-4)
