"""The emotion classifier: an ONNX model that describes itself in its metadata.

Contract (written by fer_core.training's export; any model honouring it can replace the shipped one):
- input: float32 NHWC RGB, pixel values 0-255, at the model's `input_size`; preprocessing is inside
  the graph.
- output `probs` (or the only output): calibrated class probabilities, rows summing to 1.
- metadata_props: `classes` (JSON list in output order), `input_size` (JSON [h, w]), `temperature`
  (the calibration already applied inside the graph; kept for the model card), `initial_weights`,
  `version`, and optionally `template` (JSON 5x2: where the five landmarks land in the input crop,
  in input pixels). Without a template the ArcFace 112x112 template scaled to the input size is used.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from fer_core._errors import ImageError, ModelError
from fer_core._onnx import load_session, metadata, metadata_json, ort
from fer_core._paths import models_dir
from fer_core.alignment import ARCFACE_112_TEMPLATE, align_face, scale_template

DEFAULT_MODEL = "emotion_vgg16.onnx"
# Output read when a model has several (the shipped one adds Grad-CAM maps beside it).
_PROBS_OUTPUT = "probs"
# Faces per onnxruntime run, so memory stays flat however many faces a caller passes. The shipped model
# enlarges each face to 96x96 inside, and one run over 2,048 faces peaked at 6.8 GB and took 28 ms a face;
# runs of 32 peaked at 0.3 GB at 19 ms a face (0.4.2 int8, random faces, ru_maxrss, 2-core CPU beside a training run).
PREDICT_BATCH = 32
# A face whose mouth is outside the photo (a face cut off by the frame at the nose) gets no emotion. The model
# reads an expression mostly from the mouth, and alignment fills the crop beyond the photo's edge by repeating the
# edge's pixels: such faces read no better than always answering the most frequent label, at probabilities shown
# as if they did (real-photo dev set cut at the nose: accuracy 0.333 against 0.301, mean top probability 0.621,
# 31 of the 92 shown at 80% or more wrong; as they are: 0.749 at 0.712, 15 of 263). A face cut at its vertical
# middle keeps half of its mouth, and its reading (0.685 at 0.627): docs/reports/emotion_poor_faces.md,
# `python benchmarks/emotion_poor_faces.py`. Front ends say so with fer_core.render.EMOTION_NOT_READ.


def mouth_outside(landmarks: np.ndarray, shape: tuple[int, ...]) -> bool:
    """Whether the middle of the mouth (halfway between the two mouth-corner landmarks, the last two of the five)
    lies outside an image of `shape` (height, width, ...): then the face's emotion is not read (the comment above
    says why)."""
    x, y = np.asarray(landmarks, dtype=np.float64)[3:5].mean(axis=0)
    height, width = shape[:2]
    return not (0 <= x < width and 0 <= y < height)


class EmotionModel:
    """One emotion classifier on onnxruntime.

    Attributes (from the model's metadata): classes, input_size (h, w), template (5x2 float32),
    temperature, initial_weights, version, architecture ("" when not recorded); and path (the file, None
    for a session given without one), name (the file name, or "emotion model").
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        threads: int | None = None,
        session: ort.InferenceSession | None = None,
    ) -> None:
        """`path` None means the shipped model. `session` is the model already loaded (from `path`, which
        then only names it, or from bytes, such as a model quantized in memory); it is checked the same way."""
        if session is None:
            path = path if path is not None else models_dir() / DEFAULT_MODEL
            session = load_session(path, threads=threads)
        self.path = Path(path) if path is not None else None
        self.name = self.path.name if self.path is not None else "emotion model"
        self._session = session
        meta = metadata(session)
        self.classes = self._read_classes(meta)
        self.input_size = self._read_input_size(meta)
        self.template = self._read_template(meta)
        self.temperature = self._read_temperature(meta)
        self.initial_weights = meta.get("initial_weights", "")
        self.version = meta.get("version", "")
        self.architecture = meta.get("architecture", "")
        self.input_name, self._output = self._check_io()

    @property
    def session(self) -> ort.InferenceSession:
        """The onnxruntime session, for callers that read other outputs of the model (Grad-CAM's)."""
        return self._session

    def predict(self, aligned: np.ndarray) -> np.ndarray:
        """Probabilities [N, len(classes)] for aligned crops [N, h, w, 3] uint8 RGB (see `align`), run
        PREDICT_BATCH faces at a time."""
        aligned = np.asarray(aligned)
        height, width = self.input_size
        if aligned.dtype != np.uint8 or aligned.ndim != 4 or aligned.shape[1:] != (height, width, 3):
            raise ImageError(
                f"aligned faces must be uint8 RGB of shape (N, {height}, {width}, 3), got {aligned.dtype} {aligned.shape}"
            )
        if len(aligned) == 0:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        batches = (aligned[start:start + PREDICT_BATCH] for start in range(0, len(aligned), PREDICT_BATCH))
        probs = [self._session.run([self._output], {self.input_name: batch.astype(np.float32)})[0] for batch in batches]
        return np.concatenate(probs).astype(np.float32, copy=False)

    def align(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """The (h, w, 3) crop of `image` (HxWx3 uint8 RGB) with the 5 `landmarks` moved onto the template.
        ImageError when the landmarks are not 5 finite points (as the identity model's align)."""
        points = np.asarray(landmarks, dtype=np.float32)
        if points.shape != (5, 2) or not np.isfinite(points).all():
            # NaN or inf made the similarity fit's SVD fail with numpy's LinAlgError
            raise ImageError(f"landmarks must be 5 finite (x, y) points, got shape {points.shape}")
        return align_face(image, points, self.template, self.input_size)

    def _read_classes(self, meta: dict[str, str]) -> tuple[str, ...]:
        classes = metadata_json(meta, "classes", model=self.name)
        if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) and c for c in classes):
            raise ModelError(f"model {self.name}: metadata 'classes' must list at least two names, got {classes!r}")
        if len(set(classes)) != len(classes):
            raise ModelError(f"model {self.name}: metadata 'classes' has duplicates: {classes!r}")
        return tuple(classes)

    def _read_input_size(self, meta: dict[str, str]) -> tuple[int, int]:
        size = metadata_json(meta, "input_size", model=self.name)
        if not (isinstance(size, list) and len(size) == 2 and all(isinstance(s, int) and s > 0 for s in size)):
            raise ModelError(f"model {self.name}: metadata 'input_size' must be [h, w] positive integers, got {size!r}")
        return int(size[0]), int(size[1])

    def _read_template(self, meta: dict[str, str]) -> np.ndarray:
        if "template" not in meta:
            return scale_template(ARCFACE_112_TEMPLATE, (112, 112), self.input_size)
        template = np.asarray(metadata_json(meta, "template", model=self.name), dtype=np.float32)
        if template.shape != (5, 2) or not np.isfinite(template).all():
            raise ModelError(f"model {self.name}: metadata 'template' must be 5 (x, y) points, got shape {template.shape}")
        return template

    def _read_temperature(self, meta: dict[str, str]) -> float:
        if "temperature" not in meta:
            raise ModelError(f"model {self.name} has no 'temperature' in its metadata")
        try:
            value = float(meta["temperature"])
        except ValueError:
            raise ModelError(f"model {self.name}: metadata 'temperature' is not a number: {meta['temperature']!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise ModelError(f"model {self.name}: metadata 'temperature' must be positive, got {value}")
        return value

    def _check_io(self) -> tuple[str, str]:
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1:
            raise ModelError(f"model {self.name}: expected one image input, found {len(inputs)}")
        spec = inputs[0]
        if spec.type != "tensor(float)":
            raise ModelError(f"model {self.name}: input type {spec.type} is not float32")
        expected = [None, *self.input_size, 3]
        shape = list(spec.shape)
        if len(shape) != 4 or any(isinstance(s, int) and e is not None and s != e for s, e in zip(shape, expected)):
            raise ModelError(
                f"model {self.name}: input shape {shape} is not NHWC with metadata input_size {list(self.input_size)}"
            )
        names = [o.name for o in outputs]
        if _PROBS_OUTPUT in names:
            output = next(o for o in outputs if o.name == _PROBS_OUTPUT)
        elif len(outputs) == 1:
            output = outputs[0]
        else:
            raise ModelError(f"model {self.name}: several outputs {names} and none named '{_PROBS_OUTPUT}'")
        width = output.shape[-1] if output.shape else None
        if len(output.shape) != 2 or (isinstance(width, int) and width != len(self.classes)):
            raise ModelError(
                f"model {self.name}: output shape {list(output.shape)} does not match {len(self.classes)} classes"
            )
        return spec.name, output.name
