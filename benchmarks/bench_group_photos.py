"""False detections and missed faces on the composited group photos, before and after the detector's
neck check (fer_core.detection.on_a_neck); then labels over faces and numbering out of reading order,
with the rules before and after this change. Printed as Markdown tables.

    python -m tests.support.group_photos --out /tmp/unveil_group_photos
    python benchmarks/bench_group_photos.py --photos /tmp/unveil_group_photos

The runs use the analyzer's detector settings (40 px minimum face, thresholds 0.6/0.7/0.8), and for
comparison a stricter final stage (O-Net above 0.9) without the neck check. A detection
is a true face when its box overlaps a true box with IoU >= MATCH_IOU (each true box matched once,
best overlap first); any other detection is false, and a true box left unmatched is a miss. Rates:
false detections per detection, misses per true face. The photos whose results change are listed.

Labels: the captions as they were drawn before (restated in `caption_before`: "3 neutral 64%" above
the box, or inside its top edge at the photo's top, plus a 15-letter name when names are shown)
against the numbers placed by governance.render.layout, on the boxes the analyzer's detector
finds. A label is over a face when its rectangle intersects that face's box.

Reading order: the numbering's rows (before: a face joins a row when its centre is within half a face
height of the row's mean centre, restated in `rows_before`; after: fer_core.analyzer's band overlap)
against the rows the photo was built with, each left to right.

Then the photos of tests/unit/fer_core/test_detection_parity.py (every 5th photo of the face set and 3 fer4 faces per
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
from PIL import Image, ImageDraw, ImageFont

from fer_core import render
from fer_core.analyzer import DEFAULT_MIN_FACE_SIZE, reading_order
from fer_core.detection import DetectedFace, FaceDetector
from fer_core.video import box_iou

MATCH_IOU = 0.4
CAPTION = "{number} neutral 64%"
NAME = "Serena Williams"
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


def caption_before(size: tuple[int, int], boxes: list[tuple[float, float, float, float]],
                   *, names: bool) -> list[tuple[float, float, float, float]]:
    """Caption rectangles (x0, y0, x1, y1) as the annotation drew them before the layout change."""
    side = max(size)
    width = max(2, round(side / 250))
    font = ImageFont.load_default(size=max(12, round(side / 30)))
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    rects = []
    for number, (x, y, _, _) in enumerate(boxes, start=1):
        text = CAPTION.format(number=number) + (f" {NAME}" if names else "")
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        tw, th = right - left, bottom - top
        ty = y - th - 2 * width if y - th - 2 * width >= 0 else y + width
        tx = min(max(0.0, x), max(0.0, size[0] - tw - 2 * width))
        rects.append((tx, ty, tx + tw + 2 * width, ty + th + 2 * width))
    return rects


def faces_under_labels(labels: list[tuple[float, float, float, float]],
                       faces: list[tuple[float, float, float, float]]) -> int:
    """How many (x0, y0, x1, y1) faces at least one label rectangle intersects."""
    return sum(any(a[0] < f[2] and f[0] < a[2] and a[1] < f[3] and f[1] < a[3] for a in labels) for f in faces)


def rows_before(detections: list[DetectedFace]) -> list[DetectedFace]:
    """The numbering before the change: rows of faces whose centres are within half the smaller face's
    height of the row's mean centre."""
    rows: list[list[DetectedFace]] = []
    for det in sorted(detections, key=lambda d: d.box[1] + d.box[3] / 2):
        centre, height = det.box[1] + det.box[3] / 2, det.box[3]
        if rows:
            row_centre = float(np.mean([d.box[1] + d.box[3] / 2 for d in rows[-1]]))
            if abs(centre - row_centre) < 0.5 * min(height, *(d.box[3] for d in rows[-1])):
                rows[-1].append(det)
                continue
        rows.append([det])
    return [det for row in rows for det in sorted(row, key=lambda d: d.box[0])]


def in_reading_order(ordered: list[DetectedFace], truth: list[dict]) -> bool:
    """Whether `ordered` goes through the true faces row by row (back row first), each left to right."""
    matched = [max(truth, key=lambda t: box_iou(d.box, t["box"])) for d in ordered]
    return [(t["row"], t["box"][0]) for t in matched] == sorted((t["row"], t["box"][0]) for t in truth)


def _rate(part: int, whole: int) -> str:
    return f"{part}/{whole} ({part / whole:.2%})" if whole else f"{part}/0"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, required=True, help="the folder tests/support/group_photos.py wrote")
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder (default: %(default)s)")
    args = parser.parse_args(argv)
    truth = json.loads((args.photos / "truth.json").read_text())
    runs = {"before (cascade only)": FaceDetector(min_face_size=DEFAULT_MIN_FACE_SIZE),
            "alternative: final-stage score > 0.9": FaceDetector(min_face_size=DEFAULT_MIN_FACE_SIZE,
                                                                 thresholds=(0.6, 0.7, 0.9)),
            "after (neck check)": FaceDetector(min_face_size=DEFAULT_MIN_FACE_SIZE, neck_check=True)}
    totals = {name: Count(0, 0, 0, 0) for name in runs}
    changed = []
    covered = {"before, no names": 0, "before, with names": 0, "after (numbers placed)": 0}
    out_of_order = {"before": 0, "after": 0}
    for photo, entry in truth.items():
        image = np.asarray(Image.open(args.photos / photo).convert("RGB"))
        found = {name: detector.detect(image) for name, detector in runs.items()}
        counts = {name: count([d.box for d in faces], [f["box"] for f in entry["faces"]])
                  for name, faces in found.items()}
        for name, result in counts.items():
            totals[name] += result
        if len(set(counts.values())) > 1:
            changed.append((photo, counts))
        faces = found["after (neck check)"]
        boxes = [d.box for d in reading_order(faces)]
        edges = [(x, y, x + w, y + h) for x, y, w, h in boxes]
        size = (image.shape[1], image.shape[0])
        for names, key in ((False, "before, no names"), (True, "before, with names")):
            captions = caption_before(size, boxes, names=names)
            covered[key] += sum(faces_under_labels([c for j, c in enumerate(captions) if j != i], [edge])
                                for i, edge in enumerate(edges))
        placed = render.layout(size, boxes)
        covered["after (numbers placed)"] += faces_under_labels(placed.tags, placed.faces)
        out_of_order["before"] += not in_reading_order(rows_before(faces), entry["faces"])
        out_of_order["after"] += not in_reading_order(reading_order(faces), entry["faces"])
    faces_total = next(iter(totals.values())).true
    print(f"{len(truth)} group photos, {faces_total} true faces\n")
    print("| run | detections | false detections | misses |")
    print("|---|---|---|---|")
    for name, total in totals.items():
        print(f"| {name} | {total.found} | {_rate(total.false, total.found)} | {_rate(total.missed, total.true)} |")
    print("\nPhotos whose counts change (false, missed):")
    for photo, counts in changed:
        print(f"- {photo}: " + "; ".join(f"{name} {c.false}, {c.missed}" for name, c in counts.items()))
    if not changed:
        print("- none")
    detected = totals["after (neck check)"].found
    print("\n| labels | faces with another face's label over them (before) or any label (after) |")
    print("|---|---|")
    for name, number in covered.items():
        print(f"| {name} | {_rate(number, detected)} |")
    print("\n| numbering | photos out of reading order |")
    print("|---|---|")
    for name, number in out_of_order.items():
        print(f"| {name} | {_rate(number, len(truth))} |")
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
