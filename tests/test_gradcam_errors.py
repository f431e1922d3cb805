"""Requests an explanation cannot serve get a typed error that says why."""
import numpy as np
import pytest

from fer_core import ImageError, ModelError
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
