"""Photo files as phones, cameras and apps write them, each made here from one picture: for the tests of
fer_core.images and benchmarks/bench_photo_files.py.

`files(photo)` gives each kind of file with the picture it shows (what a colour-managed viewer on white displays):
transparency (alpha, a tRNS colour, grey with alpha), CMYK and YCCK JPEGs, animations and multi-picture files (their
first picture), a motion photo, a top-down BMP, HEIC, JPEGs tagged with a wide-gamut profile, EXIF orientations.
"""
from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image, ImageCms, ImageOps

from tests.support import heif
from tests.support.icc import rgb_profile

# Files load_image reads otherwise than they show, knowingly: colour profiles are not applied (docs/reports/
# photo_files.md measures what that costs), and a CMYK JPEG is taken as Adobe's (inverted), as Pillow and OpenCV
# both take it, when it lacks Adobe's marker.
SHOWN_OTHERWISE = frozenset({"JPEG in Display P3, tagged", "JPEG in Adobe RGB, tagged",
                             "JPEG, CMYK without Adobe marker"})


def saved(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def on_white(rgba: np.ndarray) -> np.ndarray:
    alpha = rgba[:, :, 3:].astype(np.float64) / 255
    return np.round(rgba[:, :, :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)


def ycck(cmyk: np.ndarray) -> bytes:
    """A YCCK JPEG (Adobe transform 2, as Photoshop saves CMYK JPEGs) of the ink values `cmyk`. Pillow writes no YCCK:
    the components a YCCK decoder expects are written as a CMYK JPEG's (which Pillow stores inverted), and the
    Adobe marker's transform is set to 2."""
    ink = cmyk.astype(np.float64)
    c, m, y, k = ink[..., 0], ink[..., 1], ink[..., 2], ink[..., 3]
    ycc = [0.299 * c + 0.587 * m + 0.114 * y, -0.168736 * c - 0.331264 * m + 0.5 * y + 128,
           0.5 * c - 0.418688 * m - 0.081312 * y + 128, 255 - k]
    stored = np.clip(np.round(np.dstack(ycc)), 0, 255).astype(np.uint8)
    data = bytearray(saved(Image.fromarray(255 - stored, "CMYK"), "JPEG", quality=95))
    adobe = data.index(b"Adobe")
    data[adobe + 11] = 2
    return bytes(data)


def cmyk_without_adobe_marker(cmyk: np.ndarray) -> bytes:
    """A CMYK JPEG without Adobe's marker, its inks stored the plain way round (0: no ink)."""
    data = saved(Image.fromarray(255 - cmyk, "CMYK"), "JPEG", quality=95)
    at = data.index(b"\xff\xee")
    (length,) = struct.unpack(">H", data[at + 2:at + 4])
    return data[:at] + data[at + 2 + length:]


def with_orientation(photo: np.ndarray, fmt: str, orientation: int) -> tuple[bytes, np.ndarray]:
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = saved(Image.fromarray(photo), fmt, exif=exif, **({"quality": 95} if fmt == "JPEG" else {}))
    with Image.open(io.BytesIO(data)) as stored:
        return data, np.asarray(ImageOps.exif_transpose(stored).convert("RGB"))


def files(photo: np.ndarray) -> dict[str, tuple[bytes, np.ndarray]]:
    """Each kind of file, as bytes, with the picture it shows (what a colour-managed viewer displays)."""
    image = Image.fromarray(photo)
    h, w = photo.shape[:2]
    black = Image.new("RGB", image.size)
    alpha = np.full((h, w), 255, np.uint8)
    alpha[: h // 4] = 0  # the top quarter cut away
    cut = np.dstack([np.where(alpha[:, :, None] > 0, photo, 0).astype(np.uint8), alpha])
    cut_rgb = np.ascontiguousarray(cut[:, :, :3])
    cut_rgb[(alpha > 0) & (cut_rgb.sum(axis=2) == 0)] = 1  # black only where cut away
    cmyk = np.asarray(image.convert("CMYK"))
    made: dict[str, tuple[bytes, np.ndarray]] = {
        "PNG with alpha (a cut-out)": (saved(Image.fromarray(cut), "PNG"), on_white(cut)),
        "WebP with alpha, lossy": (saved(Image.fromarray(cut), "WEBP", quality=90), on_white(cut)),
        "PNG, RGB, its black clear (tRNS)": (saved(Image.fromarray(cut_rgb), "PNG", transparency=(0, 0, 0)),
                                             on_white(np.dstack([cut_rgb, alpha]))),
        "PNG, grey with alpha (LA)": (saved(Image.fromarray(cut).convert("LA"), "PNG"),
                                      np.asarray(Image.fromarray(on_white(cut)).convert("L").convert("RGB"))),
        "JPEG, CMYK (Adobe, inverted)": (saved(Image.fromarray(cmyk, "CMYK"), "JPEG", quality=95), photo),
        "JPEG, YCCK (Adobe transform 2)": (ycck(cmyk), photo),
        "JPEG, CMYK without Adobe marker": (cmyk_without_adobe_marker(cmyk), photo),
        "GIF, 2 frames": (saved(image, "GIF", save_all=True, append_images=[black]), photo),
        "WebP, 2 frames": (saved(image, "WEBP", save_all=True, append_images=[black], lossless=True), photo),
        "APNG, 2 frames": (saved(image, "PNG", save_all=True, append_images=[black]), photo),
        "MPO (2 pictures)": (saved(image, "MPO", save_all=True, append_images=[black], quality=95), photo),
        "JPEG with a video after it (a motion photo)": (saved(image, "JPEG", quality=95) + b"\0\0\0\x18ftypmp42"
                                                        + bytes(4096), photo),
        "BMP stored top-down": (top_down_bmp(image), photo),
        "HEIC": (heif.encoded(photo, "HEIF"), photo),
    }
    for space, name in (("Display P3", "Display P3"), ("Adobe RGB (1998)", "Adobe RGB")):
        profile = rgb_profile(space)
        transform = ImageCms.buildTransform(ImageCms.createProfile("sRGB"), ImageCms.ImageCmsProfile(
            io.BytesIO(profile)), "RGB", "RGB")
        tagged = saved(ImageCms.applyTransform(image, transform), "JPEG", quality=95, icc_profile=profile)
        made[f"JPEG in {name}, tagged"] = (tagged, photo)
    for fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
        for orientation in (2, 5, 6, 7):
            made[f"{fmt}, EXIF orientation {orientation}"] = with_orientation(photo, fmt, orientation)
    return made


def with_preview(image: Image.Image) -> bytes:
    """A JPEG as many cameras write it: the photo, then a smaller copy of it (a Large Thumbnail, VGA, in the
    Multi-Picture Format's index, CIPA DC-007), which makes Pillow open it as MPO. Pillow writes each further
    picture's type as Undefined: the second entry of the index is retyped."""
    data = bytearray(saved(image, "MPO", save_all=True, append_images=[image.resize((64, 48))], quality=95))
    tiff = data.index(b"MPF\0") + 4  # the index is a little-endian TIFF IFD, its offsets from here
    assert data[tiff:tiff + 4] == b"II*\0"
    tag = data.index(struct.pack("<HH", 0xB002, 7), tiff)  # MPEntry: 16 bytes a picture
    (entries,) = struct.unpack_from("<L", data, tag + 8)
    struct.pack_into("<L", data, tiff + entries + 16, 0x010001)  # the second picture's attribute: Large Thumbnail
    return bytes(data)


def top_down_bmp(image: Image.Image) -> bytes:
    """A 24-bit BMP whose rows are stored from the top (a negative height), as some Windows tools write it."""
    data = bytearray(saved(image, "BMP"))
    offset, (width, height) = struct.unpack_from("<I", data, 10)[0], struct.unpack_from("<ii", data, 18)
    stride = (width * 3 + 3) // 4 * 4
    rows = [bytes(data[offset + i * stride:offset + (i + 1) * stride]) for i in range(height)]
    data[offset:] = b"".join(reversed(rows))
    struct.pack_into("<i", data, 22, -height)
    return bytes(data)
