"""Gradients at an inner conv layer of an exported emotion model, added to its ONNX graph as plain ops.

The export gives the gradient of every class logit at the last conv map only (`cam_weights`; the head
is GAP -> Dense -> Dense, so it is the same in every cell). Explaining at an earlier layer needs that
gradient carried back through the conv stack. onnxruntime has no autodiff, so this module writes the
backward pass as forward ops, one per layer, walking the graph from the GAP node down to the layer:

- conv (stride 1, "same" padding) + ReLU: g <- ConvTranspose(g * [y > 0], W), the same kernel W;
- max-pool (kernel = stride): g goes to the first maximum of each window, in row-major order, as
  TensorFlow's MaxPoolGrad routes it (SpaceToDepth exposes the windows, CumSum picks the first max);
- a channel Concat (an ensemble's joined maps): the gradient is split by channels and each branch is
  walked to its own copy of the layer; the copies are joined again in the same order;
- QuantizeLinear/DequantizeLinear pairs of an int8 model: passed straight through. ONNX Runtime's
  quantizer drops a ReLU into its Q node (zero point at the type's minimum clips negatives), so such
  a node counts as the ReLU.

ONNX Runtime runs every node of a graph whatever outputs are asked for, so the result is a second
model, built in memory when an explanation needs it: the classifier the app runs stays as fast.
"""
from __future__ import annotations

import re

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from governance.explain._errors import ExplanationError

LAYER_OUTPUTS = ("layer_features", "layer_gradients")
_PASS_THROUGH = ("QuantizeLinear", "DequantizeLinear", "Identity")
_QMIN = {TensorProto.INT8: -128, TensorProto.UINT8: 0}


class _Builder:
    """Appends nodes and constants to a graph under names that cannot clash with the export's."""

    def __init__(self, model: onnx.ModelProto) -> None:
        self.graph = model.graph
        self.opsets = list(model.opset_import)
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"layer_grad/{hint}_{self._count}"

    def op(self, op_type: str, inputs: list[str], **attrs) -> str:
        out = self.name(op_type.lower())
        self.graph.node.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def const(self, values, dtype=np.int64) -> str:
        out = self.name("const")
        self.graph.initializer.append(numpy_helper.from_array(np.asarray(values, dtype=dtype), out))
        return out

    def reduce_max(self, tensor: str, *, axis: int) -> str:
        """ReduceMax keeping the axis; its axes became an input in opset 18."""
        opset = next((o.version for o in self.opsets if o.domain in ("", "ai.onnx")), 17)
        if opset >= 18:
            return self.op("ReduceMax", [tensor, self.const([axis])], keepdims=1)
        return self.op("ReduceMax", [tensor], axes=[axis], keepdims=1)

    def to_4d(self, g5: str) -> str:
        """(N, C, K, h, w) -> (N*C, K, h, w), for ConvTranspose and DepthToSpace."""
        dims = self.op("Slice", [self.op("Shape", [g5]), self.const([2]), self.const([5])])
        return self.op("Reshape", [g5, self.op("Concat", [self.const([-1]), dims], axis=0)])

    def to_5d(self, g4: str, classes: int) -> str:
        """(N*C, K, h, w) -> (N, C, K, h, w)."""
        dims = self.op("Slice", [self.op("Shape", [g4]), self.const([1]), self.const([4])])
        return self.op("Reshape", [g4, self.op("Concat", [self.const([-1, classes]), dims], axis=0)])


def _is_layer(nodes: list[onnx.NodeProto], layer: str | None) -> bool:
    """Whether `nodes` compute Keras layer `layer` (None: any layer, i.e. the first one met). tf2onnx names
    nodes and their outputs after the layer: "functional_1/block4_conv3_1/BiasAdd". The outputs count too:
    int8 quantization folds a ReLU into the conv before it, whose node may be a bare "Conv__132" while its
    output keeps the ReLU layer's name ("functional_1/block2_relu2_1/Relu:0")."""
    pattern = re.compile(rf"(^|/){re.escape(layer)}(_\d+)?(/|$)") if layer is not None else None
    return pattern is None or any(pattern.search(name) for node in nodes for name in (node.name, *node.output))


class _Walker:
    def __init__(self, graph: onnx.GraphProto) -> None:
        self.producer = {out: node for node in graph.node for out in node.output}
        self.initializers = {init.name: init for init in graph.initializer}

    def ancestors(self, tensor: str) -> list[onnx.NodeProto]:
        """Every node `tensor` depends on."""
        seen, stack, out = set(), [tensor], []
        while stack:
            node = self.producer.get(stack.pop())
            if node is not None and node.name not in seen:
                seen.add(node.name)
                out.append(node)
                stack.extend(node.input)
        return out

    def source(self, tensor: str) -> tuple[onnx.NodeProto | None, bool]:
        """The node computing `tensor` behind Q/DQ/Identity, and whether a skipped Q node clips at 0."""
        node, clips = self.producer.get(tensor), False
        while node is not None and node.op_type in _PASS_THROUGH:
            if node.op_type == "QuantizeLinear":
                clips = clips or self._clips_at_zero(node)
            node = self.producer.get(node.input[0])
        return node, clips

    def _clips_at_zero(self, quantize: onnx.NodeProto) -> bool:
        if len(quantize.input) < 3 or quantize.input[2] not in self.initializers:
            return False
        zero_point = numpy_helper.to_array(self.initializers[quantize.input[2]])
        qmin = _QMIN.get(self.initializers[quantize.input[2]].data_type)
        return qmin is not None and bool(np.all(zero_point == qmin))


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _check_conv(conv: onnx.NodeProto) -> list[int]:
    """The conv's pads if its input gradient is one ConvTranspose with the same kernel, else an error."""
    attrs = _attrs(conv)
    kernel = list(attrs.get("kernel_shape", []))
    same = [k // 2 for k in kernel] * 2
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    pads = same if auto_pad in (b"SAME_UPPER", b"SAME_LOWER") else list(attrs.get("pads", [0] * 4))
    plain = (len(kernel) == 2 and all(k % 2 == 1 for k in kernel) and pads == same
             and set(attrs.get("strides", [1])) == {1} and set(attrs.get("dilations", [1])) == {1}
             and attrs.get("group", 1) == 1)
    if not plain:
        raise ExplanationError(
            f"cannot carry gradients through conv node {conv.name}: only stride-1, 'same'-padded, "
            f"ungrouped convolutions with odd kernels are supported"
        )
    return pads


def _check_pool(pool: onnx.NodeProto) -> int:
    attrs = _attrs(pool)
    kernel, strides = list(attrs.get("kernel_shape", [])), list(attrs.get("strides", [1, 1]))
    if (len(kernel) != 2 or kernel[0] != kernel[1] or kernel != strides or any(attrs.get("pads", [0]))
            or attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", b"VALID")):
        raise ExplanationError(
            f"cannot carry gradients through max-pool node {pool.name}: only square windows with "
            f"stride equal to the window and no padding are supported"
        )
    return int(kernel[0])


def with_layer_gradients(model: onnx.ModelProto, layer: str | None, *, classes: int) -> onnx.ModelProto:
    """A copy of `model` (an emotion model with the export's outputs) with two more outputs:
    layer_features (N, h, w, k), the activation of the conv or pool layer named `layer` (its Keras
    name; None: the last conv map), and layer_gradients (N, C, h, w, k), the gradient of each of the
    `classes` logits w.r.t. it."""
    model_out = onnx.ModelProto()
    model_out.CopyFrom(model)
    graph = model_out.graph
    walker = _Walker(graph)
    builder = _Builder(model_out)
    pooling = [n for n in graph.node if n.op_type == "GlobalAveragePool"]
    if len(pooling) != 1 or "cam_weights" not in {o.name for o in graph.output}:
        raise ExplanationError("model has no single GlobalAveragePool head with cam_weights; cannot explain at a layer")
    tensor = pooling[0].input[0]  # (N, k, h, w) the last conv map, NCHW inside the graph
    below = [n for n in walker.ancestors(tensor) if n.op_type in ("Conv", "Relu", "MaxPool")]
    if not _is_layer(below, layer):
        raise ExplanationError(f"layer {layer!r} is not a conv or pool layer on the path to the model's head")
    # d logit / d map is cam_weights in every cell: (N, C, k) -> (N, C, k, h, w)
    spatial = builder.op("Slice", [builder.op("Shape", [tensor]), builder.const([2]), builder.const([4])])
    grad = builder.op("Expand", [
        builder.op("Unsqueeze", ["cam_weights", builder.const([3, 4])]),
        builder.op("Concat", [builder.const([1, 1, 1]), spatial], axis=0),
    ])
    if layer is not None:  # the last map itself needs no walk, whatever computes it (an ensemble's resized maps)
        tensor, grad = _walk_down(walker, builder, tensor, grad, layer, classes)
    features = builder.op("Transpose", [tensor], perm=[0, 2, 3, 1])
    gradients = builder.op("Transpose", [grad], perm=[0, 1, 3, 4, 2])
    for name, source in zip(LAYER_OUTPUTS, (features, gradients)):
        graph.node.append(helper.make_node("Identity", [source], [name], name=f"layer_grad/{name}"))
        graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    return model_out


def _walk_down(walker: _Walker, builder: _Builder, tensor: str, grad: str, layer: str | None,
               classes: int) -> tuple[str, str]:
    """Carry `grad` (N, C, k, h, w), the gradient w.r.t. `tensor` (N, k, h, w), down to `layer`; returns
    that layer's activation and gradient. A channel Concat (an ensemble's joined maps, ensemble.py) splits
    the gradient by channels and walks each branch to its own copy of the layer; the branches' results
    are joined again the same way."""
    while True:
        node, clips = walker.source(tensor)
        if node is not None and node.op_type == "Concat":
            return _walk_branches(walker, builder, node, grad, layer, classes)
        if node is None:  # the walk left the conv stack without meeting the layer (it is on a branch)
            raise ExplanationError(f"layer {layer!r} is not a conv or pool layer on the path to the model's head")
        if node.op_type == "MaxPool":
            if _is_layer([node], layer):
                return tensor, grad
            grad, tensor = _max_pool_backward(builder, node, grad, classes), node.input[0]
            continue
        relu = node.op_type == "Relu" or clips
        conv = walker.source(node.input[0])[0] if node.op_type == "Relu" else node
        if conv is None or conv.op_type != "Conv":
            raise ExplanationError(
                f"cannot carry gradients through {node.op_type} node {node.name}: only Conv, Relu, MaxPool "
                f"and Q/DQ pairs are supported"
            )
        if _is_layer([conv, node], layer):
            return tensor, grad
        pads = _check_conv(conv)
        if relu:  # d relu(z) / dz = [z > 0] = [y > 0]
            mask = builder.op("Cast", [builder.op("Greater", [tensor, builder.const(0.0, np.float32)])],
                              to=TensorProto.FLOAT)
            grad = builder.op("Mul", [grad, builder.op("Unsqueeze", [mask, builder.const([1])])])
        back = builder.op("ConvTranspose", [builder.to_4d(grad), conv.input[1]], pads=pads)
        grad, tensor = builder.to_5d(back, classes), conv.input[0]


def _walk_branches(walker: _Walker, builder: _Builder, concat: onnx.NodeProto, grad: str, layer: str | None,
                   classes: int) -> tuple[str, str]:
    if _attrs(concat).get("axis") != 1:
        raise ExplanationError(f"cannot carry gradients through Concat node {concat.name}: only a channel "
                               f"concatenation (axis 1) is supported")
    channels = builder.op("Concat", [
        builder.op("Slice", [builder.op("Shape", [branch]), builder.const([1]), builder.const([2])])
        for branch in concat.input
    ], axis=0)
    parts = [builder.name("split") for _ in concat.input]
    builder.graph.node.append(helper.make_node("Split", [grad, channels], parts, name=builder.name("split_node"),
                                               axis=2))
    found = [_walk_down(walker, builder, branch, part, layer, classes) for branch, part in zip(concat.input, parts)]
    return (builder.op("Concat", [t for t, _ in found], axis=1),
            builder.op("Concat", [g for _, g in found], axis=2))


def _max_pool_backward(builder: _Builder, pool: onnx.NodeProto, grad: str, classes: int) -> str:
    """Gradient w.r.t. the pool's input: each window's gradient to its first maximum."""
    block = _check_pool(pool)
    windows = builder.op("SpaceToDepth", [pool.input[0]], blocksize=block)  # (N, b*b*k, h, w)
    shape = builder.op("Shape", [windows])
    split = builder.op("Concat", [
        builder.op("Slice", [shape, builder.const([0]), builder.const([1])]),
        builder.const([block * block, -1]),
        builder.op("Slice", [shape, builder.const([2]), builder.const([4])]),
    ], axis=0)
    cells = builder.op("Reshape", [windows, split])  # (N, b*b, k, h, w): window cells in row-major order
    is_max = builder.op("Cast", [builder.op("Equal", [cells, builder.reduce_max(cells, axis=1)])], to=TensorProto.FLOAT)
    running = builder.op("CumSum", [is_max, builder.const(1)])
    is_first = builder.op("Equal", [running, builder.const(1.0, np.float32)])
    first = builder.op("Mul", [is_max, builder.op("Cast", [is_first], to=TensorProto.FLOAT)])
    spread = builder.op("Mul", [builder.op("Unsqueeze", [grad, builder.const([2])]),
                                builder.op("Unsqueeze", [first, builder.const([1])])])  # (N, C, b*b, k, h, w)
    spread_shape = builder.op("Shape", [spread])
    flat = builder.op("Reshape", [spread, builder.op("Concat", [
        builder.const([-1]),
        builder.op("Mul", [builder.op("Slice", [spread_shape, builder.const([2]), builder.const([3])]),
                           builder.op("Slice", [spread_shape, builder.const([3]), builder.const([4])])]),
        builder.op("Slice", [spread_shape, builder.const([4]), builder.const([6])]),
    ], axis=0)])
    return builder.to_5d(builder.op("DepthToSpace", [flat], blocksize=block, mode="DCR"), classes)
