"""Two-step transfer learning, resumable across sessions.

Step 1 (transfer models only): the base is frozen, its features are computed once and cached, and the
head trains on them in seconds per epoch. Step 2: the top of the base is unfrozen (from the
architecture's `fine_tune_from` layer) and the whole stack trains with a lower learning rate on
augmented images; validation macro-F1 is measured after every epoch, the best weights are kept, and
training stops early when it stops improving. Everything lives in a run directory; re-running the
same command resumes from the last finished epoch (Keras BackupAndRestore plus our own state file).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import keras
import numpy as np
from sklearn.metrics import f1_score

from fer_core.model_files import sha256_file
from fer_core.training.augment import augment_batch
from fer_core.training.data import (
    CLASSES,
    Split,
    load_splits,
    to_rgb_float,
    training_targets,
)
from fer_core.training.ferplus import OTHER_EMOTIONS, mixed_targets, read_extra_images, with_extra_images
from fer_core.training.weights import load_initial_weights
from fer_core.training.zoo import ZOO, build_model, head_layer_names

if TYPE_CHECKING:  # imported where used: Keras on JAX may run where TensorFlow is not installed
    import tensorflow as tf


PRECISIONS = ("float32", "mixed_bfloat16")  # TrainConfig.precision: Keras dtype policies a run may train under
OTHER_EMOTIONS_NEED_VOTES = "--other-emotions needs FER+ votes to learn them from: a FER+ weight above 0 or extra FER+ images"


@dataclass
class TrainConfig:
    arch: str
    data_root: str
    run_dir: str
    weights: str = "hed"  # vgg16's start; mobilefacenet takes "mobilefacenet-onnx"; the others start from random weights
    weights_file: str | None = None
    seed: int = 1234
    batch_size: int = 64
    step1_epochs: int = 30
    step1_lr: float = 1e-3
    step2_epochs: int = 15
    step2_lr: float = 1e-4
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    patience: int = 4  # step-2 epochs without a better validation macro-F1 before stopping
    fine_tune_from: str | None = None  # default: the architecture's own
    input_size: int | None = None  # default: the architecture's own (48)
    limit_per_split: int | None = None  # evenly spaced subset of each split, for fast tests
    max_steps_per_epoch: int | None = None  # for fast tests
    jit_compile: bool = True  # XLA: about 1.7x faster VGG16 steps on this CPU (in float32)
    # Keras dtype policy while training: "mixed_bfloat16" computes the backbone in bfloat16 with float32
    # weights, which a CPU with AMX runs several times faster (without XLA: benchmarks/bench_training_input.py).
    precision: str = "float32"
    upsample: int = 1  # enlarge the face inside the graph (zoo.build_model); 2 gives VGG16 a 6x6 last map
    face_size: int | None = None  # MobileFaceNet's enlarged face (zoo.build_model); None: 112, 96 gives a 6x6 map
    # Share of FER+'s crowd votes in the training targets (ferplus.mixed_targets); 0: fer4's labels alone.
    ferplus_weight: float = 0.0
    domain_augment: bool = False  # augment.augment_batch(domain=True): blur, downscale, JPEG, gamma, occluder
    # ferplus.extra_training_images file: FER2013 training faces fer4 lacks, trained on their FER+ votes alone.
    ferplus_extra: str | None = None
    # Also learn FER+'s OTHER_EMOTIONS (anger, disgust, fear, contempt) from the votes, as outputs after the app's
    # classes; best.weights.h5 keeps the app's outputs only, so evaluation and export see a model of `classes`.
    other_emotions: bool = False
    classes: tuple[str, ...] = field(default=CLASSES)


def _predict_logits(model: keras.Model, split: Split, batch_size: int = 256) -> np.ndarray:
    return np.asarray(model.predict(to_rgb_float(split.images), batch_size=batch_size, verbose=0))


def _app_logits(model: keras.Model, split: Split, n_classes: int | None) -> np.ndarray:
    """The logits of the app's `n_classes` classes (None: every output): the first outputs, before any other
    emotions learnt."""
    return _predict_logits(model, split)[:, :n_classes]


def copy_app_outputs(model: keras.Model, app_model: keras.Model) -> None:
    """Set `app_model` (the same architecture with fewer outputs) to `model`'s weights, keeping the first of
    the output layer's units: the app's classes come first, so its logits are the first of `model`'s."""
    app_model.set_weights([w if w.shape == a.shape else w[..., :a.shape[-1]]
                           for w, a in zip(model.get_weights(), app_model.get_weights())])


class ShuffledBatches(keras.utils.PyDataset):
    """Augmented RGB 0-255 float images, targets (one-hot labels unless `targets` gives soft ones) and
    class-balancing sample weights, in a new seeded order every epoch. Plain numpy, so every backend
    trains on the same batches (Keras on JAX may run without TensorFlow). Each epoch's order and each batch's
    augmentation depend only on (seed, epoch, batch), so a run resumed at `start_epoch` sees what an
    uninterrupted run would."""

    def __init__(self, split: Split, *, batch_size: int, n_classes: int, seed: int, start_epoch: int = 0,
                 workers: int = 4, targets: np.ndarray | None = None, domain_augment: bool = False):
        super().__init__(workers=workers)  # threads: OpenCV releases the GIL
        self.split = split
        self.batch_size = batch_size
        self._seed = seed
        self._domain_augment = domain_augment
        self._onehot, self._weights = training_targets(split, n_classes)  # weights balance the labels' classes
        if targets is not None:
            self._onehot = np.asarray(targets, dtype=np.float32)
        self.n_outputs = self._onehot.shape[1]  # the labels' classes, then any other emotions learnt
        self._epoch = start_epoch

    def __len__(self) -> int:
        return int(np.ceil(len(self.split) / self.batch_size))

    def batch(self, epoch: int, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Batch `index` of epoch `epoch`: the same arrays whoever asks, in whatever order."""
        order = np.random.default_rng((self._seed, epoch)).permutation(len(self.split))
        rows = order[index * self.batch_size:(index + 1) * self.batch_size]
        rng = np.random.default_rng((self._seed, epoch, index))
        gray = augment_batch(self.split.images[rows], rng, domain=self._domain_augment)
        return np.repeat(gray[..., None], 3, axis=-1), self._onehot[rows], self._weights[rows]

    def __getitem__(self, index: int):
        return self.batch(self._epoch, index)

    def on_epoch_end(self) -> None:
        self._epoch += 1


def tensorflow_feed(batches: ShuffledBatches, *, steps_per_epoch: int, start_epoch: int, epochs: int) -> tf.data.Dataset:
    """The same batches as a tf.data pipeline, for the TensorFlow backend: every step of epochs `start_epoch`
    up to (not including) `epochs`, back to back, made two at a time and prefetched. Keras feeds a PyDataset through a
    generator on TensorFlow, which made cnn5_gray steps about 1.5x slower here (benchmarks/bench_training_input.py)."""
    import tensorflow as tf  # only on the TensorFlow backend; JAX may run without it

    def make(step):
        return batches.batch(*divmod(int(step), steps_per_epoch))

    size = batches.split.images.shape[1:]

    def load(step):
        images, onehot, weights = tf.numpy_function(make, [step], (tf.float32, tf.float32, tf.float32))
        return (tf.ensure_shape(images, (None, *size, 3)), tf.ensure_shape(onehot, (None, batches.n_outputs)),
                tf.ensure_shape(weights, (None,)))

    steps = tf.data.Dataset.range(start_epoch * steps_per_epoch, epochs * steps_per_epoch)
    return steps.map(load, num_parallel_calls=2, deterministic=True).prefetch(4)


class MacroF1Checkpoint(keras.callbacks.Callback):
    """Validation macro-F1 after each epoch; keeps the best weights, stops after `patience` epochs
    without improvement. Its state is a JSON file, so a resumed run continues the same count."""

    def __init__(self, *, validation: Split, run_dir: Path, patience: int, app_model: keras.Model | None = None):
        """`app_model`: the same architecture with the app's outputs only, when the trained model has more
        (TrainConfig.other_emotions): validation scores the trained model's first outputs, as many as it has,
        and the best weights are saved from it, the other outputs dropped."""
        super().__init__()
        self.validation = validation
        self.app_model = app_model
        self.best_path = run_dir / "best.weights.h5"
        self.state_path = run_dir / "step2_state.json"
        self.patience = patience
        self.state = json.loads(self.state_path.read_text()) if self.state_path.exists() else {
            "best_macro_f1": -1.0, "best_epoch": None, "epochs_since_best": 0, "epochs_done": 0, "stopped_early": False,
        }
        self._started = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        n_classes = None if self.app_model is None else self.app_model.output.shape[-1]
        predicted = _app_logits(self.model, self.validation, n_classes).argmax(axis=1)
        f1 = float(f1_score(self.validation.labels, predicted, average="macro"))
        accuracy = float((predicted == self.validation.labels).mean())
        seconds = time.time() - self._started
        if logs is not None:
            logs.update(val_macro_f1=f1, val_accuracy=accuracy, epoch_seconds=seconds)
        if f1 > self.state["best_macro_f1"]:
            # Write then rename: a run killed mid-save (a time cap, a session ending) keeps the previous best
            # instead of a truncated file (it happened: an HDF5 'bad object header' after a timeout).
            partial = self.best_path.with_name("best.partial.weights.h5")
            if self.app_model is not None:
                copy_app_outputs(self.model, self.app_model)
            (self.app_model or self.model).save_weights(partial)
            partial.replace(self.best_path)
            self.state.update(best_macro_f1=f1, best_epoch=epoch + 1, epochs_since_best=0)
        else:
            self.state["epochs_since_best"] += 1
        self.state["epochs_done"] = epoch + 1
        if self.state["epochs_since_best"] >= self.patience:
            self.state["stopped_early"] = True
            self.model.stop_training = True
        partial_state = self.state_path.with_suffix(".partial")
        partial_state.write_text(json.dumps(self.state, indent=2))
        partial_state.replace(self.state_path)
        print(f"epoch {epoch + 1}: val macro-F1 {f1:.4f} acc {accuracy:.4f} ({seconds:.0f} s)"
              f"{'  * best' if self.state['best_epoch'] == epoch + 1 else ''}", flush=True)


def set_trainable_from(model: keras.Model, first: str | None) -> None:
    """Freeze every layer before `first` (None: train everything). Frozen BatchNorm layers then run in
    inference mode, which is what keeps a pretrained base's statistics intact."""
    trainable = first is None
    for layer in model.layers:
        if layer.name == first:
            trainable = True
        layer.trainable = trainable


def _train_head_on_cached_features(model, splits, targets: np.ndarray, config: TrainConfig) -> dict:
    """Step 1: base frozen; its features computed once; the head trains on them (`targets`: the training
    split's, one-hot or soft, over the app's classes and then any other emotions learnt). Faces are weighted
    by their label's class, as in step 2 (ShuffledBatches)."""
    backbone = keras.Model(model.input, model.get_layer("cam_features").output)
    started = time.time()
    train_features = backbone.predict(to_rgb_float(splits["train"].images), batch_size=128, verbose=0)
    val_features = backbone.predict(to_rgb_float(splits["validation"].images), batch_size=128, verbose=0)
    feature_seconds = time.time() - started

    head_input = keras.Input(train_features.shape[1:])
    x = head_input
    for name in head_layer_names():
        x = model.get_layer(name)(x)  # the same layer objects: weights are shared with `model`
    head = keras.Model(head_input, x)
    n_classes = len(config.classes)
    head.compile(
        optimizer=keras.optimizers.Adam(config.step1_lr),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )
    onehot = np.eye(targets.shape[1], dtype=np.float32)
    history = head.fit(
        train_features, targets,
        validation_data=(val_features, onehot[splits["validation"].labels]),
        sample_weight=training_targets(splits["train"], n_classes)[1],
        epochs=config.step1_epochs, batch_size=config.batch_size, verbose=0,
        callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)],
    )
    head_seconds = time.time() - started - feature_seconds
    epochs = len(history.history["loss"])
    predicted = _app_logits(model, splits["validation"], n_classes).argmax(axis=1)
    return {
        "feature_cache_seconds": round(feature_seconds, 1),
        "epochs": epochs,
        "seconds_per_epoch": round(head_seconds / max(epochs, 1), 2),
        "val_accuracy": float((predicted == splits["validation"].labels).mean()),
        "val_macro_f1": float(f1_score(splits["validation"].labels, predicted, average="macro")),
    }


def _hardware() -> dict:
    """Where the run trained, for the model card's time-per-epoch figures."""
    import os
    import platform

    backend = keras.backend.backend()
    found = {"machine": platform.machine(), "processor": platform.processor() or "unknown",
             "cpu_count": os.cpu_count(), "keras": keras.__version__, "backend": backend}
    if backend == "tensorflow":
        import tensorflow as tf

        found.update(gpus=[d.name for d in tf.config.list_physical_devices("GPU")], tensorflow=tf.__version__)
    elif backend == "jax":
        import jax

        found.update(gpus=[d.device_kind for d in jax.devices() if d.platform == "gpu"], jax=jax.__version__)
    return found


def train(config: TrainConfig) -> dict:
    """Run (or resume) both steps; returns the run summary also written to run_dir/summary.json.
    The weights are float32 whatever `config.precision`, so evaluation and export build the model in float32."""
    if config.arch not in ZOO:
        raise ValueError(f"unknown architecture {config.arch!r}; expected one of {sorted(ZOO)}")
    if config.precision not in PRECISIONS:
        raise ValueError(f"unknown precision {config.precision!r}; expected one of {PRECISIONS}")
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy(config.precision)
    try:
        return _train(config)
    finally:  # the policy is process-wide: models built after this run (evaluate, export) stay float32
        keras.mixed_precision.set_dtype_policy(previous)


def _train(config: TrainConfig) -> dict:
    arch = ZOO[config.arch]
    run_dir = Path(config.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    config_path = run_dir / "config.json"
    if config_path.exists() and json.loads(config_path.read_text()) != json.loads(json.dumps(asdict(config))):
        print(f"note: {config_path} differs from this command's settings; resuming with the new ones", flush=True)
    config_path.write_text(json.dumps(asdict(config), indent=2))
    keras.utils.set_random_seed(config.seed)

    size = config.input_size or arch.input_size[0]
    splits, report = load_splits(config.data_root, size=size, classes=config.classes,
                                 limit_per_split=config.limit_per_split)
    (run_dir / "dedup.json").write_text(json.dumps(report.as_dict(), indent=2))
    print(f"data: kept {report.kept}; dropped {report.conflicting_label_images} conflicting-label, "
          f"cross-split {report.cross_split_duplicates}, within-split {report.within_split_duplicates}, "
          f"{report.blank_images} blank", flush=True)

    n_classes = len(config.classes)
    if config.other_emotions and not (config.ferplus_weight > 0 or config.ferplus_extra):
        raise ValueError(OTHER_EMOTIONS_NEED_VOTES)
    # The outputs trained: the app's classes, then the other emotions whose votes they learn from.
    target_classes = (*config.classes, *OTHER_EMOTIONS) if config.other_emotions else tuple(config.classes)
    train_targets, ferplus_report = None, None
    if config.ferplus_weight > 0:
        # Validation and test keep fer4's labels and images: scores stay comparable with every other run.
        mixed = mixed_targets(splits["train"], config.data_root, target_classes, config.ferplus_weight)
        splits["train"], train_targets, ferplus_report = mixed.split, mixed.targets, mixed.report
        print(f"FER+ targets (weight {config.ferplus_weight}): {ferplus_report}", flush=True)
    extra_record = None
    if config.ferplus_extra:
        extra = read_extra_images(config.ferplus_extra, target_classes)
        base_targets = (train_targets if train_targets is not None
                        else training_targets(splits["train"], len(target_classes))[0])
        splits["train"], train_targets = with_extra_images(splits["train"], base_targets, extra, label_classes=n_classes)
        extra_record = {"file_sha256": sha256_file(config.ferplus_extra), "images": len(extra.names),
                        "built": extra.report}
        print(f"extra FER+ training images: {len(extra.names)} ({extra.report})", flush=True)
    model = build_model(config.arch, n_classes=len(target_classes), input_size=(size, size), upsample=config.upsample,
                        face_size=config.face_size)
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    if config.other_emotions:
        summary["other_emotions"] = list(OTHER_EMOTIONS)
    if ferplus_report is not None:
        summary["ferplus"] = {"weight": config.ferplus_weight, **ferplus_report}
    if extra_record is not None:
        summary["ferplus_extra"] = extra_record
    if arch.transfer:
        summary["initial_weights"] = load_initial_weights(
            model, config.weights if config.arch in ("vgg16", "mobilefacenet") else "random", weights_file=config.weights_file
        )
    else:
        summary["initial_weights"] = load_initial_weights(model, "random")

    step1_weights = run_dir / "step1.weights.h5"
    if arch.transfer:
        if step1_weights.exists():
            model.load_weights(step1_weights)
        else:
            set_trainable_from(model, "gap")
            step1_targets = train_targets if train_targets is not None else training_targets(splits["train"], n_classes)[0]
            summary["step1"] = _train_head_on_cached_features(model, splits, step1_targets, config)
            model.save_weights(step1_weights)
            summary_path.write_text(json.dumps(summary, indent=2))
            print(f"step 1: {summary['step1']}", flush=True)

    set_trainable_from(model, (config.fine_tune_from or arch.fine_tune_from) if arch.transfer else None)
    steps = int(np.ceil(len(splits["train"]) / config.batch_size))
    if config.max_steps_per_epoch:
        steps = min(steps, config.max_steps_per_epoch)
    app_model = None
    if config.other_emotions:  # what best.weights.h5 holds: the app's outputs only
        app_model = build_model(config.arch, n_classes=n_classes, input_size=(size, size), upsample=config.upsample,
                        face_size=config.face_size)
    monitor = MacroF1Checkpoint(validation=splits["validation"], run_dir=run_dir, patience=config.patience,
                                app_model=app_model)
    train_data = ShuffledBatches(splits["train"], batch_size=config.batch_size, n_classes=n_classes,
                                 seed=config.seed, start_epoch=monitor.state["epochs_done"], targets=train_targets,
                                 domain_augment=config.domain_augment)
    schedule = keras.optimizers.schedules.CosineDecay(config.step2_lr, decay_steps=steps * config.step2_epochs, alpha=0.05)
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=config.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=config.label_smoothing),
        metrics=["accuracy"],  # on the augmented training batches: the reference study's "train acc" column
        jit_compile=config.jit_compile,
    )
    # Written before step 2 as well, so a run stopped mid-way (a session ends) can still be scored,
    # exported and carded from its best checkpoint.
    summary.update(dedup=report.as_dict(), hardware=_hardware(), step2=dict(monitor.state),
                   trainable_params=int(sum(np.prod(w.shape) for w in model.trainable_weights)))
    summary_path.write_text(json.dumps(summary, indent=2))
    if keras.backend.backend() == "tensorflow":
        train_data = tensorflow_feed(train_data, steps_per_epoch=steps, start_epoch=monitor.state["epochs_done"],
                                     epochs=config.step2_epochs)
    if not monitor.state["stopped_early"] and monitor.state["epochs_done"] < config.step2_epochs:
        model.fit(
            # shuffle=False: the batches come shuffled and seeded; Keras' own shuffle reorders a PyDataset's
            # batches with Python's unseeded `random`, which made runs unrepeatable.
            train_data, epochs=config.step2_epochs, steps_per_epoch=steps, shuffle=False, verbose=2,
            callbacks=[
                keras.callbacks.BackupAndRestore(str(run_dir / "backup"), delete_checkpoint=False),
                monitor,
                keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True),
            ],
        )
    summary["step2"] = dict(monitor.state)
    summary_path.write_text(json.dumps(summary, indent=2))
    return summary
