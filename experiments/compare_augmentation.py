"""Why training on TensorFlow used to score lower than on JAX: the two augmentation paths were not the
same recipe. Rebuilds the former TensorFlow path (Keras preprocessing layers in tf.data, with the
recipe's constants) and compares it with `fer_core.training.augment.augment_batch`, which every backend
now uses, on evenly spaced deduplicated training faces:

- fine detail: mean |Laplacian| over each face's centre (bilinear resampling blurs; validation and test
  faces are never resampled, so training on blurrier faces is a train/test mismatch);
- contrast: each face's standard deviation after augmentation over before (the recipe draws a contrast
  factor in [0.8, 1.2]; rotation and zoom move it too, equally in both paths);
- brightness: standard deviation of the change in each face's mean.

    python experiments/compare_augmentation.py [--data ../shared/data/fer4] [--faces 1024]
"""
from __future__ import annotations

import argparse

import cv2
import numpy as np

from fer_core.training import augment
from fer_core.training.data import load_splits, to_rgb_float


def keras_layers_path(faces: np.ndarray, seed: int) -> tuple[np.ndarray, tuple[float, float]]:
    """The former TensorFlow path, as it ran in training (batches of 64 mapped in tf.data); returns the
    augmented faces and the contrast factor range Keras parsed from CONTRAST."""
    import keras
    import tensorflow as tf

    layers = keras.Sequential([
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomRotation(augment.ROTATION, fill_mode="reflect", seed=seed + 1),
        keras.layers.RandomTranslation(augment.SHIFT, augment.SHIFT, fill_mode="reflect", seed=seed + 2),
        keras.layers.RandomZoom((-augment.ZOOM, augment.ZOOM), fill_mode="reflect", seed=seed + 3),
        keras.layers.RandomBrightness(augment.BRIGHTNESS, value_range=(0.0, 255.0), seed=seed + 4),
        keras.layers.RandomContrast(augment.CONTRAST, value_range=(0.0, 255.0), seed=seed + 5),
    ])
    batches = tf.data.Dataset.from_tensor_slices(to_rgb_float(faces)).batch(64).map(lambda x: layers(x, training=True))
    out = np.concatenate([b.numpy()[..., 0] for b in batches])
    lower, upper = layers.layers[-1].factor
    return out, (1.0 - lower, 1.0 + upper)


def fine_detail(faces: np.ndarray) -> float:
    """Mean |Laplacian| over the 40x40 centre (reflected borders left out)."""
    return float(np.mean([np.abs(cv2.Laplacian(f.astype(np.float32), cv2.CV_32F))[4:-4, 4:-4].mean() for f in faces]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="../shared/data/fer4")
    parser.add_argument("--faces", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()

    train = load_splits(args.data)[0]["train"]
    faces = train.images[np.linspace(0, len(train) - 1, args.faces).astype(int)]
    keras_out, keras_contrast = keras_layers_path(faces, args.seed)
    opencv_out = augment.augment_batch(faces, np.random.default_rng(args.seed))
    before = faces.astype(np.float32)
    std_before = np.maximum(before.std(axis=(1, 2)), 1.0)

    print(f"{len(faces)} deduplicated training faces; contrast factor as configured: "
          f"[{1 - augment.CONTRAST:.2f}, {1 + augment.CONTRAST:.2f}]; as Keras parsed it: "
          f"[{keras_contrast[0]:.2f}, {keras_contrast[1]:.2f}]\n")
    print("| faces | mean abs Laplacian (centre) | std after / before: p5 / p50 / p95 | brightness shift sd |")
    print("|---|---|---|---|")
    print(f"| original | {fine_detail(before):.1f} | - | - |")
    for name, out in (("Keras layers (former TensorFlow path)", keras_out),
                      ("one OpenCV warp (every backend now)", opencv_out)):
        ratio = np.percentile(out.std(axis=(1, 2)) / std_before, [5, 50, 95])
        shift = (out.mean(axis=(1, 2)) - before.mean(axis=(1, 2))).std()
        print(f"| {name} | {fine_detail(out):.1f} | {ratio[0]:.2f} / {ratio[1]:.2f} / {ratio[2]:.2f} | {shift:.1f} |")


if __name__ == "__main__":
    main()
