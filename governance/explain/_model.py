"""The emotion model as Grad-CAM sees it: one ONNX session with the three outputs of the export contract.

fer_core/training/export.py writes every emotion model with input "image" (N, h, w, 3) float32 RGB 0-255
and outputs "probs" (N, C) calibrated probabilities, "cam_features" (N, fh, fw, k) the last conv feature
map, and "cam_weights" (N, C, k), the gradient of each class logit w.r.t. that map averaged over its
cells. So everything Grad-CAM needs comes from one forward pass, with no TensorFlow at run time.

Methods that explain at an inner layer (HiResCAM, LayerCAM) need the gradient there, in every cell:
`run_layer` gets it from a second session whose graph has the backward pass written as plain ops
(_layer_graph.py), built from the model file the first time a layer is asked for.

The model is an fer_core EmotionModel underneath: the same file lookup, session and metadata checks as
the analyzer's, so a model the app would refuse to read cannot be explained either.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from fer_core import EmotionModel, ImageError
from fer_core.emotion import DEFAULT_MODEL
from fer_core.model_files import load_session, models_dir, ort, session_from_bytes
from governance.explain._errors import ExplanationError
from governance.explain._layer_graph import LAYER_OUTPUTS, with_layer_gradients

CAM_OUTPUTS = ("probs", "cam_features", "cam_weights")
# Faces per onnxruntime call when a method needs many forward passes (deletion steps, occlusion
# patches): large enough to amortise the call, small enough to stay a few MB at 48x48.
BATCH = 128
# The layer HiResCAM and LayerCAM explain at, by the model's "architecture" metadata; others use the last
# conv map. vgg16: block3_conv3 is the most faithful layer for LayerCAM (the app's default) on validation
# faces of the shipped 0.5.0, and within 0.01 of HiResCAM's best, block4_conv2 (deletion AUC 0.318 / 0.322
# against random 0.529, a 24x24 map of the face enlarged to 96x96 inside; block5_conv3, the last map,
# 0.550 / 0.574); it was the best for both on 0.4.2 (0.336 / 0.324), 0.4.1, 0.4.0 and 0.3.0 (12x12):
# docs/gradcam/layer_selection/deletion.md, from benchmarks/gradcam_faithfulness.py --split validation.
# The last map's cells each see the whole face, so where they sit says little about where the evidence is.
EXPLAIN_LAYERS = {"vgg16": "block3_conv3"}


@dataclass(frozen=True)
class CamOutputs:
    """One forward pass over N faces: probs (N, C), features (N, fh, fw, k), weights (N, C, k)."""

    probs: np.ndarray
    features: np.ndarray
    weights: np.ndarray


@dataclass(frozen=True)
class LayerOutputs:
    """One forward and backward pass over N faces at one layer: probs (N, C), features (N, h, w, k), the
    layer's activation, and gradients (N, C, h, w, k), d logit_c / d activation in every cell."""

    probs: np.ndarray
    features: np.ndarray
    gradients: np.ndarray


class CamModel:
    """An exported emotion model checked against the Grad-CAM contract. Load once, call many times.

    `emotion` is the fer_core EmotionModel read from the same session (classes, input size, template,
    version, ... with its checks); `classes`, `input_size`, `version` and `name` are its own.
    `default_layer` is the layer HiResCAM and LayerCAM explain at (None: the last conv map).
    The `path` argument (the model file) is needed only for those layer methods.
    """

    def __init__(self, *, session: ort.InferenceSession, path: str | os.PathLike[str] | None = None) -> None:
        name = Path(path).name if path is not None else "emotion model"
        outputs = [o.name for o in session.get_outputs()]
        missing = [o for o in CAM_OUTPUTS if o not in outputs]
        # Checked before the emotion contract: a model without these outputs is not worth reading further.
        if missing:
            raise ExplanationError(
                f"model {name} cannot be explained: it lacks the Grad-CAM outputs {missing} "
                f"(export it with fer_core/training/export.py)"
            )
        self.emotion = EmotionModel(path, session=session)
        self.name = self.emotion.name
        self.classes: tuple[str, ...] = self.emotion.classes
        self.input_size: tuple[int, int] = self.emotion.input_size
        self.version: str = self.emotion.version
        self.default_layer: str | None = EXPLAIN_LAYERS.get(self.emotion.architecture)
        self._session = session
        self._input = self.emotion.input_name
        self._layer_sessions: dict[str | None, ort.InferenceSession] = {}

    def _batch(self, faces: np.ndarray) -> np.ndarray:
        faces = np.asarray(faces)
        if faces.ndim == 3:
            faces = faces[None]
        height, width = self.input_size
        if faces.ndim != 4 or faces.shape[1:] != (height, width, 3):
            raise ImageError(
                f"an aligned face for {self.name} must be RGB of shape ({height}, {width}, 3), "
                f"got {tuple(faces.shape[-3:]) if faces.ndim >= 3 else tuple(faces.shape)}"
            )
        return faces.astype(np.float32, copy=False)

    def run(self, faces: np.ndarray) -> CamOutputs:
        """Probabilities and Grad-CAM terms for aligned faces, (h, w, 3) or (N, h, w, 3), RGB 0-255."""
        probs, features, weights = self._session.run(list(CAM_OUTPUTS), {self._input: self._batch(faces)})
        return CamOutputs(probs=probs, features=features, weights=weights)

    def run_layer(self, faces: np.ndarray, layer: str | None = None) -> LayerOutputs:
        """Probabilities and the activation and per-cell gradients at `layer` (a Keras layer name;
        None: default_layer) for aligned faces, (h, w, 3) or (N, h, w, 3), RGB 0-255."""
        layer = layer if layer is not None else self.default_layer
        outputs = ["probs", *LAYER_OUTPUTS]
        probs, features, gradients = self._layer_session(layer).run(outputs, {self._input: self._batch(faces)})
        return LayerOutputs(probs=probs, features=features, gradients=gradients)

    def _layer_session(self, layer: str | None) -> ort.InferenceSession:
        if layer not in self._layer_sessions:
            if self.emotion.path is None:
                raise ExplanationError(
                    f"model {self.name} was given as a session; load it from its file to explain at a layer"
                )
            graph = with_layer_gradients(onnx.load(self.emotion.path), layer, classes=len(self.classes))
            self._layer_sessions[layer] = session_from_bytes(graph.SerializeToString(), name=self.name)
        return self._layer_sessions[layer]

    def predict(self, faces: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (N, C) for many faces, run in batches of BATCH."""
        faces = self._batch(faces)
        return np.concatenate(
            [self._session.run(["probs"], {self._input: faces[i : i + BATCH]})[0] for i in range(0, len(faces), BATCH)]
        )

    def class_index(self, emotion: int | str | None, probs: np.ndarray) -> int:
        """The index of `emotion` (a class name or index); None means the most probable class."""
        if emotion is None:
            return int(np.argmax(probs))
        if isinstance(emotion, str):
            if emotion not in self.classes:
                raise ExplanationError(f"unknown emotion {emotion!r}; model {self.name} has {list(self.classes)}")
            return self.classes.index(emotion)
        if not 0 <= int(emotion) < len(self.classes):
            raise ExplanationError(
                f"class index {emotion} out of range; model {self.name} has {len(self.classes)} classes"
            )
        return int(emotion)


ModelLike = CamModel | EmotionModel | ort.InferenceSession | str | os.PathLike[str] | None


def load_cam_model(model: ModelLike = None) -> CamModel:
    """A CamModel from a loaded CamModel (returned as is), an EmotionModel (its session is shared, not
    loaded again), an onnxruntime session, or a path to an ONNX file; None loads the shipped emotion
    model (fer_core.emotion.DEFAULT_MODEL in models_dir()). Pass a loaded model when explaining many
    faces: loading a file each time is slow."""
    if isinstance(model, CamModel):
        return model
    if isinstance(model, EmotionModel):
        return CamModel(session=model.session, path=model.path)
    if isinstance(model, ort.InferenceSession):
        return CamModel(session=model)
    path = Path(model) if model is not None else models_dir() / DEFAULT_MODEL
    return CamModel(session=load_session(path), path=path)
