"""A 640x480 "room" video made of real LFW photos moving about, for `unveil watch` tests and its benchmark.

Each walker is one photo (shrunk to `side` px) circling its own spot on an ellipse, present from
`enter_s` to `exit_s`; where each photo was drawn in each frame is returned, so a test knows where
the faces truly are. A picture is a photo hung on the wall, in a dark wooden frame, still for the whole video.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

WIDTH, HEIGHT = 640, 480


@dataclass(frozen=True)
class Walker:
    photo: Path
    centre: tuple[float, float]  # where the photo's centre circles, in frame pixels
    enter_s: float = 0.0
    exit_s: float = math.inf
    radius: tuple[float, float] = (90.0, 50.0)
    period_s: float = 4.0


@dataclass(frozen=True)
class Picture:
    photo: Path
    corner: tuple[int, int]  # the top-left corner of its wooden frame, in frame pixels
    side: int = 130
    border: int = 20


def room_video(walkers: list[Walker], path: Path, *, seconds: float = 6.0, fps: int = 15,
               side: int = 150, pictures: tuple[Picture, ...] = ()) -> list[list[tuple[int, int, int, int] | None]]:
    """Write the MPEG-4 video to `path`; per frame, per walker, the (x, y, side, side) square where the
    photo was drawn, or None while the walker is away."""
    photos = [np.asarray(Image.open(w.photo).convert("RGB").resize((side, side), Image.LANCZOS)) for w in walkers]
    # A soft gradient, not a flat wall: the optical flow must hold on to the face, not to an empty frame.
    ramp = np.linspace(170, 235, WIDTH, dtype=np.float32)[None, :, None] * np.ones((HEIGHT, 1, 3), np.float32)
    background = (ramp + np.linspace(-15, 15, HEIGHT, dtype=np.float32)[:, None, None]).astype(np.uint8)
    for picture in pictures:
        x, y, inner = picture.corner[0], picture.corner[1], picture.side
        background[y:y + inner + 2 * picture.border, x:x + inner + 2 * picture.border] = (90, 60, 40)
        x, y = x + picture.border, y + picture.border
        photo = Image.open(picture.photo).convert("RGB").resize((inner, inner), Image.LANCZOS)
        background[y:y + inner, x:x + inner] = np.asarray(photo)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (WIDTH, HEIGHT))
    assert writer.isOpened(), "OpenCV cannot write MPEG-4 here"
    placements = []
    try:
        for index in range(int(seconds * fps)):
            time_s = index / fps
            canvas = background.copy()
            frame_places: list[tuple[int, int, int, int] | None] = []
            for walker, photo in zip(walkers, photos):
                if not walker.enter_s <= time_s < walker.exit_s:
                    frame_places.append(None)
                    continue
                angle = 2 * math.pi * time_s / walker.period_s
                x = round(walker.centre[0] + walker.radius[0] * math.cos(angle) - side / 2)
                y = round(walker.centre[1] + walker.radius[1] * math.sin(angle) - side / 2)
                x, y = min(max(x, 0), WIDTH - side), min(max(y, 0), HEIGHT - side)
                canvas[y:y + side, x:x + side] = photo
                frame_places.append((x, y, side, side))
            placements.append(frame_places)
            writer.write(cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return placements
