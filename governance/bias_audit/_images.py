"""Reading audit images as RGB arrays, the way the emotion model receives them."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from fer_core import ImageError


def read_rgb(path: Path) -> np.ndarray:
    """The image at `path` as HxWx3 uint8 RGB, upright per its EXIF orientation.

    Grayscale files come back with three equal channels, which is how `is_grayscale` recognises them
    and how an RGB model expects them.
    """
    try:
        with Image.open(path) as image:
            upright = ImageOps.exif_transpose(image)
            return np.asarray(upright.convert("RGB"))
    except FileNotFoundError as exc:
        raise ImageError(f"audit image not found: {path}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:  # Pillow's errors for corrupt files
        raise ImageError(f"audit image {path} cannot be decoded: {exc}") from exc
