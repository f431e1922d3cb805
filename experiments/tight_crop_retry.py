"""How many undetected faces the detector's tight-crop retry finds, and how many false faces it adds.

The retry (fer_core.detection, TIGHT_CROP_PAD) searches a photo where nothing was found once more, padded
on every side, for one face that fills the frame. This measures, for two borders (the photo's mean
colour, as shipped, or its edge pixels repeated), a few paddings, smallest-face shares and O-Net scores, with the
analyzer's detector settings otherwise:

- found: of fer4's deduplicated validation faces with no face detected (48x48 crops, tighter than any photo a
  user takes), and of the real-photo dev set's photos with none (benchmarks/emotion_real_photos_data.py);
- the shipped emotion model's accuracy on the real photos found (aligned on the landmarks the retry gives,
  as the analyzer does): how usable the faces it finds are;
- false: faces found in photos without a person: scikit-image's sample photos (from its PyPI wheel,
  `pip download --no-deps scikit-image==0.26.0`; astronaut and camera show people and are left out),
  whole and as 800 square tiles of 40-300 px (seed 0), the sizes of a cropped avatar;
- the median time of one retry;
- how far the retry's landmarks lie from those found in the whole photo, on the two public-domain portraits
  of tests/fixtures cut inside their face box, for each border.

    PYTHONPATH=. python experiments/tight_crop_retry.py --skimage-wheel /tmp/sk/scikit_image-0.26.0-*.whl
"""
from __future__ import annotations

import argparse
import csv
import io
import statistics
import time
import zipfile
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from fer_core import detection
from fer_core.analyzer import default_detector
from fer_core.emotion import EmotionModel
from fer_core.images import load_image
from fer_core.training.data import load_splits

DEFAULT_DATA = Path.home() / ".cache/unveil-bench/real_photos"
# Sample photos of people, and images too small to tile.
NOT_BACKGROUNDS = {"astronaut.png", "camera.png", "chessboard_GRAY.png", "chessboard_RGB.png", "phantom.png",
                   "microaneurysms.png"}
TILES_PER_PHOTO = 40
PORTRAITS = Path("tests/fixtures/public_domain")
INSETS = (0.0, 0.05, 0.1, 0.15)
# (border, padding, smallest-face share, O-Net score).
SHIPPED = ("mean", detection.TIGHT_CROP_PAD, detection.TIGHT_CROP_MIN_FACE, detection.TIGHT_CROP_MIN_SCORE)
SETTINGS = [("mean", 0.2, 0.3, 0.8), ("mean", 0.2, 0.3, 0.9), ("mean", 0.3, 0.3, 0.9), ("mean", 0.4, 0.3, 0.9),
            ("mean", 0.3, 0.5, 0.9),
            ("mean", 0.3, 0.3, 0.8), ("mean", 0.4, 0.3, 0.8), ("edge", 0.3, 0.3, 0.9), ("edge", 0.3, 0.3, 0.8)]
SHIPPED_BORDER = detection._padded


def edge_border(image: np.ndarray, pad: int) -> np.ndarray:
    return cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)


def backgrounds(wheel: Path) -> dict[str, np.ndarray]:
    photos = {}
    with zipfile.ZipFile(wheel) as archive:
        for name in sorted(archive.namelist()):
            base = name.rsplit("/", 1)[-1]
            if not name.startswith("skimage/data/") or not base.endswith((".png", ".jpg")) or base in NOT_BACKGROUNDS:
                continue
            rgb = load_image(io.BytesIO(archive.read(name)))
            if min(rgb.shape[:2]) >= 64:
                photos[base] = rgb
    return photos


def tiles(photos: dict[str, np.ndarray], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for rgb in photos.values():
        height, width = rgb.shape[:2]
        for _ in range(TILES_PER_PHOTO):
            side = int(rng.integers(40, min(300, height, width)))
            y, x = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
            out.append(np.ascontiguousarray(rgb[y:y + side, x:x + side]))
    return out


def landmark_errors(plain) -> list[str]:
    """Per portrait and inset, the retry's largest landmark error as a share of the face's width, per border
    ("-": no face found)."""
    lines = ["| portrait | cut inside the face box by | mean colour | edge pixels |", "|---|---|---|---|"]
    for name in ("grace_hopper.jpg", "eileen_collins.jpg"):
        rgb = load_image(PORTRAITS / name)
        (face,) = plain.detect(rgb)
        x, y, w, h = face.box
        for inset in INSETS:
            x0, y0 = int(x + inset * w), int(y + inset * h)
            crop = np.ascontiguousarray(rgb[y0:int(y + h - inset * h), x0:int(x + w - inset * w)])
            cells = []
            for border in (SHIPPED_BORDER, edge_border):
                detection._padded = border
                found = plain._tight_crop(crop)
                error = np.abs(found[0].landmarks + [x0, y0] - face.landmarks).max() / w if found else None
                cells.append("-" if error is None else f"{error:.3f}")
            lines.append(f"| {name} | {inset:.0%} | {cells[0]} | {cells[1]} |")
    detection._padded = SHIPPED_BORDER
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the real-photo dev set (manifest.csv)")
    parser.add_argument("--fer4", type=Path, default=Path("../shared/data/fer4"))
    parser.add_argument("--skimage-wheel", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("experiments/reports/tight_crop_retry.md"))
    args = parser.parse_args()

    plain = default_detector()
    plain.tight_crop_retry = False
    with open(args.data / "manifest.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    missed_photos = []
    for row in rows:
        rgb = load_image(args.data / row["path"])
        if not plain.detect(rgb):
            missed_photos.append((row["source"], rgb, row["label"]))
    validation = load_splits(args.fer4)[0]["validation"]
    fer4 = [np.repeat(gray[..., None], 3, axis=-1) for gray in validation.images]
    missed_fer4 = [rgb for rgb in fer4 if not plain.detect(rgb)]
    photos = backgrounds(args.skimage_wheel)
    cut = tiles(photos)
    # The retry runs only where the first search found nothing: split the non-person images once.
    faceless_tiles = [t for t in cut if not plain.detect(t)]
    faceless_photos = [p for p in photos.values() if not plain.detect(p)]
    false_before = len(cut) - len(faceless_tiles), len(photos) - len(faceless_photos)
    print(f"missed: {len(missed_photos)} of {len(rows)} photos, {len(missed_fer4)} of {len(fer4)} fer4 validation "
          "faces")

    lines = [
        "# The detector's tight-crop retry: faces found, false faces, time",
        "",
        "Reproduce: `PYTHONPATH=. python experiments/tight_crop_retry.py --skimage-wheel "
        "scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl` (the wheel from "
        "`pip download --no-deps scikit-image==0.26.0`; the dev set from benchmarks/emotion_real_photos_data.py).",
        "",
        f"Without the retry the analyzer's detector finds no face in {len(missed_photos)} of the {len(rows)} "
        f"real photos ({dict(Counter(s for s, _, _ in missed_photos))}) and in {len(missed_fer4)} of fer4's "
        f"{len(fer4)} deduplicated validation faces, and finds {false_before[0]} false faces in {len(cut)} tiles and "
        f"{false_before[1]} in the {len(photos)} whole sample photos without a person.",
        "",
        "| border | padding (share of the longer side) | smallest face (share of the shorter side) | O-Net score "
        "| fer4 validation found | false faces, tiles | real photos found | emotion accuracy on them "
        "| false faces, whole photos | median retry ms (real photos) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    emotion = EmotionModel()
    for border, pad, share, score in SETTINGS:
        detection._padded = SHIPPED_BORDER if border == "mean" else edge_border
        detection.TIGHT_CROP_PAD, detection.TIGHT_CROP_MIN_FACE, detection.TIGHT_CROP_MIN_SCORE = pad, share, score
        times, found, right = [], 0, 0
        for _, rgb, label in missed_photos:
            started = time.perf_counter()
            faces = plain._tight_crop(rgb)
            times.append(1000 * (time.perf_counter() - started))
            if faces:
                found += 1
                probs = emotion.predict(emotion.align(rgb, faces[0].landmarks)[None])[0]
                right += emotion.classes[int(np.argmax(probs))] == label
        found_fer4 = sum(bool(plain._tight_crop(rgb)) for rgb in missed_fer4)
        false_tiles = sum(bool(plain._tight_crop(t)) for t in faceless_tiles)
        false_whole = sum(bool(plain._tight_crop(p)) for p in faceless_photos)
        row = (f"| {border} | {pad} | {share} | {score} | {found_fer4} of {len(missed_fer4)} "
               f"| {false_tiles} of {len(cut)} | {found} of {len(missed_photos)} | {right / max(found, 1):.3f} "
               f"| {false_whole} of {len(photos)} | {statistics.median(times):.1f} |")
        print(row)
        lines.append(row)
    detection._padded = SHIPPED_BORDER
    detection.TIGHT_CROP_PAD, detection.TIGHT_CROP_MIN_FACE, detection.TIGHT_CROP_MIN_SCORE = SHIPPED[1:]
    lines += ["", "Landmarks of the retry at the shipped setting, largest error as a share of the face's width, "
              "against those found in the whole photo:", "", *landmark_errors(plain)]
    lines += [
        "",
        f"The shipped setting (fer_core.detection) is {SHIPPED}: chosen as the one that finds the most fer4 "
        "validation faces with no false face on the tiles (the real photos are evaluation only). fer4's faces are "
        "cut at the forehead and chin, tighter than a photo a user would crop, so most stay undetected; the "
        "whole-image rows of docs/reports/emotion_real_photos.md score them without the detector.",
    ]
    args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
