"""The face-trained MobileFaceNet as an emotion architecture: trained, exported and read by the app like VGG16."""
import json

import numpy as np
import onnx
import pytest

from fer_core.model_files import models_dir, sha256_file
from fer_core.training.weights import MOBILEFACENET_ONLY, load_initial_weights
from fer_core.training.zoo import build_model


@pytest.fixture(scope="module")
def mobilefacenet_run(tmp_path_factory, fer4_dir):
    from fer_core.training.evaluate import evaluate_run
    from fer_core.training.train import TrainConfig, train

    run_dir = tmp_path_factory.mktemp("mobilefacenet_run")
    train(TrainConfig(arch="mobilefacenet", data_root=str(fer4_dir), run_dir=str(run_dir), weights="mobilefacenet-onnx",
                      limit_per_split=64, step1_epochs=1, step2_epochs=1, max_steps_per_epoch=2, batch_size=32,
                      jit_compile=False))
    evaluate_run(run_dir, splits_to_score=("validation",))
    return run_dir


def test_it_starts_from_the_shipped_identity_file_and_says_so(mobilefacenet_run):
    record = json.loads((mobilefacenet_run / "summary.json").read_text())["initial_weights"]
    shipped = models_dir() / "face_recognition_mobilefacenet.onnx"
    assert (record["source"], record["file"], record["sha256"]) == ("mobilefacenet-onnx", shipped.name,
                                                                    sha256_file(shipped))
    assert record["layers"] > 50  # its convolutions and PReLUs


@pytest.fixture(scope="module")
def mobilefacenet_onnx(mobilefacenet_run):
    from fer_core.training.export import export_run

    return export_run(mobilefacenet_run, mobilefacenet_run / "emotion.onnx", version="test-mobilefacenet")


def test_a_trained_run_exports_and_the_app_reads_it(mobilefacenet_onnx, fer4_test_faces):
    from fer_core.emotion import EmotionModel

    path = mobilefacenet_onnx
    model = EmotionModel(path)
    declared = {o.name: o.shape for o in model.session.get_outputs()}["cam_features"]
    assert declared[1:] == [7, 7, 512]  # as computed (tf2onnx alone declared 6x6)
    graph = onnx.load(path).graph
    read = {name for node in graph.node for name in node.input}
    assert [i.name for i in graph.initializer if i.name not in read] == []  # the rewrite leaves no stale scales
    assert model.architecture == "mobilefacenet" and model.input_size == (48, 48)
    probs = model.predict(fer4_test_faces.astype(np.uint8))
    assert probs.shape == (len(fer4_test_faces), 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-5)


def test_its_weights_are_read_back_from_the_exported_file(tmp_path, mobilefacenet_onnx, mobilefacenet_run,
                                                          fer4_test_faces):
    """recover-members parses its depthwise convs (a grouped Conv named by its bias) and PReLUs (a Mul by the
    negated slope) as well as its plain convs: the member read back gives the file's probabilities."""
    from fer_core.training.recover import PARITY_TOLERANCE, recover_members

    (folder,) = recover_members(mobilefacenet_onnx, mobilefacenet_run, tmp_path / "recovered",
                                parity_images=fer4_test_faces)
    parity = json.loads((folder / "summary.json").read_text())["recovered_from"]["parity"]
    assert parity["max_prob_diff"] <= PARITY_TOLERANCE and parity["same_class"] == 1.0


def test_at_96_px_its_last_map_is_vgg16s_and_the_two_merge_without_repeating_cells(fer4_test_faces):
    import keras

    from fer_core.training.ensemble import merge_members

    keras.utils.set_random_seed(3)
    from fer_core.training.zoo import build_architecture

    mobilefacenet = build_architecture({"arch": "mobilefacenet", "classes": ["a", "b", "c", "d"], "face_size": 96})
    assert mobilefacenet.get_layer("enlarge").output.shape[1:3] == (96, 96)  # as a run's config.json rebuilds it
    vgg = build_model("vgg16", n_classes=4, upsample=2)
    merged = merge_members([vgg, mobilefacenet])
    assert tuple(merged.get_layer("cam_features").output.shape[1:]) == (6, 6, 512 + 512)
    assert not [layer.name for layer in merged.layers if "_to_" in layer.name]  # no map was repeated
    expected = (vgg.predict(fer4_test_faces, verbose=0) + mobilefacenet.predict(fer4_test_faces, verbose=0)) / 2
    np.testing.assert_allclose(merged.predict(fer4_test_faces, verbose=0), expected, rtol=1e-4, atol=1e-4)


def test_a_face_size_is_refused_for_an_architecture_that_does_not_enlarge_the_face():
    from fer_core.training.zoo import FACE_SIZE_NOT_HERE

    with pytest.raises(ValueError) as refused:
        build_model("vgg16", n_classes=4, face_size=96)
    assert str(refused.value) == FACE_SIZE_NOT_HERE.format(arch="vgg16")


@pytest.mark.parametrize(("arch", "source"), [("mobilefacenet", "random"), ("mobilefacenet", "imagenet-onnx"),
                                              ("cnn3_rgb", "mobilefacenet-onnx")])
def test_mobilefacenet_and_its_weights_go_together(arch, source):
    with pytest.raises(ValueError) as refused:
        load_initial_weights(build_model(arch, n_classes=4), source)
    assert str(refused.value) == MOBILEFACENET_ONLY.format(arch=arch, source=source)
