"""What feeding training batches costs: median seconds per training step of one architecture, fed by
`ShuffledBatches` as a Keras PyDataset with N worker threads (the JAX path), through `tensorflow_feed`
(the TensorFlow path), and by batches made beforehand (the model's compute alone: a floor). Each feed is
timed in a fresh process: measured one after another in one process, every feed after a PyDataset ran as
slowly as the PyDataset (Keras' feeding threads outlive `fit`). Run it on an otherwise idle machine.

    python benchmarks/bench_training_input.py [--arch cnn5_gray] [--steps 30] [--workers 4 1]
    python benchmarks/bench_training_input.py --arch vgg16 --upsample 2 --jit-compile --steps 5 --workers
        # the shipped recipe's step on this CPU (no PyDataset rows: `--workers` with no number)
    python benchmarks/bench_training_input.py --arch vgg16 --weights imagenet-onnx --fine-tune-from block3_conv1 \
        --jit-compile --steps 10 --workers   # step 2 of a 48 px run from the ImageNet start
    python benchmarks/bench_training_input.py --arch vgg16 --upsample 2 --weights imagenet-onnx \
        --fine-tune-from block1_conv1 --precision mixed_bfloat16 --steps 10 --workers   # bfloat16 (AMX), no XLA
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import keras
import numpy as np

from fer_core.training.data import CLASSES, load_splits
from fer_core.training.train import ShuffledBatches, set_trainable_from, tensorflow_feed
from fer_core.training.weights import load_initial_weights
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


def time_one_feed(args: argparse.Namespace) -> dict:
    """The feed named by args.feed ('pydataset:N', 'tensorflow' or 'floor'), in this process."""
    train = load_splits(args.data)[0]["train"]
    keras.mixed_precision.set_dtype_policy(args.precision)  # as train(config.precision)
    model = build_model(args.arch, n_classes=len(CLASSES), upsample=args.upsample)
    load_initial_weights(model, args.weights)
    set_trainable_from(model, args.fine_tune_from)  # as step 2 of train(): layers before it stay frozen
    model.compile(optimizer=keras.optimizers.AdamW(1e-4), metrics=["accuracy"], jit_compile=args.jit_compile,
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1))
    kind, _, workers = args.feed.partition(":")
    made = ShuffledBatches(train, batch_size=args.batch_size, n_classes=len(CLASSES), seed=0,
                           workers=int(workers or 1))
    steps = WARM_UP_STEPS + args.steps
    if kind == "pydataset":
        name, feed = f"ShuffledBatches as a PyDataset, {workers} worker thread(s)", made
    elif kind == "tensorflow":
        name, feed = "tensorflow_feed (tf.data over the same batches)", tensorflow_feed(
            made, steps_per_epoch=len(made), start_epoch=0, epochs=1)
    elif keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        arrays = [np.concatenate(parts) for parts in zip(*(made.batch(0, i) for i in range(steps)))]
        name, feed = "batches made beforehand, tf.data from tensors (floor)", tf.data.Dataset.from_tensor_slices(
            tuple(arrays)).batch(args.batch_size)
    else:
        batches = [made.batch(0, i) for i in range(steps)]
        name, feed = "batches made beforehand, Python generator (floor)", (b for b in batches)
    return {"feed": name, "seconds": median_step_seconds(model, feed, args.steps), "faces": len(train)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/fer4")
    parser.add_argument("--arch", default="cnn5_gray")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--upsample", type=int, default=1, help="as `train --upsample` (the shipped VGG16: 2)")
    parser.add_argument("--workers", type=int, nargs="*", default=[4, 1])
    parser.add_argument("--jit-compile", action="store_true")
    parser.add_argument("--precision", default="float32", help="as `train --precision` (float32, mixed_bfloat16)")
    parser.add_argument("--weights", default="random", help="as `train --weights` (vgg16: hed, imagenet-onnx)")
    parser.add_argument("--fine-tune-from", help="first trained layer, as `train --fine-tune-from` (default: all)")
    parser.add_argument("--feed", help=argparse.SUPPRESS)  # set when the script times one feed in a child process
    args = parser.parse_args()
    if args.feed:
        print(json.dumps(time_one_feed(args)))
        return

    feeds = [f"pydataset:{n}" for n in args.workers]
    feeds += (["tensorflow"] if keras.backend.backend() == "tensorflow" else []) + ["floor"]
    rows = []
    for feed in feeds:
        child = subprocess.run([sys.executable, *sys.argv, "--feed", feed], check=True, capture_output=True, text=True)
        rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
    print(f"{args.arch}, upsample {args.upsample}, batch {args.batch_size}, jit_compile={args.jit_compile}, "
          f"precision {args.precision}, weights {args.weights}, trained from {args.fine_tune_from or 'the first layer'}, backend {keras.backend.backend()}, "
          f"median of {args.steps} steps, each feed in a fresh process")
    print(f"| feed | s/step | s/epoch ({rows[0]['faces']} faces) |\n|---|---|---|")
    for row in rows:
        print(f"| {row['feed']} | {row['seconds']:.3f} | {row['seconds'] * np.ceil(row['faces'] / args.batch_size):.0f} |")


if __name__ == "__main__":
    main()
