"""One call from a photo to its faces: box, landmarks, emotion and (with a family gallery) identity.

    analyzer = FaceAnalyzer()                 # loads the shipped models once, for every photo and user
    for face in analyzer.analyze("photo.jpg", gallery=gallery):
        print(face.box, face.emotion, face.emotion_probs.get(face.emotion), face.person_id, face.identity)

Each step fills its own fields of a Face: the detector box, landmarks and score, the emotion model
emotion and emotion_probs, the identity model embedding, and the gallery (given per call, never kept
by the analyzer) match. Pixel coordinates refer to the image after EXIF orientation, i.e. the photo as a
viewer shows it, and boxes are (x, y, w, h) everywhere.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from fer_core._paths import identity_model_name, models_dir
from fer_core.detection import DEFAULT_THREADS, DetectedFace, FaceDetector
from fer_core.emotion import EmotionModel, mouth_outside
from fer_core.images import ImageSource, load_image

if TYPE_CHECKING:
    from fer_core.identity import Match

# The analyzer searches from 40 px face windows up (the detector's own default is MTCNN's 20 px;
# faces whose box is somewhat smaller are still found, see fer_core.detection). The emotion model
# reads 48x48 crops and the identity model 150x150 ones, so a smaller face is upsampled into blur
# that neither reads reliably; and skipping those sizes drops the two largest pyramid levels, half
# of the detector's CPU time on a 640x480 photo (benchmarks/bench_analysis.py).
DEFAULT_MIN_FACE_SIZE = 40.0
# In a big photo the smallest face searched for grows with it: 2% of the shorter side (60 px in a 12 MP
# phone photo; 40 px decides below 2,000 px). On a 4000x3000 photo that is 0.56 s of detection instead of
# 0.77, with the same faces found on the composited group photos framed near, and 1 of 159 missed when they
# fill a third of the frame (faces of 58 px and up): `python benchmarks/bench_phone_photo_detection.py`.
DEFAULT_MIN_FACE_FRACTION = 0.02
# Reading order: rows top to bottom, each left to right. A face joins the row above it when its box
# overlaps that row's band (from its highest top to its lowest bottom) by at least this fraction of
# the smaller face's height. A band, not the row's mean centre, so that a line of tall and short
# people stays one row; two rows of a group photo stand a chin and a forehead apart and do not overlap.
ROW_OVERLAP = 0.25


class EmbeddingModelLike(Protocol):
    """What the analyzer needs of an identity model (fer_core.identity.EmbeddingModel)."""

    input_size: tuple[int, int]

    def align(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray: ...

    def embed(self, aligned: np.ndarray) -> np.ndarray: ...


class GalleryLike(Protocol):
    """What the analyzer needs of a family gallery (fer_core.identity.Gallery): identify(embedding) -> a
    Match, with the person's id and display label, or None for both ("unknown")."""

    def identify(self, embedding: np.ndarray) -> Match: ...


@dataclass
class Face:
    """One face found in a photo.

    box: (x, y, w, h) integer pixels of the input image, the box's top-left corner and size (the
        detector's DetectedFace.box, rounded).
    landmarks: 5x2 float32 (x, y): left eye, right eye, nose, mouth left, mouth right.
    score: detector confidence in (0.8, 1] (MTCNN's final-stage face probability).
    emotion: the most probable label, e.g. "happy"; None when the emotion is not read because the mouth is outside
        the photo (fer_core.emotion.mouth_outside; fer_core.render.EMOTION_NOT_READ says so to users).
    emotion_probs: label -> calibrated probability, summing to 1; empty when emotion is None.
    embedding: the identity embedding, or None when no identity model is loaded.
    match: the family gallery's answer (fer_core.identity.Match), or None when no gallery was consulted.
        `person_id` and `identity` read it: the member's id, which is what records and bookkeeping use,
        and their display name.
    aligned: the emotion model's aligned input crop, kept only with analyze(..., keep_aligned=True).
    """

    box: tuple[int, int, int, int]
    landmarks: np.ndarray
    score: float
    emotion: str | None
    emotion_probs: dict[str, float]
    embedding: np.ndarray | None = None
    match: Match | None = None
    aligned: np.ndarray | None = field(default=None, repr=False)

    @property
    def person_id(self) -> str | None:
        """The family member's id, or None (no gallery, or nobody close enough: "unknown")."""
        return None if self.match is None else self.match.person_id

    @property
    def identity(self) -> str | None:
        """The family member's display name, or None (no gallery, or nobody close enough: "unknown")."""
        return None if self.match is None else self.match.label


def default_detector(*, threads: int | None = DEFAULT_THREADS) -> FaceDetector:
    """The detector the analyzer loads by default: min_face_size=DEFAULT_MIN_FACE_SIZE (or
    DEFAULT_MIN_FACE_FRACTION of a big photo's shorter side), the neck check
    on (no false face on a chin or neck; detection.on_a_neck) and the tight-crop retry on (a photo cropped to
    the face is read too; detection.TIGHT_CROP_PAD). Enrolment uses the same settings, so a
    photo the app accepts is accepted from the command line too."""
    return FaceDetector(min_face_size=DEFAULT_MIN_FACE_SIZE, min_face_fraction=DEFAULT_MIN_FACE_FRACTION,
                        threads=threads, neck_check=True, tight_crop_retry=True)


def identify(faces: Sequence[Face], gallery: GalleryLike | None) -> list[Face]:
    """The faces with their `match` filled from `gallery` (None: no gallery consulted, every match None).
    Needs only each face's embedding, so faces analysed once can be named again when the gallery
    changes; a face without an embedding gets no match."""
    if gallery is None:
        return [replace(face, match=None) for face in faces]
    return [replace(face, match=gallery.identify(face.embedding) if face.embedding is not None else None)
            for face in faces]


class FaceAnalyzer:
    """Detector, emotion model and optional identity model, loaded once and shared by every caller: it
    holds no per-user state (the family gallery is given to each analyze call).

    detector: a FaceDetector; default: `default_detector(threads=threads)`.
    emotion_model: an EmotionModel or a path; default: the shipped models/emotion_vgg16.onnx.
    identity_model: an EmbeddingModel (fer_core.identity), a path, None (default: the shipped
        model fer_core._paths.identity_model_name() names, if that file exists) or False (no embeddings).
    threads: inference threads of the detector and identity model loaded here (see detection.DEFAULT_THREADS).
    emotion_threads: inference threads of the emotion model loaded here; default None, every core. It is
        the heaviest model (the shipped VGG16 runs at 96x96 inside its graph): one thread made analyze()
        take 94 ms on a 640x480 photo, over its 80 ms budget. Its threads do not spin (fer_core._onnx),
        which is what made extra threads costly for the small MTCNN networks under load.
    """

    def __init__(
        self,
        *,
        detector: FaceDetector | None = None,
        emotion_model: EmotionModel | str | os.PathLike[str] | None = None,
        identity_model: EmbeddingModelLike | str | os.PathLike[str] | None | Literal[False] = None,
        threads: int | None = DEFAULT_THREADS,
        emotion_threads: int | None = None,
    ) -> None:
        self.detector = detector if detector is not None else default_detector(threads=threads)
        if isinstance(emotion_model, EmotionModel):
            self.emotion_model = emotion_model
        else:
            self.emotion_model = EmotionModel(emotion_model, threads=emotion_threads)
        self.identity_model = _identity_model(identity_model, threads)

    def analyze(self, image: ImageSource, *, gallery: GalleryLike | None = None,
                keep_aligned: bool = False) -> list[Face]:
        """The faces in `image` (path, bytes, file, PIL image or RGB uint8 array) in reading order, each
        matched against `gallery` when one is given and an identity model is loaded (see `identify`).

        A photo without a face gives []. A face whose mouth is outside the photo gets no emotion (Face.emotion None).
        Unreadable input raises ImageError.
        """
        rgb = load_image(image)
        detections = reading_order(self.detector.detect(rgb))
        if not detections:
            return []
        crops = np.stack([self.emotion_model.align(rgb, d.landmarks) for d in detections])
        read = [i for i, d in enumerate(detections) if not mouth_outside(d.landmarks, rgb.shape)]
        probs = dict(zip(read, self.emotion_model.predict(crops[read])))
        embeddings = self._embed(rgb, detections)
        classes = self.emotion_model.classes
        faces = []
        for i, detection in enumerate(detections):
            row = probs.get(i)
            faces.append(
                Face(
                    box=_pixel_box(detection.box),
                    landmarks=detection.landmarks,
                    score=detection.score,
                    emotion=None if row is None else classes[int(np.argmax(row))],
                    emotion_probs={} if row is None else {c: float(p) for c, p in zip(classes, row)},
                    embedding=None if embeddings is None else embeddings[i],
                    aligned=crops[i] if keep_aligned else None,
                )
            )
        return faces if gallery is None else identify(faces, gallery)

    def _embed(self, rgb: np.ndarray, detections: list[DetectedFace]) -> np.ndarray | None:
        if self.identity_model is None:
            return None
        crops = np.stack([self.identity_model.align(rgb, d.landmarks) for d in detections])
        return np.asarray(self.identity_model.embed(crops))


def _identity_model(choice: Any, threads: int | None) -> EmbeddingModelLike | None:
    if choice is False:
        return None
    if choice is None:
        path = models_dir() / identity_model_name()
        if not path.is_file():
            return None
        choice = path
    if isinstance(choice, (str, os.PathLike)):
        # Imported here so that an analyzer without identity never loads the identity package.
        from fer_core.identity import load_embedding_model

        return load_embedding_model(Path(choice), threads=threads)
    return choice


def _pixel_box(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """(x, y, w, h) floats -> ints, rounded as the mtcnn package rounds them."""
    x, y, w, h = box
    return int(round(x)), int(round(y)), int(round(w)), int(round(h))


def reading_order(detections: list[DetectedFace]) -> list[DetectedFace]:
    """Rows top to bottom, each row left to right (see ROW_OVERLAP): the order faces are numbered in, by the
    analyzer and by enrolment's pick of a face (governance.enrolment.read_photo), so that a face has one number."""
    return [detections[i] for row in _rows([det.box for det in detections]) for i in row]


def face_rows(boxes: Sequence[Sequence[float]]) -> list[int]:
    """The row of each (x, y, w, h) box, 0 for the top one, as reading_order groups them into rows: what says
    which row a numbered face is in (the Family page's description of a photo to pick a face from)."""
    row_of = [0] * len(boxes)
    for number, row in enumerate(_rows(boxes)):
        for i in row:
            row_of[i] = number
    return row_of


def _rows(boxes: Sequence[Sequence[float]]) -> list[list[int]]:
    """The indices of `boxes` in rows, top to bottom, each row left to right."""
    rows: list[list[int]] = []
    for i in sorted(range(len(boxes)), key=lambda i: boxes[i][1]):
        if rows and _joins(boxes[i], [boxes[j] for j in rows[-1]]):
            rows[-1].append(i)
        else:
            rows.append([i])
    return [sorted(row, key=lambda i: boxes[i][0]) for row in rows]


def _joins(box: Sequence[float], row: list[Sequence[float]]) -> bool:
    top, bottom = min(b[1] for b in row), max(_bottom(b) for b in row)
    overlap = min(bottom, _bottom(box)) - max(top, box[1])
    return overlap >= ROW_OVERLAP * min(box[3], *(b[3] for b in row))


def _bottom(box: Sequence[float]) -> float:
    return box[1] + box[3]
