"""Export a trained zoo model to ONNX with tf2onnx: preprocessing and temperature inside the graph,
the contract in metadata_props, and the two extra outputs Grad-CAM needs.

Outputs:
- probs (N, C): calibrated probabilities, softmax(logits / temperature).
- cam_features (N, h, w, k): the last conv feature map (layer "cam_features").
- cam_weights (N, C, k): d logit_c / d cam_features averaged over h, w, i.e. Grad-CAM's channel
  weights. The head is GAP -> Dense(ReLU) -> Dense, so that gradient is W_hidden @ (relu_mask * W_logits[:, c]) / (h*w):
  plain matmuls that export cleanly, exact, with no gradient ops in the graph.
"""
from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import onnx
import tensorflow as tf
import tf2onnx

OPSET = 17


def export_onnx(
    model: keras.Model,
    path: str | Path,
    *,
    classes: tuple[str, ...],
    temperature: float,
    initial_weights: str,
    version: str,
    extra_metadata: dict[str, str] | None = None,
) -> Path:
    """Write `model` as ONNX at `path` (dynamic batch, float32 NHWC RGB 0-255 input)."""
    path = Path(path)
    height, width = model.input.shape[1:3]
    inner = keras.Model(
        model.input,
        [model.get_layer("cam_features").output, model.get_layer("head_hidden").output, model.output],
    )
    w_hidden = model.get_layer("head_hidden").kernel  # (k, u)
    w_logits = model.get_layer("logits").kernel  # (u, C)
    cells = float(np.prod(model.get_layer("cam_features").output.shape[1:3]))

    @tf.function(input_signature=[tf.TensorSpec([None, height, width, 3], tf.float32, name="image")])
    def serve(image):
        features, hidden, logits = inner(image, training=False)
        probs = tf.nn.softmax(logits / temperature, axis=-1)
        mask = tf.cast(hidden > 0, tf.float32)  # (N, u): which hidden units pass the ReLU
        per_class = mask[:, :, None] * w_logits[None, :, :]  # (N, u, C)
        cam_weights = tf.transpose(tf.matmul(w_hidden[None], per_class), [0, 2, 1]) / cells  # (N, C, k)
        return {
            "probs": tf.identity(probs, name="probs"),
            "cam_features": tf.identity(features, name="cam_features"),
            "cam_weights": tf.identity(cam_weights, name="cam_weights"),
        }

    proto, _ = tf2onnx.convert.from_function(
        serve, input_signature=serve.input_signature, opset=OPSET,
        output_path=None,
    )
    _resize_to_sizes(proto)
    metadata = {
        "classes": json.dumps(list(classes)),
        "input_size": json.dumps([int(height), int(width)]),
        "temperature": repr(float(temperature)),
        "initial_weights": initial_weights,
        "version": version,
        "architecture": model.name,
        "input_format": "float32 NHWC RGB 0-255",
        "outputs": json.dumps({"probs": "calibrated probabilities", "cam_features": "last conv map",
                               "cam_weights": "Grad-CAM channel weights per class"}),
        **(extra_metadata or {}),
    }
    onnx.helper.set_model_props(proto, metadata)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(path))
    return path


def _resize_to_sizes(proto: onnx.ModelProto) -> None:
    """Give every Resize of a static-size map the output size instead of float scales. tf2onnx writes Keras'
    Resizing(112, 112) of a 48-px map (zoo.mobilefacenet) as scales 2.3333333, and 48 x 2.3333333 floors to 111
    in ONNX's shape inference (the maps after it are then declared 6x6, computed 7x7 by ONNX Runtime, which
    warns on every run): the exact size keeps both, on every runtime, at 112."""
    from onnx import helper, numpy_helper, shape_inference

    graph = proto.graph
    constants = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in shape_inference.infer_shapes(proto).graph.value_info}
    replaced_scales = set()
    for node in list(graph.node):
        scales = constants.get(node.input[2]) if node.op_type == "Resize" and len(node.input) > 2 else None
        spatial = shapes.get(node.input[0], [])[2:]
        if scales is None or len(spatial) != 2 or not all(spatial):
            continue
        replaced_scales.add(node.input[2])
        sizes = [int(round(n * s)) for n, s in zip(spatial, scales[2:])]
        prefix = f"{node.name}_sizes"
        graph.initializer.extend([numpy_helper.from_array(np.array([0], np.int64), f"{prefix}_start"),
                                  numpy_helper.from_array(np.array([2], np.int64), f"{prefix}_end"),
                                  numpy_helper.from_array(np.array(sizes, np.int64), f"{prefix}_spatial")])
        added = [helper.make_node("Shape", [node.input[0]], [f"{prefix}_shape"], name=f"{prefix}_shape"),
                 helper.make_node("Slice", [f"{prefix}_shape", f"{prefix}_start", f"{prefix}_end"],
                                  [f"{prefix}_batch_channels"], name=f"{prefix}_slice"),
                 helper.make_node("Concat", [f"{prefix}_batch_channels", f"{prefix}_spatial"], [prefix], axis=0,
                                  name=f"{prefix}_concat")]
        position = next(i for i, n in enumerate(graph.node) if n.name == node.name)
        for offset, extra in enumerate(added):
            graph.node.insert(position + offset, extra)
        node.input[2] = ""
        node.input.append(prefix)
    if replaced_scales:  # tf2onnx's inferred shapes after it are wrong; ONNX Runtime infers its own
        del graph.value_info[:]
    # The scales no node reads any more (ONNX Runtime would warn of each on every load).
    still_read = {name for node in graph.node for name in node.input}
    orphans = [i for i in graph.initializer if i.name in replaced_scales and i.name not in still_read]
    for initializer in orphans:
        graph.initializer.remove(initializer)


def onnx_outputs(path: str | Path, images: np.ndarray) -> dict[str, np.ndarray]:
    """Run the exported graph (for parity checks)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {session.get_inputs()[0].name: images.astype(np.float32)})))


PARITY_IMAGES = 100
PARITY_TOLERANCE = 1e-4  # max |probability difference| between Keras and ONNX Runtime
TEMPLATE_IMAGES = 1000  # training images sampled to measure where faces sit in the crop


def export_run(run_dir: str | Path, out: str | Path, *, version: str) -> Path:
    """Export a trained and evaluated run; checks parity with Keras on real validation images and
    writes run_dir/export.json (parity, SHA-256, size) for the model card."""
    import hashlib

    from scipy.special import softmax

    from fer_core.training.data import load_splits, to_rgb_float
    from fer_core.training.runs import build_from_config
    from fer_core.training.template import measure_template

    run_dir = Path(run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    summary = json.loads((run_dir / "summary.json").read_text())
    classes = tuple(config["classes"])
    size = config["input_size"] or 48
    model = build_from_config(config)
    model.load_weights(run_dir / "best.weights.h5")
    temperature = metrics["temperature"]
    splits, _ = load_splits(config["data_root"], size=size, classes=classes,
                            limit_per_split=max(PARITY_IMAGES, config["limit_per_split"] or TEMPLATE_IMAGES))
    template_path = run_dir / "template.json"
    if not template_path.exists():
        template_path.write_text(json.dumps(measure_template(splits["train"].images, size=(size, size)), indent=2))
    template = json.loads(template_path.read_text())["template"]
    extra = {"template": json.dumps(template)}
    if config.get("members"):  # an ensemble (ensemble.py): "architecture" names its members' architecture
        extra["ensemble_members"] = str(len(config["members"]))
    path = export_onnx(model, out, classes=classes, temperature=temperature,
                       initial_weights=summary["initial_weights"]["source"], version=version, extra_metadata=extra)

    images = to_rgb_float(splits["validation"].images[:PARITY_IMAGES])
    expected = softmax(np.asarray(model.predict(images, verbose=0)) / temperature, axis=1)
    got = onnx_outputs(path, images)["probs"]
    max_diff = float(np.abs(expected - got).max())
    if max_diff > PARITY_TOLERANCE:
        raise RuntimeError(f"ONNX parity failed: max probability difference {max_diff:.2e} > {PARITY_TOLERANCE}")
    data = path.read_bytes()
    record = {"path": str(path), "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
              "parity_images": len(images), "parity_max_prob_diff": max_diff, "version": version, "opset": OPSET}
    (run_dir / "export.json").write_text(json.dumps(record, indent=2))
    return path
