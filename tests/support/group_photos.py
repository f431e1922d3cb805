"""Group photos composited from the development face set, with every face's true box, for
benchmarks/bench_group_photos.py and the label-layout tests.

    python -m tests.support.group_photos --out /tmp/unveil_group_photos     # from the repository root

Each person is a crop of one LFW photo around its face (with hair, neck and shoulders, where false
faces were seen), shrunk so the face has a chosen height and pasted in rows: back rows first, each
front row half a place to the side and over the chests of the row behind, as people stand for a
group photo. A face's true box is the detector's box on the single LFW photo, moved and scaled as the
crop was. Only photos where the detector finds exactly one face, even when searching down to 12 px
faces, are used: a background face in an LFW photo would be a real face without a true box.

Deterministic: the same layouts, people and jitter (a seeded generator) every run. Writes
group_NN.jpg and truth.json ({file: {"size": [w, h], "faces": [{"person", "box": [x, y, w, h],
"row"}]}}) to --out, which must lie outside the repository: LFW's photos may not be redistributed.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from fer_core.analyzer import DEFAULT_MIN_FACE_SIZE
from fer_core.detection import FaceDetector

# Background faces are searched for down to P-Net's own window.
SMALLEST_FACE = 12.0
REPO = Path(__file__).resolve().parents[2]
FACES = REPO.parent / "shared" / "data" / "faces"
SEED = 23
OUTSIDE_REPO = "--out must be a folder outside the repository: LFW-derived pictures are never committed"

# Crop around the face box, in face widths (sides) and heights (above, below): hair, neck, shoulders.
CROP_SIDE, CROP_ABOVE, CROP_BELOW = 0.6, 0.45, 1.2
# Neighbours stand this many face widths apart (centre to centre): shoulders overlap, faces do not,
# and a caption wider than 0.5 face widths reaches the next face.
PITCH = 1.5
# A front row's faces are this many face heights below the row behind: its crops cover that row's chests.
ROW_DROP = 1.5


@dataclass(frozen=True)
class Layout:
    """One group photo: people per row (back row first), face height in pixels, and how much each
    face's height and vertical place vary (fractions of the face height: tall and short people)."""

    rows: tuple[int, ...]
    face_px: int
    jitter: float = 0.1


LAYOUTS = (
    Layout((3,), 150),
    Layout((5,), 110),
    Layout((7,), 90),
    Layout((7,), 60, jitter=0.25),
    Layout((4, 3), 100),
    Layout((5, 5), 80),
    Layout((4, 4, 4), 70),
    Layout((6,), 120, jitter=0.35),
    Layout((6, 5), 140),
    Layout((4,), 220),
    Layout((3, 4), 170),
    Layout((9,), 56),
    Layout((3, 5, 4), 100, jitter=0.2),
    Layout((8,), 64, jitter=0.3),
    Layout((5, 6), 58),
    Layout((2,), 260),
    Layout((7,), 75, jitter=0.15),
    Layout((4, 4), 52, jitter=0.2),
    Layout((6, 6, 6), 66),
    Layout((5,), 84, jitter=0.4),
)


@dataclass(frozen=True)
class Person:
    """One LFW photo usable in a group: its name, pixels and the detector's one face box (x, y, w, h)."""

    name: str
    image: Image.Image
    box: tuple[float, float, float, float]


def single_face_people(faces: Path) -> list[Person]:
    """Every photo of the face set (sorted by path) with exactly one face, and the app's box of it."""
    sensitive = FaceDetector(min_face_size=SMALLEST_FACE)
    detector = FaceDetector(min_face_size=DEFAULT_MIN_FACE_SIZE)
    people = []
    for path in sorted(faces.glob("*/*.jpg")):
        image = Image.open(path).convert("RGB")
        found = detector.detect(np.asarray(image))
        if len(found) == 1 and len(sensitive.detect(np.asarray(image))) == 1:
            people.append(Person(path.stem, image, found[0].box))
    return people


def _cut(person: Person, face_px: int) -> tuple[Image.Image, tuple[float, float, float, float]]:
    """The person's crop scaled so the face is `face_px` high, and the face box within it."""
    x, y, w, h = person.box
    left, top = max(0.0, x - CROP_SIDE * w), max(0.0, y - CROP_ABOVE * h)
    right = min(person.image.width, x + w + CROP_SIDE * w)
    bottom = min(person.image.height, y + h + CROP_BELOW * h)
    scale = face_px / h
    crop = person.image.crop((round(left), round(top), round(right), round(bottom)))
    crop = crop.resize((round(crop.width * scale), round(crop.height * scale)), Image.Resampling.LANCZOS)
    return crop, ((x - round(left)) * scale, (y - round(top)) * scale, w * scale, h * scale)


def compose(layout: Layout, people: list[Person], rng: random.Random) -> tuple[Image.Image, list[dict]]:
    """The group photo of `layout` with `people` (one per place, back row first) and the true faces."""
    size = layout.face_px
    margin = size // 2
    widest = max(layout.rows)
    width = round(2 * margin + PITCH * size * (widest + 0.5))
    height = round(2 * margin + ROW_DROP * size * (len(layout.rows) - 1) + 2 * (1 + CROP_BELOW) * size)
    canvas = Image.new("RGB", (width, height), (196, 200, 204))
    truth = []
    bottom = 0
    place = iter(people)
    for row, count in enumerate(layout.rows):
        offset = (widest - count) * PITCH * size / 2 + (row % 2) * PITCH * size / 2
        for index in range(count):
            person = next(place)
            face_px = round(size * (1 + rng.uniform(-layout.jitter, layout.jitter) / 2))
            crop, (fx, fy, fw, fh) = _cut(person, face_px)
            centre_x = margin + offset + PITCH * size * (index + 0.5)
            face_top = margin + ROW_DROP * size * row + rng.uniform(-layout.jitter, layout.jitter) * size
            left, top = round(centre_x - fx - fw / 2), round(face_top - fy)
            canvas.paste(crop, (left, top))
            bottom = max(bottom, top + crop.height)
            truth.append({"person": person.name, "row": row,
                          "box": [round(left + fx, 1), round(top + fy, 1), round(fw, 1), round(fh, 1)]})
    return canvas.crop((0, 0, width, min(height, bottom + margin))), truth


def build(faces: Path, out: Path, rounds: int, seed: int = SEED) -> dict[str, dict]:
    """Write every layout's photo, `rounds` times with other people, and truth.json to `out`; returns the truth."""
    people = single_face_people(faces)
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    truth = {}
    by_identity: dict[str, list[Person]] = {}
    for person in people:
        by_identity.setdefault(person.name.rsplit("_", 1)[0], []).append(person)
    for number, layout in enumerate(LAYOUTS * rounds, start=1):
        # Distinct people in one photo, each from one of their photos.
        chosen = [rng.choice(by_identity[name]) for name in rng.sample(sorted(by_identity), sum(layout.rows))]
        image, faces_true = compose(layout, chosen, rng)
        name = f"group_{number:02d}.jpg"
        image.save(out / name, quality=92)
        truth[name] = {"size": list(image.size), "faces": faces_true}
    (out / "truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    return truth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=Path, default=FACES, help="the development face set (default: %(default)s)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the photos, outside the repository")
    parser.add_argument("--rounds", type=int, default=3,
                        help="photos per layout, each with other people (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=SEED,
                        help="another seed gives other people and jitter: a held-out set (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.out.resolve().is_relative_to(REPO):
        parser.error(OUTSIDE_REPO)
    truth = build(args.faces, args.out, args.rounds, args.seed)
    for name, entry in truth.items():
        print(f"{name}: {entry['size'][0]}x{entry['size'][1]}, {len(entry['faces'])} faces")
    return 0


if __name__ == "__main__":
    sys.exit(main())
