"""Proxy groups on known images: fer4 grayscale crops, LFW colour photos with known landmarks, synthetic colours."""
from __future__ import annotations

import io
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from fer_core import load_image
from governance.bias_audit import (
    NOSE_DEPTH_RATIO,
    NOT_MEASURED,
    FaceGeometry,
    face_size_band,
    head_yaw,
    illumination_band,
    individual_typology_angle,
    is_grayscale,
    load_audit_set,
    proxy_groups,
    run_emotion_audit,
    skin_tone_band,
)
from tests.support.bias_audit import CLASSES, planted_classifier, write_cohorts
from tests.support.paths import FIXTURES

LANDMARKS = json.loads((FIXTURES / "bias_audit" / "lfw_landmarks.json").read_text())


def _lab_image(lightness: float, a: float, b: float, size: int = 64) -> np.ndarray:
    """A flat sRGB uint8 image of one CIELAB colour."""
    lab = np.array([[[lightness, a, b]]], dtype=np.float32)
    rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)[0, 0]
    return np.tile(np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8), (size, size, 1))


def _cie_lab(rgb: np.ndarray) -> tuple[float, float, float]:
    """CIELAB (D65) of one sRGB uint8 colour by the CIE formulas, independent of OpenCV."""
    c = rgb.astype(np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    ratio = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(ratio > (6 / 29) ** 3, np.cbrt(ratio), ratio / (3 * (6 / 29) ** 2) + 4 / 29)
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def _lfw(faces_dir: Path, relative: str) -> tuple[np.ndarray, FaceGeometry]:
    entry = LANDMARKS["faces"][relative]
    return load_image(faces_dir / relative), FaceGeometry(box=tuple(entry["box"]), landmarks=np.array(entry["landmarks"]))


def test_fer4_face_is_grayscale_with_skin_tone_not_measured(fer4_dir):
    path = sorted((fer4_dir / "test" / "happy").glob("*.jpg"))[0]
    image = load_image(path)
    assert image.shape == (48, 48, 3)
    assert is_grayscale(image)
    groups = proxy_groups(image)
    assert groups["source"] == "grayscale"
    assert groups["skin_tone"] == NOT_MEASURED
    assert groups["head_pose"] == NOT_MEASURED  # a crop comes without landmarks
    assert groups["face_size"] == "small"


def test_gray_content_saved_as_colour_jpeg_is_still_grayscale(fer4_dir):
    gray = np.asarray(Image.open(sorted((fer4_dir / "test" / "sad").glob("*.jpg"))[0]).convert("L"))
    buffer = io.BytesIO()
    Image.fromarray(np.stack([gray] * 3, axis=2)).resize((96, 96)).save(buffer, format="JPEG", quality=75)
    assert is_grayscale(np.asarray(Image.open(buffer).convert("RGB")))


@pytest.mark.parametrize(
    ("lightness", "b", "band"),
    [(80.0, 10.0, "very light"), (70.0, 15.0, "light"), (62.0, 18.0, "intermediate"),
     (55.0, 18.0, "tan"), (40.0, 20.0, "brown"), (25.0, 15.0, "dark")],
)
def test_synthetic_skin_has_its_known_ita(lightness, b, band):
    image = _lab_image(lightness, 8.0, b)
    face = FaceGeometry(box=(0, 0, 64, 64))
    measured_l, _, measured_b = _cie_lab(image[0, 0])  # of the colour after rounding to uint8
    expected = math.degrees(math.atan((measured_l - 50.0) / measured_b))
    # OpenCV's float Lab conversion differs from the CIE formulas by up to ~0.2 in b*: ~0.4 degrees here.
    assert individual_typology_angle(image, face) == pytest.approx(expected, abs=0.5)
    assert expected == pytest.approx(math.degrees(math.atan((lightness - 50.0) / b)), abs=1.5)
    assert proxy_groups(image, face)["skin_tone"] == band


def test_ita_band_edges_follow_chardon():
    assert [skin_tone_band(v) for v in (55.01, 55.0, 41.0, 28.0, 10.0, -30.0, -30.01)] == [
        "very light", "light", "intermediate", "tan", "brown", "dark", "dark"
    ]
    assert skin_tone_band(None) == NOT_MEASURED


def test_blue_cast_skin_is_not_measured():
    image = _lab_image(60.0, 0.0, -10.0)
    assert individual_typology_angle(image, FaceGeometry(box=(0, 0, 64, 64))) is None
    assert proxy_groups(image)["skin_tone"] == NOT_MEASURED


@pytest.mark.parametrize(("lightness", "band"), [(25.0, "dim"), (39.0, "dim"), (41.0, "medium"), (64.0, "medium"),
                                                 (66.0, "bright"), (90.0, "bright")])
def test_synthetic_brightness_has_its_band(lightness, band):
    assert proxy_groups(_lab_image(lightness, 0.0, 0.0))["illumination"] == band


def test_face_size_bands():
    assert [face_size_band(w) for w in (48, 63, 64, 127, 128, 400)] == [
        "small", "small", "medium", "medium", "large", "large"
    ]
    assert illumination_band(40.0) == "medium"


def _projected_landmarks(yaw_deg: float, roll_deg: float = 0.0) -> np.ndarray:
    """Orthographic projection of a head with NOSE_DEPTH_RATIO's proportions, turned and rolled."""
    half, depth = 30.0, 30.0 * NOSE_DEPTH_RATIO
    points = np.array([[-half, -25, -depth], [half, -25, -depth], [0, 0, 0], [-half, 25, -depth], [half, 25, -depth]])
    yaw, roll = math.radians(yaw_deg), math.radians(roll_deg)
    x = points[:, 0] * math.cos(yaw) + points[:, 2] * math.sin(yaw)  # positive yaw: nose to the right
    flat = np.stack([x, points[:, 1]], axis=1)
    rotation = np.array([[math.cos(roll), -math.sin(roll)], [math.sin(roll), math.cos(roll)]])
    return flat @ rotation.T + 100.0


@pytest.mark.parametrize("yaw", [-40.0, -20.0, 0.0, 10.0, 35.0])
@pytest.mark.parametrize("roll", [0.0, 25.0])
def test_yaw_of_a_projected_head_is_recovered_through_roll(yaw, roll):
    assert head_yaw(_projected_landmarks(yaw, roll)) == pytest.approx(yaw, abs=0.5)


def test_degenerate_landmarks_have_no_yaw():
    assert head_yaw(np.full((5, 2), 10.0)) is None


def test_lfw_photos_are_colour_and_mostly_frontal(faces_dir):
    for relative in LANDMARKS["faces"]:
        image, face = _lfw(faces_dir, relative)
        groups = proxy_groups(image, face)
        assert groups["source"] == "colour", relative
        assert groups["face_size"] == "medium", relative  # MTCNN boxes of 85-100 px in 250 px photos
        assert groups["skin_tone"] != NOT_MEASURED, relative
        expected_pose = "turned" if relative.startswith("Halle_Berry") else "frontal"
        assert groups["head_pose"] == expected_pose, relative


def test_lfw_skin_tone_orders_darker_and_lighter_skin(faces_dir):
    ita = {r.split("/")[0]: individual_typology_angle(*_lfw(faces_dir, r)) for r in LANDMARKS["faces"]}
    for darker in ("Serena_Williams", "Tiger_Woods"):
        for lighter in ("Laura_Bush", "Naomi_Watts"):
            assert ita[darker] < ita[lighter] - 30, (darker, lighter, ita)
    assert skin_tone_band(ita["Serena_Williams"]) == "brown"
    assert skin_tone_band(ita["Laura_Bush"]) == "very light"


def test_mirrored_photo_has_the_opposite_yaw(faces_dir):
    image, face = _lfw(faces_dir, "Halle_Berry/Halle_Berry_0001.jpg")
    mirrored = face.landmarks.copy()
    mirrored[:, 0] = image.shape[1] - 1 - mirrored[:, 0]
    mirrored = mirrored[[1, 0, 2, 4, 3]]  # left and right swap sides in a mirror
    assert head_yaw(face.landmarks) > 15
    assert head_yaw(mirrored) == pytest.approx(-head_yaw(face.landmarks))


def test_no_face_found_leaves_only_the_source_measured(tmp_path):
    manifest = write_cohorts(tmp_path, {"a": (4, 0)}, fills={"a": (200, 150, 120)})
    audit = run_emotion_audit(
        samples=load_audit_set(manifest), predict=planted_classifier, classes=CLASSES, locate=lambda image: None
    )
    rows = audit.rows.iloc[0]
    assert rows["source"] == "colour"
    assert [rows[c] for c in ("skin_tone", "illumination", "face_size", "head_pose")] == [NOT_MEASURED] * 4
