"""What feeding training batches costs: median seconds per training step of one architecture, fed by
`ShuffledBatches` as a Keras PyDataset with N worker threads (the JAX path), through `tensorflow_feed`
(the TensorFlow path), and by batches made beforehand (the model's compute alone: a floor). Run it on an
otherwise idle machine: other work on its cores moves every row.

    python scripts/bench_training_input.py [--arch cnn5_gray] [--steps 40] [--workers 4 2 1]
"""
from __future__ import annotations

import argparse
import statistics
import time

import keras
import numpy as np

from fer_core.training.data import CLASSES, load_splits
from fer_core.training.train import ShuffledBatches, tensorflow_feed
from fer_core.training.zoo import build_model

WARM_UP_STEPS = 5  # the first steps trace and compile the train function


class StepTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.ends = []

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.perf_counter())


def median_step_seconds(model: keras.Model, feed, steps: int) -> float:
    timer = StepTimer()
    model.fit(feed, epochs=1, steps_per_epoch=WARM_UP_STEPS + steps, shuffle=False, verbose=0, callbacks=[timer])
    return statistics.median(np.diff(timer.ends[WARM_UP_STEPS - 1:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/fer4")
    parser.add_argument("--arch", default="cnn5_gray")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--workers", type=int, nargs="+", default=[4, 2, 1])
    parser.add_argument("--jit-compile", action="store_true")
    args = parser.parse_args()

    train = load_splits(args.data)[0]["train"]
    model = build_model(args.arch, n_classes=len(CLASSES))
    model.compile(optimizer=keras.optimizers.AdamW(1e-4), metrics=["accuracy"], jit_compile=args.jit_compile,
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1))
    rows = []
    for workers in args.workers:
        feed = ShuffledBatches(train, batch_size=args.batch_size, n_classes=len(CLASSES), seed=0, workers=workers)
        rows.append((f"ShuffledBatches, {workers} worker thread(s)", median_step_seconds(model, feed, args.steps)))
    made = ShuffledBatches(train, batch_size=args.batch_size, n_classes=len(CLASSES), seed=0)
    steps = WARM_UP_STEPS + args.steps
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        feed = tensorflow_feed(made, steps_per_epoch=len(made), start_epoch=0, epochs=1)
        rows.append(("tensorflow_feed (tf.data over the same batches)", median_step_seconds(model, feed, args.steps)))
        arrays = [np.concatenate(parts) for parts in zip(*(made.batch(0, i) for i in range(steps)))]
        floor = tf.data.Dataset.from_tensor_slices(tuple(arrays)).batch(args.batch_size)
        rows.append(("batches made beforehand, tf.data from tensors (floor)", median_step_seconds(model, floor, args.steps)))
    else:
        batches = [made.batch(0, i) for i in range(steps)]
        rows.append(("batches made beforehand, Python generator (floor)",
                     median_step_seconds(model, (b for b in batches), args.steps)))

    print(f"{args.arch}, batch {args.batch_size}, jit_compile={args.jit_compile}, backend {keras.backend.backend()}, "
          f"median of {args.steps} steps")
    print(f"| feed | s/step | s/epoch ({len(train)} faces) |\n|---|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} | {seconds * np.ceil(len(train) / args.batch_size):.0f} |")


if __name__ == "__main__":
    main()
