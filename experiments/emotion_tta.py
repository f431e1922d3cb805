"""Would test-time augmentation help the shipped emotion model? Scores each view of the deduplicated
validation split (the original, its mirror image, and 2-pixel shifts) and averages of views' probabilities.

    python experiments/emotion_tta.py [--onnx models/emotion_vgg16.onnx] [--data ../shared/data/fer4]

Validation only: test is scored once, for a chosen model, and a view average is only a candidate.
Prints a markdown table: accuracy and macro-F1 per view and per average, the share of faces whose
prediction differs from the original view's, and an exact McNemar test of the accuracy difference
(two-sided binomial test on the faces that only one of the two gets right).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
# 2 of 48 pixels: within the training augmentation's shifts (up to 8% of the side, about 4 pixels).
SHIFT = 2


def _shifted(faces: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Faces moved by (dy, dx) pixels, the uncovered border filled by repeating the edge (as alignment does)."""
    height, width = faces.shape[1:3]
    padded = np.pad(faces, ((0, 0), (SHIFT, SHIFT), (SHIFT, SHIFT), (0, 0)), mode="edge")
    return padded[:, SHIFT - dy:SHIFT - dy + height, SHIFT - dx:SHIFT - dx + width]


def views(faces: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "original": faces,
        "mirrored": faces[:, :, ::-1],
        "shifted up": _shifted(faces, -SHIFT, 0),
        "shifted down": _shifted(faces, SHIFT, 0),
        "shifted left": _shifted(faces, 0, -SHIFT),
        "shifted right": _shifted(faces, 0, SHIFT),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--onnx", type=Path, default=REPO / "models" / "emotion_vgg16.onnx")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "fer4")
    args = parser.parse_args(argv)

    from scipy.stats import binomtest
    from sklearn.metrics import accuracy_score, f1_score

    from fer_core.emotion import EmotionModel
    from fer_core.training.data import load_splits

    model = EmotionModel(args.onnx)
    height, width = model.input_size
    splits, _ = load_splits(args.data, size=height, classes=model.classes)
    validation = splits["validation"]
    faces = np.repeat(validation.images[..., None], 3, axis=-1)

    scored = {name: model.predict(np.ascontiguousarray(view)) for name, view in views(faces).items()}
    single_views = list(scored)
    scored["original + mirrored"] = scored["original"] + scored["mirrored"]
    scored["all six"] = sum(scored[name] for name in single_views)

    print(f"{model.name} (version {model.version}), deduplicated validation split, {len(validation.labels)} faces")
    print("| views | accuracy | macro-F1 | predictions changed vs original | McNemar p vs original |")
    print("|---|---|---|---|---|")
    labels = validation.labels
    original = scored["original"].argmax(axis=1)
    for name, probs in scored.items():
        predicted = probs.argmax(axis=1)
        accuracy = accuracy_score(labels, predicted)
        macro_f1 = f1_score(labels, predicted, average="macro")
        changed = float(np.mean(predicted != original))
        only_this = int(np.sum((predicted == labels) & (original != labels)))
        only_original = int(np.sum((predicted != labels) & (original == labels)))
        discordant = only_this + only_original
        p_value = f"{binomtest(only_this, discordant).pvalue:.3f}" if discordant else "-"
        print(f"| {name} | {100 * accuracy:.2f} | {100 * macro_f1:.2f} | {100 * changed:.1f}% | {p_value} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
