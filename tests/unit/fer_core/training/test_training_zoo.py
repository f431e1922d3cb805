"""The zoo's architectures: shapes and the shared head contract export and Grad-CAM rely on."""
import numpy as np
import pytest

from fer_core.training.zoo import STUDY_ARCHITECTURES, ZOO, build_model


def test_the_zoo_holds_the_six_reference_architectures_and_mobilefacenet():
    assert list(STUDY_ARCHITECTURES) == ["cnn3_rgb", "cnn4_rgb", "vgg16", "resnet50v2", "efficientnetb0", "cnn5_gray"]
    assert list(ZOO) == [*STUDY_ARCHITECTURES, "mobilefacenet"]
    assert [a.transfer for a in ZOO.values()] == [False, False, True, True, True, False, True]


@pytest.mark.parametrize("name", list(ZOO))
def test_each_model_maps_rgb_faces_to_class_logits(name):
    model = build_model(name, n_classes=4)
    assert model.input.shape[1:] == (48, 48, 3)
    logits = model.predict(np.random.default_rng(0).uniform(0, 255, (2, 48, 48, 3)).astype("float32"), verbose=0)
    assert logits.shape == (2, 4) and np.isfinite(logits).all()
    assert len(model.get_layer("cam_features").output.shape) == 4
    assert model.get_layer("head_hidden").kernel.shape[0] == model.get_layer("cam_features").output.shape[-1]


def test_grayscale_model_sees_one_channel_and_rgb_models_three():
    assert build_model("cnn5_gray", n_classes=4).get_layer("preprocess").output.shape[-1] == 1
    assert build_model("cnn3_rgb", n_classes=4).get_layer("preprocess").output.shape[-1] == 3


def test_colour_and_its_gray_version_give_the_same_prediction():
    """Training data is grayscale, so the graph converts colour input with the same luma weights."""
    model = build_model("cnn3_rgb", n_classes=4)
    rgb = np.random.default_rng(1).uniform(0, 255, (1, 48, 48, 3)).astype("float32")
    gray = (rgb @ np.array([0.299, 0.587, 0.114], dtype="float32"))[..., None].repeat(3, axis=-1)
    np.testing.assert_allclose(model.predict(rgb, verbose=0), model.predict(gray, verbose=0), atol=1e-4)


def test_unknown_architecture_is_refused_by_name():
    with pytest.raises(ValueError, match=r"unknown architecture 'vgg19'; expected one of \['cnn3_rgb'"):
        build_model("vgg19", n_classes=4)
