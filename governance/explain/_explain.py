"""Per-face explanations: one heatmap per emotion over the aligned face, by a named method."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from governance.explain._cam import (
    cam_maps,
    gradcam_plus_plus_channel_weights,
    hirescam_maps,
    layercam_maps,
    occlusion_maps,
)
from governance.explain._errors import ExplanationError
from governance.explain._model import CamModel, ModelLike, load_cam_model


def _gradcam(model: CamModel, face: np.ndarray, layer: str | None) -> tuple[np.ndarray, np.ndarray]:
    out = model.run(face)
    return out.probs[0], cam_maps(out.features[0], out.weights[0], model.input_size)


def _gradcam_plus_plus(model: CamModel, face: np.ndarray, layer: str | None) -> tuple[np.ndarray, np.ndarray]:
    out = model.run(face)
    weights = gradcam_plus_plus_channel_weights(out.features[0], out.weights[0])
    return out.probs[0], cam_maps(out.features[0], weights, model.input_size)


def _hirescam(model: CamModel, face: np.ndarray, layer: str | None) -> tuple[np.ndarray, np.ndarray]:
    out = model.run_layer(face, layer)
    return out.probs[0], hirescam_maps(out.features[0], out.gradients[0], model.input_size)


def _layercam(model: CamModel, face: np.ndarray, layer: str | None) -> tuple[np.ndarray, np.ndarray]:
    out = model.run_layer(face, layer)
    return out.probs[0], layercam_maps(out.features[0], out.gradients[0], model.input_size)


def _occlusion(model: CamModel, face: np.ndarray, layer: str | None) -> tuple[np.ndarray, np.ndarray]:
    probs = model.predict(face)[0]
    return probs, occlusion_maps(model, face, probs)


# name -> (model, aligned face, layer) -> (probabilities (C,), heatmaps (C, h, w))
METHODS: dict[str, Callable[[CamModel, np.ndarray, str | None], tuple[np.ndarray, np.ndarray]]] = {
    "gradcam": _gradcam,  # one forward pass
    "gradcam++": _gradcam_plus_plus,  # one forward pass
    "hirescam": _hirescam,  # one forward and backward pass, at a chosen layer
    "layercam": _layercam,  # one forward and backward pass, at a chosen layer
    "occlusion": _occlusion,  # about 120 forward passes at 48x48
}
LAYER_METHODS = ("hirescam", "layercam")
# What the app shows unless asked otherwise: a one-pass method as faithful as any on the shipped model (0.5.0) at
# its layer: on validation faces LayerCAM 0.322 vs HiResCAM 0.318 at block3_conv3 (docs/gradcam/layer_selection/
# deletion.md), on test faces 36.7% vs 34.9% below random order (docs/gradcam/deletion.md); Grad-CAM on the
# last map did not beat random.
DEFAULT_METHOD = "layercam"


@dataclass(frozen=True)
class FaceExplanation:
    """Heatmaps for every emotion of one aligned face.

    classes: emotion names in the model's order; probabilities: (C,) the model's calibrated output;
    heatmaps: (C, h, w) float32 in [0, 1] over the aligned face; method: how they were computed.
    """

    method: str
    classes: tuple[str, ...]
    probabilities: np.ndarray
    heatmaps: np.ndarray

    @property
    def predicted(self) -> str:
        """The most probable emotion."""
        return self.classes[int(np.argmax(self.probabilities))]

    def heatmap(self, emotion: str | None = None) -> np.ndarray:
        """The (h, w) heatmap of `emotion` (a class name); None means the predicted one."""
        name = self.predicted if emotion is None else emotion
        if name not in self.classes:
            raise ExplanationError(f"unknown emotion {name!r}; expected one of {list(self.classes)}")
        return self.heatmaps[self.classes.index(name)]


def explain_face(model: ModelLike, aligned_face: np.ndarray, *, method: str = DEFAULT_METHOD,
                 layer: str | None = None) -> FaceExplanation:
    """Heatmaps of every emotion for one aligned face (h, w, 3) RGB 0-255 at the model's input size.

    `model`: a CamModel, an onnxruntime session or a path to an exported emotion model (None: the
    shipped one). `method`: one of METHODS. `layer`: the Keras name of the conv or pool layer that
    "hirescam" and "layercam" explain at (None: the model's default_layer); the other methods have a
    fixed place (Grad-CAM and Grad-CAM++ the last conv map, occlusion the input)."""
    if method not in METHODS:
        raise ExplanationError(f"unknown explanation method {method!r}; expected one of {list(METHODS)}")
    if layer is not None and method not in LAYER_METHODS:
        raise ExplanationError(f"method {method!r} has no layer to choose; only {list(LAYER_METHODS)} do")
    cam_model = load_cam_model(model)
    probs, maps = METHODS[method](cam_model, np.asarray(aligned_face), layer)
    return FaceExplanation(method=method, classes=cam_model.classes, probabilities=probs, heatmaps=maps)


def _one_class(method: str, model: ModelLike, aligned_face: np.ndarray, class_index: int | str | None,
               layer: str | None = None) -> np.ndarray:
    cam_model = load_cam_model(model)
    probs, maps = METHODS[method](cam_model, np.asarray(aligned_face), layer)
    return maps[cam_model.class_index(class_index, probs)]


def gradcam(model: ModelLike, aligned_face: np.ndarray, class_index: int | str | None = None) -> np.ndarray:
    """Grad-CAM heatmap (h, w) float32 in [0, 1] at the model's input size for one aligned face;
    `class_index` is an index or emotion name, None the predicted emotion."""
    return _one_class("gradcam", model, aligned_face, class_index)


def gradcam_plus_plus(model: ModelLike, aligned_face: np.ndarray, class_index: int | str | None = None) -> np.ndarray:
    """Grad-CAM++ heatmap, same contract as `gradcam`."""
    return _one_class("gradcam++", model, aligned_face, class_index)


def hirescam(model: ModelLike, aligned_face: np.ndarray, class_index: int | str | None = None, *,
             layer: str | None = None) -> np.ndarray:
    """HiResCAM heatmap at `layer` (None: the model's default_layer), same contract as `gradcam`."""
    return _one_class("hirescam", model, aligned_face, class_index, layer)


def layercam(model: ModelLike, aligned_face: np.ndarray, class_index: int | str | None = None, *,
             layer: str | None = None) -> np.ndarray:
    """LayerCAM heatmap at `layer` (None: the model's default_layer), same contract as `gradcam`."""
    return _one_class("layercam", model, aligned_face, class_index, layer)


def occlusion_sensitivity(model: ModelLike, aligned_face: np.ndarray, class_index: int | str | None = None) -> np.ndarray:
    """Occlusion-sensitivity heatmap, same contract as `gradcam` (about 120 forward passes)."""
    return _one_class("occlusion", model, aligned_face, class_index)
