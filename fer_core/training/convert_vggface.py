"""Convert a user-supplied keras-vggface VGG16 weights file to an Unveil identity model (ONNX).

VGGFace weights are not shipped: keras-vggface downloads them from a release page at run time, and
they are licensed for non-commercial research only. A user who has the file can convert it with
`python tools/convert_vggface.py` (its --help shows how).

The network is keras-vggface's VGG16 (13 convolutions named conv1_1 .. conv5_3, 5 max-pools).
Without the top (the "notop" file) the embedding is the 512-d spatial average of pool5; with
--top (the full file) it is the 4096-d fc7 output. keras-vggface's preprocess_input (version 1:
RGB -> BGR, minus the VGGFace mean) is built into the graph, so the ONNX model takes RGB 0-255
like every Unveil identity model. Embeddings are compared by cosine distance by default.

`export_embedding_model` is the generic part: any Keras embedding network -> ONNX with the
identity metadata contract (fer_core/identity/_metadata.py). The threshold given at conversion
is provisional until benchmarks/calibrate_identity.py --write replaces it with a calibrated one.
"""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import onnx
import tensorflow as tf
import tf2onnx

from fer_core.identity._metadata import identity_metadata

OPSET = 13
VGGFACE_SIZE = (224, 224)
VGGFACE_MEAN_BGR = (93.5940, 104.7624, 129.1863)  # keras_vggface.utils.preprocess_input, version=1
VGG16_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))  # (filters, convolutions) per block


def build_vggface_vgg16(*, top: bool) -> keras.Model:
    """keras-vggface's VGG16 with its layer names, taking raw BGR-minus-mean input; outputs the embedding."""
    inputs = keras.Input((*VGGFACE_SIZE, 3), name="input")
    x = inputs
    for block, (filters, convs) in enumerate(VGG16_BLOCKS, start=1):
        for k in range(1, convs + 1):
            x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv{block}_{k}")(x)
        x = keras.layers.MaxPooling2D(2, strides=2, name=f"pool{block}")(x)
    if top:
        x = keras.layers.Flatten(name="flatten")(x)
        x = keras.layers.Dense(4096, activation="relu", name="fc6")(x)
        x = keras.layers.Dense(4096, activation="relu", name="fc7")(x)
    else:
        x = keras.layers.GlobalAveragePooling2D(name="pool5_avg")(x)
    return keras.Model(inputs, x, name="vggface_vgg16")


def load_vggface_weights(model: keras.Model, weights: Path) -> None:
    """Load a keras-vggface .h5 file (Keras 2 layout) by layer name; fc8, the classifier, is not needed.

    Keras skips layers it finds no weights for without a word, which would export a half-random
    network; so every layer of `model` that has weights must be in the file, or this refuses.
    """
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(weights, "r") as handle:
        group = handle["model_weights"] if "model_weights" in handle else handle
        in_file = set(legacy_h5_format.load_attributes_from_hdf5_group(group, "layer_names"))
        missing = [layer.name for layer in model.layers if layer.weights and layer.name not in in_file]
        if missing:
            raise SystemExit(f"{weights.name} is not a keras-vggface VGG16 file for this variant: "
                             f"no weights for {', '.join(missing)}")
        legacy_h5_format.load_weights_from_hdf5_group_by_name(group, model, skip_mismatch=False)


def export_embedding_model(
    model: keras.Model,
    out: Path,
    *,
    mean_rgb: tuple[float, float, float] | None,
    bgr: bool,
    template: np.ndarray,
    distance: str,
    threshold: float,
    version: str,
    source: str,
    licence: str,
) -> onnx.ModelProto:
    """Export `model` (NHWC float input -> [N, d]) to ONNX taking RGB 0-255, with identity metadata.

    The network's own preprocessing goes into the graph: channels reversed to BGR if `bgr`, then
    `mean_rgb` (given in RGB order) subtracted, so callers always feed RGB 0-255.
    """
    height, width = model.input_shape[1:3]
    spec = (tf.TensorSpec((None, height, width, 3), tf.float32, name="input"),)
    mean = np.array(mean_rgb if mean_rgb is not None else (0.0, 0.0, 0.0), dtype=np.float32)

    @tf.function(input_signature=spec)
    def forward(rgb):
        x = rgb - tf.constant(mean)  # created inside the trace: a graph constant, not a captured input
        if bgr:
            x = tf.reverse(x, axis=[-1])
        return tf.identity(model(x), name="embedding")

    proto, _ = tf2onnx.convert.from_function(forward, input_signature=spec, opset=OPSET)
    _rename_output(proto, "embedding")
    embedding_dim = int(model.output_shape[-1])
    props = identity_metadata(
        input_size=(height, width),
        template=template,
        distance=distance,
        threshold=threshold,
        embedding_dim=embedding_dim,
        version=version,
        source=source,
        licence=licence,
    )
    props["exported_with"] = f"tf2onnx {tf2onnx.__version__}, tensorflow {tf.__version__}, opset {OPSET}"
    onnx.helper.set_model_props(proto, props)
    proto.producer_name = "unveil fer_core.training.convert_vggface"
    onnx.checker.check_model(proto)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, out)
    return proto


def _rename_output(proto: onnx.ModelProto, name: str) -> None:
    """tf2onnx names the output after the traced Identity op ("Identity:0"); use a readable name."""
    old = proto.graph.output[0].name
    for node in proto.graph.node:
        node.output[:] = [name if n == old else n for n in node.output]
        node.input[:] = [name if n == old else n for n in node.input]
    proto.graph.output[0].name = name
