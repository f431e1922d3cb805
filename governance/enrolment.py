"""Enrolment photos, for the app and the command line alike: each photo read and searched for faces
once, the person's face picked in each (never guessed), and the aligned crops that give both the
embeddings and the thumbnails. governance.family.enrol_from_photos stores what comes out of here.

    detector = FaceAnalyzer().detector  # or fer_core.analyzer.default_detector(): the same settings (min face 40 px)
    photos = [read_photo(data, "ana.jpg", detector.detect), ...]
    chosen, left_out = pick_faces(photos, {"group.jpg": 1})  # face 2 of the group photo; notes for the rest

Photos are held in memory only; nothing of them is written anywhere.
"""
from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from fer_core import ImageError, ImageSource, UnveilError, load_image
from fer_core.analyzer import reading_order
from fer_core.images import FRAMES_ON_THE_VIDEO_PAGE, pictures_not_read

# Why a photo is left out of an enrolment, shown before and after it.
LEFT_OUT_UNREADABLE = "{label} could not be read ({reason}): it is not used."


LEFT_OUT_NO_FACE = "{label}: no face found, so it is not used."


LEFT_OUT_NOT_PICKED = "{label}: {count} faces and none picked, so it is not used."


# Said of a photo whose file holds several pictures (an animated GIF or WebP from a messaging app, a multi-page
# TIFF): the member is enrolled from its first, which is all load_image reads. The note is the Analyze page's
# (fer_core.images.pictures_not_read) without its pointer to the Video page, which enrols no one.
FIRST_PICTURE_ONLY = "{label}: {note}."


NO_FACE_TO_ENROL = ("None of the photos gives a face to enrol: add a photo showing the person's face, or pick "
                    "their face in a photo with several.")


# The side of a stored thumbnail in pixels: enough to recognise a face in the member list, no more.
THUMBNAIL_SIDE = 96


THUMBNAIL_JPEG_QUALITY = 85
# The JPEG comment's key for where the aligned face's landmarks lie in a thumbnail.
ALIGNMENT_KEY = "unveil_alignment_landmarks"


class NoFaceToEnrolError(UnveilError, ValueError):
    """No photo of an enrolment gives a face (NO_FACE_TO_ENROL); nothing was stored. `left_out` holds
    the note on each photo (LEFT_OUT_*), so the user can replace them all in one go."""

    def __init__(self, left_out: Sequence[str]) -> None:
        self.left_out = list(left_out)
        super().__init__(NO_FACE_TO_ENROL)


@dataclass(frozen=True)
class EnrolmentPhoto:
    """One enrolment photo as read and searched for faces, before anything is stored.

    image: the decoded RGB photo, None when it could not be read (then `error` says why).
    faces: the detector's faces (fer_core.detection.DetectedFace: box (x, y, w, h) and landmarks) in reading
    order (fer_core.analyzer.reading_order: rows top to bottom, each left to right), so that "face N" is the face
    numbered N in the picture the user picks from, and the face `unveil analyze` and the Analyze page number N.
    not_read: what of its file is not used when it holds several pictures (the note of
    fer_core.images.pictures_not_read), None when it holds one."""

    label: str
    image: np.ndarray | None
    faces: list[Any]
    error: str | None = None
    not_read: str | None = None

    @property
    def boxes(self) -> list[tuple[float, float, float, float]]:
        """The faces' (x, y, w, h) boxes, for drawing them numbered."""
        return [face.box for face in self.faces]


def read_photo(data: ImageSource, label: str, detect: Callable[[np.ndarray], Sequence[Any]]) -> EnrolmentPhoto:
    """Decode an enrolment photo and find its faces, once (`detect`: the analyzer's detector, or one with
    its settings, fer_core.analyzer.default_detector, so that every front end accepts and refuses the
    same photos). An unreadable one carries the reason instead of raising, so the other photos are still
    used. A file of several pictures gives its first, saying so in `not_read`."""
    try:
        image = load_image(data)
        # Files only: an array is one picture, and a stream is read once, by load_image.
        a_file = isinstance(data, (str, os.PathLike, bytes, bytearray, memoryview))
        left_out = pictures_not_read(data) if a_file else None
    except ImageError as exc:
        return EnrolmentPhoto(label, None, [], error=exc.reason)
    not_read = None if left_out is None else left_out.note.removesuffix(FRAMES_ON_THE_VIDEO_PAGE)
    return EnrolmentPhoto(label, image, reading_order(list(detect(image))), not_read=not_read)


def first_picture_note(photo: EnrolmentPhoto) -> str | None:
    """That only the first picture of `photo`'s file is used (FIRST_PICTURE_ONLY), or None when it holds one: said
    beside the photo, whether it gives a face or not, as the notes on photos left out are."""
    return None if photo.not_read is None else FIRST_PICTURE_ONLY.format(label=photo.label, note=photo.not_read)


def left_out_note(photo: EnrolmentPhoto, pick: int | None = None) -> str | None:
    """Why this photo is left out of the enrolment (unreadable, no face, or several faces and none
    picked), or None when it gives a face."""
    if photo.image is None:
        return LEFT_OUT_UNREADABLE.format(label=photo.label, reason=photo.error)
    if not photo.faces:
        return LEFT_OUT_NO_FACE.format(label=photo.label)
    if len(photo.faces) > 1 and not (pick is not None and 0 <= pick < len(photo.faces)):
        return LEFT_OUT_NOT_PICKED.format(label=photo.label, count=len(photo.faces))
    return None


def pick_faces(
    photos: Sequence[EnrolmentPhoto], picks: Mapping[str, int | None] | None = None
) -> tuple[list[tuple[np.ndarray, Any]], list[str]]:
    """The (photo, face) pairs to enrol, and a note for every photo left out.

    A photo with one face gives that face. A photo with several gives only the face the user picked
    (`picks`: label -> face index, None to leave it out): guessing could enrol a bystander, who would
    later be named as family. Unreadable photos and photos without a face are left out."""
    picks = picks or {}
    chosen, left_out = [], []
    for photo in photos:
        pick = picks.get(photo.label)
        note = left_out_note(photo, pick)
        if note is not None:
            left_out.append(note)
        else:
            chosen.append((photo.image, photo.faces[0] if len(photo.faces) == 1 else photo.faces[pick]))
    return chosen, left_out


def aligned_faces(chosen: Sequence[tuple[np.ndarray, Any]], model: Any) -> np.ndarray:
    """The chosen faces aligned as the identity model expects (n, h, w, 3) uint8: the one crop of each
    face that gives its embedding and, when consented to, its thumbnail."""
    return np.stack([model.align(image, face.landmarks) for image, face in chosen])


def thumbnails(crops: np.ndarray, *, template: np.ndarray, side: int = THUMBNAIL_SIDE) -> list[bytes]:
    """Small JPEGs of aligned face crops: what the store keeps, encrypted, when the consent's scope
    includes thumbnails. Each records, in its JPEG comment, where the identity model's `template` (the
    five landmarks in crop pixels) lies in the thumbnail, so that another model can take the face from
    it later (`thumbnail_landmarks`; family.reembed_from_thumbnails) without detecting it again."""
    scale = side / crops.shape[2]
    comment = json.dumps({ALIGNMENT_KEY: np.round(np.asarray(template, np.float64) * scale, 3).tolist()})
    out = []
    for crop in crops:
        buffer = io.BytesIO()
        Image.fromarray(crop).resize((side, side), Image.Resampling.LANCZOS).save(
            buffer, format="JPEG", quality=THUMBNAIL_JPEG_QUALITY, comment=comment.encode())
        out.append(buffer.getvalue())
    return out


def thumbnail_landmarks(jpeg: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """(the thumbnail as HxWx3 uint8 RGB, its five landmarks 5x2) from a thumbnail `thumbnails` made;
    None for one that records no alignment (made before thumbnails recorded it) or cannot be read."""
    try:
        with Image.open(io.BytesIO(jpeg)) as image:
            landmarks = json.loads(image.info.get("comment", b"{}")).get(ALIGNMENT_KEY)
            pixels = np.asarray(image.convert("RGB"))
    except (OSError, ValueError, AttributeError):
        return None
    points = np.asarray(landmarks if landmarks is not None else [], dtype=np.float32)
    return (pixels, points) if points.shape == (5, 2) else None
