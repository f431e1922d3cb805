"""Training on FER+ soft targets end to end: train -> evaluate -> export, with the app's 4-class contract."""
import json

import numpy as np
import onnxruntime as ort

from fer_core.training.evaluate import evaluate_run
from fer_core.training.export import export_run
from fer_core.training.train import TrainConfig, train


def test_soft_label_run_trains_evaluates_and_exports_four_calibrated_outputs(tmp_path, fer4_dir):
    config = TrainConfig(arch="vgg16", data_root=str(fer4_dir), run_dir=str(tmp_path), weights="random",
                         input_size=32, limit_per_split=100, step1_epochs=2, step2_epochs=1,
                         max_steps_per_epoch=2, batch_size=16, jit_compile=False, ferplus_weight=0.5)
    summary = train(config)
    report = summary["ferplus"]
    assert report["weight"] == 0.5 and report["ferplus_votes"] > 90
    assert sum(report[k] for k in ("ferplus_votes", "not_a_face", "mostly_other_emotions", "no_trusted_match")) == 100
    assert summary["step1"]["epochs"] >= 1 and summary["step2"]["epochs_done"] == 1

    metrics = evaluate_run(tmp_path)
    assert metrics["validation"]["n"] > 0 and metrics["temperature"] > 0
    path = export_run(tmp_path, tmp_path / "soft.onnx", version="test-soft")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["classes"]) == ["happy", "neutral", "sad", "surprise"]
    assert json.loads(meta["input_size"]) == [32, 32] and float(meta["temperature"]) == metrics["temperature"]
    batch = np.random.default_rng(0).uniform(0, 255, (3, 32, 32, 3)).astype(np.float32)
    probs = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"image": batch})))["probs"]
    assert probs.shape == (3, 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert json.loads((tmp_path / "export.json").read_text())["parity_max_prob_diff"] <= 1e-4
