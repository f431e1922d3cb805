"""Grad-CAM computed on the ONNX model (no TensorFlow) against a TensorFlow GradientTape Grad-CAM on the
Keras model it was exported from, on real fer4 faces."""
import numpy as np
import pytest

from governance.explain import explain_face, gradcam, gradcam_plus_plus, load_cam_model
from tests.support.gradient_parity import assert_cam_maps_agree, decided_cells

FACES = 12  # conftest's fer4_test_faces
MIN_CORRELATION = 0.99  # Grad-CAM parity with TensorFlow's GradientTape, per map


@pytest.fixture(scope="module")
def faces(fer4_test_faces):
    return fer4_test_faces


@pytest.fixture(scope="module")
def tape_terms(tiny_emotion_keras, faces):
    """TensorFlow's feature maps (N, fh, fw, k) and per-cell gradients of every class logit (C, N, fh, fw, k)."""
    import keras
    import tensorflow as tf

    model = tiny_emotion_keras
    grad_model = keras.Model(model.input, [model.get_layer("cam_features").output, model.output])
    gradients = []
    for c in range(model.output.shape[-1]):
        with tf.GradientTape() as tape:
            features, logits = grad_model(tf.constant(faces), training=False)
            score = logits[:, c]
        gradients.append(tape.gradient(score, features).numpy())
    return features.numpy(), np.stack(gradients)


@pytest.fixture(scope="module")
def decided(tiny_emotion_keras, faces):
    """(N,) bool: faces whose head has no ReLU near its branch. Elsewhere TensorFlow and ONNX Runtime may
    pass a hidden unit's gradient or not (tests/support/gradient_parity.py), and the Grad-CAM weights differ."""
    compared = decided_cells(tiny_emotion_keras, faces, "cam_features")[:, 0, 0, 0]
    assert compared.mean() >= 0.5
    return compared


def _tf_heatmaps(features, weights):
    """relu(sum_k w_k A_k), upsampled by TensorFlow's bilinear resize: an independent reference path.
    Also returns the maps before the ReLU."""
    import tensorflow as tf

    before_relu = tf.einsum("nhwk,nk->nhw", features, weights)
    resized = tf.image.resize(tf.nn.relu(before_relu)[..., None], (48, 48), method="bilinear").numpy()[..., 0]
    return resized, before_relu.numpy()


def test_onnx_cam_weights_are_the_tape_gradients_averaged_over_cells(tiny_emotion_onnx, faces, tape_terms, decided):
    features, gradients = tape_terms
    out = load_cam_model(tiny_emotion_onnx).run(faces)
    np.testing.assert_allclose(out.features, features, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out.weights[decided], gradients.mean(axis=(2, 3)).transpose(1, 0, 2)[decided],
                               rtol=1e-3, atol=1e-7)


def test_gradcam_matches_tensorflow_gradient_tape_per_map(tiny_emotion_onnx, faces, tape_terms, decided):
    features, gradients = tape_terms
    model = load_cam_model(tiny_emotion_onnx)
    informative = 0
    for c in range(len(model.classes)):
        reference, before_relu = _tf_heatmaps(features, gradients[c].mean(axis=(1, 2)))
        for i in np.flatnonzero(decided):
            informative += assert_cam_maps_agree(gradcam(model, faces[i], c), reference[i], before_relu[i],
                                                 MIN_CORRELATION)
    assert informative >= FACES  # at least a quarter of the 4 x 12 maps show evidence


def test_gradcam_plus_plus_matches_the_per_cell_formula_on_tape_gradients(tiny_emotion_onnx, faces, tape_terms,
                                                                          decided):
    """The reference Grad-CAM++ weights (as in pytorch-grad-cam) use each cell's own gradient; ours use the
    exported cell-averaged one, which is the same only because GAP spreads the gradient evenly."""
    features, gradients = tape_terms
    model = load_cam_model(tiny_emotion_onnx)
    sums = features.sum(axis=(1, 2), keepdims=True)
    informative = 0
    for c in range(len(model.classes)):
        g = gradients[c].astype(np.float64)
        denominator = 2 * g**2 + sums * g**3
        alpha = np.divide(g**2, denominator, out=np.zeros_like(g), where=denominator != 0)
        weights = (alpha * np.maximum(g, 0)).sum(axis=(1, 2))
        reference, before_relu = _tf_heatmaps(features, weights.astype(np.float32))
        for i in np.flatnonzero(decided):
            informative += assert_cam_maps_agree(gradcam_plus_plus(model, faces[i], c), reference[i], before_relu[i],
                                                 MIN_CORRELATION)
    assert informative >= FACES


def test_default_class_is_the_predicted_one_and_maps_are_unit_range(tiny_emotion_onnx, faces):
    model = load_cam_model(tiny_emotion_onnx)
    explanation = explain_face(model, faces[0], method="gradcam")
    assert explanation.heatmaps.shape == (4, 48, 48) and explanation.heatmaps.dtype == np.float32
    assert explanation.heatmaps.min() >= 0 and explanation.heatmaps.max() <= 1
    predicted = int(np.argmax(explanation.probabilities))
    assert explanation.predicted == model.classes[predicted]
    np.testing.assert_array_equal(gradcam(model, faces[0]), explanation.heatmaps[predicted])
    np.testing.assert_array_equal(gradcam(model, faces[0], model.classes[predicted]), explanation.heatmaps[predicted])
    np.testing.assert_array_equal(explanation.heatmap(), explanation.heatmaps[predicted])
