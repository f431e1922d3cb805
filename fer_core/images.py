"""Reading any photo a household may have into one form: an HxWx3 uint8 RGB numpy array.

`load_image` accepts a path, bytes, a binary file object, a PIL image or a numpy array. It applies
the EXIF orientation (phones store portraits sideways plus a rotation tag), flattens transparency
onto white, converts paletted/CMYK/grayscale/16-bit images, refuses images above a pixel budget before
decoding them (decompression bombs: a few KB of PNG can expand to gigabytes), and turns every
decoding failure into an ImageError that says which input and what is wrong with it.

Besides Pillow's own formats it reads HEIC/HEIF, the default of iPhones since iOS 11 and of many other
phones, through pillow-heif (libheif and libde265), registered here once for every reader of photos;
AVIF is Pillow's own (libavif with dav1d in its wheels since 11.3). A HEIF file carries its rotation
and mirroring as properties of the image (irot, imir) that libheif applies as it decodes, and pillow-heif
sets the file's EXIF orientation to 1, so an iPhone photo that has both is turned once, not twice; 10- and
12-bit HEIF photos are read as 8 bits per channel.

Of a file holding more than one picture (a multi-page TIFF, an animation, a multi-picture JPEG) load_image reads the
first; `pictures_not_read` says what it leaves out, for the front ends to say so.
"""
from __future__ import annotations

import io
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError
from pillow_heif import register_heif_opener

from fer_core._errors import ImageError, ImageTooLargeError

# HEIC/HEIF through libheif. Depth maps, auxiliary images (an iPhone's portrait mattes) and thumbnails inside
# the file are never needed here: without them pillow-heif neither lists nor reads them.
register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)

# Largest accepted image, in pixels. 50 MP is above the default output of current phone and
# consumer cameras (12-50 MP); detection then needs about 4 bytes x 3 channels per pixel transiently.
MAX_PIXELS = 50_000_000

# Transparent pixels are composited onto white, the usual "paper" behind a cut-out photo.
_BACKGROUND = (255, 255, 255)
# Rows copied at a time from a decoded image into the array. np.asarray(image) would go through
# Pillow's tobytes(), which holds the pixels twice more (its encoded chunks and their join) on top of
# the decoded image (290 MB more for a 48 MP photo), and turning it upright another copy; a band of
# 256 rows is a few MB.
_BAND_ROWS = 256
# The EXIF orientation tag and, per value, how the stored pixels become upright (numpy on rows, columns).
_ORIENTATION_TAG = 0x0112
# TIFF's PhotometricInterpretation and its value WhiteIsZero: 0 is white, the largest value black (some scanners
# write grey scans so). Pillow turns 1- to 8-bit grey the right way round as it decodes, but hands 16-bit and float
# grey over as stored, a negative.
_PHOTOMETRIC_TAG = 262
_WHITE_IS_ZERO = 0
_ORIENT = {
    1: lambda a: a,  # stored upright
    2: lambda a: a[:, ::-1],  # mirrored left-right
    3: lambda a: a[::-1, ::-1],  # upside down
    4: lambda a: a[::-1],  # mirrored top-bottom
    5: lambda a: a.swapaxes(0, 1),  # mirrored along the main diagonal
    6: lambda a: np.rot90(a, k=-1),  # stored on its left side: turn clockwise (phone portraits)
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),  # mirrored along the other diagonal
    8: lambda a: np.rot90(a, k=1),  # stored on its right side: turn anticlockwise
}

NOT_AN_IMAGE = "not an image, or its header is corrupt (format not recognised)"
# Why a file could not be read, when Pillow's own words are the best reason there is.
CANNOT_BE_READ = "cannot be read ({reason})"
TRUNCATED = "truncated (the file ends before the image data does)"
CORRUPT = "corrupt image data ({reason})"
# What load_image leaves out of a file holding more than one picture (it reads the first), said beside that photo's
# results by every front end (the Analyze page, the API's "not_read", unveil analyze's list of photos read with a
# problem): a household that uploads an animation of the family would otherwise take its first frame's faces for all
# of it. PAGES: a multi-page TIFF (a scan's pages); FRAMES: an animated GIF, WebP or PNG; PICTURES: a multi-picture
# JPEG (MPO), whose further pictures are mostly a depth map, an HDR gain map or a second view of the same scene (one
# that is the first picture again, smaller, is not counted: see _SAME_PICTURE_MP_TYPES).
PAGES, FRAMES, PICTURES = "pages", "frames", "pictures"
PAGES_NOT_READ = "only page 1 of its {count} pages was analysed"
FRAMES_NOT_READ = "only frame 1 of its {count} frames was analysed"
# Added for the animations the app's Video page takes (fer_core.video.ANIMATION_SUFFIXES): OpenCV's FFmpeg reads
# them as videos, each frame at its time.
FRAMES_ON_THE_VIDEO_PAGE = "; the app's Video page analyses the whole animation as a video"
PICTURES_NOT_READ = ("only the first of its {count} pictures was analysed (the others of a multi-picture JPEG are "
                     "usually a depth map, an HDR gain map or another view of the same scene)")
# A file whose first picture reads but whose further ones cannot be counted (a multi-page TIFF cut short: Pillow's
# n_frames raises on the first damaged page): the picture read is analysed, and the rest said to be unreadable.
REST_NOT_READ = "only its first picture was analysed: the rest of the file could not be read"
# Pillow's format names, each with what its further frames are. Formats not listed have one picture a file.
MULTI_PICTURE_FORMATS = {"TIFF": PAGES, "GIF": FRAMES, "WEBP": FRAMES, "PNG": FRAMES, "MPO": PICTURES}
# Animations the Video page reads as videos (the formats of fer_core.video.ANIMATION_SUFFIXES).
VIDEO_PAGE_FORMATS = frozenset({"GIF", "WEBP"})
# An MPO picture of these types is the first picture again, smaller (the preview cameras store beside the photo,
# CIPA DC-007): nothing is left out. Pillow opens every such camera JPEG as MPO.
_SAME_PICTURE_MP_TYPES = frozenset({"Large Thumbnail (VGA Equivalent)", "Large Thumbnail (Full HD Equivalent)"})
# Formats never read, whatever the file's name says. Pillow renders EPS by running Ghostscript, an external
# PostScript interpreter, on the file (and writing its output to a temporary file): a file named holiday.jpg that is
# PostScript would be run. No household photo is EPS.
REFUSED_FORMATS = frozenset({"EPS"})
# Formats tried after every other. pillow-heif claims any file of the HEIF family by its brand, AVIF ones that
# are branded "mif1" first included, and its wheels hold no AV1 decoder: Pillow's AVIF plugin tries first.
LAST_FORMATS = ("HEIF",)
# File name endings of the photo formats read here, for the CLI's folder search and the app's uploaders (a
# file named explicitly is read whatever its name). .hif: HEIF from Canon and Fujifilm cameras.
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".hif", ".avif", ".bmp", ".gif", ".tif",
                  ".tiff")

ImageSource = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO | Image.Image | np.ndarray


def load_image(source: ImageSource, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """`source` as a C-contiguous HxWx3 uint8 RGB array, upright per its EXIF orientation.

    Raises ImageError (a ValueError) naming the input when it is missing, empty, not an image,
    truncated, corrupt, larger than `max_pixels`, or an array of an unsupported shape or dtype.
    """
    if isinstance(source, np.ndarray):
        return _from_array(source, max_pixels)
    if isinstance(source, Image.Image):
        _check_size(source.width, source.height, "image", max_pixels)
        _load_pixels(source, "image", max_pixels)  # a lazily opened PIL image decodes here
        return _from_pil(source, "image", max_pixels)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = path.name or str(path)
        if not path.is_file():
            raise ImageError("no such file", source=label)
        if path.stat().st_size == 0:
            raise ImageError("empty file", source=label)
        try:
            # _decode turns every OSError of decoding into an ImageError: what is caught here is open()'s
            with open(path, "rb") as stream:
                return _decode(stream, label, max_pixels)
        except OSError as exc:  # permissions, a file vanished meanwhile, ...
            raise ImageError(f"cannot be opened ({exc.strerror or exc})", source=label) from None
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise ImageError("empty", source="image bytes")
        return _decode(io.BytesIO(source), "image bytes", max_pixels)
    if hasattr(source, "read"):
        label = Path(getattr(source, "name", "") or "").name or "image stream"
        data = source.read()
        if not isinstance(data, (bytes, bytearray)):
            raise ImageError(f"a binary stream is needed (opened with 'rb'), got {type(data).__name__}", source=label)
        if len(data) == 0:
            raise ImageError("empty", source=label)
        return _decode(io.BytesIO(data), label, max_pixels)
    raise ImageError(
        f"cannot read an image from {type(source).__name__}: "
        "pass a path, bytes, a binary file, a PIL image or a numpy array"
    )


@dataclass(frozen=True)
class NotRead:
    """The pictures of a file that load_image leaves out: it reads the first of `count`.

    kind: PAGES, FRAMES or PICTURES (see MULTI_PICTURE_FORMATS).
    count: None when the pictures after the first cannot be read to be counted (REST_NOT_READ).
    note: what the front ends say beside the photo's results (PAGES_NOT_READ, FRAMES_NOT_READ, PICTURES_NOT_READ,
        REST_NOT_READ).
    """

    kind: str
    count: int | None
    note: str


def pictures_not_read(source: str | os.PathLike[str] | bytes | bytearray | memoryview) -> NotRead | None:
    """What load_image leaves out of the image file at `source` (a path, or the file's bytes): None when it holds
    one picture.

    Reads the file's headers only (a GIF's frames are skipped, not decoded). ImageError when it cannot be opened
    as an image; damage after its first picture is REST_NOT_READ, not an error (load_image reads that picture).
    """
    on_disk = isinstance(source, (str, os.PathLike))
    label = Path(source).name if on_disk else "image bytes"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # no pixel is decoded here
            image = Image.open(source if on_disk else io.BytesIO(source), formats=_readable_formats())
    except UnidentifiedImageError:
        raise ImageError(NOT_AN_IMAGE, source=label) from None
    except MemoryError:
        raise
    except Exception as exc:  # see _decode: whatever a broken header makes a plugin raise
        raise ImageError(CANNOT_BE_READ.format(reason=exc), source=label) from None
    with image:
        kind = MULTI_PICTURE_FORMATS.get(image.format or "")
        if kind is None:
            return None
        video_page = image.format in VIDEO_PAGE_FORMATS
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Pillow's words on a damaged page: REST_NOT_READ says it
                count = _picture_count(image, kind)
        except MemoryError:
            raise
        except Exception:  # as above, whatever a damaged later page or frame makes a plugin raise
            return NotRead(kind, None, REST_NOT_READ)
    if count < 2:
        return None
    note = {PAGES: PAGES_NOT_READ, FRAMES: FRAMES_NOT_READ, PICTURES: PICTURES_NOT_READ}[kind].format(count=count)
    return NotRead(kind, count, note + FRAMES_ON_THE_VIDEO_PAGE if video_page else note)


def _picture_count(image: Image.Image, kind: str) -> int:
    if kind == PICTURES:
        entries = (getattr(image, "mpinfo", None) or {}).get(0xB002) or []
        return sum(entry["Attribute"]["MPType"] not in _SAME_PICTURE_MP_TYPES for entry in entries)
    return int(getattr(image, "n_frames", 1))


def _decode(stream: BinaryIO, label: str, max_pixels: int) -> np.ndarray:
    with warnings.catch_warnings():
        # Pillow only warns between its own limit and twice that; treat the warning as the error it is.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with warnings.catch_warnings():
                # ...except while opening, which decodes no pixel: _check_size below then refuses the image naming
                # its size (a scan of an 8x10 print at 1200 dpi, 115 MP, lies there; past twice Pillow's limit
                # Pillow raises, and the size is not named).
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image = Image.open(stream, formats=_readable_formats())
        except UnidentifiedImageError:
            raise ImageError(NOT_AN_IMAGE, source=label) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageTooLargeError(f"too large (more than {max_pixels:,} pixels)", source=label) from None
        except MemoryError:
            raise
        except Exception as exc:
            # Pillow's plugins raise whatever a broken header trips: OSError, EOFError, ValueError (metadata it
            # refuses, e.g. a PNG text chunk that inflates past its 1 MB limit), NotImplementedError (a DDS
            # pixel format it does not know), ...
            raise ImageError(CANNOT_BE_READ.format(reason=exc), source=label) from None
        with image:
            # The header gives the size before any pixel is decoded: refuse bombs without decoding them.
            _check_size(image.width, image.height, label, max_pixels)
            _load_pixels(image, label, max_pixels)
            return _from_pil(image, label, max_pixels)


def _readable_formats() -> list[str]:
    """Every format Pillow can open, plugins registered since included, less REFUSED_FORMATS; LAST_FORMATS last."""
    Image.init()  # registers every plugin (once); Image.ID then lists them
    readable = [name for name in Image.ID if name not in REFUSED_FORMATS]
    return [name for name in readable if name not in LAST_FORMATS] + [name for name in readable if name in LAST_FORMATS]


def _load_pixels(image: Image.Image, label: str, max_pixels: int) -> None:
    try:
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # A picture inside the file larger than its header says (an ICNS icon holding a bigger PNG): Pillow
        # checks that picture's size only now, before decoding it.
        raise ImageTooLargeError(f"too large (more than {max_pixels:,} pixels)", source=label) from None
    except OSError as exc:
        if "truncated" in str(exc).lower():
            raise ImageError(TRUNCATED, source=label) from None
        raise ImageError(CORRUPT.format(reason=exc), source=label) from None
    except MemoryError:
        raise
    except Exception as exc:
        # Pillow's plugins raise whatever broken data trips: SyntaxError, ValueError, EOFError, TypeError (an
        # IM header's size of ".8*8"), ...
        reason = str(exc).strip()
        if "unexpected end of file" in reason.lower():  # libheif's words for a HEIF file cut short
            raise ImageError(TRUNCATED, source=label) from None
        raise ImageError(CORRUPT.format(reason=reason), source=label) from None


def _from_pil(image: Image.Image, label: str, max_pixels: int) -> np.ndarray:
    _check_size(image.width, image.height, label, max_pixels)
    return _rgb(image, _orientation(image, label))


def _orientation(image: Image.Image, label: str) -> int:
    try:
        orientation = int(image.getexif().get(_ORIENTATION_TAG, 1))
    except Exception as exc:
        warnings.warn(f"{label}: ignoring unreadable EXIF orientation ({exc})", stacklevel=4)
        return 1
    return orientation if orientation in _ORIENT else 1


def _rgb(image: Image.Image, orientation: int) -> np.ndarray:
    """The pixels as a C-contiguous HxWx3 uint8 RGB array, turned upright per `orientation`."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit grayscale (PNG/TIFF): keep the top 8 bits; Pillow's convert("L") would clip instead. A band at a
        # time, as RGB images: a grey scan of tens of megapixels widened whole took 900 MiB at 48 MP.
        negative = _white_is_zero(image)

        def top_byte(band: np.ndarray) -> np.ndarray:
            gray = (np.clip(band, 0, 65535) >> 8).astype(np.uint8)
            return _gray_to_rgb(255 - gray if negative else gray)

        return _upright_copy(image, orientation, top_byte)
    if mode == "F":
        # 32-bit float grayscale (TIFF) has no fixed scale: scientific and HDR tools write 0-1, others 0-255. A
        # file whose values all lie within 0-1 is read as 0-1 (in 0-255 it would be black to the eye too).
        values = np.asarray(image, dtype=np.float64)
        finite = values[np.isfinite(values)]
        top = 1.0 if finite.size == 0 or finite.max() <= 1.0 else 255.0  # the scale, read from the finite values
        values = np.nan_to_num(values, nan=0.0, posinf=top, neginf=0.0) * (255.0 / top)
        gray = np.clip(np.rint(values), 0, 255).astype(np.uint8)
        gray = 255 - gray if _white_is_zero(image) else gray
        return np.ascontiguousarray(_ORIENT[orientation](_gray_to_rgb(gray)))
    if mode == "La":
        # Premultiplied alpha: Pillow converts La to LA (undoing the premultiplication) and to nothing else.
        image, mode = image.convert("LA"), "LA"
    # A PNG's tRNS chunk makes one colour clear in a grey or RGB image as in a paletted one: a PNG optimiser may
    # store a cut-out whose pixels are each fully opaque or fully clear so, its clear pixels often black.
    if mode in ("RGBA", "LA", "PA", "RGBa") or (mode in ("L", "P", "RGB") and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _BACKGROUND + (255,))
        image = Image.alpha_composite(background, rgba)
    if image.mode != "RGB":
        image = image.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB, HSV, and the flattened RGBA
    return _upright_copy(image, orientation)


def _white_is_zero(image: Image.Image) -> bool:
    """Whether `image` is a TIFF stored WhiteIsZero (see _WHITE_IS_ZERO)."""
    tags = getattr(image, "tag_v2", None)  # a TIFF's tags; other formats have none
    return tags is not None and tags.get(_PHOTOMETRIC_TAG) == _WHITE_IS_ZERO


def _upright_copy(image: Image.Image, orientation: int,
                  rgb: Callable[[np.ndarray], np.ndarray] = np.asarray) -> np.ndarray:
    """An image copied into a new RGB array a band of rows at a time, each band made RGB by `rgb` (from the band's
    pixels as numpy reads them) and turned as it is placed: the whole photo is never held twice besides Pillow's
    decoded image."""
    width, height = image.size
    sideways = orientation in (5, 6, 7, 8)  # stored rows become columns
    from_the_end = orientation in (3, 4, 6, 7)  # the first stored row lands last
    out = np.empty((width, height, 3) if sideways else (height, width, 3), dtype=np.uint8)
    for top in range(0, height, _BAND_ROWS):
        bottom = min(top + _BAND_ROWS, height)
        band = _ORIENT[orientation](rgb(np.asarray(image.crop((0, top, width, bottom)))))
        place = slice(height - bottom, height - top) if from_the_end else slice(top, bottom)
        if sideways:
            out[:, place] = band
        else:
            out[place] = band
    return out


def _from_array(array: np.ndarray, max_pixels: int) -> np.ndarray:
    label = "image array"
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise ImageError(f"need HxW, HxWx1, HxWx3 (RGB) or HxWx4 (RGBA), got shape {array.shape}", source=label)
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ImageError(f"empty ({array.shape[0]}x{array.shape[1]} pixels)", source=label)
    _check_size(array.shape[1], array.shape[0], label, max_pixels)
    if array.dtype.kind == "u" and array.dtype.itemsize == 2:  # either byte order: a big-endian ">u2" is uint16 too
        array = (array >> 8).astype(np.uint8)
    elif array.dtype != np.uint8:
        raise ImageError(f"need uint8 (0-255) or uint16 pixels, got {array.dtype}", source=label)
    if array.ndim == 2 or array.shape[2] == 1:
        return _gray_to_rgb(array.reshape(array.shape[:2]))
    if array.shape[2] == 4:
        return _from_pil(Image.fromarray(np.ascontiguousarray(array), "RGBA"), label, max_pixels)
    return np.ascontiguousarray(array)


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))


def _check_size(width: int, height: int, label: str, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageError(f"empty ({width}x{height} pixels)", source=label)
    if width * height > max_pixels:
        raise ImageTooLargeError(f"too large ({width}x{height} = {width * height:,} pixels, limit {max_pixels:,})", source=label)
