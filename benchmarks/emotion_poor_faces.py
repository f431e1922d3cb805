"""Emotion on faces the model reads badly: small, low-resolution, blurred, dark, JPEG-damaged, half hidden, cut
off or turned, end to end through FaceAnalyzer on the real-photo dev set.

    PYTHONPATH=. python benchmarks/emotion_poor_faces.py [--data DIR] [--stride 2] [--json PATH]
    PYTHONPATH=. python benchmarks/emotion_poor_faces.py --from-json PATH     # the tables again, no analysis

Protocol: the real-photo dev set of benchmarks/emotion_real_photos_data.py (evaluation only; its manifest's
labels). Every --stride-th photo is analysed as it is; the labelled face is the central face found
(emotion_real_photos.central_face), and a photo without one is left out of every condition. Each condition
then degrades the photo as a whole, FaceAnalyzer.analyze reads it, and the face scored is the detection whose
box overlaps the labelled face's box (moved and scaled as the photo was) by IoU >= MIN_IOU; none is "not found".

Conditions (face width: the labelled face's detected box width on the original photo):
- face N px in a bigger photo: the photo shrunk (area-averaged) so the face is N px wide, pasted on a grey
  640x480 canvas (the analyzer searches from 40 px windows; smaller boxes are found down to about 20 px).
- thumbnail, face N px: the photo alone shrunk so (the analyzer's tight-crop retry finds faces that fill it).
- enlarged from N px: shrunk so the face is N px wide, then enlarged back (bicubic) to its size: a face as big
  as before on screen, with N px of detail (a zoomed-in small face, a thumbnail enlarged by a messaging app).
- Gaussian blur of sigma a share of the face width; JPEG at quality q; dim (gamma 2.2, Gaussian sensor noise
  of NOISE_SIGMA grey levels) and dark (a tenth of the light, same noise).
- half hidden: a grey block over the lower half of the face box (a mask, a hand), a black band over the eyes
  (sunglasses), a grey block over its left half (a hand, another head); cut off: the photo ends at the face's
  vertical middle, or at the nose (mouth and chin out of the frame).
- night (NIGHT; benchmarks/night_frames.py, approximations): grey, infrared-like, dusk; run only when named.
--condition NAME (repeatable) analyses only these conditions and the original (the noisy conditions then draw
other noise than in a run of all of them).
The original faces are also scored by head turn, estimated from the landmarks (TURN_BINS), and every face
found in any condition by its detected box width (WIDTH_BINS).

A face whose mouth is outside the photo gets no emotion from FaceAnalyzer (fer_core.emotion.mouth_outside): the
first table counts them and scores the faces read; the second scores, for the conditions with such faces, every
face found as the model reads its aligned crop, which is what the app showed before that rule.

Each row: faces found of the faces labelled, accuracy with a 95% percentile bootstrap interval (people
resampled within each source, as emotion_real_photos.py), the most frequent label's share among those faces
(what always answering it would score), mean top probability, top probability minus accuracy (+:
over-confident), fer_core.calibration's ECE with the 95th percentile of the ECE a perfectly calibrated model
shows on as many faces with these probabilities, and the share of faces shown at a top probability of
CONFIDENT or more that are wrong. Per-face results go to --json (outside the repository: they name photos of
the dev set).
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from fer_core.analyzer import Face, FaceAnalyzer
from fer_core.calibration import calibration_floor, expected_calibration_error
from fer_core.images import load_image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from emotion_real_photos import CLASSES, central_face, read_manifest
from emotion_real_photos_data import DEFAULT_DATA
from night_frames import dusk, grey, infrared_like

COMMAND = "PYTHONPATH=. python benchmarks/emotion_poor_faces.py"
DEFAULT_JSON = Path.home() / ".cache" / "unveil-bench" / "emotion_poor_faces.json"
MIN_IOU = 0.3
CANVAS = (480, 640)  # height, width
GREY = 128
NOISE_SIGMA = 6.0
CONFIDENT = 0.8
WIDTH_BINS = ((16, "under 16 px"), (20, "16-19 px"), (24, "20-23 px"), (32, "24-31 px"), (48, "32-47 px"),
              (64, "48-63 px"), (96, "64-95 px"), (float("inf"), "96 px and over"))
# Head turn: the nose's offset from the eyes' midpoint along the eye line, in eye distances (0 frontal; a face
# in profile puts the nose past an eye, about 0.5).
TURN_BINS = ((0.1, "frontal (nose within 0.1 eye distance of the middle)"), (0.2, "turned a little (0.1-0.2)"),
             (float("inf"), "turned (0.2 and over)"))

Box = tuple[float, float, float, float]
Degrade = Callable[[np.ndarray, Face, np.random.Generator], tuple[np.ndarray, Box]]


def _u8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.round(values), 0, 255).astype(np.uint8)


def _shrunk(rgb: np.ndarray, face: Face, width: int) -> tuple[np.ndarray, float]:
    scale = width / face.box[2]
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BOX)), scale


def in_bigger_photo(width: int) -> Degrade:
    def apply(rgb: np.ndarray, face: Face, rng: np.random.Generator) -> tuple[np.ndarray, Box]:
        small, scale = _shrunk(rgb, face, width)
        h, w = small.shape[:2]
        canvas = np.full((*CANVAS, 3), GREY, np.uint8)
        top, left = (CANVAS[0] - h) // 2, (CANVAS[1] - w) // 2
        canvas[top:top + h, left:left + w] = small
        x, y, bw, bh = face.box
        return canvas, (left + x * scale, top + y * scale, bw * scale, bh * scale)
    return apply


def thumbnail(width: int) -> Degrade:
    def apply(rgb: np.ndarray, face: Face, rng: np.random.Generator) -> tuple[np.ndarray, Box]:
        small, scale = _shrunk(rgb, face, width)
        return small, tuple(v * scale for v in face.box)
    return apply


def enlarged_from(width: int) -> Degrade:
    def apply(rgb: np.ndarray, face: Face, rng: np.random.Generator) -> tuple[np.ndarray, Box]:
        small, _ = _shrunk(rgb, face, width)
        size = (rgb.shape[1], rgb.shape[0])
        return np.asarray(Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)), face.box
    return apply


def blurred(share: float) -> Degrade:
    def apply(rgb: np.ndarray, face: Face, rng: np.random.Generator) -> tuple[np.ndarray, Box]:
        sigma = share * face.box[2]
        return _u8(ndimage.gaussian_filter(rgb.astype(np.float32), sigma=(sigma, sigma, 0))), face.box
    return apply


def jpeg(quality: int) -> Degrade:
    def apply(rgb: np.ndarray, face: Face, rng: np.random.Generator) -> tuple[np.ndarray, Box]:
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, "JPEG", quality=quality)
        return load_image(buffer.getvalue()), face.box
    return apply


def darker(gamma: float, light: float) -> Degrade:
    def apply(rgb: np.ndarray, face: Face, rng: np.random.Generator) -> tuple[np.ndarray, Box]:
        out = 255.0 * light * (rgb / 255.0) ** gamma + rng.normal(0, NOISE_SIGMA, rgb.shape)
        return _u8(out), face.box
    return apply


def covered(part: str) -> Degrade:
    def apply(rgb: np.ndarray, face: Face, rng: np.random.Generator) -> tuple[np.ndarray, Box]:
        x, y, w, h = face.box
        x0, y0, x1, y1, fill = x, y, x + w, y + h, GREY
        if part == "lower half":
            y0 = y + h / 2
        elif part == "left half":
            x1 = x + w / 2
        elif part == "eyes":  # sunglasses: a black band from a little above the eyes to a little below
            eye_y = float(face.landmarks[:2, 1].mean())
            y0, y1, fill = eye_y - 0.12 * h, eye_y + 0.1 * h, 0
        out = rgb.copy()
        out[max(0, round(y0)):max(0, round(y1)), max(0, round(x0)):max(0, round(x1))] = fill
        return out, face.box
    return apply


def cut_at(where: str) -> Degrade:
    def apply(rgb: np.ndarray, face: Face, rng: np.random.Generator) -> tuple[np.ndarray, Box]:
        x, y, w, h = face.box
        if where == "middle":
            cut = max(1, round(x + w / 2))
            return np.ascontiguousarray(rgb[:, :cut]), (x, y, cut - x, h)
        mouth = float(face.landmarks[3:5, 1].mean())
        cut = max(1, round({"nose": float(face.landmarks[2, 1]), "mouth": mouth, "chin": mouth + 0.1 * h}[where]))
        return np.ascontiguousarray(rgb[:cut]), (x, y, w, min(h, cut - y))
    return apply


CONDITIONS: dict[str, Degrade] = {
    "original": lambda rgb, face, rng: (rgb, face.box),
    **{f"face {n} px in a bigger photo": in_bigger_photo(n) for n in (40, 32, 24, 20)},
    **{f"thumbnail, face {n} px": thumbnail(n) for n in (24, 16)},
    **{f"enlarged from {n} px": enlarged_from(n) for n in (16, 12, 8, 6)},
    **{f"Gaussian blur, sigma {share:.0%} of the face width": blurred(share) for share in (0.03, 0.06, 0.12)},
    "JPEG quality 10": jpeg(10),
    "JPEG quality 3": jpeg(3),
    "dim: gamma 2.2 + noise": darker(2.2, 1.0),
    "dark: a tenth of the light + noise": darker(1.0, 0.1),
    "lower half covered (mask, hand)": covered("lower half"),
    "eyes covered (sunglasses)": covered("eyes"),
    "left half covered": covered("left half"),
    "cut off at the face's middle": cut_at("middle"),
    "cut off at the nose": cut_at("nose"),
    "cut off at the mouth": cut_at("mouth"),
    "cut off under the mouth (a tenth of the face below it)": cut_at("chin"),
}
# Run only when named with --condition: a run of the conditions above stays the one its report gives.
NIGHT: dict[str, Degrade] = {
    "night: grey": lambda rgb, face, rng: (grey(rgb), face.box),
    "night: infrared-like": lambda rgb, face, rng: (infrared_like(rgb, face.box, rng), face.box),
    "night: dusk, grey, gamma 3 + noise": lambda rgb, face, rng: (dusk(rgb, rng), face.box),
}


def iou(a: Box, b: Box) -> float:
    iw = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def head_turn(landmarks: np.ndarray) -> float:
    """How far the nose sits from the eyes' midpoint along the eye line, in eye distances (0: frontal)."""
    left, right, nose = (np.asarray(p, dtype=np.float64) for p in landmarks[:3])
    line = right - left
    return abs(float(np.dot(nose - (left + right) / 2, line) / np.dot(line, line)))


def bin_of(value: float, bins: tuple[tuple[float, str], ...]) -> str:
    return next(label for bound, label in bins if value < bound)


def analyse(data: Path, stride: int, conditions: dict[str, Degrade] = CONDITIONS) -> list[dict]:
    analyzer = FaceAnalyzer(identity_model=False)
    rows = read_manifest(data, None)[::stride]
    results, started = [], time.perf_counter()
    for i, row in enumerate(rows):
        rgb = load_image(data / row["path"])
        reference = central_face(analyzer.analyze(rgb, keep_aligned=True), rgb.shape)
        if reference is None:
            continue
        rng = np.random.default_rng(i)
        for name, degrade in conditions.items():
            image, truth = degrade(rgb, reference, rng)
            faces = analyzer.analyze(image, keep_aligned=True) if name != "original" else [reference]
            best = max(faces, key=lambda f: iou(f.box, truth), default=None)
            found = best is not None and iou(best.box, truth) >= MIN_IOU
            read = found and best.emotion is not None
            # What the model would have said of a face FaceAnalyzer leaves unread: the reading before that rule.
            model = analyzer.emotion_model
            every = (best.emotion_probs if read else dict(zip(model.classes, model.predict(best.aligned[None])[0]))
                     if found else None)
            results.append({
                "path": row["path"], "source": row["source"], "subject": row["subject"], "label": row["label"],
                "condition": name, "found": found, "turn": head_turn(reference.landmarks),
                "width": best.box[2] if found else None,
                "probs": [best.emotion_probs[c] for c in CLASSES] if read else None,
                "probs_every_face": [float(every[c]) for c in CLASSES] if found else None})
        if (i + 1) % 50 == 0:
            print(f"  {i + 1}/{len(rows)} photos, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return results


def row_figures(faces: list[dict], key: str, weights: np.ndarray, people: dict[tuple[str, str], int]) -> str:
    """The metric cells of a table row, from each face's probabilities under `key`: accuracy [95%], majority share,
    mean top probability, its gap to accuracy, ECE, the calibrated model's ECE, wrong among the confident."""
    if not faces:
        return " | ".join("-" * 7)
    probs = np.array([f[key] for f in faces])
    labels = np.array([CLASSES.index(f["label"]) for f in faces])
    right = probs.argmax(1) == labels
    top = probs.max(1)
    column = np.array([people[(f["source"], f["subject"])] for f in faces])
    drawn = weights[:, column]
    drawn = drawn[drawn.sum(1) > 0]  # a resample without any of these people says nothing of them
    accuracy = (drawn * right).sum(1) / drawn.sum(1)
    low, high = np.percentile(accuracy, [2.5, 97.5])
    majority = np.bincount(labels, minlength=len(CLASSES)).max() / len(labels)
    ece = expected_calibration_error(probs, labels)
    floor = calibration_floor(top, simulations=500)["upper_95"]
    confident = top >= CONFIDENT
    return (f"{right.mean():.3f} [{low:.3f}, {high:.3f}] | {majority:.3f} | {top.mean():.3f} "
            f"| {top.mean() - right.mean():+.3f} | {ece:.3f} | {floor:.3f} | {(~right[confident]).sum()} of {confident.sum()}")


METRICS = ("accuracy [95%] | most frequent label's share | mean top probability | top probability minus accuracy "
           f"| ECE | ECE of a calibrated model (95%) | wrong among those shown at {CONFIDENT:.0%} or more")


def people_weights(keys: list[tuple[str, str]], draws: int, seed: int = 0) -> np.ndarray:
    """[draws, people]: how often each (source, person) is drawn when each source's people are resampled with
    replacement, as many as it has."""
    rng = np.random.default_rng(seed)
    weights = np.zeros((draws, len(keys)), dtype=np.int64)
    for source in sorted({source for source, _ in keys}):
        members = np.array([k for k, key in enumerate(keys) if key[0] == source])
        picks = rng.integers(0, len(members), size=(draws, len(members)))
        for draw in range(draws):
            np.add.at(weights[draw], members[picks[draw]], 1)
    return weights


def _table(title: str, first: str, counts: str, rows: list[tuple[str, str, list[dict]]], key: str,
           weights: np.ndarray, people: dict[tuple[str, str], int]) -> list[str]:
    columns = 2 + counts.count("|") + METRICS.count("|") + 1
    lines = ["", f"## {title}", "", f"| {first} | {counts} | {METRICS} |", "|---" * columns + "|"]
    for name, count, faces in rows:
        lines.append(f"| {name} | {count} | {row_figures(faces, key, weights, people)} |")
    return lines


def tables(results: list[dict], draws: int) -> str:
    keys = sorted({(r["source"], r["subject"]) for r in results})
    people = {key: k for k, key in enumerate(keys)}
    weights = people_weights(keys, draws)
    by_condition = {name: faces for name in {**CONDITIONS, **NIGHT}
                    if (faces := [r for r in results if r["condition"] == name])}
    rows = []
    for name, faces in by_condition.items():
        found = [r for r in faces if r["found"]]
        read = [r for r in found if r["probs"] is not None]
        rows.append((name, f"{len(found)} of {len(faces)} | {len(found) - len(read)}", read))
    lines = _table("By condition, as FaceAnalyzer reads them (metrics over the faces whose emotion is read)",
                   "condition", "faces found | emotion not read (mouth outside the photo)", rows, "probs", weights,
                   people)
    before = [(name, str(sum(r["found"] for r in faces)), [r for r in faces if r["found"]])
              for name, faces in by_condition.items()
              if any(r["found"] and r["probs"] is None for r in faces)]
    lines += _table("The same conditions with every face found read (as before a face with its mouth outside the "
                    "photo went unread), where some face is not read now", "condition", "faces found", before,
                    "probs_every_face", weights, people)
    read = [r for r in results if r["probs"] is not None]
    lines += _table("By detected face width (every condition's faces read)", "face box width", "faces",
                    [(label, str(len(faces)), faces) for _, label in WIDTH_BINS
                     for faces in [[r for r in read if bin_of(r["width"], WIDTH_BINS) == label]]], "probs",
                    weights, people)
    originals = [r for r in read if r["condition"] == "original"]
    lines += _table("Photos as they are, by head turn", "head turn", "faces",
                    [(label, str(len(faces)), faces) for _, label in TURN_BINS
                     for faces in [[r for r in originals if bin_of(r["turn"], TURN_BINS) == label]]], "probs",
                    weights, people)
    degraded = [r for r in read if r["condition"] != "original"]
    bands = ((0.0, 0.5), (0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.01))
    lines += _table("Every degraded condition's faces read, by top probability", "top probability", "faces",
                    [(f"{low:.1f}-{min(high, 1.0):.1f}", str(len(faces)), faces) for low, high in bands
                     for faces in [[r for r in degraded if low <= max(r["probs"]) < high]]], "probs", weights, people)
    return "\n".join(lines[1:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the real-photo dev set (its manifest.csv)")
    parser.add_argument("--stride", type=int, default=2, help="analyse every N-th photo of the manifest")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="per-face results (outside the repository)")
    parser.add_argument("--from-json", type=Path, help="print the tables of an earlier run's --json, analysing nothing")
    parser.add_argument("--draws", type=int, default=2000, help="bootstrap resamples of the people photographed")
    parser.add_argument("--condition", action="append", metavar="NAME",
                        choices=[c for c in {**CONDITIONS, **NIGHT} if c != "original"],
                        help="only this condition (repeatable) and the original; the night conditions run only so")
    args = parser.parse_args(argv)
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
    else:
        every = {**CONDITIONS, **NIGHT}
        conditions = CONDITIONS if not args.condition else \
            {name: every[name] for name in every if name == "original" or name in args.condition}
        saved = {"stride": args.stride, "faces": analyse(args.data, args.stride, conditions)}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(saved))
    results = saved["faces"]
    photos = len({r["path"] for r in results})
    print(f"{photos} photos with a face found as they are (every {saved['stride']}-th of the dev set), "
          f"{len({r['condition'] for r in results})} conditions\n")
    print(tables(results, args.draws))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
