"""An exported model's members recovered as run folders, so that a shipped ensemble can be merged with a new run
without its members' training folders (which stay on the machine that trained them).

`ensemble.merge_members` builds the merged head from its members' heads: the hidden layer block-diagonal, the
output kernels stacked, each times its member's share (config.json's `member_shares`; 1 / their number in
ensembles merged before shares existed), the output biases averaged with the same shares. Each member is
recovered with its own conv layers, its own block of the hidden layer and its rows of the output kernel divided
by its share; its output bias is the ensemble's, the shared mean of the members' (one member's own bias cannot
be told from it). Any merge that includes all of them at shares in their original proportion is therefore
exact: merged again they give the ensemble's logits, and merged with new runs each member counts at its share.

Weights of an int8 file (quantize.py) are dequantized, (q - zero point) x scale, per output channel; its activations
were quantized too, so the recovered members read faces as the int8 file does only to within that rounding (the
parity check records how far).
"""
from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np

NOT_BLOCK_DIAGONAL = "the hidden layer is not block-diagonal over {members} members: not an ensemble of this code"
MISSING_LAYERS = "the ONNX file has no weights for {layers}"
DIFFERENT_MODEL = "the ONNX file is {found}, the run folder describes {expected}"
PARITY_TOLERANCE = 1e-4  # max |probability difference| of a float32 file and its recovered members merged again


def onnx_layer_weights(graph, model_layers: dict[tuple[str, ...], object]) -> dict[tuple[str, ...], list]:
    """The Keras weights of each conv, batch-norm and dense layer of `model_layers` (by path: ("member0",
    "block1_conv1"), ("head_hidden",), ...), read from the Conv, Gemm and MatMul + Add nodes tf2onnx wrote for
    them in `graph`, dequantized where the file is int8. Tensor names carry the layer names (each with a "_1"
    suffix); node names need not. tf2onnx folds a batch norm into the conv before it (its bias tensor is the
    norm's): the conv gets the folded kernel and the norm becomes the identity plus that bias. MobileFaceNet's
    layers (zoo.mobilefacenet) add two: a depthwise conv is a Conv with one group a channel, whose folded
    kernel has lost its name, so its bias names the layer; a PReLU is written relu(x) + (-slope) * relu(-x),
    whose Mul holds the negated slope under the layer's name."""
    import keras
    from onnx import numpy_helper

    tensors = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and all(name in tensors for name in node.input):
            tensors[node.output[0]] = _dequantize(node, *(tensors[name] for name in node.input))
    adds = {name: node for node in graph.node if node.op_type == "Add" for name in node.input}
    found = {}
    for node in graph.node:
        if node.op_type == "Conv" and any(a.name == "group" and a.i > 1 for a in node.attribute):
            path = _layer_path(node.input[2], model_layers) if len(node.input) > 2 else None
            if path is not None:  # (C, 1, h, w) -> DepthwiseConv2D's (h, w, C, 1)
                found[path] = [tensors[node.input[1]].transpose(2, 3, 0, 1), tensors[node.input[2]]]
        elif node.op_type == "Mul" and any(name in tensors for name in node.input):
            slope = next(name for name in node.input if name in tensors)
            path = _layer_path(slope, model_layers)
            if path is not None and isinstance(model_layers[path], keras.layers.PReLU):
                found[path] = [-tensors[slope].reshape(model_layers[path].alpha.shape)]
        elif node.op_type == "Conv":
            path = _layer_path(node.input[1], model_layers)
            if path is None:
                continue
            kernel, bias = tensors[node.input[1]].transpose(2, 3, 1, 0), tensors[node.input[2]]  # OIHW -> HWIO
            owner = _layer_path(node.input[2], model_layers)
            if owner is not None and isinstance(model_layers[owner], keras.layers.BatchNormalization):
                norm = model_layers[owner]
                found[owner] = [np.ones_like(bias), bias, np.zeros_like(bias),
                                np.full_like(bias, 1 - norm.epsilon)]  # (x - 0) / sqrt(1 - eps + eps) * 1 + bias
                found[path] = [kernel] if not model_layers[path].use_bias else [kernel, np.zeros_like(bias)]
            else:
                found[path] = [kernel, bias]
        elif node.op_type in ("Gemm", "MatMul") and node.input[1] in tensors:
            path = _layer_path(node.input[1], model_layers)
            if path is None:
                continue
            kernel = tensors[node.input[1]]
            if any(a.name == "transB" and a.i for a in node.attribute):
                kernel = kernel.T
            if node.op_type == "Gemm":
                bias = tensors[node.input[2]]
            else:
                add = adds[node.output[0]]
                bias = tensors[next(name for name in add.input if name != node.output[0])]
            found[path] = [kernel, bias]
    missing = sorted(set(model_layers) - set(found))
    if missing:
        raise ValueError(MISSING_LAYERS.format(layers=", ".join("/".join(p) for p in missing)))
    return {path: [w.astype(np.float32) for w in weights] for path, weights in found.items()}


def _dequantize(node, quantized: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None = None) -> np.ndarray:
    axis = next((a.i for a in node.attribute if a.name == "axis"), 1) if quantized.ndim > 1 else 0
    shape = [1] * quantized.ndim
    if scale.size > 1:  # per channel along `axis`
        shape[axis] = -1
    values = quantized.astype(np.float32)
    if zero_point is not None:
        values -= zero_point.astype(np.float32).reshape(shape)
    return values * scale.astype(np.float32).reshape(shape)


def _layer_path(tensor_name: str, layer_paths) -> tuple[str, ...] | None:
    parts = [part.rsplit("_", 1)[0] for part in tensor_name.split("/")[1:]]  # drop the graph's name and suffixes
    for length in (2, 1):
        if tuple(parts[:length]) in layer_paths:
            return tuple(parts[:length])
    return None


def recover_members(onnx_path: str | Path, run_files: str | Path, out: str | Path,
                    parity_images: np.ndarray | None = None) -> list[Path]:
    """Write one run folder per member of the model at `onnx_path` under `out` (member0, member1, ...: config.json,
    summary.json, history.csv, best.weights.h5), from `run_files`, the small files of the run it was exported from
    (config.json, summary.json, history.csv: docs/reports/emotion_vgg16_run for the shipped model). A single run
    gives one folder. With `parity_images` (float32 RGB 0-255), the recovered members merged again must give the
    file's probabilities: within PARITY_TOLERANCE for a float32 file; an int8 file's difference is recorded."""
    import onnx

    from fer_core.training.ensemble import member_configs, normalised_shares
    from fer_core.training.zoo import build_architecture

    onnx_path, run_files, out = Path(onnx_path), Path(run_files), Path(out)
    config = json.loads((run_files / "config.json").read_text())
    summary = json.loads((run_files / "summary.json").read_text())
    data = onnx_path.read_bytes()
    proto = onnx.load_from_string(data)
    metadata = {p.key: p.value for p in proto.metadata_props}
    count = len(config.get("members") or [None])
    found = (metadata.get("architecture"), int(metadata.get("ensemble_members", 1)))
    if found != (config["arch"], count):
        raise ValueError(DIFFERENT_MODEL.format(found=f"{found[0]} x {found[1]}", expected=f"{config['arch']} x {count}"))

    configs = member_configs(config)
    members = [build_architecture(c) for c in configs]
    bodies = [[layer.name for layer in m.layers if layer.weights and layer.name not in ("head_hidden", "logits")]
              for m in members]
    prefixes = [(f"member{i}",) for i in range(count)] if count > 1 else [()]
    weights = onnx_layer_weights(proto.graph, {
        **{p + (name,): m.get_layer(name) for m, p, body in zip(members, prefixes, bodies) for name in body},
        ("head_hidden",): members[0].get_layer("head_hidden"), ("logits",): members[0].get_layer("logits")})
    hidden_kernel, hidden_bias = weights[("head_hidden",)]
    logits_kernel, logits_bias = weights[("logits",)]
    blocks = [m.get_layer("head_hidden").kernel.shape for m in members]  # (channels, units) of each member
    starts = np.cumsum([(0, 0), *blocks], axis=0)
    shares = normalised_shares(config.get("member_shares"), count)  # equal in ensembles merged before shares
    for i, (member, prefix, body) in enumerate(zip(members, prefixes, bodies)):
        for name in body:
            member.get_layer(name).set_weights(weights[prefix + (name,)])
        rows, cols = slice(starts[i][0], starts[i + 1][0]), slice(starts[i][1], starts[i + 1][1])
        outside = hidden_kernel[rows].copy()
        outside[:, cols] = 0
        if np.any(outside):
            raise ValueError(NOT_BLOCK_DIAGONAL.format(members=count))
        member.get_layer("head_hidden").set_weights([hidden_kernel[rows, cols], hidden_bias[cols]])
        member.get_layer("logits").set_weights([logits_kernel[cols] / shares[i], logits_bias])

    record = {"onnx": onnx_path.name, "sha256": hashlib.sha256(data).hexdigest(),
              "version": metadata.get("version"), "members": count,
              "int8": "quantization" in metadata, "output_bias": "the ensemble's (its members' mean at their shares)"}
    if parity_images is not None:
        record["parity"] = _parity(onnx_path, members, shares, parity_images, float(metadata["temperature"]))
        if not record["int8"] and record["parity"]["max_prob_diff"] > PARITY_TOLERANCE:
            raise RuntimeError(f"recovered members differ from {onnx_path.name}: "
                               f"max probability difference {record['parity']['max_prob_diff']:.2e}")
    histories = _member_histories(run_files / "history.csv", count)
    seeds = config.get("seeds") or [config.get("seed")]
    shared = {k: v for k, v in summary.items() if k not in ("members", "trainable_params")}
    folders = []
    for i, member in enumerate(members):
        folder = out / f"member{i}"
        folder.mkdir(parents=True, exist_ok=True)
        own = summary["members"][i] if count > 1 else {"run": Path(config["run_dir"]).name}
        (folder / "config.json").write_text(json.dumps({**configs[i], "run_dir": str(folder),
                                                        "seed": seeds[i]}, indent=2))
        (folder / "summary.json").write_text(json.dumps(
            {**shared, "initial_weights": _own_start(summary["initial_weights"], configs[i]),
             **{k: v for k, v in own.items() if k not in ("run", "seed")},
             "recovered_from": {**record, "member": i, "run": own.get("run"), "share": shares[i]}}, indent=2))
        if histories[i]:
            with (folder / "history.csv").open("w", newline="") as stream:
                writer = csv.DictWriter(stream, fieldnames=list(histories[i][0]))
                writer.writeheader()
                writer.writerows(histories[i])
        member.save_weights(folder / "best.weights.h5")
        folders.append(folder)
    return folders


def _own_start(initial_weights: dict, member_config: dict) -> dict:
    """A member's start from its ensemble's record: the record itself, or for members of several starts
    (ensemble._initial_weights) the one of the member's own `weights`."""
    starts = initial_weights.get("starts")
    if not starts:
        return initial_weights
    return next(start for start in starts if start["source"] == member_config.get("weights"))


def _parity(onnx_path: Path, members: list, shares: list[float], images: np.ndarray, temperature: float) -> dict:
    from scipy.special import softmax

    from fer_core.training.ensemble import merge_members
    from fer_core.training.export import onnx_outputs

    model = merge_members(members, shares=shares) if len(members) > 1 else members[0]
    expected = onnx_outputs(onnx_path, images)["probs"]
    got = softmax(np.asarray(model.predict(images, verbose=0)) / temperature, axis=1)
    return {"images": len(images), "max_prob_diff": float(np.abs(expected - got).max()),
            "same_class": float(np.mean(expected.argmax(1) == got.argmax(1)))}


def _member_histories(path: Path, count: int) -> list[list[dict]]:
    """Each member's rows of a run's history.csv (an ensemble's has a leading `member` column)."""
    if not path.is_file():
        return [[] for _ in range(count)]
    with path.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    if count == 1 and (not rows or "member" not in rows[0]):
        return [rows]
    return [[{k: v for k, v in row.items() if k != "member"} for row in rows if row["member"] == str(i)]
            for i in range(count)]
