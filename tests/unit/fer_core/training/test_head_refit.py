"""The shipped emotion model's last layer refitted on its frozen hidden activations (fer_core.training.head_refit)."""
import hashlib
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from scipy.special import softmax

from fer_core.emotion import EmotionModel
from fer_core.model_files import models_dir
from fer_core.training.head_refit import (
    NOT_A_REFITTABLE_GRAPH,
    SHAPE_MISMATCH,
    HeadRefitError,
    RefitSettings,
    augmented_activations,
    fit_layers,
    fit_targets,
    head_logits,
    hidden_activations,
    logits_layer,
    refit_model,
    with_logits_layer,
)

SHIPPED = models_dir() / "emotion_vgg16.onnx"


@pytest.fixture(scope="module")
def shipped() -> onnx.ModelProto:
    return onnx.load(str(SHIPPED))


def _outputs(model: onnx.ModelProto, faces: np.ndarray) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, {"image": faces})))


def test_writing_the_shipped_layer_back_gives_the_shipped_outputs(shipped, fer4_test_faces):
    kernel, bias = logits_layer(shipped)
    temperature = EmotionModel(SHIPPED).temperature
    same = with_logits_layer(shipped, kernel, bias, temperature=temperature, version="0.4.0")
    before, after = _outputs(shipped, fer4_test_faces), _outputs(same, fer4_test_faces)
    for name in ("probs", "cam_features", "cam_weights"):
        np.testing.assert_array_equal(after[name], before[name])


def test_a_new_layer_sets_probs_cam_weights_and_metadata(shipped, fer4_test_faces, tmp_path):
    kernel, bias = logits_layer(shipped)
    new_kernel, new_bias, temperature = kernel * 2.0, bias - 0.5, 1.7
    changed = with_logits_layer(shipped, new_kernel, new_bias, temperature=temperature, version="9.9.9")
    hidden = hidden_activations(shipped, fer4_test_faces)
    before, after = _outputs(shipped, fer4_test_faces), _outputs(changed, fer4_test_faces)
    expected = softmax(head_logits(hidden, [new_kernel, new_bias]) / temperature, axis=1)
    np.testing.assert_allclose(after["probs"], expected, atol=1e-5)
    # Grad-CAM's channel weights are linear in the logits kernel: twice the kernel, twice the weights.
    np.testing.assert_allclose(after["cam_weights"], 2.0 * before["cam_weights"], rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(after["cam_features"], before["cam_features"])
    path = tmp_path / "changed.onnx"
    onnx.save(changed, str(path))
    model = EmotionModel(path)
    assert model.temperature == pytest.approx(temperature) and model.version == "9.9.9"


def test_a_graph_without_the_layer_is_refused_word_for_word(shipped):
    with pytest.raises(HeadRefitError) as error:
        logits_layer(onnx.load(str(models_dir() / "mtcnn_onet.onnx")))
    assert str(error.value) == NOT_A_REFITTABLE_GRAPH
    kernel, bias = logits_layer(shipped)
    with pytest.raises(HeadRefitError) as error:
        with_logits_layer(shipped, kernel[:, :3], bias[:3], temperature=1.0, version="x")
    assert str(error.value) == SHAPE_MISMATCH
    with pytest.raises(HeadRefitError, match="temperature must be positive"):
        with_logits_layer(shipped, kernel, bias, temperature=0.0, version="x")


def test_fit_targets_smooths_towards_uniform_and_balances_the_classes():
    labels = np.array([0, 0, 0, 1, 2, 3])
    soft = np.eye(4)[labels]
    targets, weights = fit_targets(soft, labels, label_smoothing=0.1)
    np.testing.assert_allclose(targets.sum(axis=1), 1.0)
    np.testing.assert_allclose(targets[0], [0.925, 0.025, 0.025, 0.025])
    # Each class carries the same total weight, so the three faces of class 0 weigh a third each of one face.
    np.testing.assert_allclose(np.bincount(labels, weights=weights), np.full(4, 1.5))


def test_fit_layers_learns_a_separable_problem_from_a_wrong_start():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(400, 6))
    labels = (features[:, 0] > 0).astype(int) + 2 * (features[:, 1] > 0).astype(int)
    targets = np.eye(4)[labels]
    start = [np.zeros((6, 4)), np.zeros(4)]
    kernel, bias = fit_layers(features, targets, np.ones(len(labels)), start, weight_decay=1e-4, max_iterations=200)
    assert (head_logits(features, [kernel, bias]).argmax(axis=1) == labels).mean() > 0.95
    # The two-layer form with validation keeps its best iteration, which must beat the start.
    two = [rng.normal(scale=0.1, size=(6, 8)), np.zeros(8), rng.normal(scale=0.1, size=(8, 4)), np.zeros(4)]
    fitted = fit_layers(features[:300], targets[:300], np.ones(300), two, weight_decay=1e-4, max_iterations=100,
                        validation=(features[300:], targets[300:]))
    assert (head_logits(features[300:], fitted).argmax(axis=1) == labels[300:]).mean() > 0.85


def test_refit_model_on_a_slice_writes_a_model_its_metrics_and_record(tmp_path, fer4_dir):
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text(json.dumps({"arch": "vgg16"}))
    run = tmp_path / "run"
    record = refit_model(SHIPPED, fer4_dir, run, version="0.0.1-test", base_run=base, limit_per_split=40,
                         settings=RefitSettings(ferplus_weight=0.25, max_iterations=20))
    assert record["from"]["sha256"] == hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    model = EmotionModel(run / "emotion.onnx")
    metrics = json.loads((run / "metrics.json").read_text())
    assert model.version == "0.0.1-test" and model.temperature == pytest.approx(metrics["temperature"])
    assert metrics["validation"]["n"] == 40 and metrics["test"]["n"] == 40
    assert record["training_faces"]["fer4_train"] <= 40 and record["settings"]["ferplus_weight"] == 0.25
    assert json.loads((run / "config.json").read_text()) == {"arch": "vgg16"}
    assert record["sha256"] != record["from"]["sha256"]
    assert (run / "confusion_test.png").stat().st_size > 0


def test_augmented_views_are_new_faces_to_the_body_and_the_refit_can_fit_on_them(shipped, fer4_dir, tmp_path):
    from fer_core.training.data import load_splits, to_rgb_float

    faces = load_splits(fer4_dir, limit_per_split=8)[0]["train"].images
    views = augmented_activations(shipped, faces, 2)
    plain = hidden_activations(shipped, to_rgb_float(faces))
    assert views.shape == (2, len(faces), plain.shape[1])
    assert not np.allclose(views[0], views[1]) and not np.allclose(views[0], plain)
    np.testing.assert_array_equal(augmented_activations(shipped, faces, 2), views)  # seeded
    record = refit_model(SHIPPED, fer4_dir, tmp_path / "run", version="0.0.2-test", limit_per_split=40,
                         settings=RefitSettings(augmented_views=2, max_iterations=20))
    assert record["settings"]["augmented_views"] == 2
    assert EmotionModel(tmp_path / "run" / "emotion.onnx").version == "0.0.2-test"
