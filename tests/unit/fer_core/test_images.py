"""load_image: every accepted input kind, every image mode, and a typed error for each bad input."""
from __future__ import annotations

import io
import os
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import EpsImagePlugin, Image, ImageOps, PngImagePlugin

from fer_core import ImageError, images
from fer_core.images import (
    CANNOT_BE_READ,
    FRAMES,
    FRAMES_NOT_READ,
    FRAMES_ON_THE_VIDEO_PAGE,
    MAX_PIXELS,
    NOT_AN_IMAGE,
    PAGES,
    PAGES_NOT_READ,
    PICTURES,
    PICTURES_NOT_READ,
    REST_NOT_READ,
    NotRead,
    load_image,
    pictures_not_read,
)
from tests.support import photo_files


@pytest.fixture(scope="module")
def photo_path(faces_dir):
    return faces_dir / "Colin_Powell" / "Colin_Powell_0001.jpg"


@pytest.fixture(scope="module")
def photo(photo_path) -> np.ndarray:
    with Image.open(photo_path) as image:
        return np.asarray(image.convert("RGB"))


def _encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels but that carries almost no data (a bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


# --- input kinds -------------------------------------------------------------------------------


def test_every_source_kind_gives_the_same_rgb_array(photo_path, photo):
    data = photo_path.read_bytes()
    with open(photo_path, "rb") as stream:
        from_stream = load_image(stream)
    with Image.open(photo_path) as pil:
        from_pil = load_image(pil)
    for result in (load_image(photo_path), load_image(str(photo_path)), load_image(data),
                   load_image(bytearray(data)), from_stream, from_pil, load_image(photo)):
        assert result.dtype == np.uint8
        assert result.shape == (250, 250, 3)
        assert result.flags.c_contiguous
        np.testing.assert_array_equal(result, photo)


def test_exif_orientation_is_applied(photo):
    stored = photo[:, :200]  # not square, so a rotation shows in the shape
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display": how phones save portraits
    data = _encode(Image.fromarray(stored), "JPEG", quality=95, exif=exif)
    with Image.open(io.BytesIO(data)) as raw:
        decoded = np.asarray(raw.convert("RGB"))
    upright = load_image(data)
    assert upright.shape == (200, 250, 3)
    np.testing.assert_array_equal(upright, np.rot90(decoded, k=-1))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillows_exif_transpose(photo, orientation, monkeypatch):
    monkeypatch.setattr(images, "_BAND_ROWS", 7)  # many bands, the last one short: each is turned and placed
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _encode(Image.fromarray(photo[:, :200]), "PNG", exif=exif)  # lossless, not square
    with Image.open(io.BytesIO(data)) as raw:
        expected = np.asarray(ImageOps.exif_transpose(raw).convert("RGB"))
    np.testing.assert_array_equal(load_image(data), expected)


# --- image modes -------------------------------------------------------------------------------


def test_rgba_is_flattened_onto_white(photo):
    rgba = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])
    rgba[:50, :, 3] = 0  # top rows fully transparent
    rgba[50:100, :, 3] = 128  # half transparent
    result = load_image(_encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert (result[:50] == 255).all()
    np.testing.assert_array_equal(result[100:], photo[100:])
    expected = (photo[50:100].astype(int) * 128 + 255 * 127) / 255
    assert np.abs(result[50:100] - expected).max() <= 1


def test_rgba_array_is_flattened_like_an_rgba_file(photo):
    rgba = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])
    rgba[:10, :, 3] = 0
    result = load_image(rgba)
    assert (result[:10] == 255).all()
    np.testing.assert_array_equal(result[10:], photo[10:])


def test_paletted_image_with_and_without_transparency(photo):
    paletted = Image.fromarray(photo).quantize(colors=64)
    plain = load_image(_encode(paletted, "PNG"))
    np.testing.assert_array_equal(plain, np.asarray(paletted.convert("RGB")))
    paletted.info["transparency"] = int(np.asarray(paletted)[0, 0])
    with_alpha = load_image(_encode(paletted, "PNG", transparency=paletted.info["transparency"]))
    assert (with_alpha[0, 0] == 255).all()
    assert with_alpha.shape == (250, 250, 3)


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_a_colour_made_clear_by_a_trns_chunk_is_flattened_onto_white_like_alpha(photo, mode):
    """A cut-out (clear pixels black, the rest opaque) saved with alpha, and saved as a PNG optimiser may store it:
    without alpha, its black made clear by the tRNS chunk. Both read the same, the background white."""
    cut = Image.fromarray(photo).convert(mode).convert("RGB")
    clear = np.zeros(photo.shape[:2], bool)
    clear[:60] = True
    pixels = np.asarray(cut).copy()
    pixels[clear] = 0
    pixels[~clear & (pixels.sum(axis=2) == 0)] = 1  # black stays clear only where it was cut away
    with_alpha = load_image(_encode(Image.fromarray(np.dstack([pixels, np.where(clear, 0, 255).astype(np.uint8)])),
                                    "PNG"))
    keyed = Image.fromarray(pixels).convert(mode)
    data = _encode(keyed, "PNG", transparency=(0, 0, 0) if mode == "RGB" else 0)
    with Image.open(io.BytesIO(data)) as opened:
        assert (opened.mode, "transparency" in opened.info) == (mode, True)
    result = load_image(data)
    assert (result[clear] == 255).all()
    np.testing.assert_array_equal(result[~clear], np.asarray(keyed.convert("RGB"))[~clear])
    if mode == "RGB":
        np.testing.assert_array_equal(result, with_alpha)


def test_files_as_phones_cameras_and_apps_write_them_read_as_the_picture_they_show(photo):
    """Alpha, a tRNS colour and grey with alpha on white; CMYK and YCCK JPEGs; the first picture of a GIF, WebP or
    PNG animation and of an MPO; a motion photo's JPEG; a BMP stored top-down; HEIC; EXIF orientations on JPEG, PNG,
    WebP and TIFF. Within lossy coding (and a GIF's 256 colours) of it."""
    made = photo_files.files(photo[:, :200])  # not square, so a wrong turn shows in the shape
    assert photo_files.SHOWN_OTHERWISE < set(made)
    wrong = {}
    for name, (data, shown) in made.items():
        read = load_image(data)
        if name not in photo_files.SHOWN_OTHERWISE and (
                read.shape != shown.shape or np.abs(read.astype(int) - shown).mean() > 3.0):
            wrong[name] = read.shape if read.shape != shown.shape else np.abs(read.astype(int) - shown).mean()
    assert wrong == {}


def test_cmyk_jpeg_is_converted_to_rgb(photo):
    cmyk = Image.fromarray(photo).convert("CMYK")
    result = load_image(_encode(cmyk, "JPEG", quality=95))
    assert result.shape == (250, 250, 3)
    assert np.abs(result.astype(int) - photo.astype(int)).mean() < 8  # JPEG loss only


def test_grayscale_and_bilevel_become_three_equal_channels(photo):
    gray = Image.fromarray(photo).convert("L")
    result = load_image(_encode(gray, "PNG"))
    np.testing.assert_array_equal(result, np.repeat(np.asarray(gray)[:, :, None], 3, axis=2))
    bilevel = load_image(_encode(gray.convert("1"), "PNG"))
    assert set(np.unique(bilevel)) <= {0, 255}
    assert (bilevel[..., 0] == bilevel[..., 2]).all()


@pytest.mark.parametrize("mode", sorted(set(Image.MODES) | {"La", "RGBa", "I;16", "I;16L", "I;16B", "I;16N"}))
def test_every_pillow_mode_becomes_rgb(mode):
    result = load_image(Image.new(mode, (3, 2)))
    assert (result.shape, result.dtype) == ((2, 3, 3), np.uint8)


def test_premultiplied_gray_is_flattened_like_straight_alpha():
    """La 100 at alpha 128 is LA 199 (100 * 255 / 128) at alpha 128: both land on white as 227."""
    half = load_image(Image.new("La", (2, 2), (100, 128)))
    np.testing.assert_allclose(half, load_image(Image.new("LA", (2, 2), (199, 128))), atol=1)
    assert (np.abs(half.astype(int) - 227) <= 1).all()
    assert (load_image(Image.new("La", (2, 2), (100, 255))) == 100).all()


def test_16_bit_grayscale_keeps_the_top_8_bits():
    values = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 16).astype(np.uint16)
    result = load_image(_encode(Image.fromarray(values), "PNG"))
    np.testing.assert_array_equal(result[..., 0], (values >> 8).astype(np.uint8))
    np.testing.assert_array_equal(load_image(values), result)


def test_float_grayscale_tiffs_read_in_0_1_or_in_0_255():
    """A 32-bit float TIFF holds 0-1 (scientific and HDR tools) or 0-255: a 0-1 file once came out black."""
    ramp = np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)
    unit = load_image(_encode(Image.fromarray(ramp, "F"), "TIFF"))
    np.testing.assert_array_equal(unit[..., 0], np.rint(ramp.astype(np.float64) * 255).astype(np.uint8))
    assert (unit[0, 0, 0], unit[-1, -1, 0]) == (0, 255)
    holed = ramp.copy()
    holed[0, :3] = (np.nan, np.inf, -np.inf)  # a hole does not decide the scale: still read as 0-1
    read = load_image(_encode(Image.fromarray(holed, "F"), "TIFF"))[..., 0]
    assert tuple(read[0, :3]) == (0, 255, 0)
    np.testing.assert_array_equal(read[1:], unit[1:, :, 0])
    wide = ramp * 300 - 20  # 0-255 with values beyond both ends, and a hole
    wide[0, :3] = (np.nan, np.inf, -np.inf)
    read = load_image(_encode(Image.fromarray(wide, "F"), "TIFF"))[..., 0]
    assert tuple(read[0, :3]) == (0, 255, 0)
    np.testing.assert_array_equal(read[1:], np.clip(np.rint(wide[1:].astype(np.float64)), 0, 255).astype(np.uint8))


def _white_is_zero(tiff: bytes) -> bytes:
    """A little-endian TIFF (as Pillow writes it) with its PhotometricInterpretation set to WhiteIsZero (0), the
    pixel data left as stored: a scanner's grey scan in which 0 is white."""
    ifd = struct.unpack("<I", tiff[4:8])[0]
    data = bytearray(tiff)
    for entry in range(ifd + 2, ifd + 2 + 12 * struct.unpack("<H", tiff[ifd:ifd + 2])[0], 12):
        if struct.unpack("<H", tiff[entry:entry + 2])[0] == 262:
            data[entry + 8:entry + 10] = struct.pack("<H", 0)
            return bytes(data)
    raise AssertionError("no PhotometricInterpretation tag")


def test_white_is_zero_grey_tiffs_read_as_positives_at_every_depth():
    """0 is white in a WhiteIsZero scan: Pillow inverts 8-bit grey itself, but 16-bit and float grey came out as
    negatives."""
    values = (np.arange(48 * 64, dtype=np.uint32).reshape(48, 64) * 21).astype(np.uint16)
    positive = (values >> 8).astype(np.uint8)
    for stored in (positive, values, values.astype(np.float32) / 65535):
        tiff = _white_is_zero(_encode(Image.fromarray(stored), "TIFF"))
        assert Image.open(io.BytesIO(tiff)).tag_v2[262] == 0
        read = load_image(tiff)
        expected = 255 - (positive if stored.dtype != np.float32 else np.rint(stored.astype(np.float64) * 255))
        np.testing.assert_array_equal(read, np.repeat(expected.astype(np.uint8)[..., None], 3, axis=2))
    # a grey TIFF of the usual kind (BlackIsZero) is read as stored
    np.testing.assert_array_equal(load_image(_encode(Image.fromarray(values), "TIFF"))[..., 0], positive)


@pytest.mark.parametrize("orientation", [1, 6])
def test_a_16_bit_grey_scan_is_read_in_bands_not_through_whole_photo_copies(orientation):
    """A 16-bit grey scan (600 dpi: tens of megapixels) was widened to int64 and clipped whole: two copies of 8 bytes a
    pixel besides the 3 of the result, 900 MiB at the peak for 48 MP against 460 for the same scan in 8 bits."""
    values = (np.arange(3000 * 1000, dtype=np.uint32).reshape(3000, 1000) * 7 % 65536).astype(np.uint16)
    scan = Image.fromarray(values)  # Pillow's own pixels are not numpy's, and not counted below
    scan.getexif()[0x0112] = orientation
    tracemalloc.start()
    try:
        read = load_image(scan)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    expected = np.repeat((values >> 8).astype(np.uint8)[..., None], 3, axis=2)
    np.testing.assert_array_equal(read, expected if orientation == 1 else np.rot90(expected, k=-1))
    assert peak < 1.5 * read.nbytes  # the result and one band of rows at a time (fer_core.images._BAND_ROWS)


def test_big_endian_16_bit_arrays_read_like_native_ones():
    values = (np.arange(12 * 16, dtype=np.uint32).reshape(12, 16) * 300).astype(np.uint16)
    for shape in ((12, 16), (12, 16, 3), (12, 16, 4)):
        native = np.ascontiguousarray(np.broadcast_to(values.reshape(12, 16, *[1] * (len(shape) - 2)), shape))
        np.testing.assert_array_equal(load_image(native.astype(">u2")), load_image(native))


def test_gray_arrays_in_either_shape():
    gray = np.random.default_rng(0).integers(0, 256, (30, 40), dtype=np.uint8)
    expected = np.repeat(gray[:, :, None], 3, axis=2)
    np.testing.assert_array_equal(load_image(gray), expected)
    np.testing.assert_array_equal(load_image(gray[:, :, None]), expected)


# --- bad input: one typed error each, with a message that names the input ----------------------


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match=r"^nowhere\.jpg: no such file$"):
        load_image(tmp_path / "nowhere.jpg")


def test_empty_file_bytes_and_stream(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ImageError, match=r"^empty\.jpg: empty file$"):
        load_image(empty)
    with pytest.raises(ImageError, match=r"^image bytes: empty$"):
        load_image(b"")
    with pytest.raises(ImageError, match=r"^image stream: empty$"):
        load_image(io.BytesIO())


def test_not_an_image(tmp_path):
    notes = tmp_path / "notes.jpg"
    notes.write_text("shopping list: milk, eggs")
    expected = r"^notes\.jpg: not an image, or its header is corrupt \(format not recognised\)$"
    with pytest.raises(ImageError, match=expected):
        load_image(notes)


def test_truncated_jpeg(photo_path, tmp_path):
    cut = tmp_path / "cut.jpg"
    data = photo_path.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=r"^cut\.jpg: truncated \(the file ends before the image data does\)$"):
        load_image(cut)


def test_truncated_file_opened_lazily_by_pil(photo_path, tmp_path):
    cut = tmp_path / "cut.jpg"
    data = photo_path.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    truncated = r"^image: truncated \(the file ends before the image data does\)$"
    with Image.open(cut) as lazy, pytest.raises(ImageError, match=truncated):  # Pillow reads only the header here
        load_image(lazy)


def test_corrupt_image_data(photo):
    data = bytearray(_encode(Image.fromarray(photo), "PNG"))
    start = data.find(b"IDAT") + 14
    data[start:start + 64] = b"\x00" * 64  # the compressed pixels no longer decompress
    with pytest.raises(ImageError, match=r"^image bytes: corrupt image data \(.+\)$"):
        load_image(bytes(data))


def test_a_header_pillow_trips_over_while_opening_is_an_image_error():
    dds = bytearray(_encode(Image.new("RGB", (8, 8)), "DDS"))
    dds[80] = 138  # pixel format flags Pillow does not know: NotImplementedError
    with pytest.raises(ImageError) as err:
        load_image(bytes(dds))
    assert str(err.value) == "image bytes: " + CANNOT_BE_READ.format(reason="Unknown pixel format flags 138")


@pytest.mark.filterwarnings("ignore:IM image format is deprecated:DeprecationWarning")
def test_a_header_pillow_trips_over_while_decoding_is_an_image_error():
    im = _encode(Image.new("RGB", (8, 8)), "IM").replace(b"(x*y): ", b"(x*y):.")  # a size of ".8*8": TypeError
    with pytest.raises(ImageError, match=r"^image bytes: corrupt image data \(.+\)$"):
        load_image(im)


def test_too_large_is_refused_from_the_header_alone():
    bomb = _png_header_only(8000, 8000)  # 150 bytes that claim 64 million pixels
    assert len(bomb) < 200
    with pytest.raises(ImageError, match=r"^image bytes: too large \(8000x8000 = 64,000,000 pixels, limit 50,000,000\)$"):
        load_image(bomb)
    with pytest.raises(ImageError, match=rf"^image bytes: too large \(more than {MAX_PIXELS:,} pixels\)$"):
        load_image(_png_header_only(20000, 20000))  # past Pillow's own bomb limit too


def test_a_scan_past_pillows_warning_limit_is_refused_naming_its_size():
    """An 8x10 inch print scanned at 1200 dpi (115 MP) lies past Pillow's own limit (89.5 MP), where Pillow warns while
    opening: the refusal said "more than 50,000,000 pixels" without the scan's size, which says how far to go down."""
    with pytest.raises(ImageError, match=r"^image bytes: too large \(9600x12000 = 115,200,000 pixels, limit 50,000,000\)$"):
        load_image(_png_header_only(9600, 12000))


@pytest.mark.parametrize("side", [10_000, 20_000])  # past Pillow's warning, past its error
def test_a_bomb_inside_an_icon_whose_header_says_512_pixels_is_refused_as_too_large(side):
    png = _png_header_only(side, side)
    block = b"ic09" + struct.pack(">I", 8 + len(png)) + png  # ic09: a 512x512 icon, here holding a bigger PNG
    icns = b"icns" + struct.pack(">I", 8 + len(block)) + block
    with Image.open(io.BytesIO(icns)) as icon:
        assert icon.size == (512, 512)
    with pytest.raises(ImageError, match=rf"^image bytes: too large \(more than {MAX_PIXELS:,} pixels\)$"):
        load_image(icns)


def test_pixel_limit_is_a_parameter(photo_path):
    with pytest.raises(ImageError, match=r"too large \(250x250 = 62,500 pixels, limit 10,000\)$"):
        load_image(photo_path, max_pixels=10_000)
    with pytest.raises(ImageError, match=r"^image array: too large"):
        load_image(np.zeros((200, 200, 3), np.uint8), max_pixels=10_000)


def test_bad_arrays():
    with pytest.raises(ImageError, match=r"^image array: need uint8 \(0-255\) or uint16 pixels, got float32$"):
        load_image(np.zeros((10, 10, 3), np.float32))
    with pytest.raises(ImageError, match=r"^image array: need HxW, HxWx1, HxWx3 \(RGB\) or HxWx4 \(RGBA\), got shape \(10, 10, 2\)$"):
        load_image(np.zeros((10, 10, 2), np.uint8))
    with pytest.raises(ImageError, match=r"^image array: empty \(0x10 pixels\)$"):
        load_image(np.zeros((0, 10, 3), np.uint8))


def test_text_stream_and_unsupported_type():
    with pytest.raises(ImageError, match=r"^image stream: a binary stream is needed \(opened with 'rb'\), got str$"):
        load_image(io.StringIO("not binary"))
    with pytest.raises(ImageError, match=r"^cannot read an image from int: pass a path, bytes, a binary file, a PIL image or a numpy array$"):
        load_image(42)


def test_a_text_chunk_that_inflates_past_pillows_limit_is_an_image_error(tmp_path):
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "a" * 2_000_000, zip=True)  # 2 KB in the file, 2 MB inflated: Pillow stops at 1 MB
    path = tmp_path / "comment.png"
    Image.new("RGB", (64, 48)).save(path, pnginfo=info)
    reason = "Decompressed data too large for PngImagePlugin.MAX_TEXT_CHUNK"
    for call in (load_image, pictures_not_read):
        with pytest.raises(ImageError) as err:
            call(path)
        assert str(err.value) == "comment.png: " + CANNOT_BE_READ.format(reason=reason)


def test_the_pages_of_a_tiff_not_read_are_said(photo, tmp_path):
    first, blank = Image.fromarray(photo), Image.new("RGB", (250, 250), (255, 255, 255))
    first.save(tmp_path / "scan.tif", save_all=True, append_images=[blank, blank])
    first.save(tmp_path / "one.tif")
    expected = NotRead(PAGES, 3, "only page 1 of its 3 pages was analysed")
    assert expected.note == PAGES_NOT_READ.format(count=3)
    assert pictures_not_read(tmp_path / "scan.tif") == pictures_not_read((tmp_path / "scan.tif").read_bytes()) == expected
    assert pictures_not_read(tmp_path / "one.tif") is None
    np.testing.assert_array_equal(load_image(tmp_path / "scan.tif"), photo)  # the first page


def test_a_tiff_cut_short_after_its_first_page_is_read_and_its_rest_said_unreadable(photo):
    """A multi-page scan cut short (a copy stopped midway) still holds its first page whole: counting its pages
    (Pillow's n_frames) raised, and the app and the API refused the whole photo as unreadable."""
    first, blank = Image.fromarray(photo), Image.new("RGB", (250, 250), (255, 255, 255))
    whole = io.BytesIO()
    first.save(whole, format="TIFF", save_all=True, append_images=[blank, blank])
    cut = whole.getvalue()[: whole.getbuffer().nbytes // 2]  # inside the second page's pixels
    np.testing.assert_array_equal(load_image(cut), photo)
    assert pictures_not_read(cut) == NotRead(PAGES, None, REST_NOT_READ)
    assert REST_NOT_READ == "only its first picture was analysed: the rest of the file could not be read"


def test_the_frames_of_an_animation_and_the_pictures_of_an_mpo_not_read_are_said(photo):
    """An animated GIF or WebP (a messaging app's moving picture) read as a photo gave its first frame's faces, and
    nothing said the rest was not read; the Video page reads those two as videos, and the note says so."""
    on_video_page = NotRead(FRAMES, 2, "only frame 1 of its 2 frames was analysed; the app's Video page analyses the "
                                       "whole animation as a video")
    assert on_video_page.note == FRAMES_NOT_READ.format(count=2) + FRAMES_ON_THE_VIDEO_PAGE
    expected = {
        "GIF, 2 frames": on_video_page,
        "WebP, 2 frames": on_video_page,
        "APNG, 2 frames": NotRead(FRAMES, 2, "only frame 1 of its 2 frames was analysed"),
        "MPO (2 pictures)": NotRead(PICTURES, 2, "only the first of its 2 pictures was analysed (the others of a "
                                                 "multi-picture JPEG are usually a depth map, an HDR gain map or "
                                                 "another view of the same scene)"),
    }
    assert expected["MPO (2 pictures)"].note == PICTURES_NOT_READ.format(count=2)
    said = {name: pictures_not_read(data) for name, (data, _) in photo_files.files(photo).items()}
    assert {name: note for name, note in said.items() if note is not None} == expected  # every other file: None


def test_an_animation_of_one_frame_and_a_camera_jpeg_with_its_preview_have_nothing_left_out(photo):
    image = Image.fromarray(photo)
    for fmt in ("GIF", "WEBP", "PNG"):
        assert pictures_not_read(photo_files.saved(image, fmt, save_all=True)) is None, fmt
    # Pillow opens it as MPO; its second picture is the first, smaller.
    with Image.open(io.BytesIO(preview := photo_files.with_preview(image))) as opened:
        assert (opened.format, opened.n_frames) == ("MPO", 2)
    assert pictures_not_read(preview) is None


def test_postscript_named_like_a_photo_is_refused_without_running_ghostscript(tmp_path, monkeypatch):
    # A stand-in `gs` on PATH that records being run: Pillow reads EPS by running Ghostscript on the file.
    ran = tmp_path / "gs_ran"
    fake = tmp_path / "bin" / "gs"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" >> {ran}\n[ "$1" = --version ] && echo 10.0\nexit 1\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", None)  # Pillow caches where it found gs, or that it did not
    photo = tmp_path / "holiday.jpg"
    photo.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\nshowpage\n%%EOF\n")
    for call in (load_image, pictures_not_read):
        with pytest.raises(ImageError) as err:
            call(photo)
        assert str(err.value) == "holiday.jpg: " + NOT_AN_IMAGE
    assert not ran.exists()


def test_image_error_is_a_value_error():
    with pytest.raises(ValueError):
        load_image(b"\x00")
