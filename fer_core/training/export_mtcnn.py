"""Export the MTCNN P-, R- and O-nets shipped in the PyPI `mtcnn` 1.0.0 wheel to ONNX.

Run once by a maintainer with `python tools/export_mtcnn.py` (needs the training extra: tensorflow-cpu,
tf2onnx, mtcnn); benchmarks/evaluate_detector.py rebuilds the Keras networks from here to measure the files.

The package keeps each network as a subclassed tf.keras model whose weights load with set_weights;
we trace each one through a tf.function with a fixed input signature, convert it with tf2onnx
(opset 13), give the outputs the names the numpy cascade reads, write provenance into
metadata_props, and check ONNX Runtime against Keras on real face crops before writing anything.
Prints each file's SHA-256 for models/SHA256SUMS and models/mtcnn.md.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import onnx
import tensorflow as tf
import tf2onnx
from mtcnn.network.onet import ONet
from mtcnn.network.pnet import PNet
from mtcnn.network.rnet import RNet
from mtcnn.utils.tensorflow import load_weights
from PIL import Image

OPSET = 13
MTCNN_VERSION = "1.0.0"
# SHA-256 of mtcnn-1.0.0-py3-none-any.whl on PyPI (the weights come from inside it).
MTCNN_WHEEL_SHA256 = "0a96b4868e56db9ae984449519642be6dba03240e608a67e928ebb47833e9144"
# Largest allowed |ONNX - Keras| on real inputs; float32 kernels differ only in summation order.
PARITY_TOLERANCE = 1e-4

# name, keras class, weights file, input shape (None = dynamic), output names in the model's order
NETWORKS = (
    ("pnet", PNet, "pnet.lz4", (None, None, None, 3), ("bbox_reg", "prob")),
    ("rnet", RNet, "rnet.lz4", (None, 24, 24, 3), ("bbox_reg", "prob")),
    ("onet", ONet, "onet.lz4", (None, 48, 48, 3), ("bbox_reg", "landmarks", "prob")),
)


def build_keras(cls: type, weights: str) -> tf.keras.Model:
    model = cls()
    model.build()
    model.set_weights(load_weights(weights))
    return model


def to_onnx(model: tf.keras.Model, shape: tuple, outputs: tuple[str, ...]) -> onnx.ModelProto:
    spec = (tf.TensorSpec(shape, tf.float32, name="input"),)

    @tf.function(input_signature=spec)
    def forward(x):
        return [tf.identity(y, name=name) for y, name in zip(model(x), outputs)]

    proto, _ = tf2onnx.convert.from_function(forward, input_signature=spec, opset=OPSET)
    # tf2onnx names graph outputs after the traced Identity ops ("Identity:0", ...); give them the
    # names the cascade reads, rewriting every reference to the old name.
    renames = {out.name: new for out, new in zip(proto.graph.output, outputs)}
    for node in proto.graph.node:
        node.output[:] = [renames.get(n, n) for n in node.output]
        node.input[:] = [renames.get(n, n) for n in node.input]
    for out in proto.graph.output:
        out.name = renames[out.name]
    proto.graph.input[0].name = "input"
    for node in proto.graph.node:
        node.input[:] = ["input" if n == "input:0" else n for n in node.input]
    return proto


def add_metadata(proto: onnx.ModelProto, name: str, outputs: tuple[str, ...]) -> None:
    props = {
        "source": f"PyPI mtcnn {MTCNN_VERSION} (MIT), mtcnn/assets/weights/{name}.lz4",
        "source_wheel_sha256": MTCNN_WHEEL_SHA256,
        "input": "float32 NHWC RGB, (pixel - 127.5) / 128",
        "outputs": json.dumps(list(outputs)),
        "landmark_order": "x1..x5 then y1..y5, relative to the box: left eye, right eye, nose, mouth left, mouth right",
        "exported_with": f"tf2onnx {tf2onnx.__version__}, tensorflow {tf.__version__}, opset {OPSET}",
    }
    del proto.metadata_props[:]
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "unveil fer_core.training.export_mtcnn"


def real_inputs(shape: tuple, images_dir: Path, count: int = 32) -> np.ndarray:
    """Normalised crops of real photos at the network's input size (P-Net: whole 250x250 photos)."""
    paths = sorted(images_dir.rglob("*.jpg"))[:count]
    if not paths:
        raise FileNotFoundError(f"no .jpg under {images_dir} to check the export on")
    size = (shape[2] or 250, shape[1] or 250)
    batch = [np.asarray(Image.open(p).convert("RGB").resize(size, Image.BILINEAR), np.float32) for p in paths]
    return (np.stack(batch) - 127.5) / 128
