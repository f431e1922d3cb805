"""Explaining at an inner layer: the gradient graph written as ONNX ops against TensorFlow's GradientTape
on the Keras model it was exported from, and HiResCAM / LayerCAM maps against their formulas on tape
gradients, on real fer4 faces."""
import numpy as np
import pytest

from governance.explain import explain_face, gradcam, hirescam, layercam, load_cam_model
from governance.explain._layer_graph import _Builder  # noqa: PLC2701 (a wrong backward op planted in the builder)
from tests.support.gradient_parity import assert_cam_maps_agree, assert_layer_gradients_match, decided_cells

FACES = 12  # conftest's fer4_test_faces
MIN_CORRELATION = 0.99  # Grad-CAM parity with TensorFlow's GradientTape, per map
# cnn3_rgb: block2_relu2 is two convs and a max-pool below the last map, so the gradient crosses
# every kind of node the graph writer handles; block2_pool is the pool's own output.
LAYERS = ("block2_relu2", "block2_pool", "block3_relu2")


@pytest.fixture(scope="module")
def faces(fer4_test_faces):
    return fer4_test_faces


@pytest.fixture(scope="module")
def tape(tiny_emotion_keras, faces):
    """layer -> (activation (N, h, w, k), d logit_c / d activation (N, C, h, w, k)) from GradientTape."""
    import keras
    import tensorflow as tf

    model, out = tiny_emotion_keras, {}
    for layer in LAYERS:
        probe = keras.Model(model.input, [model.get_layer(layer).output, model.output])
        gradients = []
        for c in range(model.output.shape[-1]):
            with tf.GradientTape() as t:
                activation, logits = probe(tf.constant(faces), training=False)
                score = tf.reduce_sum(logits[:, c])
            gradients.append(t.gradient(score, activation).numpy())
        out[layer] = (activation.numpy(), np.stack(gradients, axis=1))
    return out


@pytest.fixture(scope="module")
def model(tiny_emotion_onnx):
    return load_cam_model(tiny_emotion_onnx)


@pytest.mark.parametrize("layer", LAYERS)
def test_onnx_layer_gradients_are_the_tape_gradients(model, tiny_emotion_keras, faces, tape, layer):
    activation, gradients = tape[layer]
    out = model.run_layer(faces, layer)
    np.testing.assert_allclose(out.features, activation, rtol=1e-4, atol=1e-5)
    assert_layer_gradients_match(out.gradients, gradients, decided_cells(tiny_emotion_keras, faces, layer))


# Two plausible slips in a backward pass: a ReLU mask written as y >= 0 (it then passes the gradient of
# every clipped cell), and a pool that sends a tied window's gradient to its last maximum, not its first
# (TensorFlow's MaxPoolGrad takes the first; ties of ReLU zeros are common, and the parity bar compares them).
BROKEN_OPS = {"relu_passes_clipped_cells": ("Greater", {}, "GreaterOrEqual"),
              "pool_takes_last_maximum": ("CumSum", {"reverse": 1}, "CumSum")}


@pytest.mark.parametrize("bug", BROKEN_OPS)
def test_the_parity_bar_fails_a_wrong_backward_op(monkeypatch, tiny_emotion_onnx, tiny_emotion_keras, faces, tape,
                                                   bug):
    op_type, attrs, written = BROKEN_OPS[bug]
    build = _Builder.op

    def broken(self, kind, inputs, **kwargs):
        return build(self, written, inputs, **kwargs, **attrs) if kind == op_type else build(self, kind, inputs, **kwargs)

    monkeypatch.setattr(_Builder, "op", broken)
    out = load_cam_model(tiny_emotion_onnx).run_layer(faces, "block2_relu2")
    with pytest.raises(AssertionError, match="compared gradient values differ"):
        assert_layer_gradients_match(out.gradients, tape["block2_relu2"][1],
                                     decided_cells(tiny_emotion_keras, faces, "block2_relu2"))


def test_at_the_last_map_the_gradient_is_cam_weights_in_every_cell(model, faces):
    out = model.run_layer(faces, "block3_relu2")
    weights = model.run(faces).weights  # (N, C, k)
    np.testing.assert_allclose(out.gradients, np.broadcast_to(weights[:, :, None, None, :], out.gradients.shape),
                               rtol=1e-5, atol=1e-8)


def _reference_maps(activation, gradients, positive_gradients: bool):
    """TensorFlow's bilinear resize of relu(sum_k g * A): an independent path to the same maps. Also
    returns the maps before the ReLU."""
    import tensorflow as tf

    g = np.maximum(gradients, 0) if positive_gradients else gradients
    before_relu = tf.einsum("nhwk,nchwk->nchw", activation, g)
    n, c, h, w = before_relu.shape
    resized = tf.image.resize(tf.reshape(tf.nn.relu(before_relu), (n * c, h, w, 1)), (48, 48), method="bilinear")
    return resized.numpy().reshape(n, c, 48, 48), before_relu.numpy()


@pytest.mark.parametrize(("method", "positive"), [(hirescam, False), (layercam, True)])
def test_hirescam_and_layercam_match_their_formulas_on_tape_gradients(model, tiny_emotion_keras, faces, tape,
                                                                       method, positive):
    """The formulas on tape gradients where both runtimes took the same branches; in the cells below a
    near branch the tape gradient is replaced by ONNX Runtime's (the gradient test above covers those)."""
    activation, gradients = tape["block2_relu2"]
    decided = decided_cells(tiny_emotion_keras, faces, "block2_relu2")[:, None]
    gradients = np.where(decided, gradients, model.run_layer(faces, "block2_relu2").gradients)
    reference, before_relu = _reference_maps(activation, gradients, positive)
    informative = 0
    for i, face in enumerate(faces):
        for c in range(len(model.classes)):
            ours = method(model, face, c, layer="block2_relu2")
            informative += assert_cam_maps_agree(ours, reference[i, c], before_relu[i, c], MIN_CORRELATION)
    assert informative >= 2 * FACES


def test_hirescam_at_the_last_map_is_gradcam(model, faces):
    """With a GAP head every cell of the last map has the same gradient, so weighting each cell by its
    own gradient (HiResCAM) or by the average (Grad-CAM) is the same map."""
    for face in faces[:3]:
        ours = explain_face(model, face, method="hirescam", layer="block3_relu2").heatmaps
        np.testing.assert_allclose(ours, explain_face(model, face, method="gradcam").heatmaps, atol=1e-5)
        assert gradcam(model, face).shape == ours.shape[1:]


def test_the_default_layer_comes_from_the_models_architecture_metadata(model, faces):
    from fer_core.model_files import models_dir

    assert model.default_layer is None  # cnn3_rgb has no entry: the last conv map
    np.testing.assert_array_equal(hirescam(model, faces[0]), hirescam(model, faces[0], layer="block3_relu2"))
    assert load_cam_model(models_dir() / "emotion_vgg16.onnx").default_layer == "block3_conv3"
