"""The gradient graph writer on small hand-built ONNX graphs: max-pool routing with ties, int8 Q/DQ
pairs, and the typed errors for what it cannot carry a gradient through."""
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from fer_core.model_files import load_session, metadata, models_dir
from governance.explain import ExplanationError, explain_face, load_cam_model, with_layer_gradients

FACE = np.full((48, 48, 3), 128, np.float32)


def _model(body: list, initializers: list, *, channels: int = 1, size: int = 4) -> onnx.ModelProto:
    """x (N, channels, size, size) -> body -> "last" -> GlobalAveragePool; cam_weights is an input
    passed through, so a test sets the head's gradient itself."""
    nodes = [*body, helper.make_node("GlobalAveragePool", ["last"], ["pooled"], name="m/gap/Mean"),
             helper.make_node("Identity", ["weights"], ["cam_weights"], name="m/cam_weights")]
    graph = helper.make_graph(
        nodes, "synthetic",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, channels, size, size]),
         helper.make_tensor_value_info("weights", TensorProto.FLOAT, [None, 1, channels])],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("cam_weights", TensorProto.FLOAT, None)],
        initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(model: onnx.ModelProto, layer: str, x: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    session = ort.InferenceSession(with_layer_gradients(model, layer, classes=1).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    return tuple(session.run(["layer_features", "layer_gradients"], {"x": x, "weights": weights}))


def _identity_conv(name: str, source: str, out: str) -> list:
    return [helper.make_node("Conv", [source, "eye"], [f"{out}_pre"], name=f"m/{name}/Conv", kernel_shape=[1, 1]),
            helper.make_node("Relu", [f"{out}_pre"], [out], name=f"m/{name}/Relu")]


EYE = numpy_helper.from_array(np.ones((1, 1, 1, 1), np.float32), "eye")


def test_max_pool_sends_each_windows_gradient_to_its_first_maximum_in_row_major_order():
    body = [*_identity_conv("conv", "x", "act"),
            helper.make_node("MaxPool", ["act"], ["last"], name="m/pool/MaxPool", kernel_shape=[2, 2], strides=[2, 2])]
    # Every 2x2 window but the top right has tied maxima; TensorFlow's MaxPoolGrad gives the whole
    # gradient to the first in row-major order, and so must the graph.
    x = np.array([[5, 5, 0, 1],
                  [1, 5, 0, 0],
                  [2, 3, 7, 9],
                  [3, 1, 9, 9]], np.float32)[None, None]
    features, gradients = _run(_model(body, [EYE]), "conv", x, np.array([[[4.0]]], np.float32))
    expected = np.zeros((4, 4), np.float32)
    for y, x_ in [(0, 0), (0, 3), (2, 1), (2, 3)]:  # the first maximum of each 2x2 window
        expected[y, x_] = 4.0  # d logit / d pooled cell = cam_weights, routed whole to one input cell
    np.testing.assert_array_equal(features[0, :, :, 0], x[0, 0])
    np.testing.assert_array_equal(gradients[0, 0, :, :, 0], expected)


def test_relu_blocks_the_gradient_where_the_activation_is_zero():
    body = [*_identity_conv("low", "x", "a1"), *_identity_conv("high", "a1", "last")]
    x = np.array([[1, -1], [-2, 3]], np.float32)[None, None]
    _, gradients = _run(_model(body, [EYE], size=2), "low", x, np.array([[[2.0]]], np.float32))
    np.testing.assert_array_equal(gradients[0, 0, :, :, 0], [[2, 0], [0, 2]])


def test_a_strided_conv_is_refused_with_the_reason():
    body = [*_identity_conv("base", "x", "b"),
            helper.make_node("Conv", ["b", "eye"], ["s"], name="m/strided/Conv", kernel_shape=[1, 1], strides=[2, 2]),
            helper.make_node("Relu", ["s"], ["a"], name="m/strided/Relu"), *_identity_conv("top", "a", "last")]
    with pytest.raises(ExplanationError, match=(
            r"^cannot carry gradients through conv node m/strided/Conv: only stride-1, 'same'-padded, ungrouped "
            r"convolutions with odd kernels are supported$")):
        with_layer_gradients(_model(body, [EYE]), "base", classes=1)


def test_a_channel_concat_splits_the_gradient_and_follows_each_branch_to_its_own_layer():
    """An ensemble's joined maps (fer_core/training/ensemble.py): branch i gets the gradient of its own
    channels, and the layer's copies in both branches are joined again in the same order."""
    body = [*_identity_conv("m0/conv", "x", "a0"), *_identity_conv("m0/top", "a0", "t0"),
            *_identity_conv("m1/conv", "x", "a1"), *_identity_conv("m1/top", "a1", "t1"),
            helper.make_node("Concat", ["t0", "t1"], ["last"], name="m/cam_features/concat", axis=1)]
    model = _model(body, [EYE], channels=2, size=2)  # two channels at the head,
    model.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 1  # from a one-channel image
    x = np.array([[1, -1], [2, 3]], np.float32)[None, None]
    features, gradients = _run(model, "conv", x, np.array([[[2.0, 5.0]]], np.float32))
    relu = np.maximum(x[0, 0], 0)
    np.testing.assert_array_equal(features[0], np.stack([relu, relu], axis=-1))
    np.testing.assert_array_equal(gradients[0, 0, :, :, 0], 2.0 * (relu > 0))
    np.testing.assert_array_equal(gradients[0, 0, :, :, 1], 5.0 * (relu > 0))


def test_a_concat_that_is_not_along_channels_is_refused_by_name():
    body = [*_identity_conv("base", "x", "b"),
            helper.make_node("Concat", ["b", "b"], ["wide"], name="m/side_by_side/concat", axis=3),
            *_identity_conv("top", "wide", "last")]
    with pytest.raises(ExplanationError, match=(
            r"^cannot carry gradients through Concat node m/side_by_side/concat: only a channel concatenation "
            r"\(axis 1\) is supported$")):
        with_layer_gradients(_model(body, [EYE]), "base", classes=1)


def test_an_unsupported_node_on_the_path_is_refused_by_name():
    body = [*_identity_conv("base", "x", "b"), helper.make_node("Sigmoid", ["b"], ["s"], name="m/squash/Sigmoid"),
            *_identity_conv("top", "s", "last")]
    with pytest.raises(ExplanationError, match=(
            r"^cannot carry gradients through Sigmoid node m/squash/Sigmoid: only Conv, Relu, MaxPool and Q/DQ "
            r"pairs are supported$")):
        with_layer_gradients(_model(body, [EYE]), "base", classes=1)


def test_a_layer_that_is_not_on_the_path_is_refused(tiny_emotion_onnx):
    model = load_cam_model(tiny_emotion_onnx)
    with pytest.raises(ExplanationError, match=(
            r"^layer 'head_hidden' is not a conv or pool layer on the path to the model's head$")):
        explain_face(model, FACE, method="hirescam", layer="head_hidden")


def test_a_layer_is_refused_for_methods_that_have_no_layer_to_choose(tiny_emotion_onnx):
    with pytest.raises(ExplanationError, match=(
            r"^method 'gradcam' has no layer to choose; only \['hirescam', 'layercam'\] do$")):
        explain_face(tiny_emotion_onnx, FACE, method="gradcam", layer="block2_relu2")


def test_a_model_given_as_a_session_cannot_be_explained_at_a_layer(tiny_emotion_onnx):
    session = ort.InferenceSession(str(tiny_emotion_onnx), providers=["CPUExecutionProvider"])
    with pytest.raises(ExplanationError, match=(
            r"^model emotion model was given as a session; load it from its file to explain at a layer$")):
        explain_face(session, FACE, method="layercam")


def test_the_shipped_int8_model_gets_gradients_through_its_quantize_pairs():
    """The shipped model is int8 QDQ: its ReLUs live in the Q nodes, which the walk must read as ReLUs."""
    path = models_dir() / "emotion_vgg16.onnx"
    model = load_cam_model(path)
    face = np.random.default_rng(0).uniform(0, 255, (48, 48, 3)).astype(np.float32)
    out = model.run_layer(face, "block4_pool")
    upper = model.run_layer(face, "block5_conv1")
    # One gradient per class for every feature of the layer (block4_pool: 512 maps per member; the shipped
    # file may be an ensemble, whose members' copies of the layer are joined along channels).
    members = int(metadata(load_session(path)).get("ensemble_members", 1))
    assert out.features.shape[-1] == 512 * members and out.gradients.shape == (1, 4, *out.features.shape[1:])
    assert np.abs(out.gradients).max() > 0
    assert np.abs(upper.gradients).max() > 0 and (upper.features >= 0).all()
    np.testing.assert_array_equal(out.probs, model.run(face).probs)


def test_a_model_without_the_gap_head_and_cam_weights_is_refused():
    with pytest.raises(ExplanationError, match=(
            r"^model has no single GlobalAveragePool head with cam_weights; cannot explain at a layer$")):
        with_layer_gradients(onnx.load(models_dir() / "mtcnn_onet.onnx"), None, classes=4)
