"""How many of fer4's deduplicated validation and test faces are near copies of its training faces, and what
they do to the shipped emotion model's score.

`load_splits` drops a face that appears in two splits when the decoded pixels are identical. fer4 also holds
copies that are not identical: re-encoded ones, and ones sprinkled with white and black specks. The rule that
keeps such copies out of round 5's extra faces (`fer_core.training.ferplus.copies_of`: correlation >= 0.9,
or a median difference under 22 grey levels after a 3x3 median filter) is applied here to each validation
and test face against the training split, and the shipped model (whole 48x48 image, as the card's figures)
is scored on the copies and on the rest. The 18-22 band mixes copies with different people
(experiments/reports/ferplus_extra.md), so the rest is also shown under the stricter cut of 18.

    PYTHONPATH=. python experiments/fer4_near_copies.py [--model models/emotion_vgg16.onnx]

About 2 minutes on the 2-core CPU.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from fer_core.emotion import EmotionModel
from fer_core.training.data import CLASSES, load_splits, to_rgb_float
from fer_core.training.ferplus import EXTRA_COPY_CORR, EXTRA_COPY_MEDIAN_DIFF, copy_measures, is_copy

STRICT_MEDIAN_DIFF = 18


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/fer4"))
    parser.add_argument("--model", type=Path, default=Path("models/emotion_vgg16.onnx"))
    args = parser.parse_args(argv)

    model = EmotionModel(args.model)
    columns = [model.classes.index(c) for c in CLASSES]
    splits, _ = load_splits(args.data)
    train = splits["train"]
    print(f"{model.name} {model.version}; fer4 deduplicated by load_splits; copies of a training face by "
          f"copies_of (correlation >= {EXTRA_COPY_CORR} or median difference < {EXTRA_COPY_MEDIAN_DIFF})\n")
    print("| split | faces | clean copies (corr >= 0.9) | specked copies | copies' label = the training face's |"
          " accuracy: all / copies / the rest / the rest, cut at 18 | macro-F1: all / the rest / the rest, cut at 18 |")
    print("|---|---|---|---|---|---|---|")
    for name in ("validation", "test"):
        split = splits[name]
        corr, difference, nearest = copy_measures(split.images, train.images)
        clean = corr >= EXTRA_COPY_CORR
        copies = is_copy(corr, difference)
        strict = clean | (difference < STRICT_MEDIAN_DIFF)
        rgb = to_rgb_float(split.images).astype(np.uint8)
        predicted = model.predict(rgb)[:, columns].argmax(axis=1)
        hit = predicted == split.labels
        agree = int((split.labels[copies] == train.labels[nearest[copies]]).sum())
        f1 = {key: f1_score(split.labels[mask], predicted[mask], average="macro")
              for key, mask in (("all", np.ones(len(hit), bool)), ("rest", ~copies), ("strict", ~strict))}
        print(f"| {name} | {len(hit)} | {int(clean.sum())} | {int((copies & ~clean).sum())} | {agree} of {int(copies.sum())} |"
              f" {hit.mean():.3f} / {hit[copies].mean():.3f} / {hit[~copies].mean():.3f} (n={int((~copies).sum())}) /"
              f" {hit[~strict].mean():.3f} (n={int((~strict).sum())}) | {f1['all']:.3f} / {f1['rest']:.3f} / {f1['strict']:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
