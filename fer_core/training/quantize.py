"""Static int8 quantization of an exported emotion model, and whether the int8 file is worth shipping.

    python -m fer_core.training quantize --onnx models/emotion_vgg16.onnx --json /tmp/unveil-int8/report.json

Static, not dynamic: dynamic int8 of the convolutions ran 4x slower than fp32 on the 2-core x86 CPU the
shipped model was measured on, while static int8 runs about twice as fast (`python benchmarks/bench_emotion.py`).
Steps: onnxruntime's quant_pre_process (shape inference, graph clean-up), then quantize_static in QDQ
format with per-channel weights, calibrated on N deduplicated fer4 TRAIN faces spread evenly over the
classes (never validation or test, which score it). The backbone is quantized. The in-graph
preprocessing and the head (GAP -> Dense -> Dense -> softmax, and the cam_weights matmuls) stay float32
unless quantize_head: they are a negligible share of the run time (on the shipped VGG16 an int8 head
was no faster and moved the probabilities more), while their outputs are the probabilities and
Grad-CAM's channel weights. The int8 file keeps every output (probs, cam_features, cam_weights) and the
model's metadata_props, plus `quantization` describing how it was made.

Then `compare` scores fp32 and int8 on the deduplicated fer4 test split (fer_core.training.data.load_splits):
accuracy, macro-F1, prediction agreement, the largest probability difference, Grad-CAM map correlation,
and latency at batch 1 and 32 (ms per image, sessions as the app opens them): the figures the model card
quotes. The ship decision (`ship_verdict`) is taken on the deduplicated validation split, never on test:
int8 is shipped only if it loses under SHIP_MAX_ACCURACY_LOSS points of validation accuracy
(tools/ship_emotion_model.sh reads it). The int8 file is written to `out` (by default under the system
temp folder, never models/: shipping is a decision).
"""
from __future__ import annotations

import hashlib
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from fer_core.training.timing import median_ms_per_image

DEFAULT_OUT = Path(tempfile.gettempdir()) / "unveil-int8"

# The ship decision: an int8 model is shipped only if it loses under 1 point of validation accuracy (test scores
# the file shipped, once; a choice made on test would make its score a selected one).
SHIP_MAX_ACCURACY_LOSS = 1.0  # percentage points
CALIBRATION_IMAGES = 500  # training faces whose activation ranges set the int8 scales
CALIBRATION_BATCH = 50  # faces per calibration run: one batch of activations held at a time
GRADCAM_FACES = 200  # test faces whose fp32 and int8 Grad-CAM maps are correlated
EVAL_BATCH = 256
METHODS = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
           "percentile": CalibrationMethod.Percentile}
# Defaults for x86 CPUs with AVX2 but no VNNI (this machine): onnxruntime's guidance for them is uint8
# activations, int8 weights and a 7-bit weight range (reduce_range) so u8 x s8 products cannot saturate.
ACTIVATION_TYPES = {"uint8": QuantType.QUInt8, "int8": QuantType.QInt8}


def calibration_faces(train_images: np.ndarray, train_labels: np.ndarray, n: int, n_classes: int) -> np.ndarray:
    """`n` training faces (N, h, w) uint8, evenly spaced within each class, classes as equal as n allows
    (a class with fewer faces than its share gives all it has)."""
    picked = []
    for c in range(n_classes):
        share = n // n_classes + (1 if c < n % n_classes else 0)
        members = np.flatnonzero(train_labels == c)
        if len(members) > share:
            members = members[(np.arange(share) * len(members)) // share]
        picked.append(members)
    return train_images[np.sort(np.concatenate(picked))]


class FaceReader(CalibrationDataReader):
    """Feeds float32 RGB 0-255 faces (the model's input contract) in batches to the calibrator."""

    def __init__(self, input_name: str, faces: np.ndarray, batch: int = CALIBRATION_BATCH) -> None:
        self._batches = iter([{input_name: faces[i : i + batch]} for i in range(0, len(faces), batch)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._batches, None)


def _ancestors(model: onnx.ModelProto, tensor: str) -> set[str]:
    """Names of the nodes `tensor` is computed from (its producer included)."""
    producer = {out: node for node in model.graph.node for out in node.output}
    found: set[str] = set()
    pending = [tensor]
    while pending:
        node = producer.get(pending.pop())
        if node is not None and node.name not in found:
            found.add(node.name)
            pending.extend(node.input)
    return found


def float_nodes(model: onnx.ModelProto, *, keep_head: bool = True, features_output: str = "cam_features") -> list[str]:
    """Nodes to leave in float32: the in-graph preprocessing (everything the first Conv's input is
    computed from: colour to gray, mean subtraction; it runs once on a 48x48x3 input, so int8 would
    only add rounding) and, if `keep_head`, the head: every node the last conv map `features_output`
    does not depend on (pooling, dense layers, softmax, cam_weights). An ensemble (fer_core/training/
    ensemble.py) has one first convolution, and one preprocessing, per member."""
    convs = [node for node in model.graph.node if node.op_type == "Conv"]
    if not convs:
        raise ValueError("the model has no Conv node: nothing for static int8 to speed up")
    conv_names = {node.name for node in convs}
    excluded: set[str] = set()
    for conv in convs:
        below = _ancestors(model, conv.input[0])
        if not below & conv_names:  # a first convolution: everything below it is preprocessing
            excluded |= below
    if keep_head:
        backbone = _ancestors(model, features_output)
        excluded |= {node.name for node in model.graph.node if node.name not in backbone}
    return [node.name for node in model.graph.node if node.name in excluded]


def quantize(
    fp32_path: Path,
    out_path: Path,
    faces: np.ndarray,
    *,
    method: str = "minmax",
    activation_type: str = "uint8",
    reduce_range: bool = True,
    quantize_head: bool = False,
) -> Path:
    """Write the static int8 (QDQ, per-channel) version of `fp32_path` at `out_path`, calibrated on
    `faces` (N, h, w, 3) float32 RGB 0-255; metadata_props are copied and `quantization` added."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        prepared = Path(work) / "prepared.onnx"
        # Symbolic shape inference is for transformer graphs with symbolic dims (and needs sympy); ONNX's
        # own shape inference gives every tensor of these CNNs a shape, which is all quantization needs.
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        model = onnx.load(str(prepared))
        excluded = float_nodes(model, keep_head=not quantize_head)
        quantize_static(
            str(prepared), str(out_path), FaceReader(model.graph.input[0].name, faces),
            quant_format=QuantFormat.QDQ, per_channel=True, reduce_range=reduce_range,
            activation_type=ACTIVATION_TYPES[activation_type], weight_type=QuantType.QInt8,
            calibrate_method=METHODS[method], nodes_to_exclude=excluded,
        )
    description = {
        "tool": "onnxruntime.quantization.quantize_static", "format": "QDQ", "weights": "int8 per-channel",
        "activations": activation_type, "reduce_range": reduce_range, "calibration": method,
        "calibration_images": len(faces), "calibration_split": "fer4 train, deduplicated",
        "head": "int8" if quantize_head else "float32",
    }
    metadata = {p.key: p.value for p in onnx.load(str(fp32_path), load_external_data=False).metadata_props}
    metadata["quantization"] = json.dumps(description)
    quantized = onnx.load(str(out_path))
    onnx.helper.set_model_props(quantized, metadata)
    onnx.save(quantized, str(out_path))
    return out_path


def _outputs(session, faces: np.ndarray, names: list[str] | None = None) -> dict[str, np.ndarray]:
    """These outputs (default: all) of the session on `faces`, run EVAL_BATCH faces at a time."""
    names = names or [o.name for o in session.get_outputs()]
    name = session.get_inputs()[0].name
    runs = [session.run(names, {name: faces[i : i + EVAL_BATCH]}) for i in range(0, len(faces), EVAL_BATCH)]
    return {n: np.concatenate([r[k] for r in runs]) for k, n in enumerate(names)}


def _probs_runner(session):
    name = session.get_inputs()[0].name
    return lambda batch: session.run(["probs"], {name: batch})


def _gradcam_map(features: np.ndarray, weights: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """One face's Grad-CAM map for one class as governance.explain draws it (relu(sum_k w_k A_k), bilinear
    upsampling to the input size, over its maximum), from the outputs already computed here: the
    run-time layering keeps fer_core from importing governance."""
    import cv2

    cam = np.maximum(np.einsum("hwk,k->hw", features, weights), 0).astype(np.float32)
    cam = cv2.resize(cam, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    peak = cam.max()
    return cam / peak if peak > 0 else np.zeros_like(cam)


def _gradcam_correlations(fp32: dict[str, np.ndarray], int8: dict[str, np.ndarray], classes: np.ndarray,
                          size: tuple[int, int]) -> np.ndarray:
    """Pearson r between the fp32 and int8 Grad-CAM maps of each face, for the class fp32 predicts.
    A map with no positive evidence in both models counts as identical."""
    rs = []
    for i, c in enumerate(classes):
        a = _gradcam_map(fp32["cam_features"][i], fp32["cam_weights"][i, int(c)], size).ravel()
        b = _gradcam_map(int8["cam_features"][i], int8["cam_weights"][i, int(c)], size).ravel()
        if a.std() == 0 or b.std() == 0:
            rs.append(1.0 if np.array_equal(a, b) else 0.0)
        else:
            rs.append(float(np.corrcoef(a, b)[0, 1]))
    return np.asarray(rs)


def compare(fp32_path: Path, int8_path: Path, faces: np.ndarray, labels: np.ndarray, *, repeats: int,
            gradcam_faces: int = GRADCAM_FACES) -> dict:
    """Scores, output differences, Grad-CAM agreement and latency of the two models on the same faces."""
    from sklearn.metrics import accuracy_score, f1_score

    from fer_core._onnx import load_session

    sessions = {"fp32": load_session(fp32_path), "int8": load_session(int8_path)}
    outputs = {kind: _outputs(s, faces) for kind, s in sessions.items()}
    n_classes = outputs["fp32"]["probs"].shape[1]
    report: dict = {"test_images": len(labels)}
    for kind, out in outputs.items():
        predicted = out["probs"].argmax(axis=1)
        report[kind] = {
            "file": str(fp32_path if kind == "fp32" else int8_path),
            "bytes": (fp32_path if kind == "fp32" else int8_path).stat().st_size,
            "sha256": hashlib.sha256((fp32_path if kind == "fp32" else int8_path).read_bytes()).hexdigest(),
            "accuracy": float(accuracy_score(labels, predicted)),
            "macro_f1": float(f1_score(labels, predicted, labels=list(range(n_classes)), average="macro",
                                       zero_division=0)),
            "ms_per_image_batch1": median_ms_per_image(_probs_runner(sessions[kind]), faces[:1], repeats),
            "ms_per_image_batch32": median_ms_per_image(_probs_runner(sessions[kind]), faces[:32],
                                                        max(3, repeats // 4)),
        }
    fp32, int8 = outputs["fp32"], outputs["int8"]
    fp32_predicted = fp32["probs"].argmax(axis=1)
    r = _gradcam_correlations(fp32, int8, fp32_predicted[:gradcam_faces], faces.shape[1:3])
    report["accuracy_loss_points"] = 100 * (report["fp32"]["accuracy"] - report["int8"]["accuracy"])
    report["macro_f1_loss_points"] = 100 * (report["fp32"]["macro_f1"] - report["int8"]["macro_f1"])
    report["prediction_agreement"] = float((fp32_predicted == int8["probs"].argmax(axis=1)).mean())
    report["max_prob_diff"] = float(np.abs(fp32["probs"] - int8["probs"]).max())
    report["mean_prob_diff"] = float(np.abs(fp32["probs"] - int8["probs"]).mean())
    feature_diff = np.abs(fp32["cam_features"] - int8["cam_features"])
    report["cam_features_max_diff_of_peak"] = float(feature_diff.max() / np.abs(fp32["cam_features"]).max())
    report["cam_features_mean_rel_diff"] = float(feature_diff.mean() / np.abs(fp32["cam_features"]).mean())
    report["cam_weights_max_abs_diff"] = float(np.abs(fp32["cam_weights"] - int8["cam_weights"]).max())
    report["gradcam_faces"] = len(r)
    report["gradcam_r_mean"] = float(r.mean())
    report["gradcam_r_min"] = float(r.min())
    return report


def ship_verdict(fp32_path: Path, int8_path: Path, faces: np.ndarray, labels: np.ndarray) -> dict:
    """The ship decision on `faces` (the validation split's): both files' accuracy, the points int8 loses, and
    whether that is under SHIP_MAX_ACCURACY_LOSS."""
    from fer_core._onnx import load_session

    def accuracy(path: Path) -> float:
        probs = _outputs(load_session(path), faces, ["probs"])["probs"]
        return float((probs.argmax(axis=1) == labels).mean())

    fp32, int8 = accuracy(fp32_path), accuracy(int8_path)
    loss = 100 * (fp32 - int8)
    return {"images": len(labels), "fp32_accuracy": fp32, "int8_accuracy": int8, "accuracy_loss_points": loss,
            "ship": loss < SHIP_MAX_ACCURACY_LOSS}


def print_report(report: dict) -> None:
    fp32, int8 = report["fp32"], report["int8"]
    print(f"deduplicated fer4 test split: {report['test_images']} faces")
    print("| model | accuracy | macro-F1 | MB | batch 1 (ms/image) | batch 32 (ms/image) |")
    print("|---|---|---|---|---|---|")
    for kind, row in (("fp32", fp32), ("int8", int8)):
        print(f"| {kind} | {row['accuracy']:.4f} | {row['macro_f1']:.4f} | {row['bytes'] / 1e6:.1f} | "
              f"{row['ms_per_image_batch1']:.2f} | {row['ms_per_image_batch32']:.2f} |")
    print(f"accuracy loss {report['accuracy_loss_points']:+.2f} points, macro-F1 loss "
          f"{report['macro_f1_loss_points']:+.2f} points, same prediction on {report['prediction_agreement']:.2%}")
    print(f"probabilities: max |diff| {report['max_prob_diff']:.4f}, mean {report['mean_prob_diff']:.5f}; "
          f"cam_features |diff| max {report['cam_features_max_diff_of_peak']:.1%} of the map's peak, mean "
          f"{report['cam_features_mean_rel_diff']:.1%} of its mean; "
          f"cam_weights max |diff| {report['cam_weights_max_abs_diff']:.2e}")
    print(f"Grad-CAM fp32 vs int8 on {report['gradcam_faces']} faces: r mean {report['gradcam_r_mean']:.4f}, "
          f"min {report['gradcam_r_min']:.4f}")
    loss = report["validation"]["accuracy_loss_points"]
    print(f"deduplicated fer4 validation split ({report['validation']['images']} faces), which decides: accuracy fp32 "
          f"{report['validation']['fp32_accuracy']:.4f}, int8 {report['validation']['int8_accuracy']:.4f}")
    if report["ship"]:
        print(f"VERDICT: ship - int8 loses {loss:.2f} < {SHIP_MAX_ACCURACY_LOSS} point of validation accuracy")
    else:
        print(f"VERDICT: do not ship - int8 loses {loss:.2f} >= {SHIP_MAX_ACCURACY_LOSS} point of validation accuracy")


def quantize_and_compare(onnx_path: Path, *, out: Path | None = None, data: Path, command: str,
                         calibration_images: int = CALIBRATION_IMAGES, method: str = "minmax",
                         activations: str = "uint8", reduce_range: bool = True, quantize_head: bool = False,
                         repeats: int = 10) -> tuple[Path, dict]:
    """Quantize `onnx_path` on fer4 training faces, decide on the deduplicated validation split (report["ship"],
    report["validation"]) and score both files on the deduplicated test split. Returns the int8 file and the
    report; `command` is recorded in it."""
    from fer_core._onnx import load_session, metadata
    from fer_core.training.data import load_splits, to_rgb_float

    meta = metadata(load_session(onnx_path))
    classes = tuple(json.loads(meta["classes"]))
    height, width = json.loads(meta["input_size"])
    if height != width:
        raise ValueError(f"{onnx_path.name}: fer4 faces are square, the model takes {height}x{width}")
    splits, dedup = load_splits(data, size=height, classes=classes)
    faces = to_rgb_float(calibration_faces(splits["train"].images, splits["train"].labels,
                                           calibration_images, len(classes)))
    out = out or DEFAULT_OUT / f"{onnx_path.stem}.int8.onnx"
    started = time.perf_counter()
    quantize(onnx_path, out, faces, method=method, activation_type=activations,
             reduce_range=reduce_range, quantize_head=quantize_head)
    quantize_s = time.perf_counter() - started
    print(f"wrote {out} in {quantize_s:.0f} s ({len(faces)} calibration faces, {method})")

    test, validation = splits["test"], splits["validation"]
    report = compare(onnx_path, out, to_rgb_float(test.images), test.labels, repeats=repeats)
    report["validation"] = ship_verdict(onnx_path, out, to_rgb_float(validation.images), validation.labels)
    report["ship"] = report["validation"].pop("ship")
    report["quantization"] = json.loads(metadata(load_session(out))["quantization"])
    report["quantize_seconds"] = quantize_s
    report["dedup"] = dedup.as_dict()
    report["command"] = command
    return out, report
