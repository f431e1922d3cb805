"""The Family page's enrolment form, without Streamlit: reading the photos, which face of each to
enrol, and the consent record the form describes.
"""
from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import numpy as np
from PIL import Image

from fer_core import ImageError, load_image


@dataclass(frozen=True)
class EnrolmentPhoto:
    """One enrolment photo as read and searched for faces, before anything is stored.

    image: the decoded RGB photo, None when it could not be read (then `error` says why).
    faces: the detector's faces (fer_core.detection.DetectedFace: box as x1, y1, x2, y2, and landmarks),
    left to right, so "face 1" is the leftmost one in the picture the page shows."""

    label: str
    image: np.ndarray | None
    faces: list[Any]
    error: str | None = None

    @property
    def boxes(self) -> list[tuple[float, float, float, float]]:
        """The faces' boxes as (x, y, w, h), for drawing."""
        return [(x1, y1, x2 - x1, y2 - y1) for x1, y1, x2, y2 in (face.box for face in self.faces)]


def read_enrolment_photo(data: bytes, label: str, detect: Callable[[np.ndarray], Sequence[Any]]) -> EnrolmentPhoto:
    """Decode an enrolment photo and find its faces (`detect`: e.g. FaceDetector.detect). An unreadable
    one carries the reason instead of raising, so the other photos of the enrolment are still used."""
    try:
        image = load_image(data)
    except ImageError as exc:
        return EnrolmentPhoto(label, None, [], error=exc.reason)
    return EnrolmentPhoto(label, image, sorted(detect(image), key=lambda face: face.box[0]))


# Why a photo is left out of an enrolment, shown before and after it.
LEFT_OUT_UNREADABLE = "{label} could not be read ({reason}): it is not used."


LEFT_OUT_NO_FACE = "{label}: no face found, so it is not used."


LEFT_OUT_NOT_PICKED = "{label}: {count} faces and none picked, so it is not used."


NO_FACE_TO_ENROL = ("None of the photos gives a face to enrol: add a photo showing the person's face, or pick "
                    "their face in a photo with several.")


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


def enrolment_faces(
    photos: Sequence[EnrolmentPhoto], picks: Mapping[str, int | None]
) -> tuple[list[tuple[np.ndarray, Any]], list[str]]:
    """The (photo, face) pairs to enrol, and a note for every photo left out.

    A photo with one face gives that face. A photo with several gives only the face the user picked
    (`picks`: label -> face index, None to leave it out): guessing could enrol a bystander, who would
    later be named as family. Unreadable photos and photos without a face are left out."""
    chosen, left_out = [], []
    for photo in photos:
        pick = picks.get(photo.label)
        note = left_out_note(photo, pick)
        if note is not None:
            left_out.append(note)
        else:
            chosen.append((photo.image, photo.faces[0] if len(photo.faces) == 1 else photo.faces[pick]))
    return chosen, left_out


def embed_faces(chosen: Sequence[tuple[np.ndarray, Any]], model: Any) -> np.ndarray:
    """Identity embeddings (n, d) of the chosen faces, aligned as the identity model expects."""
    return model.embed(np.stack([model.align(image, face.landmarks) for image, face in chosen]))


def face_thumbnails(chosen: Sequence[tuple[np.ndarray, Any]], model: Any, *, size: int = 96) -> list[bytes]:
    """Small JPEG crops of the chosen faces, aligned like the identity model sees them: what the store
    keeps, encrypted, when the consent's scope includes thumbnails."""
    thumbnails = []
    for image, face in chosen:
        crop = Image.fromarray(model.align(image, face.landmarks)).resize((size, size), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        crop.save(buffer, format="JPEG", quality=85)
        thumbnails.append(buffer.getvalue())
    return thumbnails


def consent_from_form(
    *, name: str, given_by: str, guardian: bool, child: bool, purpose: str, scope: str, expires_on: date,
    now: datetime,
) -> Any:
    """The ConsentRecord the Family page's form describes, given now: by the person themself, or by
    `given_by` as their guardian.

    The consent lasts to the end of `expires_on` (UTC): a person picks a day, not an instant. The
    record is not validated here; governance.family.enroll validates it and refuses it with a message
    that says what is missing."""
    from governance.consent import ConsentRecord

    return ConsentRecord(subject=name.strip(), given_by=given_by.strip() if guardian else name.strip(),
                         relation="guardian" if guardian else "self", purpose=purpose.strip(), scope=scope,
                         given_at=now, expires_at=datetime.combine(expires_on, time.max, tzinfo=UTC),
                         subject_is_child=child)
