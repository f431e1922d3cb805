"""Rebuild dlib's face-recognition ResNet from @vladmandic/face-api 1.7.15 as an ONNX model.

The npm package carries dlib's network (public domain) as model/face_recognition_model-weights_manifest.json
+ face_recognition_model.bin: tensors in manifest order, most stored as uint8 with a per-tensor
scale/min (value = q * scale + min, computed in double and rounded to float32 as tfjs does), a few as
raw float32. The layers are those of the package's src/faceRecognitionNet/ (FaceRecognitionNet.ts,
residualLayer.ts, convLayer.ts, scaleLayer.ts), rebuilt here with the onnx helper API:

    x = (rgb - mean) / 255                   mean = (122.782, 117.001, 104.298)
    convDown 7x7/2 'valid' + scale + relu -> maxPool 3/2 'valid'
    3 x residual(32), residualDown(64) + 3 x residual(64), residualDown(128) + 2 x residual(128),
    residualDown(256) + 2 x residual(256), residualDown(256) -> spatial mean -> fc (256 -> 128)

Each "scale" layer (x * w + b per channel) follows a conv with bias, so it is folded into that conv.
Input: float32 NHWC RGB 0-255, 150x150 (an aligned dlib face chip). Output: 128-d embedding,
compared by Euclidean distance.

`convert` does it from the pinned npm tarball; `python tools/convert_faceapi_recognition.py` is the
command that writes the shipped file.
"""
from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from fer_core.alignment import DLIB_150_TEMPLATE
from fer_core.identity import identity_metadata
from fer_core.training import npm_package

PACKAGE = "@vladmandic/face-api@1.7.15"
TARBALL_SHA256 = "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031"
MANIFEST = "package/model/face_recognition_model-weights_manifest.json"
WEIGHTS = "package/model/face_recognition_model.bin"
MEAN_RGB = (122.782, 117.001, 104.298)  # FaceRecognitionNet.ts
OPSET = 17
INPUT_SIZE = 150
EMBEDDING_DIM = 128

# Residual blocks in the order of FaceRecognitionNet.forwardInput; a "_down" block
# halves the resolution and widens the channels.
# The development photos of the converter's reference fixture (tests/fixtures/identity, written by
# tools/make_identity_reference.py): two photos of one person, two other people (one photo has a bystander).
REFERENCE_PHOTOS = [
    "Halle_Berry/Halle_Berry_0001.jpg",
    "Halle_Berry/Halle_Berry_0002.jpg",
    "Hamid_Karzai/Hamid_Karzai_0001.jpg",
    "Jackie_Chan/Jackie_Chan_0001.jpg",
]
# TF.js that computes the reference embeddings (cpu backend; wasm is what face-api's node build loads).
TFJS = ["@tensorflow/tfjs@4.22.0", "@tensorflow/tfjs-backend-wasm@4.22.0"]

# Residual blocks in the order of FaceRecognitionNet.forwardInput; a "_down" block
# halves the resolution and widens the channels.
BLOCKS = [
    "conv32_1", "conv32_2", "conv32_3",
    "conv64_down", "conv64_1", "conv64_2", "conv64_3",
    "conv128_down", "conv128_1", "conv128_2",
    "conv256_down", "conv256_1", "conv256_2", "conv256_down_out",
]


def fetch_tarball(folder: Path) -> Path:
    """`npm pack` the pinned package version into `folder`."""
    return npm_package.fetch(PACKAGE, folder)


def check_tarball(path: Path) -> None:
    npm_package.check(path, TARBALL_SHA256)


def read_weights(tarball: Path) -> dict[str, np.ndarray]:
    """The package's tensors by name, dequantised exactly as tfjs' io.decodeWeights does."""
    with tarfile.open(tarball, "r:gz") as archive:
        manifest = json.load(archive.extractfile(MANIFEST))
        data = archive.extractfile(WEIGHTS).read()
    return decode_weights(manifest[0]["weights"], data)


def decode_weights(specs: list[dict], data: bytes) -> dict[str, np.ndarray]:
    """Decode a tfjs weights manifest group: tensors back to back, uint8-quantised or raw float32."""
    weights: dict[str, np.ndarray] = {}
    offset = 0
    for spec in specs:
        shape = spec["shape"]
        count = int(np.prod(shape)) if shape else 1
        quant = spec.get("quantization")
        if quant is None:
            if spec["dtype"] != "float32":
                raise ValueError(f"{spec['name']}: unsupported dtype {spec['dtype']}")
            values = np.frombuffer(data, dtype="<f4", count=count, offset=offset)
            offset += 4 * count
        else:
            if quant["dtype"] != "uint8":
                raise ValueError(f"{spec['name']}: unsupported quantisation {quant['dtype']}")
            raw = np.frombuffer(data, dtype=np.uint8, count=count, offset=offset)
            offset += count
            # tfjs: values[i] = v * scale + min in double precision, stored in a Float32Array.
            values = (raw.astype(np.float64) * quant["scale"] + quant["min"]).astype(np.float32)
        weights[spec["name"]] = np.array(values, dtype=np.float32).reshape(shape)
    if offset != len(data):
        raise ValueError(f"weights file has {len(data) - offset} bytes the manifest does not describe")
    return weights


class _GraphBuilder:
    """Accumulates ONNX nodes and initialisers with unique names (NCHW inside the graph)."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.weights = weights
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def constant(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def conv(self, x: str, prefix: str, *, stride: int, relu: bool, same: bool) -> str:
        """convLayer.ts: conv2d + bias, then scale (x * w + b), folded here into one Conv."""
        filters = self.weights[f"{prefix}/conv/filters"]  # HWIO (tfjs layout)
        bias = self.weights[f"{prefix}/conv/bias"]
        gain = self.weights[f"{prefix}/scale/weights"]
        shift = self.weights[f"{prefix}/scale/biases"]
        kernel = (filters.transpose(3, 2, 0, 1) * gain[:, None, None, None]).astype(np.float32)  # OIHW
        folded_bias = (bias * gain + shift).astype(np.float32)
        size = kernel.shape[-1]
        pad = (size - 1) // 2 if same else 0  # 'same' with stride 1 and odd kernels pads evenly
        out = self.node(
            "Conv",
            [x, self.constant(f"{prefix}/W", kernel), self.constant(f"{prefix}/B", folded_bias)],
            f"{prefix}/conv",
            kernel_shape=[size, size],
            strides=[stride, stride],
            pads=[pad, pad, pad, pad],
        )
        return self.node("Relu", [out], f"{prefix}/relu") if relu else out

    def residual(self, x: str, prefix: str) -> str:
        """residualLayer.ts residual: relu(conv2(relu(conv1(x))) + x)."""
        out = self.conv(x, f"{prefix}/conv1", stride=1, relu=True, same=True)
        out = self.conv(out, f"{prefix}/conv2", stride=1, relu=False, same=True)
        out = self.node("Add", [out, x], f"{prefix}/add")
        return self.node("Relu", [out], f"{prefix}/out")

    def residual_down(self, x: str, prefix: str, in_channels: int, in_size: int) -> tuple[str, int, int]:
        """residualLayer.ts residualDown: a 'valid' stride-2 conv path plus a 2x2 average-pooled shortcut.

        Where the conv path comes out one pixel smaller than the pooled shortcut, the package appends
        a row and a column of zeros at the bottom/right; where the channels double, it appends zero
        channels to the shortcut. Both are Pad ops here.
        """
        out = self.conv(x, f"{prefix}/conv1", stride=2, relu=True, same=False)
        out = self.conv(out, f"{prefix}/conv2", stride=1, relu=False, same=True)
        out_channels = self.weights[f"{prefix}/conv2/conv/filters"].shape[3]
        conv_size = (in_size - 3) // 2 + 1
        pooled_size = in_size // 2
        pooled = self.node("AveragePool", [x], f"{prefix}/pool", kernel_shape=[2, 2], strides=[2, 2])
        if conv_size != pooled_size:
            grow = pooled_size - conv_size
            pads = self.constant(f"{prefix}/pads_hw", np.array([0, 0, 0, 0, 0, 0, grow, grow], dtype=np.int64))
            out = self.node("Pad", [out, pads], f"{prefix}/pad_hw")
        if out_channels != in_channels:
            extra = out_channels - in_channels
            pads = self.constant(f"{prefix}/pads_c", np.array([0, 0, 0, 0, 0, extra, 0, 0], dtype=np.int64))
            pooled = self.node("Pad", [pooled, pads], f"{prefix}/pad_c")
        out = self.node("Add", [pooled, out], f"{prefix}/add")
        return self.node("Relu", [out], f"{prefix}/out"), out_channels, pooled_size


def build_model(weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    """The FaceRecognitionNet graph: NHWC float32 RGB 0-255 [N,150,150,3] in, [N,128] out."""
    g = _GraphBuilder(weights)
    mean = np.array(MEAN_RGB, dtype=np.float32).reshape(1, 1, 1, 3)
    x = g.node("Sub", ["input", g.constant("mean_rgb", mean)], "centred")
    x = g.node("Div", [x, g.constant("255", np.array(255.0, dtype=np.float32))], "normalised")
    x = g.node("Transpose", [x], "nchw", perm=[0, 3, 1, 2])

    x = g.conv(x, "conv32_down", stride=2, relu=True, same=False)
    x = g.node("MaxPool", [x], "maxpool", kernel_shape=[3, 3], strides=[2, 2])
    channels, size = 32, ((INPUT_SIZE - 7) // 2 + 1 - 3) // 2 + 1
    for block in BLOCKS:
        if block.endswith("_down") or block.endswith("_down_out"):
            x, channels, size = g.residual_down(x, block, channels, size)
        else:
            x = g.residual(x, block)

    x = g.node("ReduceMean", [x], "global_avg", axes=[2, 3], keepdims=0)
    x = g.node("MatMul", [x, g.constant("fc", weights["fc"])], "embedding")

    graph = helper.make_graph(
        g.nodes,
        "dlib_face_recognition_resnet",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", INPUT_SIZE, INPUT_SIZE, 3])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", EMBEDDING_DIM])],
        g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="unveil")
    model.ir_version = 8  # readable by every onnxruntime >= 1.10
    onnx.checker.check_model(model, full_check=True)
    return model


def attach_metadata(model: onnx.ModelProto, meta: dict[str, str]) -> None:
    helper.set_model_props(model, meta)


def convert(tarball: Path, *, threshold: float) -> onnx.ModelProto:
    """dlib's network from the pinned tarball as an Unveil identity model with its metadata."""
    check_tarball(tarball)
    model = build_model(read_weights(tarball))
    attach_metadata(model, identity_metadata(
        input_size=(INPUT_SIZE, INPUT_SIZE),
        template=DLIB_150_TEMPLATE,
        distance="euclidean",
        threshold=threshold,
        embedding_dim=EMBEDDING_DIM,
        version=f"dlib_face_recognition_resnet_model_v1 via {PACKAGE}",
        source=f"npm {PACKAGE} (tarball sha256 {TARBALL_SHA256}), model/face_recognition_model.*; "
               "rebuilt by tools/convert_faceapi_recognition.py",
        licence="dlib model: public domain (Davis King); @vladmandic/face-api: MIT",
    ))
    return model
