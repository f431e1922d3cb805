"""Box arithmetic of the MTCNN cascade, written to reproduce the `mtcnn` 1.0.0 package bit for bit.

Boxes are float arrays of rows (x1, y1, x2, y2, score). Several choices below look odd (widths
with and without +1, boxes normalised by the image size but sampled over size - 1); each copies
what the package does, because the parity test holds us to its output.
"""
from __future__ import annotations

import numpy as np

# Above this many boxes the pairwise-overlap matrix is built in row blocks to bound memory.
_NMS_BLOCK = 1024


def sort_by_score(boxes: np.ndarray) -> np.ndarray:
    """Rows in descending score, ties in the order the package's argsort()[::-1] leaves them."""
    return boxes[np.argsort(boxes[:, 4])[::-1]]


def nms(boxes: np.ndarray, threshold: float, *, method: str = "union") -> np.ndarray:
    """Suppress rows overlapping an earlier row (boxes must be sorted best first).

    The package drops a box when ANY earlier box overlaps it by more than `threshold`, even an
    earlier box that was itself dropped; standard greedy NMS compares only against kept boxes and
    keeps a few more boxes. `method` "union" is intersection over union, "min" intersection over
    the smaller area (used after O-Net so a box nested in a bigger face goes too).
    """
    count = len(boxes)
    if count < 2:
        return boxes
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    area = (x2 - x1) * (y2 - y1)  # the package's IoU has no +1 here
    dropped = np.zeros(count, dtype=bool)
    for start in range(0, count, _NMS_BLOCK):
        rows = slice(start, min(start + _NMS_BLOCK, count))
        width = np.maximum(0.0, np.minimum(x2[rows, None], x2[None, :]) - np.maximum(x1[rows, None], x1[None, :]))
        height = np.maximum(0.0, np.minimum(y2[rows, None], y2[None, :]) - np.maximum(y1[rows, None], y1[None, :]))
        inter = width * height
        if method == "union":
            denom = area[rows, None] + area[None, :] - inter
        elif method == "min":
            denom = np.minimum(area[rows, None], area[None, :])
        else:
            raise ValueError(f"method must be 'union' or 'min', got {method!r}")
        with np.errstate(divide="ignore", invalid="ignore"):
            overlap = inter / denom
        # only an earlier (better) row may suppress a later one
        earlier = np.arange(rows.start, rows.stop)[:, None] < np.arange(count)[None, :]
        dropped |= ((overlap > threshold) & earlier).any(axis=0)
    return boxes[~dropped]


def square(boxes: np.ndarray) -> np.ndarray:
    """Each box grown to a square on its longer side, about the same centre (floats, no rounding)."""
    out = boxes.copy()
    width = boxes[:, 2] - boxes[:, 0]
    height = boxes[:, 3] - boxes[:, 1]
    side = np.maximum(width, height)
    out[:, 0] = boxes[:, 0] + width * 0.5 - side * 0.5
    out[:, 1] = boxes[:, 1] + height * 0.5 - side * 0.5
    out[:, 2] = out[:, 0] + side
    out[:, 3] = out[:, 1] + side
    return out


def refine(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Apply R-/O-Net box regression: offsets are fractions of the (x2 - x1 + 1) box width/height."""
    out = boxes.copy()
    width = boxes[:, 2] - boxes[:, 0] + 1
    height = boxes[:, 3] - boxes[:, 1] + 1
    out[:, :4] += offsets * np.stack([width, height, width, height], axis=1)
    return out


def normalise(pixels: np.ndarray) -> np.ndarray:
    """MTCNN's input scaling of 0-255 pixels, (x - 127.5) / 128, as a new float32 array (computed in place)."""
    out = pixels.astype(np.float32)
    out -= 127.5
    out /= 128.0
    return out


def crop_and_resize(image: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """size x size bilinear crops of `boxes` from `image` (HxWxC 0-255 pixels), like tf.image.crop_and_resize
    of the normalised image (see normalise), as float32.

    Only the sampled pixels are normalised: the same numbers as normalising the whole image first, without
    a float copy of a photo that may have tens of millions of pixels.

    The package hands TensorFlow boxes divided by (W, H), which TF then maps over (W - 1, H - 1), so the
    sampled region shrinks by a factor (W - 1) / W; sample points outside the image are 0.
    """
    height, width, channels = image.shape
    if len(boxes) == 0:
        return np.zeros((0, size, size, channels), dtype=np.float32)
    steps = np.arange(size, dtype=np.float64)
    ys = _sample_points(boxes[:, 1], boxes[:, 3], height, size, steps)
    xs = _sample_points(boxes[:, 0], boxes[:, 2], width, size, steps)
    inside = ((ys >= 0) & (ys <= height - 1))[:, :, None] & ((xs >= 0) & (xs <= width - 1))[:, None, :]
    y_lerp = (ys - np.floor(ys)).astype(np.float32)[:, :, None, None]
    x_lerp = (xs - np.floor(xs)).astype(np.float32)[:, None, :, None]
    # Gather from the flattened image with one index per pixel: cheaper than 2-D fancy indexing.
    row0 = (np.clip(np.floor(ys), 0, height - 1).astype(np.intp) * width)[:, :, None]
    row1 = (np.clip(np.ceil(ys), 0, height - 1).astype(np.intp) * width)[:, :, None]
    col0 = np.clip(np.floor(xs), 0, width - 1).astype(np.intp)[:, None, :]
    col1 = np.clip(np.ceil(xs), 0, width - 1).astype(np.intp)[:, None, :]
    flat = image.reshape(-1, channels)
    top_left, top_right = normalise(flat[row0 + col0]), normalise(flat[row0 + col1])
    bottom_left, bottom_right = normalise(flat[row1 + col0]), normalise(flat[row1 + col1])
    top = top_left + (top_right - top_left) * x_lerp
    bottom = bottom_left + (bottom_right - bottom_left) * x_lerp
    crops = top + (bottom - top) * y_lerp
    crops *= inside[..., None]
    return crops


def _sample_points(lo: np.ndarray, hi: np.ndarray, extent: int, size: int, steps: np.ndarray) -> np.ndarray:
    """TF crop_and_resize sample coordinates along one axis for boxes [lo, hi] in pixels (count x size)."""
    lo_n = lo / extent
    hi_n = hi / extent
    scale = (hi_n - lo_n) * (extent - 1) / (size - 1)
    return lo_n[:, None] * (extent - 1) + steps[None, :] * scale[:, None]
