"""Shared fixtures: paths to the shared data sets that every checkout finds at ../shared."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.paths import REPO

# The app tests' fixtures (app_models_dir, app_env) live beside their photo helpers.
pytest_plugins = ("tests.support.app",)

SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def fer4_dir() -> Path:
    """../shared/data/fer4: 48x48 grayscale FER2013 faces, train/validation/test x 4 classes."""
    return SHARED_DATA / "fer4"


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    """../shared/data/faces: LFW photos of 16 enrolled people (8 each) and 50 unknown people."""
    return SHARED_DATA / "faces"


@pytest.fixture(scope="session")
def tiny_emotion_run(tmp_path_factory, fer4_dir) -> Path:
    """A real (tiny) emotion model: cnn3_rgb trained for a few steps on a fer4 slice, evaluated.

    Small enough for the suite (~1 min), real enough to test the training -> export -> runtime path
    without the shipped 59 MB model."""
    from fer_core.training.evaluate import evaluate_run
    from fer_core.training.train import TrainConfig, train

    run_dir = tmp_path_factory.mktemp("tiny_emotion_run")
    train(TrainConfig(arch="cnn3_rgb", data_root=str(fer4_dir), run_dir=str(run_dir), weights="random",
                      limit_per_split=96, step2_epochs=1, max_steps_per_epoch=3, batch_size=32, jit_compile=False))
    evaluate_run(run_dir)
    return run_dir


@pytest.fixture(scope="session")
def tiny_emotion_onnx(tiny_emotion_run) -> Path:
    """tiny_emotion_run exported through the real export path (metadata, parity-checked)."""
    from fer_core.training.export import export_run

    return export_run(tiny_emotion_run, tiny_emotion_run / "emotion_tiny.onnx", version="test-tiny")


@pytest.fixture(scope="session")
def tiny_emotion_keras(tiny_emotion_run):
    """tiny_emotion_run's Keras model with its best weights (the reference for gradient parity tests)."""
    import json

    from fer_core.training.zoo import build_model

    config = json.loads((tiny_emotion_run / "config.json").read_text())
    model = build_model(config["arch"], n_classes=len(config["classes"]))
    model.load_weights(tiny_emotion_run / "best.weights.h5")
    return model


@pytest.fixture(scope="session")
def fer4_test_faces(fer4_dir):
    """12 real fer4 test faces as float32 RGB 0-255, what the emotion model takes."""
    from fer_core.training.data import load_splits, to_rgb_float

    splits, _ = load_splits(fer4_dir, limit_per_split=12)
    return to_rgb_float(splits["test"].images)


@pytest.fixture(autouse=True)
def _mounts_unknown(monkeypatch) -> None:
    """No mount list (as on macOS): tmp_path is on tmpfs on some systems (Fedora, Arch), where every store a test
    makes would get fer_core.store's memory warning. tests/unit/fer_core/test_store_folder_file_system.py writes its
    own list."""
    from fer_core.store import _paths  # noqa: PLC2701 (where the mount list is read from)

    monkeypatch.setattr(_paths, "MOUNTINFO", Path("/nonexistent/mountinfo"))
