"""A home camera's night picture made from a daylight photo, for the identity and emotion benchmarks.

Approximations, not models of a sensor: no measured infrared photo of these people exists here.
- grey: the ITU-R BT.601 luma (OpenCV's RGB2GRAY) in all three channels, as a camera in night mode sends it.
- infrared-like: the red channel as the grey picture (near-infrared skin, as red light, shows little of the
  melanin and blood contrast that blue and green show); the face lit by the camera's LEDs (gamma 0.6 inside a
  soft ellipse around the head); the room beyond in 30% of the light; sensor noise of sigma 4 grey levels.
- dusk: grey, gamma 3 darkening (about a tenth of the light in the mid-tones) and sensor noise of sigma 10
  grey levels: the dark, noisy picture before the camera switches to infrared.
"""
from __future__ import annotations

import cv2
import numpy as np

IR_FACE_GAMMA = 0.6
IR_ROOM_LIGHT = 0.3
IR_NOISE_SIGMA = 4.0
DUSK_GAMMA = 3.0
DUSK_NOISE_SIGMA = 10.0


def _u8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.round(values), 0, 255).astype(np.uint8)


def _three(grey: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))


def grey(rgb: np.ndarray) -> np.ndarray:
    """The photo in grey, the three channels equal."""
    return _three(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))


def head_light(shape: tuple[int, ...], box: tuple[float, float, float, float]) -> np.ndarray:
    """1 on the head (an ellipse 1.5 face boxes wide and 1.6 high around the box's centre), falling smoothly to 0
    beyond it."""
    x, y, w, h = box
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    reach = np.sqrt(((cols - (x + w / 2)) / (0.75 * w)) ** 2 + ((rows - (y + h / 2)) / (0.8 * h)) ** 2)
    return 1.0 / (1.0 + np.exp(np.minimum((reach - 1.0) * 8.0, 50.0)))


def infrared_like(rgb: np.ndarray, box: tuple[float, float, float, float], rng: np.random.Generator) -> np.ndarray:
    """The photo as an infrared night picture (approximately: the module's docstring), the face in `box`."""
    red = rgb[:, :, 0].astype(np.float32) / 255.0
    lit = head_light(red.shape, box)
    out = 255.0 * (lit * red ** IR_FACE_GAMMA + (1.0 - lit) * IR_ROOM_LIGHT * red)
    return _three(_u8(out + rng.normal(0, IR_NOISE_SIGMA, red.shape)))


def dusk(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The photo as a dark, noisy grey picture at dusk."""
    luma = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    return _three(_u8(255.0 * luma ** DUSK_GAMMA + rng.normal(0, DUSK_NOISE_SIGMA, luma.shape)))
