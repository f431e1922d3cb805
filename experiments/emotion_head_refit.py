"""Issue 20 without a GPU: would a larger FER+ share help on real photos? Refit only the shipped model's
last layer and see.

Round 5 (FER+ at 0.75 and 1.0, whole runs) needs the GPU. This asks the cheaper question first: keep the
shipped model's whole body and hidden layer (trained with FER+ at 0.5) and refit only its `logits` layer on
the frozen hidden activations, with targets (1 - share) x fer4 one-hot + share x FER+ votes (the training
recipe's own `mixed_targets`, the same balanced class weights and label smoothing), for several shares.
Each refit gets its temperature fitted on validation (as the ship path does) and is scored on the
deduplicated validation split (fer4 labels, and FER+ majority where it exists) and on the real-photo dev
set end to end (FaceAnalyzer's detection and the model's own aligned crop, as
benchmarks/emotion_real_photos.py does). The refit at share 0.5 is the control: it differs from the
shipped layer only in being fitted on frozen, unaugmented features.

With --extra, each share is also refitted with round 5's extra FER+ faces added (experiments/reports/
ferplus_extra.md): a preview, at the last layer only, of what round 5 trains whole. The refit at share 0.25
with them shipped as 0.4.1 (fer_core.training.head_refit, which this script's fit is). --refit head refits
the hidden layer too; --augmented-views N fits on N augmented views of each training face instead of the
faces the body was trained on (their features are more separable than an unseen face's).

    PYTHONPATH=. python experiments/emotion_head_refit.py [--shares 0 0.25 0.5 0.75 1] \
        [--extra .gpu/ferplus_extra.npz] [--refit logits|head] [--augmented-views N] [--model FILE] \
        [--out experiments/reports/emotion_head_refit]

About 15 minutes on the 2-core CPU, most of it the hidden activations of the 19k training faces
(cached under --cache, keyed by the model's SHA-256; the real photos' are computed again each run, since
they depend on the analyzer's detector too).
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import onnx

from fer_core.analyzer import FaceAnalyzer
from fer_core.detection import DetectedFace
from fer_core.emotion import EmotionModel
from fer_core.images import load_image
from fer_core.training.data import CLASSES, load_splits, to_rgb_float
from fer_core.training.evaluate import classification_metrics, fit_temperature
from fer_core.training.ferplus import (
    ferplus_majority_labels,
    mixed_targets,
    read_extra_images,
)
from fer_core.training.head_refit import (
    HIDDEN,
    RefitSettings,
    augmented_activations,
    fit_layers,
    fit_targets,
    head_logits,
    hidden_activations,
    logits_layer,
)
from governance.bias_audit import paired_difference_estimates, tables_by_cluster

GAP = "functional_1/gap_1/Mean_Squeeze__195:0"
HIDDEN_KERNEL = "functional_1/head_hidden_1/Cast/ReadVariableOp:0"
HIDDEN_BIAS = "functional_1/head_hidden_1/BiasAdd/ReadVariableOp:0"
# What each --refit mode refits, and the activations it refits on.
REFIT_INPUT = {"logits": HIDDEN, "head": GAP}
LABEL_SMOOTHING = RefitSettings().label_smoothing
DEFAULT_DATA = Path.home() / ".cache" / "unveil-bench" / "real_photos"
DEFAULT_OUT = Path("experiments/reports/emotion_head_refit")
DEFAULT_MODEL = Path("models/emotion_vgg16.onnx")


def shipped_layers(model: onnx.ModelProto, refit: str) -> list[np.ndarray]:
    """The shipped layers --refit refits, in head_logits' order."""
    hidden = {t.name: onnx.numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer
              if t.name in (HIDDEN_KERNEL, HIDDEN_BIAS)}
    return ([hidden[HIDDEN_KERNEL], hidden[HIDDEN_BIAS]] if refit == "head" else []) + list(logits_layer(model))


def central_faces(model: EmotionModel, photos: Iterable[np.ndarray]) -> Iterator[tuple[int, np.ndarray, DetectedFace]]:
    """(index, photo, its central detected face) for each uint8 RGB photo in which the analyzer's detector (tight-crop
    retry on) finds a face, as benchmarks/emotion_real_photos.py reads the dev set."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from emotion_real_photos import central_face

    detector = FaceAnalyzer(emotion_model=model, identity_model=False).detector
    for i, rgb in enumerate(photos):
        face = central_face(detector.detect(rgb), rgb.shape)
        if face is not None:
            yield i, rgb, face


def real_photo_rows(data: Path) -> list[dict[str, str]]:
    """The dev set's manifest rows (path, label, source)."""
    with open(data / "manifest.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def real_photo_crops(model: EmotionModel, data: Path) -> tuple[np.ndarray, np.ndarray, list[str], list[tuple[str, str]]]:
    """The model's aligned crop of the central detected face of every dev-set photo (undetected photos are
    left out, as in the benchmark), its class index, source and (source, person photographed)."""
    rows = real_photo_rows(data)
    crops, labels, sources, people = [], [], [], []
    for i, rgb, face in central_faces(model, (load_image(data / row["path"]) for row in rows)):
        crops.append(model.align(rgb, face.landmarks))
        labels.append(CLASSES.index(rows[i]["label"]))
        sources.append(rows[i]["source"])
        people.append((rows[i]["source"], rows[i]["subject"]))
    return np.stack(crops), np.asarray(labels), sources, people


def scores(logits: np.ndarray, labels: np.ndarray, temperature: float) -> dict:
    """The model card's metrics of one set (fer_core.training.evaluate), the ones the report shows, and the
    predictions for the paired gap."""
    metrics = classification_metrics(logits, labels, CLASSES, temperature=temperature)
    return {"n": metrics["n"], "accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"],
            "recall": {c: metrics["per_class"][c]["recall"] for c in CLASSES}, "predicted": logits.argmax(axis=1)}


def real_photo_cells(result: dict) -> str:
    """A report row's shared cells: validation and real-photo accuracy and macro-F1, real-photo recall per class
    and the paired gap (`result` holds scores() under "validation" and "real", paired_gap() under "real_gap")."""
    recall = " / ".join(f"{result['real']['recall'][c]:.2f}" for c in CLASSES)
    low_high = result["real_gap"]
    return (f"{result['validation']['accuracy']:.3f} | {result['validation']['macro_f1']:.3f} | "
            f"{result['real']['accuracy']:.3f} | {result['real']['macro_f1']:.3f} | {recall} | "
            f"{low_high[0]:+.3f} [{low_high[1]:+.3f}, {low_high[2]:+.3f}]")


def paired_gap(a: np.ndarray, b: np.ndarray, labels: np.ndarray, *, n_boot: int = 2000, seed: int = 0,
               people: list[tuple[str, str]] | None = None) -> list[float]:
    """Accuracy of predictions b minus a with its paired percentile bootstrap 95% interval over faces, or, given
    each face's (source, person), over people drawn within each source, as benchmarks/emotion_real_photos.py
    computes its gaps (governance.bias_audit)."""
    joint, strata = tables_by_cluster(people, [labels, b, a], classes=CLASSES)
    gap = paired_difference_estimates(joint, CLASSES, n_boot=n_boot, seed=seed, strata=strata)["accuracy"]
    return [gap.value, gap.low, gap.high]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--fer4", type=Path, default=Path("../shared/data/fer4"))
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the real-photo dev set")
    parser.add_argument("--shares", type=float, nargs="+", default=[0.0, 0.25, 0.5, 0.75, 1.0])
    parser.add_argument("--extra", type=Path, help="also refit with these extra FER+ faces added "
                        "(`python -m fer_core.training ferplus-extra`), trained on their votes alone")
    parser.add_argument("--refit", choices=sorted(REFIT_INPUT), default="logits",
                        help="logits: the last layer alone, on the hidden activations; head: the hidden layer and "
                        "logits, on the pooled last conv map, kept at the iteration with the lowest validation loss")
    parser.add_argument("--augmented-views", type=int, default=0,
                        help="refit on the activations of this many augmented views of each training (and extra) face, "
                        "the recipe's augmentation with its domain changes, instead of the faces as they are: features "
                        "the body has not memorised")
    parser.add_argument("--l2", type=float, default=RefitSettings().weight_decay, help="the training recipe's weight decay")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "unveil-bench" / "head_refit")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    digest = hashlib.sha256(args.model.read_bytes()).hexdigest()[:16]
    cache = args.cache / digest
    cache.mkdir(parents=True, exist_ok=True)
    graph = onnx.load(str(args.model))
    shipped = shipped_layers(graph, args.refit)

    def activations(images: np.ndarray) -> np.ndarray:
        return hidden_activations(graph, images, tensor=REFIT_INPUT[args.refit])

    tag = "" if args.refit == "logits" else f"_{args.refit}"
    model = EmotionModel(args.model)
    shipped_t = model.temperature

    splits, _ = load_splits(args.fer4)
    if not (cache / f"fer4{tag}.npz").exists():
        print("activations: train, validation", flush=True)
        np.savez(cache / f"fer4{tag}.npz", train=activations(to_rgb_float(splits["train"].images)),
                 validation=activations(to_rgb_float(splits["validation"].images)))
    hidden = dict(np.load(cache / f"fer4{tag}.npz"))
    # The real photos' crops follow the analyzer's detector, so they are not cached with the model's activations.
    print("activations: real photos", flush=True)
    real_crops, real_labels, real_sources, _ = real_photo_crops(model, args.data)
    hidden["real"], real_sources = activations(real_crops), np.asarray(real_sources)
    train_index = {p: i for i, p in enumerate(splits["train"].paths)}
    val_index = {p: i for i, p in enumerate(splits["validation"].paths)}

    val = splits["validation"]
    ferplus_val = ferplus_majority_labels(val.paths, args.fer4)
    has_majority = ferplus_val >= 0

    def evaluate(name: str, params: list[np.ndarray], temperature: float | None) -> dict:
        val_logits, real_logits = head_logits(hidden["validation"], params), head_logits(hidden["real"], params)
        t = fit_temperature(val_logits, val.labels) if temperature is None else temperature
        return {"name": name, "temperature": t, "validation": scores(val_logits, val.labels, t),
                "validation_ferplus": scores(val_logits[has_majority], ferplus_val[has_majority], t),
                "real": scores(real_logits, real_labels, t),
                "real_by_source": {s: scores(real_logits[real_sources == s], real_labels[real_sources == s], t)
                                   for s in sorted(set(real_sources.tolist()))}}

    results = [evaluate(f"shipped {args.refit} layers", shipped, shipped_t)]
    extra = read_extra_images(args.extra, CLASSES) if args.extra else None
    if extra is not None:
        extra_cache = cache / f"extra{tag}_{hashlib.sha256(args.extra.read_bytes()).hexdigest()[:16]}.npy"
        if not extra_cache.exists():
            np.save(extra_cache, activations(to_rgb_float(extra.images)))
        extra_features = np.load(extra_cache)
    if args.augmented_views:
        def augmented(images: np.ndarray, name: str) -> np.ndarray:
            path = cache / f"{name}{tag}_views{args.augmented_views}.npy"
            if not path.exists():
                print(f"activations: {args.augmented_views} augmented views of {name}", flush=True)
                np.save(path, augmented_activations(graph, images, args.augmented_views, tensor=REFIT_INPUT[args.refit]))
            return np.load(path)

        train_views = augmented(splits["train"].images, "fer4_train")
        extra_views = augmented(extra.images, extra_cache.stem) if extra is not None else None
    else:
        train_views = hidden["train"][None]
        extra_views = extra_features[None] if extra is not None else None
    views = len(train_views)
    for share in args.shares:
        mixed = mixed_targets(splits["train"], args.fer4, CLASSES, share)
        rows = np.asarray([train_index[p] for p in mixed.split.paths])
        val_mixed = mixed_targets(val, args.fer4, CLASSES, share)
        val_rows = np.asarray([val_index[p] for p in val_mixed.split.paths])
        stop_on = (hidden["validation"][val_rows], val_mixed.targets) if args.refit == "head" else None
        soft, labels = np.tile(mixed.targets, (views, 1)), np.tile(mixed.split.labels, views)
        variants = [("", np.concatenate(train_views[:, rows]), soft, labels)]
        if extra is not None:
            variants.append((" + extra faces", np.concatenate([*train_views[:, rows], *extra_views]),
                             np.concatenate([soft, np.tile(extra.targets, (views, 1))]),
                             np.concatenate([labels, np.tile(extra.targets.argmax(axis=1), views)])))
        for suffix, features, soft, labels in variants:
            targets, weights = fit_targets(soft, labels, label_smoothing=LABEL_SMOOTHING)
            params = fit_layers(features, targets, weights, shipped, weight_decay=args.l2,
                                max_iterations=RefitSettings().max_iterations, validation=stop_on)
            results.append(evaluate(f"refit, FER+ share {share:g}{suffix}", params, None))
            print(f"share {share:g}{suffix}: validation {results[-1]['validation']['accuracy']:.3f}, "
                  f"real photos {results[-1]['real']['accuracy']:.3f}", flush=True)

    base = results[0]["real"]["predicted"]
    for entry in results:
        entry["real_gap_vs_shipped"] = paired_gap(base, entry["real"]["predicted"], real_labels)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(plain(results), indent=2))
    (args.out / "README.md").write_text(markdown(results, args, digest))
    print((args.out / "README.md").read_text())
    return 0


def plain(value):
    """A copy of results for results.json: the per-face predictions (kept for the paired gaps) left out."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "predicted"}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def markdown(results: list[dict], args: argparse.Namespace, digest: str) -> str:
    refitted = {
        "logits": ("only the last layer", "The body and hidden layer stay as shipped; only `logits` is refitted on"
                   " frozen hidden activations of the training split"),
        "head": ("the hidden layer and the last layer", "The body stays as shipped; `head_hidden` and `logits` are"
                 " refitted on the frozen, unaugmented pooled last conv map of the training split, kept at the"
                 " L-BFGS iteration with the lowest validation cross-entropy (against the same share's targets)"),
    }[args.refit]
    lines = [
        f"# Refitting {refitted[0]} of the shipped emotion model with more FER+ votes",
        "",
        f"`PYTHONPATH=. python experiments/emotion_head_refit.py --refit {args.refit}"
        f" --shares {' '.join(f'{s:g}' for s in args.shares)}"
        + (" --extra .gpu/ferplus_extra.npz" if args.extra else "")
        + (f" --augmented-views {args.augmented_views}" if args.augmented_views else "")
        + (f" --model {args.model}" if args.model != DEFAULT_MODEL else "")
        + (f" --out {args.out}" if args.out != DEFAULT_OUT else "") + "`"
        f" on `{args.model}` (SHA-256 {digest}...), on the 2-core CPU. {refitted[1]}, then the temperature on validation."
        + (f" Here each training (and extra) face is read as {args.augmented_views} augmented views (the recipe's"
           " augment_batch with its domain changes, seed 0) instead of as it is." if args.augmented_views else "")
        + " Validation: deduplicated, fer4 labels (and FER+ majority where one of the"
        " four classes has it). Real photos: the dev set end to end (detected faces only); the gap is paired,"
        " percentile bootstrap 95% over faces.",
        "",
        "| layer | T | validation acc / macro-F1 | validation, FER+ majority acc | real photos acc / macro-F1 |"
        " gap vs shipped | recall happy / neutral / sad / surprise (real) |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in results:
        v, f, r = e["validation"], e["validation_ferplus"], e["real"]
        gap = e["real_gap_vs_shipped"]
        recalls = " / ".join(f"{r['recall'][c]:.2f}" for c in CLASSES)
        lines.append(
            f"| {e['name']} | {e['temperature']:.3f} | {v['accuracy']:.3f} / {v['macro_f1']:.3f} | {f['accuracy']:.3f} |"
            f" {r['accuracy']:.3f} / {r['macro_f1']:.3f} | {gap[0]:+.3f} [{gap[1]:+.3f}, {gap[2]:+.3f}] |"
            f" {recalls} |")
    lines += ["", "Real photos by source (accuracy):", "",
              "| layer | " + " | ".join(results[0]["real_by_source"]) + " |",
              "|---|" + "---|" * len(results[0]["real_by_source"])]
    for e in results:
        lines.append(f"| {e['name']} | " + " | ".join(f"{s['accuracy']:.3f} (n={s['n']})" for s in e["real_by_source"].values()) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
