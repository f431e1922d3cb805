"""Issue 20 without a GPU: what the shipped emotion model gains on real photos from changes at inference only.

- Histogram equalisation of the aligned grey crop: fer4's training images are histogram-equalised copies
  of FER2013's (fer4's SOURCE.md; `fer_core/training/ferplus.py` joins them that way), while the app feeds
  the model an aligned crop as it is. Equalising the crop hands the model what it trained on.
- Grey conversion alone (the model greys its input itself: a control, should change nothing).
- Mirror test-time augmentation: the mean of the crop's and its mirror image's probabilities (twice the cost;
  on validation it did not help 0.2.1: experiments/reports/emotion_tta.md).

Same faces, detection and crops as benchmarks/emotion_real_photos.py (detected faces only); gaps paired,
percentile bootstrap 95% over faces.

    PYTHONPATH=. python experiments/emotion_inference_levers.py [--out experiments/reports/emotion_inference_levers.md]

About 4 minutes on the 2-core CPU.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from emotion_head_refit import DEFAULT_DATA, paired_gap, real_photo_crops

from fer_core.emotion import EmotionModel
from fer_core.training.data import CLASSES

# The model's own grey conversion (fer_core/training/preprocess.py): ITU-R BT.601 luma.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def grey(crops: np.ndarray) -> np.ndarray:
    """(N, h, w, 3) uint8 RGB -> (N, h, w, 3) uint8 with three equal luma channels."""
    luma = np.clip(np.round(crops.astype(np.float32) @ LUMA), 0, 255).astype(np.uint8)
    return np.repeat(luma[..., None], 3, axis=-1)


def equalised(crops: np.ndarray) -> np.ndarray:
    """The grey crops, each histogram-equalised as fer4's images were (cv2.equalizeHist on the whole crop)."""
    luma = grey(crops)[..., 0]
    return np.repeat(np.stack([cv2.equalizeHist(c) for c in luma])[..., None], 3, axis=-1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=Path("models/emotion_vgg16.onnx"))
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the real-photo dev set")
    parser.add_argument("--out", type=Path, default=Path("experiments/reports/emotion_inference_levers.md"))
    args = parser.parse_args(argv)

    model = EmotionModel(args.model)
    crops, labels, sources, _ = real_photo_crops(model, args.data)
    sources = np.asarray(sources)
    base = model.predict(crops)
    mirrored = model.predict(np.ascontiguousarray(crops[:, :, ::-1]))
    equalised_crops = equalised(crops)
    eq = model.predict(equalised_crops)
    eq_mirrored = model.predict(np.ascontiguousarray(equalised_crops[:, :, ::-1]))
    variants = {
        "as shipped (aligned colour crop)": base,
        "grey crop (control)": model.predict(grey(crops)),
        "histogram-equalised grey crop": eq,
        "mirror image": mirrored,
        "crop + mirror, mean (2x cost)": base + mirrored,
        "equalised crop + its mirror, mean (2x cost)": eq + eq_mirrored,
    }
    reference = base.argmax(axis=1)
    lines = [
        f"# Changes at inference only, on real photos ({model.name} {model.version})",
        "",
        "`PYTHONPATH=. python experiments/emotion_inference_levers.py` on the 2-core CPU: the real-photo dev set end"
        f" to end, {len(labels)} detected faces; gap to the shipped input paired, percentile bootstrap 95% over faces.",
        "",
        "| input | accuracy | gap vs as shipped | changed predictions | recall happy / neutral / sad / surprise | "
        + " | ".join(sorted(set(sources.tolist()))) + " |",
        "|---|---|---|---|---|" + "---|" * len(set(sources.tolist())),
    ]
    for name, probs in variants.items():
        predicted = probs.argmax(axis=1)
        gap = paired_gap(reference, predicted, labels)
        recalls = " / ".join(f"{(predicted[labels == i] == i).mean():.2f}" for i in range(len(CLASSES)))
        by_source = " | ".join(f"{(predicted[sources == s] == labels[sources == s]).mean():.3f}"
                               for s in sorted(set(sources.tolist())))
        lines.append(f"| {name} | {(predicted == labels).mean():.3f} | {gap[0]:+.3f} [{gap[1]:+.3f}, {gap[2]:+.3f}] |"
                     f" {(predicted != reference).mean():.1%} | {recalls} | {by_source} |")
    args.out.write_text("\n".join(lines) + "\n")
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
