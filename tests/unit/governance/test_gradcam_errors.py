"""Requests an explanation cannot serve get a typed error that says why."""
import numpy as np
import onnx
import pytest

from fer_core import EmotionModel, ImageError, ModelError
from fer_core.model_files import models_dir
from governance.explain import ExplanationError, explain_face, gradcam, load_cam_model

FACE = np.full((48, 48, 3), 128, np.float32)


def test_a_model_without_the_gradcam_outputs_is_refused():
    with pytest.raises(
        ExplanationError,
        match=r"^model mtcnn_onet.onnx cannot be explained: it lacks the Grad-CAM outputs "
        r"\['probs', 'cam_features', 'cam_weights'\] \(export it with fer_core/training/export.py\)$",
    ):
        load_cam_model(models_dir() / "mtcnn_onet.onnx")


def test_a_missing_model_file_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match=r"^model file not found: .*absent.onnx$"):
        gradcam(tmp_path / "absent.onnx", FACE)


def test_a_face_of_the_wrong_size_is_refused(tiny_emotion_onnx):
    with pytest.raises(
        ImageError, match=r"^an aligned face for emotion_tiny.onnx must be RGB of shape \(48, 48, 3\), got \(64, 64, 3\)$"
    ):
        gradcam(tiny_emotion_onnx, np.zeros((64, 64, 3), np.uint8))


def test_unknown_emotions_and_class_indices_are_refused(tiny_emotion_onnx):
    model = load_cam_model(tiny_emotion_onnx)
    with pytest.raises(
        ExplanationError,
        match=r"^unknown emotion 'angry'; model emotion_tiny.onnx has \['happy', 'neutral', 'sad', 'surprise'\]$",
    ):
        gradcam(model, FACE, "angry")
    with pytest.raises(ExplanationError, match=r"^class index 4 out of range; model emotion_tiny.onnx has 4 classes$"):
        gradcam(model, FACE, 4)
    with pytest.raises(
        ExplanationError, match=r"^unknown emotion 'angry'; expected one of \['happy', 'neutral', 'sad', 'surprise'\]$"
    ):
        explain_face(model, FACE).heatmap("angry")


def test_an_unknown_method_is_refused(tiny_emotion_onnx):
    with pytest.raises(
        ExplanationError,
        match=r"^unknown explanation method 'lime'; expected one of \['gradcam', 'gradcam\+\+', 'hirescam', 'layercam', "
        r"'occlusion'\]$",
    ):
        explain_face(tiny_emotion_onnx, FACE, method="lime")


def test_a_model_that_breaks_the_emotion_contract_is_refused_as_the_analyzer_refuses_it(tiny_emotion_onnx, tmp_path):
    proto = onnx.load(str(tiny_emotion_onnx))
    props = {p.key: p.value for p in proto.metadata_props}
    onnx.helper.set_model_props(proto, {**props, "classes": '["happy", "happy", "sad", "surprise"]'})
    onnx.save(proto, str(tmp_path / "twice.onnx"))
    message = r"^model twice\.onnx: metadata 'classes' has duplicates: \['happy', 'happy', 'sad', 'surprise'\]$"
    with pytest.raises(ModelError, match=message):
        EmotionModel(tmp_path / "twice.onnx")
    with pytest.raises(ModelError, match=message):
        load_cam_model(tmp_path / "twice.onnx")


def test_an_emotion_model_is_explained_on_its_own_session(tiny_emotion_onnx):
    emotion = EmotionModel(tiny_emotion_onnx)
    cam = load_cam_model(emotion)
    assert cam.emotion.session is emotion.session  # not loaded a second time
    assert (cam.name, cam.classes, cam.input_size) == (emotion.name, emotion.classes, emotion.input_size)
    np.testing.assert_array_equal(cam.emotion.template, emotion.template)
    np.testing.assert_allclose(cam.predict(FACE), emotion.predict(FACE[None].astype(np.uint8)), atol=1e-6)
