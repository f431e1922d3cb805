"""Scores for a classifier's logits: accuracy, macro-F1, per-class precision/recall, confusion matrix,
expected calibration error, and temperature scaling fitted on validation."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from fer_core.calibration import expected_calibration_error


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T > 0 minimising the negative log-likelihood of softmax(logits / T) (Guo et al. 2017)."""

    def nll(log_t: float) -> float:
        return float(-log_softmax(logits / np.exp(log_t), axis=1)[np.arange(len(labels)), labels].mean())

    result = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(result.x))


def classification_metrics(
    logits: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], *, temperature: float = 1.0
) -> dict:
    """Every number the model card reports for one split."""
    probs = softmax(logits / temperature, axis=1)
    predicted = probs.argmax(axis=1)
    index = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=index, zero_division=0
    )
    return {
        "n": int(len(labels)),
        "accuracy": float(accuracy_score(labels, predicted)),
        "macro_f1": float(f1_score(labels, predicted, labels=index, average="macro", zero_division=0)),
        "per_class": {
            name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(classes, precision, recall, f1, support)
        },
        "confusion_matrix": confusion_matrix(labels, predicted, labels=index).tolist(),
        "ece": expected_calibration_error(probs, labels),
        "nll": float(-np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, None)).mean()),
        "temperature": float(temperature),
    }


def plot_confusion_matrix(matrix: list[list[int]], classes: tuple[str, ...], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.asarray(matrix)
    rates = counts / np.clip(counts.sum(axis=1, keepdims=True), 1, None)
    fig, ax = plt.subplots(figsize=(4.8, 4.2), dpi=120)
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, f"{counts[i, j]}\n{rates[i, j]:.0%}", ha="center", va="center",
                    color="white" if rates[i, j] > 0.5 else "black", fontsize=8)
    ax.set_xticks(range(len(classes)), classes, rotation=30)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def evaluate_run(run_dir: str | Path, *, splits_to_score: tuple[str, ...] = ("validation", "test")) -> dict:
    """Load a run's best weights, fit the temperature on validation, and score each split with it.

    The test split is meant to be scored once, for the model chosen on validation; the result and the
    confusion-matrix PNGs are written to run_dir/metrics.json and run_dir/confusion_<split>.png.
    """
    import json

    from fer_core.training.data import load_splits, to_rgb_float
    from fer_core.training.runs import build_from_config

    run_dir = Path(run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    classes = tuple(config["classes"])
    size = config["input_size"] or 48
    splits, _ = load_splits(config["data_root"], size=size, classes=classes, limit_per_split=config["limit_per_split"])
    model = build_from_config(config)
    model.load_weights(run_dir / "best.weights.h5")

    def logits_of(split: str) -> np.ndarray:
        return np.asarray(model.predict(to_rgb_float(splits[split].images), batch_size=256, verbose=0))

    val_logits = logits_of("validation")
    temperature = fit_temperature(val_logits, splits["validation"].labels)
    metrics = {
        "classes": list(classes),
        "temperature": temperature,
        "validation_uncalibrated": classification_metrics(val_logits, splits["validation"].labels, classes),
    }
    for split in splits_to_score:
        logits = val_logits if split == "validation" else logits_of(split)
        metrics[split] = classification_metrics(logits, splits[split].labels, classes, temperature=temperature)
        plot_confusion_matrix(metrics[split]["confusion_matrix"], classes, run_dir / f"confusion_{split}.png",
                              f"{config['arch']} - {split} (deduplicated, n={metrics[split]['n']})")
        crowd = ferplus_majority_metrics(logits, splits[split].paths, config["data_root"], classes, temperature)
        if crowd is not None:
            metrics.setdefault("ferplus_majority", {})[split] = crowd
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics


def ferplus_majority_metrics(logits: np.ndarray, paths: list[str], data_root: str | Path, classes: tuple[str, ...],
                             temperature: float) -> dict | None:
    """A split read a second way: scored against the FER+ crowd's majority instead of fer4's single label, on the
    faces whose majority is one of the four classes (fer_core.training.ferplus.ferplus_majority_labels). None for
    a model of other classes, or where no face has such a majority."""
    from fer_core.training.data import CLASSES
    from fer_core.training.ferplus import ferplus_majority_labels

    if tuple(classes) != CLASSES:
        return None
    majority = ferplus_majority_labels(paths, data_root)
    kept = majority >= 0
    if not kept.any():
        return None
    return classification_metrics(logits[kept], majority[kept], classes, temperature=temperature)
