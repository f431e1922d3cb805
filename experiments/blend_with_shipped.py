"""Would averaging the shipped emotion model with another trained architecture help? Blends the shipped
ONNX model's probabilities with a training run's (its own temperature applied) on the deduplicated
validation split, at a few weights, and prints accuracy and macro-F1 per blend as a markdown table.

    python experiments/blend_with_shipped.py RUN_DIR... [--weights 0.2 0.3 0.4 0.5]

RUN_DIR: a `python -m fer_core.training train` run, evaluated (its metrics.json holds the temperature).
Validation only: test is scored once, for a chosen model, and a blend is only a candidate. The question
it answers: can the cheaper architectures this CPU trains (experiments/reports/reproduction.md) stand in for
the same-recipe members the ensemble plan trains on a GPU?
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--onnx", type=Path, default=REPO / "models" / "emotion_vgg16.onnx")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "fer4")
    parser.add_argument("--weights", type=float, nargs="+", default=[0.2, 0.3, 0.4, 0.5],
                        help="the run's share of each blend (the shipped model gets the rest)")
    args = parser.parse_args(argv)

    from scipy.special import softmax
    from sklearn.metrics import accuracy_score, f1_score

    from fer_core.emotion import EmotionModel
    from fer_core.training.data import load_splits, to_rgb_float
    from fer_core.training.runs import build_from_config

    shipped = EmotionModel(args.onnx)
    splits, _ = load_splits(args.data, size=shipped.input_size[0], classes=shipped.classes)
    validation = splits["validation"]
    faces = np.repeat(validation.images[..., None], 3, axis=-1)  # uint8 RGB, what the ONNX model takes
    shipped_probs = shipped.predict(faces)
    keras_faces = to_rgb_float(validation.images)  # the same faces as float32, what a Keras run takes

    def row(name: str, probs: np.ndarray) -> str:
        predicted = probs.argmax(axis=1)
        accuracy = accuracy_score(validation.labels, predicted)
        macro_f1 = f1_score(validation.labels, predicted, average="macro")
        return f"| {name} | {100 * accuracy:.2f} | {100 * macro_f1:.2f} |"

    print(f"Deduplicated validation split, n={len(validation.labels)}\n")
    print("| model | accuracy | macro-F1 |\n|---|---|---|")
    print(row(f"shipped {shipped.name} {shipped.version}", shipped_probs))
    for run in args.runs:
        config = json.loads((run / "config.json").read_text())
        if tuple(config["classes"]) != shipped.classes:
            parser.error(f"{run}: classes {config['classes']} differ from the shipped model's {list(shipped.classes)}")
        model = build_from_config(config)
        model.load_weights(run / "best.weights.h5")
        temperature = json.loads((run / "metrics.json").read_text())["temperature"]
        logits = np.asarray(model.predict(keras_faces, batch_size=256, verbose=0))
        probs = softmax(logits / temperature, axis=1)
        print(row(f"{config['arch']} ({run.name})", probs))
        for weight in args.weights:
            print(row(f"{1 - weight:.1f} shipped + {weight:.1f} {config['arch']}", (1 - weight) * shipped_probs + weight * probs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
