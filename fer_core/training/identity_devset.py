"""The development face set (../shared/data/faces): its manifest, each photo's labelled face, embedded once
(benchmarks/calibrate_identity.py, bench_identity.py, compare_identity_models.py and the identity tests).

Each LFW photo is labelled with the person whose face is at its centre (LFW crops are centred on
that face); other faces in the frame are bystanders. So each photo contributes the detected face
nearest the image centre.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from fer_core.detection import DetectedFace, FaceDetector
from fer_core.identity import EmbeddingModel

FACES_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "faces"  # beside the checkout
# <Name>_0001..0004 enrol, 0005..0008 probe: the threshold is calibrated on enrolment photos only, and the
# benchmark reports on probes it never saw.
ENROL_INDICES = (1, 2, 3, 4)


@dataclass(frozen=True)
class FacePhoto:
    path: Path
    person: str  # "" for the unknown people
    role: str  # "enrolled" or "unknown"
    index: int  # N in <Name>_000N.jpg

    @property
    def is_enrolment(self) -> bool:
        return self.role == "enrolled" and self.index in ENROL_INDICES

    @property
    def is_probe(self) -> bool:
        return not self.is_enrolment


def load_manifest(faces_dir: Path = FACES_DIR) -> list[FacePhoto]:
    with open(faces_dir / "manifest.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        FacePhoto(
            path=faces_dir / row["path"],
            person=row["person"] if row["role"] == "enrolled" else "",
            role=row["role"],
            index=int(Path(row["path"]).stem.rsplit("_", 1)[1]),
        )
        for row in rows
    ]


def read_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def centre_face(faces: list[DetectedFace], shape: tuple[int, ...]) -> DetectedFace | None:
    """The detected face whose box centre is nearest the image centre (LFW's labelled face)."""
    if not faces:
        return None
    height, width = shape[:2]

    def offset(face: DetectedFace) -> float:
        x, y, w, h = face.box
        return (x + w / 2 - width / 2) ** 2 + (y + h / 2 - height / 2) ** 2

    return min(faces, key=offset)


def detect_landmarks(photos: list[FacePhoto], detector: FaceDetector) -> list[np.ndarray | None]:
    """The 5 landmarks of each photo's centre face (LFW's labelled one), None where no face is found."""
    landmarks = []
    for photo in photos:
        image = read_rgb(photo.path)
        face = centre_face(detector.detect(image), image.shape)
        landmarks.append(None if face is None else face.landmarks)
    return landmarks


def embed_photos(
    photos: list[FacePhoto], model: EmbeddingModel, detector: FaceDetector
) -> tuple[np.ndarray, list[FacePhoto], list[FacePhoto]]:
    """Embeddings of the centre face of each photo, the photos embedded, and those with no face found."""
    crops, kept, missed = [], [], []
    for photo in photos:
        image = read_rgb(photo.path)
        face = centre_face(detector.detect(image), image.shape)
        if face is None:
            missed.append(photo)
            continue
        crops.append(model.align(image, face.landmarks))
        kept.append(photo)
    embeddings = model.embed(np.stack(crops))
    return embeddings, kept, missed


def people_embeddings(embeddings: np.ndarray, photos: list[FacePhoto]) -> dict[str, np.ndarray]:
    """{person: embeddings of their enrolment photos} for the enrolled people."""
    people: dict[str, list[np.ndarray]] = {}
    for embedding, photo in zip(embeddings, photos):
        if photo.is_enrolment:
            people.setdefault(photo.person, []).append(embedding)
    return {name: np.stack(rows) for name, rows in sorted(people.items())}
