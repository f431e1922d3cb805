"""A shipped emotion model with its last layer refitted on its frozen hidden activations.

Why: with no GPU lent, the one lever measured to move real photos beyond noise is the FER+ votes and the
4,590 extra FER+ faces at the last layer (experiments/reports/emotion_head_refit/). The body, the hidden
layer and their int8 quantization stay exactly as shipped; `logits` (hidden units -> classes) is refitted
by L-BFGS on the training recipe's own loss (mixed_targets, balanced class weights, label smoothing,
weight decay), from the shipped layer, and the temperature is fitted again on validation.

The graph is rewritten where tf2onnx put the layer (an ensemble export, fer_core/training/ensemble.py):
the logits kernel and bias, the copy of the kernel that the Grad-CAM channel weights read, and 1/T, plus
the `temperature` and `version` metadata. Writing the shipped layer back gives the shipped outputs.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from scipy.optimize import minimize
from scipy.special import log_softmax

from fer_core.training.data import CLASSES, class_weights, load_splits, to_rgb_float
from fer_core.training.evaluate import classification_metrics, fit_temperature, plot_confusion_matrix

HIDDEN = "functional_1/head_hidden_1/Relu:0"
KERNEL = "functional_1/logits_1/Cast/ReadVariableOp:0"
BIAS = "functional_1/logits_1/BiasAdd/ReadVariableOp:0"
# The kernel again, as the (1, hidden, classes) constant the cam_weights output multiplies by.
CAM_KERNEL = "strided_slice_1:0"
# 1 / T, the constant the logits are multiplied by before the softmax of `probs`.
INVERSE_TEMPERATURE = "ConstantFolding/truediv_recip:0"

NOT_A_REFITTABLE_GRAPH = "not an exported emotion model with a float logits layer this refit can rewrite"
SHAPE_MISMATCH = "the refitted layer's shapes differ from the model's logits layer"


class HeadRefitError(ValueError):
    """The model cannot be refitted or rewritten as asked."""


@dataclass(frozen=True, kw_only=True)
class RefitSettings:
    """How the last layer is refitted. `ferplus_weight` is mixed_targets' share of the FER+ votes in each
    fer4 face's target (0.4.0's members trained at 0.5); label smoothing and weight decay are the training
    recipe's (fer_core/training/train.py)."""

    ferplus_weight: float = 0.25
    label_smoothing: float = 0.1
    weight_decay: float = 1e-4
    max_iterations: int = 500
    # Fit on this many augmented views of each face (augmented_activations) instead of the faces themselves:
    # the body was trained on these faces, so their own features are more separable than an unseen face's.
    augmented_views: int = 0


def _initializers(model: onnx.ModelProto) -> dict[str, onnx.TensorProto]:
    found = {t.name: t for t in model.graph.initializer if t.name in (KERNEL, BIAS, CAM_KERNEL, INVERSE_TEMPERATURE)}
    if len(found) != 4 or HIDDEN not in {o for n in model.graph.node for o in n.output}:
        raise HeadRefitError(NOT_A_REFITTABLE_GRAPH)
    return found


def logits_layer(model: onnx.ModelProto) -> tuple[np.ndarray, np.ndarray]:
    """The model's logits kernel (hidden, classes) and bias (classes,), as float64."""
    found = _initializers(model)
    return (numpy_helper.to_array(found[KERNEL]).astype(np.float64),
            numpy_helper.to_array(found[BIAS]).astype(np.float64))


def hidden_activations(model: onnx.ModelProto, images: np.ndarray, *, tensor: str = HIDDEN,
                       batch: int = 128) -> np.ndarray:
    """The activations (N, units) at `tensor`, by default the hidden layer's, of (N, h, w, 3) float 0-255
    images, by onnxruntime."""
    import onnxruntime as ort

    _initializers(model)
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.append(onnx.helper.make_tensor_value_info(tensor, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    out = [session.run([tensor], {name: images[i:i + batch].astype(np.float32)})[0] for i in range(0, len(images), batch)]
    return np.concatenate(out).astype(np.float32)


def augmented_activations(model: onnx.ModelProto, images: np.ndarray, views: int, *, seed: int = 0,
                          tensor: str = HIDDEN) -> np.ndarray:
    """(views, N, units) activations of `views` augmented copies of (N, h, w) uint8 grayscale faces: the
    training recipe's augmentation with its real-photo changes (augment.augment_batch, domain=True)."""
    from fer_core.training.augment import augment_batch

    rng = np.random.default_rng(seed)
    return np.stack([hidden_activations(model, np.repeat(augment_batch(images, rng, domain=True)[..., None], 3, axis=-1),
                                        tensor=tensor) for _ in range(views)])


def fit_targets(soft: np.ndarray, labels: np.ndarray, *, label_smoothing: float) -> tuple[np.ndarray, np.ndarray]:
    """The refit's targets and sample weights, as the training recipe makes them: the soft targets smoothed
    towards uniform, and each face weighted by its label's balanced class weight."""
    per_class = class_weights(labels, len(CLASSES))
    return (soft * (1 - label_smoothing) + label_smoothing / len(CLASSES),
            np.asarray([per_class[int(c)] for c in labels]))


def head_logits(features: np.ndarray, layers: list[np.ndarray]) -> np.ndarray:
    """Logits of refitted layers: [kernel, bias] on hidden activations, or [hidden kernel, hidden bias,
    kernel, bias] (a ReLU layer, then logits) on the pooled conv map."""
    if len(layers) == 4:
        features = np.maximum(features @ layers[0] + layers[1], 0.0)
    return features @ layers[-2] + layers[-1]


def fit_layers(features: np.ndarray, targets: np.ndarray, sample_weights: np.ndarray, layers: list[np.ndarray], *,
               weight_decay: float, max_iterations: int,
               validation: tuple[np.ndarray, np.ndarray] | None = None) -> list[np.ndarray]:
    """Sample-weighted soft-target cross-entropy + weight_decay x |kernels|^2, by L-BFGS from `layers` (see
    head_logits for the two shapes).

    With `validation` (features, soft targets) the layers kept are those of the iteration with the lowest
    validation cross-entropy: a hidden layer refitted too (half a million weights on features the body was
    trained on) overfits, where the convex logits-only fit converges."""
    shapes = [p.shape for p in layers]
    bounds = np.cumsum([0] + [p.size for p in layers])
    x = features.astype(np.float64)
    w = sample_weights / sample_weights.sum()

    def unpack(theta: np.ndarray) -> list[np.ndarray]:
        return [theta[a:b].reshape(shape) for a, b, shape in zip(bounds[:-1], bounds[1:], shapes)]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        p = unpack(theta)
        hidden = np.maximum(x @ p[0] + p[1], 0.0) if len(p) == 4 else x
        logp = log_softmax(hidden @ p[-2] + p[-1], axis=1)
        value = -(w[:, None] * targets * logp).sum() + weight_decay * sum((k ** 2).sum() for k in p[::2])
        residual = w[:, None] * (np.exp(logp) - targets)  # targets sum to 1 per row
        grads = [hidden.T @ residual + 2 * weight_decay * p[-2], residual.sum(axis=0)]
        if len(p) == 4:
            back = (residual @ p[2].T) * (hidden > 0)
            grads = [x.T @ back + 2 * weight_decay * p[0], back.sum(axis=0)] + grads
        return value, np.concatenate([g.ravel() for g in grads])

    best = {"loss": np.inf, "theta": None}

    def keep_best(theta: np.ndarray) -> None:
        v_x, v_t = validation
        v_loss = -(v_t * log_softmax(head_logits(v_x, unpack(theta)), axis=1)).sum(axis=1).mean()
        if v_loss < best["loss"]:
            best.update(loss=v_loss, theta=theta.copy())

    theta = np.concatenate([p.ravel() for p in layers])
    result = minimize(loss, theta, jac=True, method="L-BFGS-B", options={"maxiter": max_iterations},
                      callback=keep_best if validation is not None else None)
    return unpack(best["theta"] if best["theta"] is not None else result.x)


def with_logits_layer(model: onnx.ModelProto, kernel: np.ndarray, bias: np.ndarray, *, temperature: float,
                      version: str) -> onnx.ModelProto:
    """A copy of `model` whose logits layer, Grad-CAM kernel copy and 1/T are these, with its `temperature`
    and `version` metadata set to match."""
    if temperature <= 0:
        raise HeadRefitError(f"temperature must be positive, got {temperature}")
    out = onnx.ModelProto()
    out.CopyFrom(model)
    found = _initializers(out)
    if kernel.shape != tuple(found[KERNEL].dims) or bias.shape != tuple(found[BIAS].dims):
        raise HeadRefitError(SHAPE_MISMATCH)
    for name, value in ((KERNEL, kernel), (BIAS, bias), (CAM_KERNEL, kernel[None]),
                        (INVERSE_TEMPERATURE, np.asarray(1.0 / temperature))):
        found[name].CopyFrom(numpy_helper.from_array(value.astype(np.float32), name))
    meta = {p.key: p for p in out.metadata_props}
    for key, value in (("temperature", repr(float(temperature))), ("version", version)):
        if key in meta:
            meta[key].value = value
        else:
            out.metadata_props.add(key=key, value=value)
    return out


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# The files of the refitted model's own run that its model card reads (governance/model_cards.py) and that
# a refit does not change; metrics.json is the refit's own.
BASE_RUN_FILES = ("config.json", "summary.json", "export.json", "history.csv", "dedup.json", "template.json",
                  "quantization.json", "step2_state.json")


def refit_model(model_path: str | Path, data_root: str | Path, run_dir: str | Path, *, version: str,
                settings: RefitSettings = RefitSettings(), extra_path: str | Path | None = None,
                base_run: str | Path | None = None, limit_per_split: int | None = None) -> dict:
    """Refit `model_path`'s last layer on fer4's train split (and the extra FER+ faces), fit its temperature
    on validation, score validation and the deduplicated test split once, and write run_dir/emotion.onnx,
    run_dir/metrics.json (evaluate_run's layout) and run_dir/refit.json (what was refitted, from which file,
    on what) and the confusion matrices, beside `base_run`'s files (BASE_RUN_FILES) when given. `limit_per_split` takes an evenly spaced
subset of each split (load_splits; for tests). Returns refit.json's record."""
    import shutil

    from fer_core.training.ferplus import mixed_targets, read_extra_images

    model_path, run_dir = Path(model_path), Path(run_dir)
    model = onnx.load(str(model_path))
    kernel, bias = logits_layer(model)
    splits, _ = load_splits(data_root, classes=CLASSES, limit_per_split=limit_per_split)
    mixed = mixed_targets(splits["train"], data_root, CLASSES, settings.ferplus_weight)
    views = settings.augmented_views
    repeat = max(views, 1)

    def views_of(images: np.ndarray) -> np.ndarray:
        """(repeat, N, units): the faces' augmented views, or the faces themselves."""
        if views:
            return augmented_activations(model, images, views)
        return hidden_activations(model, to_rgb_float(images))[None]

    # Every training face is read (and so augmented with the same draws) before FER+'s non-faces are left out.
    index = {path: i for i, path in enumerate(splits["train"].paths)}
    rows = np.asarray([index[path] for path in mixed.split.paths])
    features = np.concatenate(views_of(splits["train"].images)[:, rows])
    soft, labels = np.tile(mixed.targets, (repeat, 1)), np.tile(mixed.split.labels, repeat)
    extra_record = None
    if extra_path is not None:
        extra = read_extra_images(extra_path, CLASSES)
        features = np.concatenate([features, *views_of(extra.images)])
        soft = np.concatenate([soft, np.tile(extra.targets, (repeat, 1))])
        labels = np.concatenate([labels, np.tile(extra.targets.argmax(axis=1), repeat)])
        extra_record = {"images": int(len(extra.images)), "file_sha256": _sha256(Path(extra_path))}
    targets, sample_weights = fit_targets(soft, labels, label_smoothing=settings.label_smoothing)
    new_kernel, new_bias = fit_layers(features, targets, sample_weights, [kernel, bias],
                                      weight_decay=settings.weight_decay, max_iterations=settings.max_iterations)

    val, test = splits["validation"], splits["test"]
    val_logits = head_logits(hidden_activations(model, to_rgb_float(val.images)), [new_kernel, new_bias])
    temperature = fit_temperature(val_logits, val.labels)
    test_logits = head_logits(hidden_activations(model, to_rgb_float(test.images)), [new_kernel, new_bias])
    metrics = {
        "classes": list(CLASSES),
        "temperature": temperature,
        "validation_uncalibrated": classification_metrics(val_logits, val.labels, CLASSES),
        "validation": classification_metrics(val_logits, val.labels, CLASSES, temperature=temperature),
        "test": classification_metrics(test_logits, test.labels, CLASSES, temperature=temperature),
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    for name in BASE_RUN_FILES if base_run is not None else ():
        if (Path(base_run) / name).is_file():
            shutil.copyfile(Path(base_run) / name, run_dir / name)
    out = run_dir / "emotion.onnx"
    onnx.save(with_logits_layer(model, new_kernel, new_bias, temperature=temperature, version=version), str(out))
    record = {
        "from": {"file": model_path.name, "sha256": _sha256(model_path)},
        "sha256": _sha256(out),
        "version": version,
        "layer": "logits",
        "settings": asdict(settings),
        "training_faces": {"fer4_train": int(len(mixed.split.labels)), "ferplus_extra": extra_record},
        "ferplus": mixed.report,
    }
    for split in ("validation", "test"):
        plot_confusion_matrix(metrics[split]["confusion_matrix"], CLASSES, run_dir / f"confusion_{split}.png",
                              f"{version}, last layer refitted - {split} (deduplicated, n={metrics[split]['n']})")
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (run_dir / "refit.json").write_text(json.dumps(record, indent=2))
    return record
