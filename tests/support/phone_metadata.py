"""A photo (and a video) carrying what a phone, or the app a household shares from, writes beside the pixels: EXIF with GPS
coordinates, capture time, the camera's serial number and a thumbnail of the uncropped original (which some editors
leave in place when they crop); XMP face regions naming the people (the Metadata Working Group's `mwg-rs:Name`, as
Apple Photos, Google Photos and Lightroom write them); an ICC profile; an IPTC caption; a JPEG comment.

`with_phone_metadata` adds all of it to a JPEG's bytes; `CARRIED` lists byte strings that show any of it in an
output. `with_location` gives a video the position and title a phone writes in its container (MP4 `location`,
`com.apple.quicktime.location.ISO6709`). EXIF is laid out here by hand (a little-endian TIFF structure, CIPA DC-008): Pillow writes no thumbnail IFD.
"""
from __future__ import annotations

import io
import struct

from PIL import Image

SERIAL = "SN-UNVEIL-4417-0042"
PERSON_IN_XMP = "Marisol Quenby-Xavier"
CAPTION = "Quenby family at Praia da Ursa"
COMMENT = "shared from Quenby household album"
CAPTURED = "2026:07:14 18:03:22"
# 38.7914 N, 9.4918 W (the coordinates as degrees, minutes, seconds rationals, as phones write them).
LATITUDE = ((38, 1), (47, 1), (2904, 100))
LONGITUDE = ((9, 1), (29, 1), (3048, 100))
# The thumbnail's own comment: found in an output, it means the embedded thumbnail went along.
THUMBNAIL_MARK = "THUMBNAIL-OF-THE-UNCROPPED-ORIGINAL"

XMP = f"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
 xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#" xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#">
<mwg-rs:Regions rdf:parseType="Resource"><mwg-rs:RegionList><rdf:Bag><rdf:li rdf:parseType="Resource">
<mwg-rs:Name>{PERSON_IN_XMP}</mwg-rs:Name><mwg-rs:Type>Face</mwg-rs:Type>
<mwg-rs:Area stArea:x="0.5" stArea:y="0.4" stArea:w="0.3" stArea:h="0.4" stArea:unit="normalized"/>
</rdf:li></rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions></rdf:Description></rdf:RDF></x:xmpmeta>"""

# Byte strings of which none may appear in an output made from the photo.
CARRIED = (SERIAL.encode(), PERSON_IN_XMP.encode(), CAPTION.encode(), COMMENT.encode(), CAPTURED.encode(),
           THUMBNAIL_MARK.encode(), b"Exif\x00\x00", b"http://ns.adobe.com/xap/1.0/", b"mwg-rs", b"ICC_PROFILE",
           b"Photoshop 3.0")

_ASCII, _SHORT, _LONG, _RATIONAL, _UNDEFINED = 2, 3, 4, 5, 7
_SIZES = {_ASCII: 1, _SHORT: 2, _LONG: 4, _RATIONAL: 8, _UNDEFINED: 1}


def _value(kind: int, value: object) -> tuple[int, bytes]:
    """(count, bytes) of one tag's value."""
    if kind == _ASCII:
        data = str(value).encode() + b"\x00"
        return len(data), data
    if kind == _UNDEFINED:
        return len(value), bytes(value)
    items = value if isinstance(value, (list, tuple)) and kind != _RATIONAL else [value]
    if kind == _RATIONAL:
        items = list(value)
        return len(items), b"".join(struct.pack("<II", *pair) for pair in items)
    fmt = "<H" if kind == _SHORT else "<I"
    return len(items), b"".join(struct.pack(fmt, item) for item in items)


def _ifd(entries: list[tuple[int, int, object]], at: int, next_ifd: int) -> bytes:
    """One IFD placed at offset `at`, its values that do not fit in 4 bytes right after it."""
    size = 2 + 12 * len(entries) + 4
    table, data = [], b""
    for tag, kind, value in sorted(entries, key=lambda e: e[0]):
        count, raw = _value(kind, value)
        if len(raw) <= 4:
            table.append(struct.pack("<HHI", tag, kind, count) + raw.ljust(4, b"\x00"))
        else:
            table.append(struct.pack("<HHII", tag, kind, count, at + size + len(data)))
            data += raw + (b"\x00" if len(raw) % 2 else b"")
    return struct.pack("<H", len(entries)) + b"".join(table) + struct.pack("<I", next_ifd) + data


def _ifd_length(entries: list[tuple[int, int, object]]) -> int:
    return len(_ifd(entries, 0, 0))


def thumbnail_jpeg() -> bytes:
    """The EXIF thumbnail: a small JPEG whose comment marks it (THUMBNAIL_MARK)."""
    buffer = io.BytesIO()
    Image.new("RGB", (160, 120), (200, 120, 40)).save(buffer, format="JPEG", comment=THUMBNAIL_MARK.encode())
    return buffer.getvalue()


def exif_bytes(*, orientation: int = 1) -> bytes:
    """An EXIF block (for a JPEG's APP1, after "Exif\\0\\0") as a phone writes it: make, model, serial, capture
    time, GPS position and a thumbnail."""
    thumbnail = thumbnail_jpeg()
    exif = [(0x9003, _ASCII, CAPTURED), (0xA431, _ASCII, SERIAL), (0x9000, _UNDEFINED, b"0232")]
    gps = [(0x0000, 1, b"\x02\x02\x00\x00"), (0x0001, _ASCII, "N"), (0x0002, _RATIONAL, LATITUDE),
           (0x0003, _ASCII, "W"), (0x0004, _RATIONAL, LONGITUDE)]
    gps = [(t, _UNDEFINED if k == 1 else k, v) for t, k, v in gps]
    ifd0 = [(0x010F, _ASCII, "Quenbyphone"), (0x0110, _ASCII, "Q 15 Pro"), (0x0112, _SHORT, orientation),
            (0x0132, _ASCII, CAPTURED), (0x8769, _LONG, 0), (0x8825, _LONG, 0)]
    ifd1 = [(0x0103, _SHORT, 6), (0x0201, _LONG, 0), (0x0202, _LONG, len(thumbnail))]
    at0 = 8
    at_exif = at0 + _ifd_length(ifd0)
    at_gps = at_exif + _ifd_length(exif)
    at1 = at_gps + _ifd_length(gps)
    at_thumb = at1 + _ifd_length(ifd1)
    ifd0 = [(t, k, at_exif if t == 0x8769 else at_gps if t == 0x8825 else v) for t, k, v in ifd0]
    ifd1 = [(t, k, at_thumb if t == 0x0201 else v) for t, k, v in ifd1]
    return (b"II*\x00" + struct.pack("<I", at0) + _ifd(ifd0, at0, at1) + _ifd(exif, at_exif, 0)
            + _ifd(gps, at_gps, 0) + _ifd(ifd1, at1, 0) + thumbnail)


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _iptc_caption() -> bytes:
    """An APP13 Photoshop segment with one IPTC record: the caption (2:120)."""
    record = b"\x1c\x02\x78" + struct.pack(">H", len(CAPTION)) + CAPTION.encode()
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(record)) + record
    return b"Photoshop 3.0\x00" + resource + (b"\x00" if len(record) % 2 else b"")


def with_phone_metadata(jpeg: bytes, *, orientation: int = 1) -> bytes:
    """`jpeg` (a JPEG's bytes) re-saved with all the metadata above; the pixels are the same picture."""
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    with Image.open(io.BytesIO(jpeg)) as image:
        image.convert("RGB").save(buffer, format="JPEG", quality=95, icc_profile=icc, comment=COMMENT.encode())
    data = buffer.getvalue()
    extra = (_segment(0xE1, b"Exif\x00\x00" + exif_bytes(orientation=orientation))
             + _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + XMP.encode())
             + _segment(0xED, _iptc_caption()))
    return data[:2] + extra + data[2:]


def carried(output: bytes) -> list[bytes]:
    """Which of CARRIED appear in `output`."""
    return [mark for mark in CARRIED if mark in output]


# A phone video's position (ISO 6709, as in the MP4 `location` and QuickTime keys) and a title naming who is in it.
VIDEO_LOCATION = "+38.7914-009.4918/"
VIDEO_TITLE = f"{PERSON_IN_XMP} at Praia da Ursa"
VIDEO_CARRIED = (VIDEO_LOCATION.encode(), b"38.7914", VIDEO_TITLE.encode(), b"Quenbyphone")


def with_location(video: bytes) -> bytes:
    """An MP4 video's streams copied unchanged into an MP4 whose container holds VIDEO_LOCATION and VIDEO_TITLE."""
    import av

    out = io.BytesIO()
    with av.open(io.BytesIO(video)) as source, \
            av.open(out, "w", format="mp4", options={"movflags": "use_metadata_tags"}) as target:
        target.metadata.update({"location": VIDEO_LOCATION, "com.apple.quicktime.location.ISO6709": VIDEO_LOCATION,
                                "com.apple.quicktime.make": "Quenbyphone", "title": VIDEO_TITLE})
        streams = {stream.index: target.add_stream_from_template(stream) for stream in source.streams.video}
        for packet in source.demux(*source.streams.video):
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                target.mux(packet)
    return out.getvalue()
