"""From the aligned face back to the photo: a heatmap blob lands where that part of the face is in the photo."""
import math

import matplotlib
import numpy as np
import pytest
from PIL import Image

from fer_core import ImageError
from fer_core.alignment import (
    ARCFACE_112_TEMPLATE,
    align,
    align_face,
    scale_template,
    similarity_transform,
    warp_to_crop,
)
from governance.explain import DEFAULT_COLORMAP, ExplanationError, explain_on_photo, heatmap_to_photo, overlay

SIZE = (48, 48)
TEMPLATE = scale_template(ARCFACE_112_TEMPLATE, (112, 112), SIZE)  # the emotion model's default template


def blob(centre: np.ndarray, sigma: float = 2.0) -> np.ndarray:
    ys, xs = np.mgrid[0 : SIZE[0], 0 : SIZE[1]]
    return np.exp(-((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / (2 * sigma**2)).astype(np.float32)


def peak_xy(heat: np.ndarray) -> np.ndarray:
    y, x = np.unravel_index(np.nanargmax(heat), heat.shape)
    return np.array([x, y], dtype=np.float64)


@pytest.fixture(scope="module")
def lfw_face(faces_dir):
    """A real photo, its detected face and the alignment matrix the app would use."""
    from fer_core.detection import FaceDetector

    photo = np.asarray(Image.open(faces_dir / "Colin_Powell" / "Colin_Powell_0001.jpg").convert("RGB"))
    face = max(FaceDetector().detect(photo), key=lambda f: f.box[2] * f.box[3])
    return photo, face, similarity_transform(face.landmarks, TEMPLATE)


def test_a_blob_on_the_aligned_left_eye_lands_on_the_left_eye_of_a_rotated_scaled_face():
    scale, angle, offset = 2.5, math.radians(25), np.array([170.0, 60.0])
    rotation = scale * np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    landmarks = TEMPLATE @ rotation.T + offset  # where the face is in a 240x320 photo
    matrix = similarity_transform(landmarks, TEMPLATE)

    heat = heatmap_to_photo(blob(TEMPLATE[0]), matrix, (240, 320, 3))

    assert heat.shape == (240, 320) and heat.dtype == np.float32
    np.testing.assert_allclose(peak_xy(heat), landmarks[0], atol=1.0)
    assert 0.9 <= np.nanmax(heat) <= 1.0
    # The explained area is the crop's footprint: 48x48 scaled by 2.5, nothing outside it.
    assert np.isfinite(heat).sum() == pytest.approx(48 * 48 * scale**2, rel=0.02)
    assert np.isnan(heat[0, 0]) and np.isnan(heat[239, 319])
    centre = (np.array([24.0, 24.0]) @ rotation.T + offset).round().astype(int)
    assert np.isfinite(heat[centre[1], centre[0]])


def test_the_crop_edge_is_not_dimmed_by_the_warp():
    matrix = similarity_transform(TEMPLATE * 3 + 20, TEMPLATE)
    heat = heatmap_to_photo(np.ones(SIZE, np.float32), matrix, (200, 200))
    np.testing.assert_allclose(heat[np.isfinite(heat)], 1.0, atol=1e-6)


def test_on_a_real_photo_the_nose_blob_lands_on_the_detected_nose(lfw_face):
    photo, face, matrix = lfw_face
    heat = heatmap_to_photo(blob(TEMPLATE[2]), matrix, photo.shape)
    peak = peak_xy(heat)
    inverse = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]).astype(np.float64))
    expected = (inverse @ np.append(TEMPLATE[2], 1.0))[:2]
    np.testing.assert_allclose(peak, expected, atol=1.0)
    x, y, w, h = face.box
    assert x <= peak[0] <= x + w and y <= peak[1] <= y + h
    # A 5-point least-squares fit leaves each landmark a little off its template point, not far.
    assert np.linalg.norm(peak - face.landmarks[2]) <= 0.1 * w


def test_the_explained_crop_is_the_crop_the_emotion_model_reads(lfw_face):
    photo, face, matrix = lfw_face
    aligned = align(photo, face.landmarks, TEMPLATE, SIZE)  # what the app explains: crop and matrix at once
    np.testing.assert_array_equal(aligned.crop, align_face(photo, face.landmarks, TEMPLATE, SIZE))
    np.testing.assert_array_equal(aligned.matrix, matrix)
    # explain_on_photo, given the matrix alone, cuts the same crop with the same warp
    np.testing.assert_array_equal(warp_to_crop(photo, aligned.matrix, SIZE), aligned.crop)


def test_overlay_colours_only_the_explained_pixels():
    image = np.full((4, 5, 3), 200, np.uint8)
    heat = np.full((4, 5), np.nan, np.float32)
    heat[1, 1], heat[2, 3] = 1.0, 0.0
    out = overlay(image, heat, alpha=0.5, colormap="jet")
    assert out.dtype == np.uint8 and out.shape == (4, 5, 3)
    changed = np.any(out != image, axis=-1)
    assert changed.sum() == 2 and changed[1, 1] and changed[2, 3]
    for (y, x), value in (((1, 1), 1.0), ((2, 3), 0.0)):
        colour = np.array(matplotlib.colormaps["jet"](value)[:3]) * 255
        np.testing.assert_array_equal(out[y, x], np.rint(0.5 * 200 + 0.5 * colour).astype(np.uint8))


def test_the_default_scale_is_cividis_and_its_ends_mark_the_highest_and_lowest_heat():
    """Colour-blind safe and perceptually uniform (not jet): the highest heat gets the scale's top colour, the
    lowest its bottom one, and heat in between a colour in between."""
    assert DEFAULT_COLORMAP == "cividis"
    scale = matplotlib.colormaps["cividis"]
    heat = np.array([[0.0, 0.5, 1.0, 0.25]], np.float32)
    out = overlay(np.zeros((1, 4, 3), np.uint8), heat, alpha=1.0)[0]
    top, bottom = (np.rint(np.array(scale(value)[:3]) * 255).astype(np.uint8) for value in (1.0, 0.0))
    np.testing.assert_array_equal(out[2], top)
    np.testing.assert_array_equal(out[0], bottom)
    assert tuple(top) == (254, 232, 56) and tuple(bottom) == (0, 34, 78)  # yellow, dark blue
    # cividis rises in lightness from bottom to top: more heat never reads darker
    lightness = out.astype(np.float64) @ np.array([0.2126, 0.7152, 0.0722])
    assert lightness[0] < lightness[3] < lightness[1] < lightness[2]


def test_overlay_with_alpha_zero_is_the_image_and_grayscale_becomes_rgb():
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    out = overlay(gray, np.ones((3, 4), np.float32), alpha=0.0)
    np.testing.assert_array_equal(out, np.repeat(gray[..., None], 3, axis=-1))


def test_explain_on_photo_changes_the_face_and_nothing_else(tiny_emotion_onnx, lfw_face):
    photo, face, matrix = lfw_face
    out = explain_on_photo(tiny_emotion_onnx, photo, matrix, "happy")
    assert out.shape == photo.shape and out.dtype == np.uint8
    footprint = np.isfinite(heatmap_to_photo(np.zeros(SIZE, np.float32), matrix, photo.shape))
    changed = np.any(out != photo, axis=-1)
    assert not changed[~footprint].any()
    assert changed[footprint].mean() > 0.5


def test_overlay_refuses_a_heatmap_of_another_size():
    with pytest.raises(ExplanationError, match=r"^heatmap shape \(48, 48\) does not match the image's \(250, 250\)$"):
        overlay(np.zeros((250, 250, 3), np.uint8), np.zeros(SIZE, np.float32))


def test_overlay_refuses_bad_alpha_and_colormap():
    image, heat = np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2), np.float32)
    with pytest.raises(ExplanationError, match=r"^alpha must be within \[0, 1\], got 1.5$"):
        overlay(image, heat, alpha=1.5)
    with pytest.raises(ExplanationError, match=r"^unknown matplotlib colormap 'heat'$"):
        overlay(image, heat, colormap="heat")


def test_a_matrix_that_is_not_2x3_is_refused():
    with pytest.raises(ExplanationError, match=r"^the alignment matrix must be 2x3 \(photo -> aligned face\), got shape \(3, 3\)$"):
        heatmap_to_photo(np.zeros(SIZE, np.float32), np.eye(3), (100, 100))


def test_explain_on_photo_refuses_a_non_rgb_photo(tiny_emotion_onnx):
    with pytest.raises(ImageError, match=r"^the photo must be RGB uint8 \(H, W, 3\), got float32 \(100, 100\)$"):
        explain_on_photo(tiny_emotion_onnx, np.zeros((100, 100), np.float32), np.eye(2, 3))
