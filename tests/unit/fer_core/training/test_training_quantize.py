"""Static int8 quantization (fer_core.training.quantize) on a tiny real model: the int8 file keeps the
export contract (metadata, the three outputs), its convolutions really are int8, the preprocessing and
head stay float32, and its probabilities stay close to fp32 on real faces."""
import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from fer_core.emotion import EmotionModel
from fer_core.training import quantize as int8
from governance.explain import gradcam, load_cam_model

SIZE = 32  # small input: the whole module runs in seconds
CLASSES = ("happy", "neutral", "sad", "surprise")
MAX_PROB_DIFF = 0.05  # int8 vs fp32, any face, any class


@pytest.fixture(scope="module")
def splits(fer4_dir):
    from fer_core.training.data import load_splits

    splits, _ = load_splits(fer4_dir, size=SIZE, limit_per_split=160)
    return splits


@pytest.fixture(scope="module")
def fp32_model(tmp_path_factory, splits) -> Path:
    """cnn3_rgb at 32x32, fitted for a few steps on real faces (so its outputs are not uniform), exported
    through the real export path. Batch-norm momentum is lowered so that a few steps give moving
    statistics that fit the activations; at the default 0.99 the inference outputs stay uniform."""
    import keras

    from fer_core.training.data import to_rgb_float
    from fer_core.training.export import export_onnx
    from fer_core.training.zoo import build_model

    keras.utils.set_random_seed(0)
    model = build_model("cnn3_rgb", n_classes=len(CLASSES), input_size=(SIZE, SIZE), hidden=32)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.5
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(to_rgb_float(splits["train"].images), splits["train"].labels, epochs=2, batch_size=32, verbose=0)
    return export_onnx(model, tmp_path_factory.mktemp("quantize") / "tiny.onnx", classes=CLASSES, temperature=1.5,
                       initial_weights="random", version="test-quantize")


@pytest.fixture(scope="module")
def int8_model(fp32_model, splits) -> Path:
    from fer_core.training.data import to_rgb_float

    faces = int8.calibration_faces(splits["train"].images, splits["train"].labels, 40, len(CLASSES))
    return int8.quantize(fp32_model, fp32_model.with_name("tiny.int8.onnx"), to_rgb_float(faces))


@pytest.fixture(scope="module")
def test_faces(splits) -> np.ndarray:
    from fer_core.training.data import to_rgb_float

    return to_rgb_float(splits["test"].images[:24])


def _props(path: Path) -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def test_calibration_takes_an_even_share_of_each_class_evenly_spaced():
    images = np.arange(20, dtype=np.uint8)[:, None, None]  # image i has pixel value i
    labels = np.array([0] * 10 + [1] * 8 + [2] * 2)
    picked = int8.calibration_faces(images, labels, 7, 3).ravel()
    # shares 3, 2, 2 (the remainder goes to the first class); class 2 has exactly its share
    assert picked.tolist() == [0, 3, 6, 10, 14, 18, 19]


def test_a_class_with_fewer_faces_than_its_share_gives_all_it_has():
    images = np.arange(6, dtype=np.uint8)[:, None, None]
    labels = np.array([0, 0, 0, 0, 0, 1])
    assert int8.calibration_faces(images, labels, 4, 2).ravel().tolist() == [0, 2, 5]


def test_int8_file_keeps_the_metadata_and_says_how_it_was_made(fp32_model, int8_model):
    fp32, int8 = _props(fp32_model), _props(int8_model)
    description = json.loads(int8.pop("quantization"))
    assert int8 == fp32
    assert description == {
        "tool": "onnxruntime.quantization.quantize_static", "format": "QDQ", "weights": "int8 per-channel",
        "activations": "uint8", "reduce_range": True, "calibration": "minmax", "calibration_images": 40,
        "calibration_split": "fer4 train, deduplicated", "head": "float32",
    }
    model = EmotionModel(int8_model)  # the app's loader accepts it
    assert model.classes == CLASSES and model.input_size == (SIZE, SIZE) and model.version == "test-quantize"


def test_convolutions_are_int8_and_preprocessing_and_head_stay_float(int8_model):
    graph = onnx.load(str(int8_model)).graph
    producer = {out: node for node in graph.node for out in node.output}
    initializers = {init.name: init for init in graph.initializer}
    convs = [node for node in graph.node if node.op_type == "Conv"]
    assert len(convs) == 6
    for conv in convs:
        data, weight = (producer[name] for name in conv.input[:2])
        assert data.op_type == weight.op_type == "DequantizeLinear"
        assert initializers[weight.input[0]].data_type == onnx.TensorProto.INT8
        assert len(onnx.numpy_helper.to_array(initializers[weight.input[1]])) == len(
            onnx.numpy_helper.to_array(initializers[weight.input[0]])
        )  # one scale per output channel
    float_ops = {"Slice", "Mul", "Add", "Gemm", "MatMul", "Softmax", "Greater"}
    for node in graph.node:
        if node.op_type in float_ops:
            inputs = [producer[i].op_type for i in node.input if i in producer]
            assert "DequantizeLinear" not in inputs, node.name


def test_float_nodes_are_the_preprocessing_and_the_head(fp32_model):
    model = onnx.load(str(fp32_model))
    kept = {node.name: node.op_type for node in model.graph.node if node.name in int8.float_nodes(model)}
    assert "Conv" not in kept.values() and "Softmax" in kept.values()
    assert {"Slice", "Mul", "Add", "Concat"} <= set(kept.values())  # the colour-to-gray preprocessing
    without_head = set(int8.float_nodes(model, keep_head=False))
    assert without_head < set(kept) and "Softmax" not in {kept[n] for n in without_head}


def test_int8_outputs_stay_close_to_fp32(fp32_model, int8_model, test_faces):
    from fer_core.training.export import onnx_outputs

    fp32, int8 = onnx_outputs(fp32_model, test_faces), onnx_outputs(int8_model, test_faces)
    assert set(int8) == {"probs", "cam_features", "cam_weights"}
    assert all(int8[name].shape == fp32[name].shape for name in fp32)
    assert fp32["probs"].max(axis=1).min() < 0.9 and np.ptp(fp32["probs"], axis=0).max() > 0.05  # not trivial
    np.testing.assert_allclose(int8["probs"].sum(axis=1), 1.0, atol=1e-5)
    assert np.abs(int8["probs"] - fp32["probs"]).max() < MAX_PROB_DIFF
    # The predicted class may flip only where fp32's two most probable classes lie within 2 * MAX_PROB_DIFF:
    # elsewhere it must not, and most faces are elsewhere (19 of 24 here).
    ranked = np.sort(fp32["probs"], axis=1)
    clear = ranked[:, -1] - ranked[:, -2] > 2 * MAX_PROB_DIFF
    assert clear.mean() >= 0.5
    assert (int8["probs"].argmax(axis=1) == fp32["probs"].argmax(axis=1))[clear].all()


def test_gradcam_runs_on_the_int8_model_and_matches_fp32(fp32_model, int8_model, test_faces):
    """int8 changes the convolutions, so the last conv map must track fp32's on every face. The Grad-CAM
    weights come from the float head, through its hidden ReLU: where int8 noise flips a hidden unit that sits
    at its kink, the class's channel weights change and so does the map (2 of these 24 faces on one 2-core
    machine; which faces sit at a kink depends on the CPU's float rounding in training). Maps are compared
    where the head gives both models the same weights, which is every face but those flips."""
    fp32, int8 = load_cam_model(fp32_model), load_cam_model(int8_model)
    ours, theirs = fp32.run(test_faces), int8.run(test_faces)
    compared = 0
    for i, face in enumerate(test_faces):
        assert np.corrcoef(ours.features[i].ravel(), theirs.features[i].ravel())[0, 1] > 0.99
        a, b = gradcam(fp32, face, 0), gradcam(int8, face, 0)
        assert b.shape == (SIZE, SIZE)
        if np.corrcoef(ours.weights[i, 0], theirs.weights[i, 0])[0, 1] > 0.99:
            compared += 1
            assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.95
    assert compared >= len(test_faces) // 2


def test_report_scores_both_models(fp32_model, int8_model, splits, test_faces):
    labels = splits["test"].labels[: len(test_faces)]
    report = int8.compare(fp32_model, int8_model, test_faces, labels, repeats=1, gradcam_faces=3)
    assert report["test_images"] == len(test_faces) and report["gradcam_faces"] == 3
    loss = 100 * (report["fp32"]["accuracy"] - report["int8"]["accuracy"])
    assert report["accuracy_loss_points"] == pytest.approx(loss)
    assert "ship" not in report  # the faces it scores (test) never decide
    assert report["int8"]["bytes"] < report["fp32"]["bytes"]
    assert report["max_prob_diff"] < MAX_PROB_DIFF


def test_the_ship_verdict_is_taken_on_validation_never_on_test(fp32_model, splits, tmp_path, monkeypatch):
    """A stand-in for the int8 file (another model, so the two disagree on many faces) with test labelled as fp32
    reads it and validation as the stand-in reads it: int8 loses on test and gains on validation. The verdict
    follows validation: a choice made on test would make the test score the card quotes a selected one."""
    import shutil

    import keras

    from fer_core.training import data
    from fer_core.training.data import Split, to_rgb_float
    from fer_core.training.export import export_onnx, onnx_outputs
    from fer_core.training.zoo import build_model

    keras.utils.set_random_seed(1)
    other = export_onnx(build_model("cnn3_rgb", n_classes=len(CLASSES), input_size=(SIZE, SIZE), hidden=32),
                        tmp_path / "other.onnx", classes=CLASSES, temperature=1.0, initial_weights="random",
                        version="stand-in", extra_metadata={"quantization": json.dumps({"tool": "stand-in"})})

    def relabelled(split: Split, model: Path) -> Split:
        predicted = onnx_outputs(model, to_rgb_float(split.images))["probs"].argmax(axis=1)
        return Split(split.images, predicted, split.paths)

    faked = {"train": splits["train"], "validation": relabelled(splits["validation"], other),
             "test": relabelled(splits["test"], fp32_model)}
    monkeypatch.setattr(data, "load_splits", lambda *args, **kwargs: (faked, data.DedupReport()))
    monkeypatch.setattr(int8, "quantize", lambda fp32, out, faces, **kwargs: shutil.copyfile(other, out))
    _, report = int8.quantize_and_compare(fp32_model, out=tmp_path / "int8.onnx", data=tmp_path, command="test",
                                          repeats=1)
    assert report["accuracy_loss_points"] > 5  # on test: a verdict taken there would refuse it
    assert report["validation"]["images"] == len(faked["validation"])
    assert report["validation"]["int8_accuracy"] == 1.0 and report["validation"]["accuracy_loss_points"] < 0
    assert report["ship"] is True


def test_a_model_without_convolutions_is_refused():
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["image"], ["probs"], name="relu")], "no_conv",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 4])])
    with pytest.raises(ValueError, match=r"^the model has no Conv node: nothing for static int8 to speed up$"):
        int8.float_nodes(helper.make_model(graph))
