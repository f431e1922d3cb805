"""Issue 20: what one training step of a MobileFaceNet emotion model would cost on this CPU, beside VGG16's.

MobileFaceNet's body to `t361` (fer_core/training/mobilefacenet_body.py) behind the 48-px emotion crop enlarged to
112 px, with the zoo's head, against the zoo's VGG16 at 96 px (0.5.0's recipe); batch 64, bfloat16 mixed precision,
no XLA, all layers trained, random faces (the arithmetic does not depend on them). Prints a table.

    PYTHONPATH=. python experiments/mobilefacenet_step_time.py [--steps 8]
"""
from __future__ import annotations

import argparse
import time

import keras
import numpy as np
from keras import layers

from fer_core.model_files import models_dir
from fer_core.training.mobilefacenet_body import build_mobilefacenet_body
from fer_core.training.zoo import build_model

CLASSES = 8  # the app's four and the other emotions, as `train --other-emotions` learns them


def mobilefacenet_model() -> keras.Model:
    body = build_mobilefacenet_body(models_dir() / "face_recognition_mobilefacenet.onnx", tap="t361")
    inputs = keras.Input((48, 48, 3))
    x = body(layers.Resizing(112, 112, interpolation="bilinear")(inputs))
    x = layers.Dense(256, activation="relu")(layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, layers.Dense(CLASSES, dtype="float32")(x))


def multiply_adds(model: keras.Model) -> float:
    """Multiply-adds of one face through the model's convolutions (depthwise included, nested models too), in G."""
    return _conv_multiply_adds(model) / 1e9


def _conv_multiply_adds(model: keras.Model) -> int:
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += _conv_multiply_adds(layer)
        elif isinstance(layer, (layers.Conv2D, layers.DepthwiseConv2D)):
            height, width = layer.output.shape[1:3]
            total += height * width * int(np.prod(layer.kernel.shape))  # (kh, kw, in, out); depthwise (kh, kw, in, 1)
    return total


def seconds_per_step(model: keras.Model, steps: int) -> float:
    rng = np.random.default_rng(0)
    faces = rng.uniform(0, 255, (64, 48, 48, 3)).astype("float32")
    targets = np.eye(CLASSES, dtype="float32")[rng.integers(0, CLASSES, 64)]
    model.compile(keras.optimizers.Adam(1e-4), keras.losses.CategoricalCrossentropy(from_logits=True), jit_compile=False)
    for _ in range(2):  # tracing and first allocations
        model.train_on_batch(faces, targets)
    started = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(faces, targets)
    return (time.perf_counter() - started) / steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args(argv)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    print("| model | parameters | G multiply-adds a face (convolutions) | s/step (batch 64) |\n|---|---|---|---|")
    for name, make in (("MobileFaceNet to t361, 48 -> 112 px", mobilefacenet_model),
                       ("VGG16, 48 -> 96 px (0.5.0's recipe)", lambda: build_model("vgg16", n_classes=CLASSES, upsample=2))):
        model = make()
        print(f"| {name} | {model.count_params():,} | {multiply_adds(model):.2f} | {seconds_per_step(model, args.steps):.2f} |",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
