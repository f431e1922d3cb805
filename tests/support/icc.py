"""ICC colour profiles of the RGB spaces phones and cameras tag their photos with, written here byte by byte.

Pillow's ImageCms makes sRGB, not Display P3 (the space of every iPhone photo since the iPhone 7, and of many
Android ones) nor Adobe RGB (1998) (a camera setting): `rgb_profile` writes an ICC v2 display profile from a space's
primaries, white point and tone curve, the form those spaces' own profiles take (a matrix and three curves), so that
tests and benchmarks can tag a photo as a phone does and convert between spaces through littleCMS.
"""
from __future__ import annotations

import struct

import numpy as np

D50 = (0.9642, 1.0, 0.8249)  # the ICC's connection white (XYZ, Y = 1)
_D65_XY = (0.3127, 0.3290)
# Bradford's cone response matrix, by which the colorants of a D65 space are adapted to D50 (ICC.1, annex E).
_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
# Primaries (x, y of red, green, blue), white point and tone curve: None is sRGB's piecewise curve, a number a gamma.
SPACES = {
    "sRGB": (((0.64, 0.33), (0.30, 0.60), (0.15, 0.06)), _D65_XY, None),
    "Display P3": (((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)), _D65_XY, None),
    "Adobe RGB (1998)": (((0.64, 0.33), (0.21, 0.71), (0.15, 0.06)), _D65_XY, 563 / 256),
}
_CURVE_POINTS = 4096


def _xyz(xy: tuple[float, float]) -> np.ndarray:
    x, y = xy
    return np.array([x / y, 1.0, (1 - x - y) / y])


def colorants(space: str) -> np.ndarray:
    """The space's RGB-to-XYZ matrix adapted to D50 (columns: red, green, blue), as an ICC profile holds it."""
    primaries, white, _ = SPACES[space]
    columns = np.stack([_xyz(p) for p in primaries], axis=1)
    scale = np.linalg.solve(columns, _xyz(white))  # each primary's share of the white
    to_xyz = columns * scale
    adapt = np.linalg.inv(_BRADFORD) @ np.diag((_BRADFORD @ np.array(D50)) / (_BRADFORD @ _xyz(white))) @ _BRADFORD
    return adapt @ to_xyz


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz_tag(xyz) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15(v) for v in xyz)


def _curve_tag(gamma: float | None) -> bytes:
    if gamma is not None:
        return b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    v = np.linspace(0.0, 1.0, _CURVE_POINTS)
    linear = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    return b"curv\0\0\0\0" + struct.pack(">I", _CURVE_POINTS) + np.round(linear * 65535).astype(">u2").tobytes()


def _description_tag(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    return (b"desc\0\0\0\0" + struct.pack(">I", len(ascii_text)) + ascii_text + b"\0" * 8  # no Unicode
            + b"\0\0\0" + b"\0" * 67)  # no ScriptCode


def rgb_profile(space: str) -> bytes:
    """An ICC v2 RGB display profile of `space` (a key of SPACES), as bytes for Pillow's icc_profile= option."""
    primaries, white, gamma = SPACES[space]
    matrix = colorants(space)
    curve = _curve_tag(gamma)
    tags = [(b"desc", _description_tag(space)), (b"cprt", b"text\0\0\0\0No copyright, use freely\0"),
            (b"wtpt", _xyz_tag(D50)), (b"rXYZ", _xyz_tag(matrix[:, 0])), (b"gXYZ", _xyz_tag(matrix[:, 1])),
            (b"bXYZ", _xyz_tag(matrix[:, 2])), (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    offset = 128 + 4 + 12 * len(tags)
    table, data, placed = b"", b"", {}
    for signature, body in tags:
        if body not in placed:  # the three curves are one tag, as in the spaces' own profiles
            placed[body] = offset + len(data)
            data += body + b"\0" * (-len(body) % 4)
        table += signature + struct.pack(">II", placed[body], len(body))
    size = offset + len(data)
    header = (struct.pack(">I", size) + b"\0\0\0\0" + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ " + b"\0" * 12
              + b"acsp" + b"\0" * 24 + struct.pack(">I", 0) + b"".join(_s15(v) for v in D50) + b"\0" * 48)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data
