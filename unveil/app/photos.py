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
from fer_core.identity import Match
from fer_core.images import pictures_not_read
from fer_core.render import DISPLAY_JPEG_QUALITY, DISPLAY_MAX_SIDE, FaceLike, annotate, display_copy, draw, png_bytes


def names_not_checked(*, store_unlocked: bool, store_exists: bool = True) -> str:
    """Why a photo's faces carry no names: the store is locked, it is open with nobody enrolled, or there is
    none yet (a first run: nothing to unlock)."""
    if store_unlocked:
        return "Names are not checked: nobody is enrolled yet (Family page)."
    if not store_exists:
        return "Names are not checked: there is no family store yet. Create it on the Family page to name members."
    return "Names are not checked: unlock the family store (Family page) to recognise members."


# Said under a face that the family gallery found about as close to two members (fer_core.identity.Gallery's margin),
# which it calls "unknown" rather than pick one: otherwise that "unknown" reads as nobody close, and a household with
# twins enrolled, or one person enrolled twice by an older version (then mostly named as neither: 23 of 32 probes,
# governance.family.LOOKS_ENROLLED), is not told why they are not named. Neither member is named: the nearest is the
# guess the gallery refused to make, so showing it would put on the page a name the face may not have.
NOT_NAMED_AMBIGUOUS = ("Not named: this face is about as close to two members, and a wrong name is worse than none. "
                       "Members who look alike (twins) are often not told apart; if two members are one person "
                       "enrolled twice, erase one of them on the Family page.")


def not_named_why(match: Match | None) -> str | None:
    """NOT_NAMED_AMBIGUOUS for a face the family gallery did not name because it is about as close to two members
    (fer_core.identity.AMBIGUOUS); None for any other face (named, nobody close enough, or no gallery consulted)."""
    return NOT_NAMED_AMBIGUOUS if match is not None and match.ambiguous else None


@dataclass
class PhotoResult:
    """What the Analyze page shows for one photo, kept in the session's memory only.

    data: the photo as uploaded (the session's batch holds these same bytes), None when it could not be read.
        The decoded photo is not kept: a phone's 12 MP photo is 34 MiB decoded against 3-6 MB as a JPEG, and a session
        that kept 200 of them decoded held 6.9 GiB (docs/reports/heavy_use.md). `image` decodes it again when asked.
    faces: the analyzer's faces in reading order (empty for a photo without a face).
    recognition: whether a family gallery named the faces (else identity means nothing).
    error: why the photo could not be read, for the page to show; None when it was analysed.
    view: the picture the page shows (made by `analyze_photo`), JPEG bytes at display size: the photo with its
        faces boxed and numbered, which naming them does not change.
    not_read: what of the file was not analysed (fer_core.images.pictures_not_read: the further pages, frames or
        pictures of a file holding more than one, of which only the first is read), for the page to say; None when
        it holds one picture.
    """

    source: str
    data: bytes | None = field(repr=False)
    faces: list[FaceLike]
    recognition: bool
    error: str | None = None
    view: bytes | None = field(default=None, repr=False)
    not_read: str | None = None

    @property
    def image(self) -> np.ndarray | None:
        """The decoded RGB photo (upright), as the analysis read it; decoded at each call (the full-size PNG, the
        Explain page), None when it could not be read."""
        return None if self.data is None else load_image(self.data)


def analyze_photo(
    data: bytes, source: str, analyze: Callable[[np.ndarray], Sequence[FaceLike]], *, recognition: bool,
    max_side: int = DISPLAY_MAX_SIDE,
) -> PhotoResult:
    """Decode `data` (fer_core.images.load_image: EXIF rotation, odd modes, size limit), analyse it, and make its
    `view` while it is decoded.

    An unreadable photo is not an exception here: the result carries the reason, so one bad file in a
    batch of uploads does not hide the others' results.
    """
    try:
        image = load_image(data)
        left_out = pictures_not_read(data)
    except ImageError as exc:
        return PhotoResult(source, None, [], recognition, error=f"{source} could not be read: {exc.reason}")
    faces = list(analyze(image))
    return PhotoResult(source, data, faces, recognition, view=_view(image, faces, max_side),
                       not_read=None if left_out is None else left_out.note)


def named(result: PhotoResult, gallery: GalleryLike | None) -> PhotoResult:
    """The result of an analysis made without a gallery, with each face matched against `gallery`
    (fer_core.analyzer.identify: the member's id and display name, or "unknown"); `gallery` None gives
    the faces unnamed.

    Naming needs only each face's embedding, so a change of the family gallery (an enrolment, a purge,
    the store locked or unlocked) names the faces again without decoding, searching or drawing the photo again
    (its view shows boxes and numbers, no names)."""
    return replace(result, faces=identify(result.faces, gallery), recognition=gallery is not None)


def _view(image: np.ndarray, faces: Sequence[FaceLike], max_side: int) -> bytes:
    """The photo at display size with every face boxed and numbered (the page lists each face's details beside
    it), at most `max_side` on its longest side frame included, as JPEG bytes. Made once per photo, so a rerun of
    the page sends the same small picture instead of encoding the whole photo again."""
    small, scale = display_copy(image, max_side)
    picture = draw(small, [tuple(v * scale for v in face.box) for face in faces])
    picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)  # the frame adds a few pixels
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=DISPLAY_JPEG_QUALITY)
    return buffer.getvalue()


def annotated_png(result: PhotoResult) -> bytes:
    """The annotated photo at full size as PNG, for its download button: made only when asked for, since
    a 12 MP PNG takes seconds to encode."""
    return png_bytes(annotate(result.image, result.faces, recognition=result.recognition))
