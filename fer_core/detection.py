"""Face detection: the MTCNN cascade (P-Net, R-Net, O-Net) in numpy over ONNX Runtime.

The networks are those of the PyPI `mtcnn` 1.0.0 package (MIT), exported once to ONNX by
tools/export_mtcnn.py. With the default settings the output matches that package (the parity test
holds us to it: same faces, boxes IoU >= 0.9, landmarks within 2 px) without TensorFlow.

Settings and what they mean:

- min_face_size (20 px): the smallest face window searched for. The first pyramid level scales the
  photo by 12 / min_face_size (P-Net sees 12x12 windows); raising it skips the largest, most costly
  levels. The returned box is tighter than the window that found it (often 0.5-0.8 of it), so it
  is a soft bound: faces whose box is somewhat below it are still found.
- min_face_fraction (0): the smallest face as a share of the photo's shorter side, when that is larger
  than min_face_size. A 12 MP phone photo (3000 px short side) at 0.02 is searched from 60 px instead of
  40, which skips P-Net's largest level; a 640x480 photo is searched from min_face_size as before.
- thresholds (0.6, 0.7, 0.8): the face probability each of P-, R- and O-Net must exceed for a
  candidate to go on. Lower finds more faces and more false ones.
- scale_factor (0.709): ratio between pyramid levels (about 1/sqrt(2): each level halves the area).
- neck_check (off): drop a detection that sits on another face's chin or neck (see `on_a_neck`). Off,
  the output is the package's; the analyzer turns it on.
- tight_crop_retry (off): when nothing is found, search once more for one face that fills the frame, on
  the photo padded on every side (see `TIGHT_CROP_PAD`). P-Net and O-Net need some of the head around a
  face, so a photo cropped to the face (an avatar, a face cut from a film still) is otherwise "no face".
  Off, the output is the package's; the analyzer turns it on.

Memory: P-Net reads float pyramid levels, R- and O-Net crops normalised one sampled pixel at a time. A
photo above FULL_PYRAMID_MAX_PIXELS is first shrunk to the first pyramid level, the largest image P-Net
sees, so that no float copy of the whole photo is made (12 bytes a pixel: 576 MB at 48 MP); and P-Net
runs on bands of rows of a large level (PNET_BAND_PIXELS), with the same output as one whole run.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fer_core import _boxes
from fer_core._onnx import load_session
from fer_core._paths import models_dir

# P-Net looks at 12x12 windows with a stride of 2 pixels in the scaled image.
_PNET_CELL = 12
_PNET_STRIDE = 2
# IoU thresholds of the package: per pyramid level, across levels, after R-Net, after O-Net ("min").
_NMS_PER_LEVEL = 0.5
_NMS_ACROSS_LEVELS = 0.7
_NMS_RNET = 0.7
_NMS_ONET = 0.7
# Up to this many pixels the pyramid levels are resized from a float copy of the whole photo, exactly as
# the package does; above it from the photo first shrunk (INTER_AREA, 8-bit) to the first level. That
# rounds the first level to whole grey levels and resizes the others twice, which can move a box by a
# fraction of a pixel; 12 MP keeps the package's results for what most phones take.
FULL_PYRAMID_MAX_PIXELS = 12_000_000
# onnxruntime holds P-Net's activations of a whole level at once and keeps them allocated after the
# run: about 1 GB for the first level of a 48 MP photo (4.3 MP with the analyzer's 40 px minimum face).
# A level above this many pixels is run in bands of rows of about this size (about 100 MB), which was
# not slower when measured: the smaller buffers stay in cache.
PNET_BAND_PIXELS = 250_000
# The smallest min_face_size: P-Net's window at full scale (the pyramid never enlarges a photo).
MIN_FACE_SIZE_LIMIT = _PNET_CELL
MIN_FACE_SIZE_NOT_FINITE = "min_face_size must be a finite number, got {value}"
# The neck check. O-Net takes a chin and neck for a face now and then, even at 0.98: on the composited
# group photos (docs/reports/group_photos.md) every false face was a box about half a face high
# whose top edge lay within 0.06 face heights of a real face's bottom edge, inside its width. A real
# face below another (a front row, a child held in front) starts at least 0.35 face heights lower
# there, and is at least 0.84 as large, so these bounds leave room on both sides.
NECK_GAP = 0.2
NECK_SIZE = 0.7
# The tight-crop retry. The photo is padded on every side by TIGHT_CROP_PAD of its longer side with its mean
# colour and searched for a face of at least TIGHT_CROP_MIN_FACE of its shorter side only (the face that
# fills the frame, in a few small pyramid levels), kept only if O-Net scores it at least TIGHT_CROP_MIN_SCORE.
# The photo is first shrunk so that this smallest face is TIGHT_CROP_FACE_PX (never enlarged): O-Net reads
# 48x48 crops, so nothing is lost, and on a 640x480 frame without a face the retry adds a few milliseconds
# to the first search's 10 (`python benchmarks/bench_analysis.py`).
# The setting is the one of `python experiments/tight_crop_retry.py` (experiments/reports/tight_crop_retry.md)
# that finds the most of fer4's validation faces the first search misses (198 of 439; its 48x48 crops are
# cut at the forehead and chin) with no false face on 800 tiles of 40-300 px cut from scikit-image's sample
# photos without a person (O-Net's own 0.8 found 221 and 1 false face; the photo's edge pixels repeated
# instead of its mean colour found 112 at padding 0.3). The real-photo dev set is evaluation only: of its
# 124 photos without a detected face (film crops of median 48 px) the retry finds 80.
TIGHT_CROP_PAD = 0.2
TIGHT_CROP_MIN_FACE = 0.3
TIGHT_CROP_MIN_SCORE = 0.9
TIGHT_CROP_FACE_PX = 64
# A photo over this many times longer than wide (or wider than long) is not one face cropped close (a face
# is about 1.3 times taller than wide), and padding its longer side would make a large image of a banner:
# it is not searched again.
TIGHT_CROP_MAX_ASPECT = 3.0
# One inference thread per network. On this 2-core machine, with another busy process, onnxruntime's
# default pool of 2 spinning threads made the cascade 2.2x slower than one thread (149 vs 67 ms on a
# 640x480 photo). Pass threads=None to let onnxruntime use every core of an idle machine.
DEFAULT_THREADS = 1


@dataclass(frozen=True)
class DetectedFace:
    """One detection in input pixels.

    box: (x, y, w, h) floats: the top-left corner and the size, clipped to the image like the package
        does. The one box convention Unveil exposes (fer_core.analyzer.Face.box is the same, in whole
        pixels); corners (x1, y1, x2, y2) stay inside the cascade's arithmetic (fer_core._boxes).
    landmarks: 5x2 float32 (x, y): left eye, right eye, nose, mouth left, mouth right ("left" =
        image left). Not clipped: a landmark of a face cut by the border may lie outside.
    score: O-Net face probability in (thresholds[2], 1].
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    score: float


class FaceDetector:
    """MTCNN on ONNX Runtime. Load once, call `detect(image)` many times, from several threads if need be."""

    def __init__(
        self,
        *,
        pnet: str | os.PathLike[str] | None = None,
        rnet: str | os.PathLike[str] | None = None,
        onet: str | os.PathLike[str] | None = None,
        min_face_size: float = 20.0,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.8),
        scale_factor: float = 0.709,
        threads: int | None = DEFAULT_THREADS,
        neck_check: bool = False,
        min_face_fraction: float = 0.0,
        tight_crop_retry: bool = False,
    ) -> None:
        if not math.isfinite(min_face_size):
            raise ValueError(MIN_FACE_SIZE_NOT_FINITE.format(value=min_face_size))
        if min_face_size < _PNET_CELL:
            raise ValueError(f"min_face_size must be at least {_PNET_CELL} px, got {min_face_size}")
        if not 0 <= min_face_fraction < 1:
            raise ValueError(f"min_face_fraction must be in [0, 1), got {min_face_fraction}")
        if not 0 < scale_factor < 1:
            raise ValueError(f"scale_factor must be in (0, 1), got {scale_factor}")
        if len(thresholds) != 3 or not all(0 <= t < 1 for t in thresholds):
            raise ValueError(f"thresholds must be three probabilities in [0, 1), got {thresholds}")
        folder = models_dir()
        self._pnet = load_session(Path(pnet) if pnet else folder / "mtcnn_pnet.onnx", threads=threads)
        self._rnet = load_session(Path(rnet) if rnet else folder / "mtcnn_rnet.onnx", threads=threads)
        self._onet = load_session(Path(onet) if onet else folder / "mtcnn_onet.onnx", threads=threads)
        self.min_face_size = float(min_face_size)
        self.min_face_fraction = float(min_face_fraction)
        self.thresholds = tuple(float(t) for t in thresholds)
        self.scale_factor = float(scale_factor)
        self.neck_check = neck_check
        self.tight_crop_retry = tight_crop_retry

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        """Faces in `image` (HxWx3 uint8 RGB), best score first; [] when there is none."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"need an HxWx3 uint8 RGB array, got {image.dtype} {image.shape}")
        height, width = image.shape[:2]
        if min(height, width) < _PNET_CELL:
            return []
        faces = self._cascade(image, self._smallest_face(min(height, width)))
        if not faces and self.tight_crop_retry and max(height, width) <= TIGHT_CROP_MAX_ASPECT * min(height, width):
            faces = self._tight_crop(image)
        return faces

    def _cascade(self, image: np.ndarray, smallest_face: float) -> list[DetectedFace]:
        """P-Net, R-Net and O-Net over `image` from faces of `smallest_face` px up; boxes clipped to it."""
        height, width = image.shape[:2]
        boxes = self._propose(image, smallest_face)
        if len(boxes):
            boxes = self._refine(image, boxes)
        if not len(boxes):
            return []
        boxes, landmarks = self._output(image, boxes)
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, width - 1)
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, height - 1)
        faces = [
            DetectedFace(box=(float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])), landmarks=lm,
                         score=float(b[4]))
            for b, lm in zip(boxes, landmarks)
        ]
        if self.neck_check:
            faces = [face for face in faces if not any(on_a_neck(face, other) for other in faces)]
        return faces

    def _tight_crop(self, image: np.ndarray) -> list[DetectedFace]:
        """The faces that fill `image`, found on a padded copy (see TIGHT_CROP_PAD), in `image`'s pixels."""
        height, width = image.shape[:2]
        shrink = min(1.0, TIGHT_CROP_FACE_PX / (TIGHT_CROP_MIN_FACE * min(height, width)))
        if shrink < 1:
            image = cv2.resize(image, (round(width * shrink), round(height * shrink)), interpolation=cv2.INTER_AREA)
        short = min(image.shape[:2])
        pad = round(TIGHT_CROP_PAD * max(image.shape[:2]))
        padded = _padded(image, pad)
        smallest = max(self._smallest_face(short), TIGHT_CROP_MIN_FACE * short)
        faces = []
        for face in self._cascade(padded, smallest):
            if face.score < TIGHT_CROP_MIN_SCORE:
                continue
            x, y, w, h = ((v - pad if i < 2 else v) / shrink for i, v in enumerate(face.box))
            if not (0 <= x + w / 2 < width and 0 <= y + h / 2 < height):
                continue  # a face seen in the padding alone
            x2, y2 = min(x + w, width - 1), min(y + h, height - 1)
            x, y = max(x, 0.0), max(y, 0.0)
            landmarks = ((face.landmarks - pad) / shrink).astype(np.float32)
            faces.append(DetectedFace(box=(x, y, x2 - x, y2 - y), landmarks=landmarks, score=face.score))
        return faces

    def _smallest_face(self, short_side: int) -> float:
        """The smallest face searched for in a photo of this shorter side: min_face_size, or
        min_face_fraction of the side if larger."""
        return max(self.min_face_size, self.min_face_fraction * short_side)

    def pyramid_scales(self, height: int, width: int) -> list[float]:
        """Scales of the image pyramid: 12 / (the smallest face searched for) times scale_factor**k, down to
        a 12 px short side. The smallest face is min_face_size, or min_face_fraction of the short side if larger."""
        return self._scales(min(height, width), self._smallest_face(min(height, width)))

    def _scales(self, short: int, smallest_face: float) -> list[float]:
        first = _PNET_CELL / smallest_face
        if short * first < _PNET_CELL:
            return []
        levels = math.floor(math.log(_PNET_CELL / (short * first)) / math.log(self.scale_factor)) + 1
        return [first * self.scale_factor**k for k in range(levels)]

    def _propose(self, image: np.ndarray, smallest_face: float) -> np.ndarray:
        """P-Net over the pyramid: candidate boxes (x1, y1, x2, y2, score), squared, in input pixels."""
        height, width = image.shape[:2]
        scales = self._scales(min(height, width), smallest_face)
        if not scales:
            return np.zeros((0, 5))
        source = _pyramid_source(image, scales[0])
        per_level = []
        for scale in scales:
            # TF's resize truncates the float target size; cv2's INTER_AREA is the same exact area average.
            size = (int(width * scale), int(height * scale))
            level = cv2.resize(source, size, interpolation=cv2.INTER_AREA)
            reg, prob = self._run_pnet(level)
            boxes = _pnet_boxes(reg[0], prob[0, :, :, 1], scale, self.thresholds[0])
            if len(boxes):
                per_level.append(_boxes.nms(boxes, _NMS_PER_LEVEL))
        if not per_level:
            return np.zeros((0, 5))
        boxes = _boxes.sort_by_score(np.concatenate(per_level))
        return _boxes.square(_boxes.nms(boxes, _NMS_ACROSS_LEVELS))

    def _run_pnet(self, level: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """P-Net's (regression, probability) maps of one level, computed band by band if it is large.

        Output row i reads input rows 2i .. 2i+11 only (3x3 conv, 2x2 pool, two 3x3 convs), so a band
        of an even number of rows starting on an even row gives exactly rows top/2 .. top/2 + rows/2 - 6;
        bands overlap by 10 rows. The last band runs to the bottom edge (up to 1.5 bands), where a
        whole run pads the pooling the same way.
        """
        height, width = level.shape[:2]
        band = max(2 * _PNET_CELL, PNET_BAND_PIXELS // width // 2 * 2)
        if height * width <= PNET_BAND_PIXELS or height <= band + band // 2:
            return tuple(self._pnet.run(None, {"input": level[None]}))
        rows_per_band = band // 2 - 5
        regs, probs = [], []
        top = 0
        while height - top > band + band // 2:
            reg, prob = self._pnet.run(None, {"input": level[None, top:top + band]})
            regs.append(reg[:, :rows_per_band])
            probs.append(prob[:, :rows_per_band])
            top += 2 * rows_per_band
        reg, prob = self._pnet.run(None, {"input": level[None, top:]})
        return np.concatenate([*regs, reg], axis=1), np.concatenate([*probs, prob], axis=1)

    def _refine(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """R-Net rescoring and regression of the proposals, then NMS; squared again for O-Net."""
        reg, prob = self._rnet.run(None, {"input": _boxes.crop_and_resize(image, boxes, 24)})
        boxes = boxes.copy()
        boxes[:, 4] = prob[:, 1]
        boxes = _boxes.refine(boxes, reg)
        boxes = boxes[boxes[:, 4] > self.thresholds[1]]
        if not len(boxes):
            return boxes
        return _boxes.square(_boxes.nms(_boxes.sort_by_score(boxes), _NMS_RNET))

    def _output(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """O-Net: final scores, boxes and the 5 landmarks; NMS by intersection over the smaller box."""
        reg, marks, prob = self._onet.run(None, {"input": _boxes.crop_and_resize(image, boxes, 48)})
        width = boxes[:, 2:3] - boxes[:, 0:1] + 1
        height = boxes[:, 3:4] - boxes[:, 1:2] + 1
        # landmarks are fractions of the input box; the package offsets them by -1 pixel
        xs = width * marks[:, 0:5] + boxes[:, 0:1] - 1
        ys = height * marks[:, 5:10] + boxes[:, 1:2] - 1
        out = boxes.copy()
        out[:, 4] = prob[:, 1]
        out = _boxes.refine(out, reg)
        rows = np.concatenate([out, xs, ys], axis=1)
        rows = rows[rows[:, 4] > self.thresholds[2]]
        rows = _boxes.nms(_boxes.sort_by_score(rows), _NMS_ONET, method="min")
        landmarks = np.stack([rows[:, 5:10], rows[:, 10:15]], axis=2).astype(np.float32)
        return rows[:, :5], landmarks


def _padded(image: np.ndarray, pad: int) -> np.ndarray:
    """`image` with `pad` pixels of its mean colour on every side (see TIGHT_CROP_PAD)."""
    colour = [float(c) for c in image.reshape(-1, 3).mean(axis=0)]
    return cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=colour)


def _pyramid_source(image: np.ndarray, first_scale: float) -> np.ndarray:
    """The normalised float image the pyramid levels are resized from (see FULL_PYRAMID_MAX_PIXELS)."""
    height, width = image.shape[:2]
    if height * width > FULL_PYRAMID_MAX_PIXELS and first_scale < 1:
        size = (int(width * first_scale), int(height * first_scale))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return _boxes.normalise(image)


def _pnet_boxes(reg: np.ndarray, prob: np.ndarray, scale: float, threshold: float) -> np.ndarray:
    """Boxes of the P-Net cells above `threshold` at one pyramid level, best first, in input pixels.

    A cell (iy, ix) covers scaled pixels 2*ix+1 .. 2*ix+12 (the package's convention); the regression
    (fractions of the 11 px cell) is applied in scaled coordinates, then divided by the scale.
    """
    iy, ix = np.nonzero(prob > threshold)
    if not len(iy):
        return np.zeros((0, 5))
    offsets = reg[iy, ix].astype(np.float64)
    x1 = ix * _PNET_STRIDE + 1
    y1 = iy * _PNET_STRIDE + 1
    x2 = ix * _PNET_STRIDE + _PNET_CELL
    y2 = iy * _PNET_STRIDE + _PNET_CELL
    side = _PNET_CELL - 1
    boxes = np.stack(
        [
            (x1 + offsets[:, 0] * side) / scale,
            (y1 + offsets[:, 1] * side) / scale,
            (x2 + offsets[:, 2] * side) / scale,
            (y2 + offsets[:, 3] * side) / scale,
            prob[iy, ix],
        ],
        axis=1,
    )
    return _boxes.sort_by_score(boxes)


def on_a_neck(face: DetectedFace, other: DetectedFace) -> bool:
    """Whether `face` is where `other`'s chin or neck is: its top edge within NECK_GAP of `other`'s
    heights from `other`'s bottom edge, its centre inside `other`'s width, and at most NECK_SIZE of
    `other`'s height."""
    x, y, w, h = face.box
    ox, oy, ow, oh = other.box
    return h <= NECK_SIZE * oh and abs(y - (oy + oh)) <= NECK_GAP * oh and ox <= x + w / 2 <= ox + ow


_DEFAULT: FaceDetector | None = None


def detect_faces(image: np.ndarray) -> list[DetectedFace]:
    """Faces in an HxWx3 uint8 RGB array with the shipped MTCNN and default settings (loaded on first use)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = FaceDetector()
    return _DEFAULT.detect(image)
