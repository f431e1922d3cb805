"""The Analyze page's work on one photo, start to finish: decode, analyse, name the faces with the
family gallery, and the small picture the page shows. Plain functions, tested without Streamlit.

Photos are handled as bytes and arrays in memory; nothing here writes them to disk.
"""
from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image

from fer_core import ImageError, load_image
from fer_core.analyzer import GalleryLike, identify
from fer_core.render import DISPLAY_JPEG_QUALITY, DISPLAY_MAX_SIDE, FaceLike, annotate, display_copy, draw, png_bytes


def names_not_checked(*, store_unlocked: bool, store_exists: bool = True) -> str:
    """Why a photo's faces carry no names: the store is locked, it is open with nobody enrolled, or there is
    none yet (a first run: nothing to unlock)."""
    if store_unlocked:
        return "Names are not checked: nobody is enrolled yet (Family page)."
    if not store_exists:
        return "Names are not checked: there is no family store yet. Create it on the Family page to name members."
    return "Names are not checked: unlock the family store (Family page) to recognise members."


@dataclass
class PhotoResult:
    """What the Analyze page shows for one photo, kept in the session's memory only.

    image: the decoded RGB photo (upright), None when it could not be read.
    faces: the analyzer's faces in reading order (empty for a photo without a face).
    recognition: whether a family gallery named the faces (else identity means nothing).
    error: why the photo could not be read, for the page to show; None when it was analysed.
    view: the picture the page shows (see `with_view`), JPEG bytes at display size; None until made.
    """

    source: str
    image: np.ndarray | None
    faces: list[FaceLike]
    recognition: bool
    error: str | None = None
    view: bytes | None = field(default=None, repr=False)


def analyze_photo(
    data: bytes, source: str, analyze: Callable[[np.ndarray], Sequence[FaceLike]], *, recognition: bool
) -> PhotoResult:
    """Decode `data` (fer_core.images.load_image: EXIF rotation, odd modes, size limit) and analyse it.

    An unreadable photo is not an exception here: the result carries the reason, so one bad file in a
    batch of uploads does not hide the others' results.
    """
    try:
        image = load_image(data)
    except ImageError as exc:
        return PhotoResult(source, None, [], recognition, error=f"{source} could not be read: {exc.reason}")
    return PhotoResult(source, image, list(analyze(image)), recognition)


def named(result: PhotoResult, gallery: GalleryLike | None) -> PhotoResult:
    """The result of an analysis made without a gallery, with each face matched against `gallery`
    (fer_core.analyzer.identify: the member's id and display name, or "unknown"); `gallery` None gives
    the faces unnamed.

    Naming needs only each face's embedding, so a change of the family gallery (an enrolment, a purge,
    the store locked or unlocked) names the faces again without decoding or searching the photo again."""
    return replace(result, faces=identify(result.faces, gallery), recognition=gallery is not None, view=None)


def with_view(result: PhotoResult, max_side: int = DISPLAY_MAX_SIDE) -> PhotoResult:
    """The result with its `view`: the photo at display size with every face boxed and numbered (the
    page lists each face's details beside it), at most `max_side` on its longest side frame included,
    as JPEG bytes. Made once per result, so a rerun of the page sends the same small picture instead of
    encoding the whole photo again."""
    if result.image is None:
        return result
    small, scale = display_copy(result.image, max_side)
    picture = draw(small, [tuple(v * scale for v in face.box) for face in result.faces])
    picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)  # the frame adds a few pixels
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=DISPLAY_JPEG_QUALITY)
    return replace(result, view=buffer.getvalue())


def annotated_png(result: PhotoResult) -> bytes:
    """The annotated photo at full size as PNG, for its download button: made only when asked for, since
    a 12 MP PNG takes seconds to encode."""
    return png_bytes(annotate(result.image, result.faces, recognition=result.recognition))
