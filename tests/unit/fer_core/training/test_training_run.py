"""A real (tiny) two-step run, resumption, export with ONNX parity and metadata, and HED weights."""
import json

import numpy as np
import onnxruntime as ort

from fer_core.training.train import TrainConfig, train


def test_two_step_transfer_run_caches_features_then_fine_tunes_and_resumes(tmp_path, fer4_dir):
    config = TrainConfig(arch="vgg16", data_root=str(fer4_dir), run_dir=str(tmp_path), weights="random",
                         input_size=32, limit_per_split=48, step1_epochs=2, step2_epochs=1,
                         max_steps_per_epoch=2, batch_size=16, jit_compile=False)
    summary = train(config)
    assert summary["step1"]["epochs"] >= 1
    assert summary["step2"]["epochs_done"] == 1 and summary["step2"]["best_epoch"] == 1
    assert (tmp_path / "step1.weights.h5").exists() and (tmp_path / "best.weights.h5").exists()
    assert json.loads((tmp_path / "dedup.json").read_text())["kept"]["train"] == 48
    # block1/2 stay frozen in step 2 (fine-tuning starts at block3_conv1)
    assert summary["trainable_params"] < 14_847_044 - 38_000

    again = train(config)  # resuming a finished run trains nothing more
    assert again["step2"] == summary["step2"]
    assert (tmp_path / "history.csv").read_text().count("\n") == 2  # header + one epoch


def test_export_matches_keras_and_carries_the_contract(tiny_emotion_run, tiny_emotion_onnx):
    record = json.loads((tiny_emotion_run / "export.json").read_text())
    assert record["parity_max_prob_diff"] <= 1e-4 and record["parity_images"] >= 100
    session = ort.InferenceSession(str(tiny_emotion_onnx), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["classes"]) == ["happy", "neutral", "sad", "surprise"]
    assert json.loads(meta["input_size"]) == [48, 48]
    temperature = json.loads((tiny_emotion_run / "metrics.json").read_text())["temperature"]
    assert float(meta["temperature"]) == temperature
    assert meta["initial_weights"] == "random" and meta["version"] == "test-tiny"
    template = np.array(json.loads(meta["template"]))  # measured on the training crops
    assert template.shape == (5, 2)
    assert template[0, 0] < template[1, 0] and template[:2, 1].max() < template[2, 1] < template[3:, 1].min()
    assert ((template > 0) & (template < 48)).all()
    batch = np.random.default_rng(0).uniform(0, 255, (5, 48, 48, 3)).astype(np.float32)
    outputs = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"image": batch})))
    np.testing.assert_allclose(outputs["probs"].sum(axis=1), 1.0, atol=1e-5)
    assert outputs["cam_weights"].shape[:2] == (5, 4)
    assert outputs["cam_features"].shape[-1] == outputs["cam_weights"].shape[-1]


def test_hed_weights_load_into_vgg16_by_layer_name():
    import h5py

    from fer_core.training.weights import hed_weights_file, load_initial_weights
    from fer_core.training.zoo import build_model

    model = build_model("vgg16", n_classes=4)
    info = load_initial_weights(model, "hed")
    assert info["layers"] == 13
    with h5py.File(hed_weights_file(), "r") as f:
        expected = f["block4/layers/conv2d_2/vars/0"][()]
    np.testing.assert_array_equal(model.get_layer("block4_conv3").get_weights()[0], expected)


def test_mixed_bfloat16_run_trains_float32_weights_and_leaves_the_policy_float32(tmp_path, fer4_dir):
    import h5py
    import keras
    import pytest

    from fer_core.training.zoo import build_architecture

    config = TrainConfig(arch="vgg16", data_root=str(fer4_dir), run_dir=str(tmp_path), weights="random",
                         input_size=32, limit_per_split=48, step1_epochs=1, step2_epochs=1,
                         max_steps_per_epoch=2, batch_size=16, jit_compile=False, precision="mixed_bfloat16")
    summary = train(config)
    assert summary["step2"]["epochs_done"] == 1
    assert keras.mixed_precision.dtype_policy().name == "float32"  # evaluation and export build float32 models
    with h5py.File(tmp_path / "best.weights.h5", "r") as f:
        dtypes = set()
        f.visititems(lambda name, item: dtypes.add(item.dtype) if isinstance(item, h5py.Dataset) else None)
    assert {d for d in dtypes if d.kind not in "iu"} == {np.dtype("float32")}  # (int64: a seed generator's state)
    model = build_architecture(json.loads((tmp_path / "config.json").read_text()))
    model.load_weights(tmp_path / "best.weights.h5")
    assert np.isfinite(model.predict(np.full((2, 32, 32, 3), 128.0, np.float32), verbose=0)).all()

    with pytest.raises(ValueError, match=r"^unknown precision 'float16'; expected one of \('float32', 'mixed_bfloat16'\)$"):
        train(TrainConfig(arch="vgg16", data_root=str(fer4_dir), run_dir=str(tmp_path / "other"), precision="float16"))


def test_mixed_precision_keeps_the_input_normalisation_and_the_logits_float32():
    import keras

    from fer_core.training.zoo import build_model

    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        model = build_model("vgg16", n_classes=4, input_size=(32, 32))
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    compute = {name: model.get_layer(name).compute_dtype for name in ("preprocess", "block1_conv1", "head_hidden", "logits")}
    assert compute == {"preprocess": "float32", "block1_conv1": "bfloat16", "head_hidden": "bfloat16", "logits": "float32"}
    assert model.get_layer("block1_conv1").kernel.dtype == "float32"  # float32 weights, bfloat16 compute


def test_evaluation_also_reads_each_split_by_the_fer_plus_crowds_majority(tiny_emotion_run):
    from fer_core.training.data import load_splits
    from fer_core.training.evaluate import ferplus_majority_metrics
    from fer_core.training.ferplus import ferplus_majority_labels

    config = json.loads((tiny_emotion_run / "config.json").read_text())
    metrics = json.loads((tiny_emotion_run / "metrics.json").read_text())
    splits, _ = load_splits(config["data_root"], limit_per_split=config["limit_per_split"])
    for split in ("validation", "test"):
        majority = ferplus_majority_labels(splits[split].paths, config["data_root"])
        crowd = metrics["ferplus_majority"][split]
        assert 0 < crowd["n"] == int((majority >= 0).sum()) <= metrics[split]["n"]
        assert sum(row["support"] for row in crowd["per_class"].values()) == crowd["n"]
    logits = np.zeros((3, 2))
    assert ferplus_majority_metrics(logits, splits["test"].paths[:3], config["data_root"], ("happy", "sad"), 1.0) is None
