"""False detections and missed faces on the composited group photos, before and after the detector's
neck check (fer_core.detection.on_a_neck), printed as a Markdown table.

    PYTHONPATH=. .venv/bin/python scripts/make_group_photos.py --out /tmp/unveil_group_photos
    PYTHONPATH=. .venv/bin/python scripts/bench_group_photos.py --photos /tmp/unveil_group_photos

Both runs use the analyzer's detector settings (40 px minimum face, thresholds 0.6/0.7/0.8). A detection
is a true face when its box overlaps a true box with IoU >= MATCH_IOU (each true box matched once,
best overlap first); any other detection is false, and a true box left unmatched is a miss. Rates:
false detections per detection, misses per true face. The photos whose results change are listed.

Then the photos of tests/test_detection_parity.py (every 5th photo of the face set and 3 fer4 faces per
class), with the package's settings (20 px) that the parity test uses: how many detections the neck
check would remove there. None removed means the parity test's outcome cannot change with it on.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from fer_core.analyzer import DEFAULT_MIN_FACE_SIZE
from fer_core.detection import FaceDetector
from governance.app_services import box_iou

MATCH_IOU = 0.4
SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@dataclass(frozen=True)
class Count:
    """Detections, true faces, false detections and misses on one photo or a set."""

    found: int
    true: int
    false: int
    missed: int

    def __add__(self, other: Count) -> Count:
        return Count(self.found + other.found, self.true + other.true, self.false + other.false,
                     self.missed + other.missed)


def count(boxes: list[tuple[float, float, float, float]], truth: list[list[float]]) -> Count:
    """Match detected (x, y, w, h) boxes to true ones, best IoU first, and count what is left over."""
    pairs = sorted(((box_iou(b, t), i, j) for i, b in enumerate(boxes) for j, t in enumerate(truth)), reverse=True)
    used_boxes, used_truth = set(), set()
    for iou, i, j in pairs:
        if iou < MATCH_IOU:
            break
        if i not in used_boxes and j not in used_truth:
            used_boxes.add(i)
            used_truth.add(j)
    return Count(found=len(boxes), true=len(truth), false=len(boxes) - len(used_boxes),
                 missed=len(truth) - len(used_truth))


def detected_boxes(detector: FaceDetector, image: np.ndarray) -> list[tuple[float, float, float, float]]:
    return [(x1, y1, x2 - x1, y2 - y1) for x1, y1, x2, y2 in (d.box for d in detector.detect(image))]


def _rate(part: int, whole: int) -> str:
    return f"{part}/{whole} ({part / whole:.2%})" if whole else f"{part}/0"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, required=True, help="the folder make_group_photos.py wrote")
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder (default: %(default)s)")
    args = parser.parse_args(argv)
    truth = json.loads((args.photos / "truth.json").read_text())
    runs = {"before (cascade only)": FaceDetector(min_face_size=DEFAULT_MIN_FACE_SIZE),
            "after (neck check)": FaceDetector(min_face_size=DEFAULT_MIN_FACE_SIZE, neck_check=True)}
    totals = {name: Count(0, 0, 0, 0) for name in runs}
    changed = []
    for photo, entry in truth.items():
        image = np.asarray(Image.open(args.photos / photo).convert("RGB"))
        true_boxes = [face["box"] for face in entry["faces"]]
        counts = {name: count(detected_boxes(detector, image), true_boxes) for name, detector in runs.items()}
        for name, result in counts.items():
            totals[name] += result
        if len(set(counts.values())) > 1:
            changed.append((photo, counts))
    print(f"{len(truth)} group photos, {next(iter(totals.values())).true} true faces\n")
    print("| run | detections | false detections | misses |")
    print("|---|---|---|---|")
    for name, total in totals.items():
        print(f"| {name} | {total.found} | {_rate(total.false, total.found)} | {_rate(total.missed, total.true)} |")
    print("\nPhotos whose counts change (false, missed):")
    for photo, counts in changed:
        print(f"- {photo}: " + "; ".join(f"{name} {c.false}, {c.missed}" for name, c in counts.items()))
    if not changed:
        print("- none")
    parity_photos(args.shared)
    return 0


def parity_photos(shared: Path) -> None:
    """Detections on the parity test's photos with the package's settings, without and with the neck check."""
    paths = sorted((shared / "faces").glob("*/*.jpg"))[::5]
    for label in ("happy", "neutral", "sad", "surprise"):
        paths += sorted((shared / "fer4" / "test" / label).glob("*.jpg"))[:3]
    plain, checked = FaceDetector(), FaceDetector(neck_check=True)
    before = after = 0
    for path in paths:
        image = np.asarray(Image.open(path).convert("RGB"))
        before += len(plain.detect(image))
        after += len(checked.detect(image))
    print(f"\nParity test photos ({len(paths)}, 20 px minimum face): {before} detections without the neck "
          f"check, {after} with it ({before - after} removed).")


if __name__ == "__main__":
    sys.exit(main())
