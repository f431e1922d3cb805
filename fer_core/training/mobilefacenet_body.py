"""MobileFaceNet's body rebuilt in Keras from the shipped identity file, to fine-tune for emotions (issue 20).

Its frozen features read expressions on real photos far better than ImageNet VGG16's (fer4 validation 0.679 and
real photos 0.584 against 0.600 and 0.430, `experiments/reports/emotion_face_features_probe/`), and it is a
twelfth of VGG16's arithmetic a face. The network exists here only as `models/face_recognition_mobilefacenet.onnx`
(a TFLite model converted by tf2onnx: NCHW inside, see its card for provenance and licence), so the Keras graph
is rebuilt node by node from that file, and its weights with it:

- the input's scale and offset (Mul, Add by constants) -> one Rescaling layer;
- Conv with group 1 -> Conv2D, with group = channels -> DepthwiseConv2D, each after a ZeroPadding2D carrying
  the node's explicit pads (TFLite's "same" padding is asymmetric at stride 2);
- the PReLU that the converted graph spells relu(x) + a * (x - |x|) -> PReLU with slope 2a, one per channel;
- Add of two feature maps (the bottlenecks' shortcuts) -> Add.

The rebuild stops at `tap`, a tensor of the ONNX graph (NHWC in Keras), so that the face-specific embedding
head, built to ignore expressions, is left out.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

DEFAULT_TAP = "t361"  # the last 7x7x512 map before the embedding head (the probe's "t361")
UNSUPPORTED = "MobileFaceNet rebuild: node {node} ({op}) is not one this rebuild knows"
NO_TAP = "MobileFaceNet rebuild: the graph has no tensor named {tap}"


def onnx_input_size(onnx_path: str | Path) -> tuple[int, int]:
    """The (h, w) of the file's NHWC input."""
    import onnx

    dims = [d.dim_value for d in onnx.load(str(onnx_path)).graph.input[0].type.tensor_type.shape.dim]
    return dims[1], dims[2]


def build_mobilefacenet_body(onnx_path: str | Path, *, tap: str = DEFAULT_TAP, name: str = "mobilefacenet"):
    """A Keras model from an RGB 0-255 face of the file's input size (NHWC) to the map `tap`, with the file's
    weights (see mobilefacenet_layers)."""
    import keras

    inputs = keras.Input((*onnx_input_size(onnx_path), 3), name="face")
    return keras.Model(inputs, mobilefacenet_layers(inputs, onnx_path, tap=tap, name=name), name=name)


def mobilefacenet_layers(inputs, onnx_path: str | Path, *, tap: str = DEFAULT_TAP, name: str = "mobilefacenet"):
    """The file's graph applied to `inputs` (RGB 0-255 faces of the file's input size, NHWC) up to the map `tap`,
    as Keras layers named `name`_..., with the file's weights. Raises ValueError(UNSUPPORTED) for a node outside
    the patterns above, ValueError(NO_TAP) for a tap the graph does not hold."""
    import onnx
    from keras import layers
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    initializers = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    if tap not in {o for n in graph.node for o in n.output}:
        raise ValueError(NO_TAP.format(tap=tap))
    tensors = {graph.input[0].name: inputs}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for i in node.input:
            consumers.setdefault(i, []).append(node)
    done: set[str] = set()
    scale: np.ndarray | None = None
    counts: dict[str, int] = {}

    def layer_name(kind: str) -> str:
        counts[kind] = counts.get(kind, 0) + 1
        return f"{name}_{kind}{counts[kind]}"

    for node in graph.node:
        if node.output[0] in done:
            continue
        op, ins = node.op_type, list(node.input)
        if op == "Mul" and ins[0] == graph.input[0].name:
            scale = initializers[ins[1]]  # the input's scale; its offset is the next node
            tensors[node.output[0]] = tensors[ins[0]]
        elif op == "Add" and ins[1] in initializers and scale is not None:
            offset = initializers[ins[1]]
            tensors[node.output[0]] = layers.Rescaling(float(scale), offset=offset.astype("float32").tolist(),
                                                       name=f"{name}_input")(tensors[ins[0]])
            scale = None
        elif op == "Transpose":
            tensors[node.output[0]] = tensors[ins[0]]  # Keras stays NHWC
        elif op == "Conv":
            tensors[node.output[0]] = _conv(node, tensors[ins[0]], initializers, layer_name)
        elif op == "Relu" and (prelu_nodes := _prelu_nodes(node, consumers)) is not None:
            abs_node, sub_node, mul_node, add_node = prelu_nodes
            slope = 2 * initializers[mul_node.input[1]].reshape(-1)
            prelu = layers.PReLU(shared_axes=[1, 2], name=layer_name("prelu"))
            x = prelu(tensors[ins[0]])
            prelu.set_weights([slope.reshape(1, 1, -1).astype("float32")])
            tensors[add_node.output[0]] = x
            done.update(o for n in (abs_node, sub_node, mul_node, add_node) for o in n.output)
        elif op == "Add" and all(i in tensors for i in ins):
            tensors[node.output[0]] = layers.Add(name=layer_name("add"))([tensors[i] for i in ins])
        else:
            raise ValueError(UNSUPPORTED.format(node=node.name, op=op))
        if tap in tensors:
            return tensors[tap]
    raise ValueError(NO_TAP.format(tap=tap))


def _conv(node, x, initializers: dict, layer_name):
    import onnx
    from keras import layers

    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    kernel = initializers[node.input[1]]  # (out, in / group, kh, kw)
    bias = initializers[node.input[2]] if len(node.input) > 2 else np.zeros(kernel.shape[0], np.float32)
    top, left, bottom, right = attrs.get("pads", [0, 0, 0, 0])
    if any((top, left, bottom, right)):
        x = layers.ZeroPadding2D(((top, bottom), (left, right)), name=layer_name("pad"))(x)
    strides = tuple(attrs.get("strides", [1, 1]))
    group = attrs.get("group", 1)
    if group == 1:
        conv = layers.Conv2D(kernel.shape[0], kernel.shape[2:], strides=strides, name=layer_name("conv"))
        y = conv(x)
        conv.set_weights([kernel.transpose(2, 3, 1, 0), bias])
    elif group == kernel.shape[0] and kernel.shape[1] == 1:
        conv = layers.DepthwiseConv2D(kernel.shape[2:], strides=strides, name=layer_name("depthwise"))
        y = conv(x)
        conv.set_weights([kernel.transpose(2, 3, 0, 1), bias])
    else:
        raise ValueError(UNSUPPORTED.format(node=node.name, op=f"Conv group {group}"))
    return y


def _prelu_nodes(relu, consumers: dict) -> tuple | None:
    """The Abs, Sub, Mul and Add nodes that make relu(x) + a * (x - |x|) with `relu`; None if they do not."""
    x = relu.input[0]
    abs_node = next((n for n in consumers.get(x, []) if n.op_type == "Abs"), None)
    sub_node = abs_node and next((n for n in consumers[x]
                                  if n.op_type == "Sub" and list(n.input) == [x, abs_node.output[0]]), None)
    mul_node = sub_node and _only_consumer(sub_node, consumers, "Mul")
    add_node = mul_node and _only_consumer(mul_node, consumers, "Add")
    if add_node is None or relu.output[0] not in add_node.input:
        return None
    return abs_node, sub_node, mul_node, add_node


def _only_consumer(node, consumers: dict, op: str):
    """The one node reading `node`'s output, if there is one and it is an `op`; otherwise None."""
    readers = consumers.get(node.output[0], [])
    return readers[0] if len(readers) == 1 and readers[0].op_type == op else None
