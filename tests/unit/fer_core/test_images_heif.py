"""load_image on HEIC/HEIF (iPhones' default) and AVIF photos, made here from an LFW photo: the same pixels as
the photo they were made from, upright whichever way they are stored, 8 bits from 10, and the typed errors and
pixel limit of every other format."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from fer_core import ImageError, ImageTooLargeError
from fer_core.images import MAX_PIXELS, NOT_AN_IMAGE, PHOTO_SUFFIXES, load_image, pictures_not_read
from tests.support import heif
from unveil.cli.analyze import IMAGE_SUFFIXES

# Mean difference per channel (of 255) between a photo and its HEIC or AVIF copy at quality 92: lossy coding.
CODING_NOISE = 2.0


@pytest.fixture(scope="module")
def upright(faces_dir) -> np.ndarray:
    """An LFW photo cut to 250 x 200 (not square, so a turn shows in the shape)."""
    with Image.open(faces_dir / "Colin_Powell" / "Colin_Powell_0001.jpg") as image:
        return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :200])


def _close(decoded: np.ndarray, expected: np.ndarray) -> bool:
    assert decoded.dtype == np.uint8 and decoded.flags.c_contiguous
    return decoded.shape == expected.shape and np.abs(decoded.astype(int) - expected).mean() < CODING_NOISE


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_a_heic_or_avif_photo_reads_as_the_photo_it_was_made_from(upright, fmt, tmp_path):
    data = heif.encoded(upright, fmt)
    path = tmp_path / ("IMG_0001.HEIC" if fmt == "HEIF" else "photo.avif")
    path.write_bytes(data)
    with Image.open(io.BytesIO(data)) as opened:
        pil = load_image(opened)
    for decoded in (load_image(data), load_image(path), load_image(io.BytesIO(data)), pil):
        assert _close(decoded, upright)
    assert pictures_not_read(path) is None


@pytest.mark.parametrize(("quarter_turns", "stored_as"), [(3, 1), (1, -1), (2, 2)])
def test_a_heic_stored_turned_comes_out_upright(upright, quarter_turns, stored_as):
    """HEIF keeps a photo's rotation as a property of the image (irot), not in EXIF: a portrait is stored on its
    side (np.rot90 k=1) with a turn of 270 degrees anticlockwise to show it."""
    stored = np.ascontiguousarray(np.rot90(upright, k=stored_as))
    data = heif.rotated(heif.encoded(stored, "HEIF"), quarter_turns)
    assert (heif.quarter_turns(data), heif.exif_orientation(data)) == (quarter_turns, None)
    assert _close(load_image(data), upright)


def test_an_iphone_heic_with_both_a_turn_and_an_exif_orientation_is_turned_once(upright):
    """iPhones write the turn twice, as irot and as EXIF orientation 6: libheif applies irot, and the EXIF tag is
    not applied again (a double turn would give a photo upside down and the wrong shape)."""
    exif = Image.Exif()
    exif[0x0112] = 1
    stored = np.ascontiguousarray(np.rot90(upright, k=1))
    data = heif.with_exif_orientation(heif.rotated(heif.encoded(stored, "HEIF", exif=exif), 3), 6)
    assert (heif.stored_size(data), heif.quarter_turns(data), heif.exif_orientation(data)) == ((250, 200), 3, 6)
    exif[0x0112] = 6
    as_jpeg = io.BytesIO()
    Image.fromarray(stored).save(as_jpeg, format="JPEG", quality=95, exif=exif)
    assert _close(load_image(data), upright)
    assert _close(load_image(as_jpeg.getvalue()), upright)  # the same photo as a phone's JPEG, for comparison


def test_an_avif_with_an_exif_orientation_comes_out_upright(upright):
    exif = Image.Exif()
    exif[0x0112] = 6
    data = heif.encoded(np.ascontiguousarray(np.rot90(upright, k=1)), "AVIF", exif=exif)
    assert _close(load_image(data), upright)


def test_a_10_bit_heic_reads_as_8_bit_rgb(upright):
    data = heif.encoded_10_bit(upright)
    assert heif.bit_depth(data) == 10
    assert _close(load_image(data), upright)


def test_a_truncated_heic_is_an_image_error(upright, tmp_path):
    data = heif.encoded(upright, "HEIF")
    path = tmp_path / "IMG_0002.heic"
    path.write_bytes(data[:-len(data) // 3])  # a transfer cut short: the header is whole, the pixels are not
    with pytest.raises(ImageError, match=r"^IMG_0002\.heic: truncated \(the file ends before the image data does\)$"):
        load_image(path)
    with pytest.raises(ImageError, match=NOT_AN_IMAGE.replace("(", r"\(").replace(")", r"\)")):
        load_image(data[:200])  # cut inside the header: no HEIF reader recognises it


def test_a_corrupt_heic_is_an_image_error(upright):
    data = bytearray(heif.encoded(upright, "HEIF"))
    data[-2000:] = bytes(2000)  # the coded picture overwritten
    try:
        decoded = load_image(bytes(data))
    except ImageError:
        return
    assert decoded.shape == upright.shape  # libde265 conceals some damage: then it is still a photo of that size


@pytest.mark.parametrize(("width", "height"), [(20_000, 20_000), (9_000, 9_000)])
def test_a_heic_claiming_too_many_pixels_is_refused_from_its_header_before_decoding(width, height, monkeypatch):
    """20000 x 20000 is past Pillow's own limit (it refuses it as it opens the file), 9000 x 9000 within it but
    past MAX_PIXELS. Neither is decoded: a decode would fail as corrupt data, not as too large."""
    import pillow_heif
    from pillow_heif.as_plugin import HeifImageFile

    data = heif.claiming_size(heif.encoded(np.zeros((256, 256, 3), np.uint8), "HEIF"), width, height)
    assert width * height > MAX_PIXELS and len(data) < 10_000
    assert pillow_heif.open_heif(io.BytesIO(data)).size == (width, height)

    def no_decode(self):
        raise AssertionError("decoded")

    monkeypatch.setattr(HeifImageFile, "load", no_decode)
    with pytest.raises(ImageTooLargeError, match="too large"):
        load_image(data)


def test_the_pixel_limit_of_the_caller_applies_to_heic(upright):
    with pytest.raises(ImageTooLargeError, match=r"200x250 = 50,000 pixels, limit 49,999\)$"):
        load_image(heif.encoded(upright, "HEIF"), max_pixels=49_999)


@pytest.mark.parametrize(("fmt", "brand"), [("AVIF", b"mif1"), ("HEIF", b"mif1"), ("HEIF", b"heix")])
def test_a_file_branded_for_the_other_format_is_still_read(upright, fmt, brand):
    """pillow-heif claims every file branded mif1 (the generic HEIF brand), AVIF ones included, and has no AV1
    decoder: Pillow's AVIF reader is tried first."""
    assert _close(load_image(heif.branded(heif.encoded(upright, fmt), brand)), upright)


def test_a_file_is_read_by_its_content_whatever_its_name_says(upright, tmp_path):
    """A HEIC left named .jpg (by a renaming, sharing or export tool), a PNG named .JPG: read as what they are."""
    (tmp_path / "IMG_0001.jpg").write_bytes(heif.encoded(upright, "HEIF"))
    Image.fromarray(upright).save(tmp_path / "screenshot.JPG", format="PNG")
    assert _close(load_image(tmp_path / "IMG_0001.jpg"), upright)
    np.testing.assert_array_equal(load_image(tmp_path / "screenshot.JPG"), upright)


def test_every_photo_suffix_is_one_pillow_reads_and_the_cli_searches_for():
    Image.init()
    extensions = Image.registered_extensions()
    assert {".heic", ".heif", ".hif", ".avif"} <= set(PHOTO_SUFFIXES)
    assert all(suffix in extensions for suffix in PHOTO_SUFFIXES)
    assert IMAGE_SUFFIXES == set(PHOTO_SUFFIXES)
