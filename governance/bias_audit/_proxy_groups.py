"""Automatic proxy groups measured on each face: skin tone, illumination, face size, head pose, source.

These are proxies measured from pixels, not attributes of the person: the skin-tone band is the
colorimetric Individual Typology Angle of the face skin *as photographed* (it moves with white
balance and lighting), never an ethnicity. They let an audit ask "does the model work worse on
darker-looking, dimmer, smaller or turned faces?" on any set, without asking anyone for their data.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from governance.bias_audit._audit_set import NOT_MEASURED

PROXY_COLUMNS = ("skin_tone", "illumination", "face_size", "head_pose", "source")

# Band names per proxy column, in their natural order (plots and tables use this order).
PROXY_BANDS = {
    "skin_tone": ("very light", "light", "intermediate", "tan", "brown", "dark"),
    "illumination": ("dim", "medium", "bright"),
    "face_size": ("small", "medium", "large"),
    "head_pose": ("frontal", "turned", "strongly turned"),
    "source": ("grayscale", "colour"),
}

# What each band means, for reports and model cards.
PROXY_DESCRIPTIONS = {
    "skin_tone": "Individual Typology Angle of cheek skin (CIELAB, D65): very light > 55°, light 41-55°, "
    "intermediate 28-41°, tan 10-28°, brown -30-10°, dark < -30° (Chardon et al. 1991; Del Bino et al. "
    "2013). Colour photos only; grayscale faces are n/a. Measured as photographed, so lighting moves it.",
    "illumination": "mean CIELAB lightness L* of the face: dim < 40, medium 40-65, bright >= 65. Darker skin "
    "also lowers L*, so read it together with skin tone.",
    "face_size": "face width in the source image: small < 64 px, medium 64-127 px, large >= 128 px.",
    "head_pose": "absolute yaw estimated from the 5 landmarks: frontal < 15°, turned 15-30°, strongly "
    "turned >= 30°; n/a without landmarks.",
    "source": "grayscale when all three channels agree (99% of pixels within 6 levels), else colour.",
}

# ITA band lower edges in degrees, lightest first (Chardon et al. 1991, extended by Del Bino et al. 2013).
ITA_BAND_EDGES = ((55.0, "very light"), (41.0, "light"), (28.0, "intermediate"), (10.0, "tan"), (-30.0, "brown"))

# Mean L* (0-100) edges of the illumination bands. fer4's histogram-equalised faces sit near 52 (medium);
# LFW's news photos spread from about 35 to 62 (5th-95th percentile), so both ends are populated.
DIM_BELOW_L = 40.0
BRIGHT_FROM_L = 65.0

# Face width edges in source pixels. 64 px is about where face models are trained (48-112 px inputs):
# below it the crop is upsampled and loses detail; from 128 px it is downsampled.
SMALL_BELOW_PX = 64
LARGE_FROM_PX = 128

# Absolute yaw edges in degrees: up to 15° both eyes and the nose stay well visible; past 30° the far
# side of the face starts to be hidden.
TURNED_FROM_DEG = 15.0
STRONGLY_TURNED_FROM_DEG = 30.0

# Depth of the nose tip in front of the eye and mouth-corner points, over their mean half-width. From
# the generic 3D head of OpenCV's head-pose examples (nose tip at the origin, mouth corners at x = +-150,
# z = -125, outer eye corners at x = +-225, z = -135, so eye centres near x = +-150): mean depth 130 over
# half-width 150.
NOSE_DEPTH_RATIO = 0.87

# A colour photo saved from a grayscale one differs between channels only by JPEG noise. Tolerating
# 6 levels on 99% of pixels separates that from real colour, whose skin alone differs by 20+ levels.
GRAYSCALE_SPREAD = 6

# Cheek patches are squares of this fraction of the inter-ocular distance, centred midway between each
# eye and the mouth corner below it: skin on almost every face, away from eyes, brows, nostrils and lips.
CHEEK_PATCH_FRACTION = 0.3

# Share of darkest and brightest skin pixels dropped before taking medians: shadows and highlights.
TRIM_PERCENT = 10.0


@dataclass(frozen=True)
class FaceGeometry:
    """Where a face is in its photo: box (x, y, width, height) in pixels and optional 5 landmarks.

    Landmarks follow Unveil's order (left eye, right eye, nose tip, left and right mouth corner, "left"
    meaning the image's left), as an array of shape (5, 2).
    """

    box: tuple[int, int, int, int]
    landmarks: np.ndarray | None = None


def proxy_groups(image: np.ndarray, face: FaceGeometry | None = None) -> dict[str, str]:
    """The proxy group of every PROXY_COLUMNS entry for one face.

    `image` is HxWx3 uint8 RGB. Without `face`, the whole image is the face (a face crop such as a fer4
    image); then head pose is n/a, as there are no landmarks.
    """
    face = face or FaceGeometry(box=(0, 0, image.shape[1], image.shape[0]))
    grayscale = is_grayscale(image)
    ita = None if grayscale else individual_typology_angle(image, face)
    yaw = head_yaw(face.landmarks) if face.landmarks is not None else None
    return {
        "skin_tone": skin_tone_band(ita),
        "illumination": illumination_band(face_lightness(image, face)),
        "face_size": face_size_band(face.box[2]),
        "head_pose": head_pose_band(yaw),
        "source": "grayscale" if grayscale else "colour",
    }


def is_grayscale(image: np.ndarray) -> bool:
    """True when the image carries no colour: one channel, or three that agree up to JPEG noise."""
    if image.ndim == 2 or image.shape[2] == 1:
        return True
    channels = image[..., :3].astype(np.int16)
    spread = channels.max(axis=2) - channels.min(axis=2)
    return float(np.percentile(spread, 99)) <= GRAYSCALE_SPREAD


def individual_typology_angle(image: np.ndarray, face: FaceGeometry) -> float | None:
    """ITA in degrees, atan((L* - 50) / b*), of the face's cheek skin; None if it cannot be measured.

    Medians of L* and b* over the cheek pixels left after trimming shadows and highlights. None when
    the patches fall outside the image or b* <= 0.5 (no yellow component: not skin as photographed,
    e.g. a strong blue cast), where the angle would be meaningless.
    """
    pixels = _skin_pixels(image, face)
    if pixels.shape[0] < 16:
        return None
    lab = cv2.cvtColor(pixels.reshape(-1, 1, 3).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab).reshape(-1, 3)
    low, high = np.percentile(lab[:, 0], [TRIM_PERCENT, 100.0 - TRIM_PERCENT])
    kept = lab[(lab[:, 0] >= low) & (lab[:, 0] <= high)]
    lightness, yellow = float(np.median(kept[:, 0])), float(np.median(kept[:, 2]))
    if yellow <= 0.5:
        return None
    return math.degrees(math.atan((lightness - 50.0) / yellow))


def skin_tone_band(ita: float | None) -> str:
    """The ITA category of an angle in degrees; NOT_MEASURED for None."""
    if ita is None:
        return NOT_MEASURED
    for lower_edge, band in ITA_BAND_EDGES:
        if ita > lower_edge:
            return band
    return "dark"


def face_lightness(image: np.ndarray, face: FaceGeometry) -> float:
    """Mean CIELAB L* (0-100) of the face box."""
    x, y, w, h = _clip_box(face.box, image.shape)
    region = image[y : y + h, x : x + w, :3].astype(np.float32) / 255.0
    if region.size == 0:
        region = image[..., :3].astype(np.float32) / 255.0
    return float(cv2.cvtColor(region, cv2.COLOR_RGB2Lab)[..., 0].mean())


def illumination_band(lightness: float) -> str:
    """Band of a mean L*: dim, medium or bright (edges DIM_BELOW_L, BRIGHT_FROM_L)."""
    if lightness < DIM_BELOW_L:
        return "dim"
    return "bright" if lightness >= BRIGHT_FROM_L else "medium"


def face_size_band(width_px: float) -> str:
    """Band of a face width in source pixels (edges SMALL_BELOW_PX, LARGE_FROM_PX)."""
    if width_px < SMALL_BELOW_PX:
        return "small"
    return "large" if width_px >= LARGE_FROM_PX else "medium"


def head_yaw(landmarks: np.ndarray) -> float | None:
    """Yaw in degrees from 5 landmarks; positive when the nose points to the image's right.

    In-plane roll is removed first (the eye line made horizontal). Then the nose tip's offset from the
    centre of the eyes and mouth corners, over their half-width, is (depth/half-width) * tan(yaw) for a
    head turning about its vertical axis; NOSE_DEPTH_RATIO supplies depth/half-width. None when the
    points are degenerate (eyes or mouth corners on top of each other).
    """
    points = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    left_eye, right_eye = points[0], points[1]
    roll = math.atan2(right_eye[1] - left_eye[1], right_eye[0] - left_eye[0])
    cos, sin = math.cos(-roll), math.sin(-roll)
    level = (points - left_eye) @ np.array([[cos, sin], [-sin, cos]])
    half_width = (abs(level[1, 0] - level[0, 0]) + abs(level[4, 0] - level[3, 0])) / 4.0
    if half_width < 1e-6:
        return None
    centre = level[[0, 1, 3, 4], 0].mean()
    offset = (level[2, 0] - centre) / half_width
    return math.degrees(math.atan(offset / NOSE_DEPTH_RATIO))


def head_pose_band(yaw: float | None) -> str:
    """Band of a yaw in degrees by its absolute value; NOT_MEASURED for None."""
    if yaw is None:
        return NOT_MEASURED
    if abs(yaw) < TURNED_FROM_DEG:
        return "frontal"
    return "strongly turned" if abs(yaw) >= STRONGLY_TURNED_FROM_DEG else "turned"


def _skin_pixels(image: np.ndarray, face: FaceGeometry) -> np.ndarray:
    """RGB pixels (N, 3) of the two cheek patches, or of the centre of the box without landmarks."""
    if face.landmarks is None:
        # Without landmarks, the middle of a face box (nose and inner cheeks) is the part most likely skin.
        x, y, w, h = face.box
        return _patch(image, x + 0.25 * w, y + 0.45 * h, x + 0.75 * w, y + 0.7 * h)
    points = np.asarray(face.landmarks, dtype=np.float64).reshape(5, 2)
    half = CHEEK_PATCH_FRACTION * float(np.linalg.norm(points[1] - points[0])) / 2.0
    patches = []
    for eye, mouth_corner in ((points[0], points[3]), (points[1], points[4])):
        cx, cy = (eye + mouth_corner) / 2.0
        patches.append(_patch(image, cx - half, cy - half, cx + half, cy + half))
    return np.concatenate(patches)


def _patch(image: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    height, width = image.shape[:2]
    left, top = max(int(round(x0)), 0), max(int(round(y0)), 0)
    right, bottom = min(int(round(x1)), width), min(int(round(y1)), height)
    if right <= left or bottom <= top:
        return np.empty((0, 3), dtype=np.uint8)
    return image[top:bottom, left:right, :3].reshape(-1, 3)


def _clip_box(box: tuple[int, int, int, int], shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    x, y, w, h = (int(round(v)) for v in box)
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, shape[1]), min(y + h, shape[0])
    return x0, y0, max(x1 - x0, 0), max(y1 - y0, 0)
