"""HEIC and AVIF photos made in the test from a photo already at hand, as a phone would save them.

pillow-heif's wheels carry an HEVC encoder (x265), Pillow's an AV1 one (aom): `encoded` writes either. What
an encoder does not write is made by editing the file's boxes (ISO/IEC 14496-12 and 23008-12): `rotated` adds
a rotation property (irot) to a file that has none, `with_exif_orientation` sets the orientation tag of its EXIF,
`claiming_size` makes the image's spatial extent (ispe) claim another size, and `branded` changes the major brand
of the file type box. (pillow-heif's own encoder, given an EXIF orientation, also turns the pixels it stores: a
picture given upright with orientation 6 reads back upside down, so the turns are added here instead.)
"""
from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

# Boxes that hold other boxes, and the bytes of version and flags before their children (full boxes).
_CONTAINERS = {b"meta": 4, b"iprp": 0, b"ipco": 0}


def encoded(rgb: np.ndarray, fmt: str, *, exif: Image.Exif | None = None, quality: int = 92) -> bytes:
    """`rgb` (HxWx3 uint8) as a HEIF (HEVC) or AVIF file. HEIF is written by pillow-heif directly, without
    registering it with Pillow: whether Pillow reads the file is what the tests find out."""
    import pillow_heif

    buffer = io.BytesIO()
    image = Image.fromarray(np.ascontiguousarray(rgb))
    if fmt == "HEIF":
        if exif is not None:
            image.info["exif"] = exif.tobytes()
        pillow_heif.from_pillow(image).save(buffer, quality=quality)
    else:
        image.save(buffer, format=fmt, quality=quality, **({"exif": exif} if exif is not None else {}))
    return buffer.getvalue()


def encoded_10_bit(rgb: np.ndarray) -> bytes:
    """`rgb` as a 10-bit HEIC, as iPhones save HDR photos (pillow-heif writes 16-bit input as 10 bits)."""
    import pillow_heif

    wide = (rgb.astype(np.uint16) << 8) | rgb
    heif = pillow_heif.from_bytes(mode="RGB;16", size=(rgb.shape[1], rgb.shape[0]), data=wide.tobytes())
    buffer = io.BytesIO()
    heif.save(buffer, quality=92)
    return buffer.getvalue()


def bit_depth(heif: bytes) -> int:
    """The bits per channel the file's primary image is stored with."""
    import pillow_heif

    return pillow_heif.open_heif(io.BytesIO(heif), convert_hdr_to_8bit=False).info["bit_depth"]


def _boxes(data: bytes, start: int, end: int) -> dict[bytes, tuple[int, int]]:
    """Each box between `start` and `end`, by type: (its offset, its size). Nested boxes of _CONTAINERS
    are listed too, under their own type."""
    found: dict[bytes, tuple[int, int]] = {}
    at = start
    while at + 8 <= end:
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        assert size >= 8, f"box {kind!r} of size {size} (64-bit or open-ended sizes are not made here)"
        found.setdefault(kind, (at, size))
        if kind in _CONTAINERS:
            found.update({k: v for k, v in _boxes(data, at + 8 + _CONTAINERS[kind], at + size).items()
                          if k not in found})
        at += size
    return found


def rotated(heif: bytes, quarter_turns: int) -> bytes:
    """`heif` with its primary image turned `quarter_turns` x 90 degrees anticlockwise when displayed (an irot
    property): what the file's pixels are stored as stays the same. Every box that holds the property, and
    every offset into the media data after it, grows by the bytes added."""
    boxes = _boxes(heif, 0, len(heif))
    for needed in (b"meta", b"iprp", b"ipco", b"ipma", b"iloc", b"pitm"):
        assert needed in boxes, f"no {needed!r} box"
    irot = struct.pack(">I4sB", 9, b"irot", quarter_turns % 4)
    ipco_at, ipco_size = boxes[b"ipco"]
    properties = len(_boxes(heif, ipco_at + 8, ipco_at + ipco_size))
    ipma_at, ipma_size = boxes[b"ipma"]
    version, flags = heif[ipma_at + 8], int.from_bytes(heif[ipma_at + 9:ipma_at + 12], "big")
    assert version == 0 and not flags & 1, "only version 0 ipma with 1-byte property indices is edited here"
    pitm_at, _ = boxes[b"pitm"]
    primary = struct.unpack(">H", heif[pitm_at + 12:pitm_at + 14])[0]
    # ipma: entry_count (4 bytes), then per item: item_ID (2), association_count (1), associations (1 each)
    entries = bytearray(heif[ipma_at + 16:ipma_at + ipma_size])
    (count,) = struct.unpack(">I", heif[ipma_at + 12:ipma_at + 16])
    at = 0
    for _ in range(count):
        item, associations = struct.unpack(">HB", entries[at:at + 3])
        if item == primary:
            # Transformative properties apply in the order listed: the rotation goes after the others.
            entries[at + 2] = associations + 1
            entries[at + 3 + associations:at + 3 + associations] = bytes([0x80 | (properties + 1)])  # essential
            break
        at += 3 + associations
    else:
        raise AssertionError(f"the primary item {primary} has no property associations")
    ipma = struct.pack(">I4s", ipma_size + 1, b"ipma") + heif[ipma_at + 8:ipma_at + 16] + bytes(entries)
    added = len(irot) + 1
    out = bytearray(heif[:ipco_at + ipco_size] + irot + heif[ipco_at + ipco_size:ipma_at] + ipma
                    + heif[ipma_at + ipma_size:])
    for kind in (b"meta", b"iprp", b"ipco"):
        box_at, size = boxes[kind]
        out[box_at:box_at + 4] = struct.pack(">I", size + (len(irot) if kind == b"ipco" else added))
    iloc_at, _ = boxes[b"iloc"]
    assert iloc_at < ipco_at, "an iloc box after the item properties is not edited here"
    _shift_iloc(out, iloc_at, added, after=boxes[b"meta"][0])
    return bytes(out)


def _shift_iloc(data: bytearray, iloc_at: int, added: int, *, after: int) -> None:
    """Add `added` to every file offset in the iloc box at `iloc_at` that points past `after` (version 0 or 1,
    construction method 0: offsets into the file itself)."""
    version = data[iloc_at + 8]
    assert version in (0, 1), f"iloc version {version}"
    sizes = data[iloc_at + 12], data[iloc_at + 13]
    offset_size, length_size = sizes[0] >> 4, sizes[0] & 15
    base_offset_size, index_size = sizes[1] >> 4, (sizes[1] & 15 if version == 1 else 0)
    (count,) = struct.unpack(">H", data[iloc_at + 14:iloc_at + 16])
    at = iloc_at + 16

    def field(size: int) -> tuple[int, int]:
        return (int.from_bytes(data[at:at + size], "big") if size else 0), size

    def shift(position: int, size: int) -> None:
        value = int.from_bytes(data[position:position + size], "big")
        if size and value > after:
            data[position:position + size] = (value + added).to_bytes(size, "big")

    for _ in range(count):
        at += 2  # item_ID
        if version == 1:
            method = struct.unpack(">H", data[at:at + 2])[0] & 15
            assert method == 0, "offsets into idat or another item are not edited here"
            at += 2
        at += 2  # data_reference_index
        base, _ = field(base_offset_size)
        if base_offset_size:
            shift(at, base_offset_size)
        at += base_offset_size
        (extents,) = struct.unpack(">H", data[at:at + 2])
        at += 2
        for _ in range(extents):
            at += index_size
            if not base:
                shift(at, offset_size)
            at += offset_size + length_size


def quarter_turns(heif: bytes) -> int | None:
    """The turn of the file's irot property (in 90 degrees anticlockwise), None without one."""
    found = _boxes(heif, 0, len(heif)).get(b"irot")
    return None if found is None else heif[found[0] + 8] & 3


def with_exif_orientation(heif: bytes, orientation: int) -> bytes:
    """`heif`, encoded with an EXIF block whose orientation is 1, with `orientation` there instead (as an iPhone
    writes a portrait: the pixels stored on their side, irot, and EXIF orientation 6)."""
    tag = b"\x01\x12\x00\x03\x00\x00\x00\x01\x00\x01"  # big-endian: Orientation, SHORT, 1 value, 1
    assert heif.count(tag) == 1, "no single EXIF orientation of 1 to change"
    return heif.replace(tag, tag[:-1] + bytes([orientation]))


def stored_size(heif: bytes) -> tuple[int, int]:
    """Width and height of the pixels as the file stores them (its ispe), before any turn."""
    at, _ = _boxes(heif, 0, len(heif))[b"ispe"]
    return struct.unpack(">II", heif[at + 12:at + 20])


def exif_orientation(heif: bytes) -> int | None:
    """The orientation tag of the file's EXIF block, as stored (not as pillow-heif's Pillow plugin resets it)."""
    import pillow_heif

    exif = pillow_heif.open_heif(io.BytesIO(heif)).info.get("exif")
    if not exif:
        return None
    parsed = Image.Exif()
    parsed.load(exif)
    return parsed.get(0x0112)


def claiming_size(heif: bytes, width: int, height: int) -> bytes:
    """`heif` with its image's spatial extent (ispe) saying width x height: a few kilobytes that claim a
    picture of any size, as a decompression bomb does."""
    at, size = _boxes(heif, 0, len(heif))[b"ispe"]
    assert size == 20
    return heif[:at + 12] + struct.pack(">II", width, height) + heif[at + 20:]


def branded(data: bytes, brand: bytes) -> bytes:
    """`data` with `brand` as the major brand of its file type box (ftyp)."""
    assert data[4:8] == b"ftyp" and len(brand) == 4
    return data[:8] + brand + data[12:]
