"""Photo files as phones and apps save them: what reading them as fer_core.images reads them costs, end to end.

    PYTHONPATH=. python benchmarks/bench_photo_files.py [--only identity|emotion] [--limit 400] [--draws 2000]
    PYTHONPATH=. python benchmarks/bench_photo_files.py --only files

--only files: each kind of file a phone, camera or app writes, made from one public-domain portrait, and what
load_image reads of it against the picture the file shows (tests.support.photo_files), beside OpenCV's reading.

load_image does not apply a photo's colour profile (ICC): the numbers of a Display P3 photo (every iPhone photo
since the iPhone 7) or an Adobe RGB one (a camera setting) are read as if they were sRGB, so
its colours come out less saturated than they are. And a transparent background (a cut-out portrait, a sticker)
is put on white. Each condition makes, from each photo of the sets of benchmarks/bench_old_photos.py, the pixels
load_image returns for such a file, through littleCMS with the spaces' profiles (tests.support.icc):

- "Display P3, profile ignored" / "Adobe RGB, profile ignored": the photo's sRGB colours converted to the space
  (relative colorimetric, as a phone or a camera renders into it), read as sRGB numbers.
- "re-saved as JPEG, quality 90": for scale, a change nobody would see (a photo shared or edited).
- "cut-out on white" / "cut-out on black": the photo outside an ellipse around the face (a head and shoulders cut
  out of its background) made white, as load_image flattens it, or black, as a viewer with a dark background
  shows it.

Identity and emotion are scored by bench_old_photos' protocols (the household enrolled from the photos as they
are). Besides its tables: per condition, how far each face's distance to the nearest member moved and
how many faces changed their emotion, against the same photo as it is.
"""
from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_identity_degraded import Probe, bootstrap, enrol, labelled_probes, run, table
from bench_old_photos import emotion_tables
from emotion_real_photos_data import DEFAULT_DATA

from fer_core import ImageError
from fer_core.analyzer import FaceAnalyzer
from fer_core.images import load_image
from fer_core.training.identity_devset import FACES_DIR, load_manifest
from tests.support.icc import rgb_profile
from tests.support.photo_files import files

PORTRAIT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "public_domain" / "grace_hopper.jpg"

Box = tuple[float, float, float, float]
# The cut-out: an ellipse centred on the face box, this many face widths wide and heights high (head, hair, neck).
CUT_OUT = (1.6, 2.0)
RESAVE_QUALITY = 90


def unchanged(probe: Probe, rng: np.random.Generator) -> tuple[np.ndarray, Box]:
    return probe.rgb, probe.box


def ignored_profile(space: str):
    """The photo's colours in `space` (as a phone or camera writes them), read back as sRGB numbers."""
    transform = ImageCms.buildTransform(ImageCms.createProfile("sRGB"),
                                        ImageCms.ImageCmsProfile(io.BytesIO(rgb_profile(space))), "RGB", "RGB")

    def apply(probe: Probe, rng: np.random.Generator) -> tuple[np.ndarray, Box]:
        return np.asarray(ImageCms.applyTransform(Image.fromarray(probe.rgb), transform)), probe.box
    return apply


def resaved(probe: Probe, rng: np.random.Generator) -> tuple[np.ndarray, Box]:
    """The photo saved again as a JPEG at RESAVE_QUALITY: how much a change nobody would see moves the results."""
    buffer = io.BytesIO()
    Image.fromarray(probe.rgb).save(buffer, format="JPEG", quality=RESAVE_QUALITY)
    return np.asarray(Image.open(buffer).convert("RGB")), probe.box


def cut_out(background: int):
    def apply(probe: Probe, rng: np.random.Generator) -> tuple[np.ndarray, Box]:
        x, y, w, h = probe.box
        cx, cy, rx, ry = x + w / 2, y + h / 2, w * CUT_OUT[0] / 2, h * CUT_OUT[1] / 2
        mask = Image.new("L", (probe.rgb.shape[1], probe.rgb.shape[0]), 0)
        ImageDraw.Draw(mask).ellipse((cx - rx, cy - ry, cx + rx, cy + ry * 1.3), fill=255)  # longer below: the neck
        inside = np.asarray(mask)[:, :, None] > 0
        return np.where(inside, probe.rgb, np.uint8(background)).astype(np.uint8), probe.box
    return apply


CONDITIONS = {
    "original": unchanged,
    f"re-saved as JPEG, quality {RESAVE_QUALITY}": resaved,
    "Display P3, profile ignored": ignored_profile("Display P3"),
    "Adobe RGB, profile ignored": ignored_profile("Adobe RGB (1998)"),
    "cut-out on white": cut_out(255),
    "cut-out on black": cut_out(0),
}
# The real-photo emotion set's photos are the face and little else: a cut-out of them is not one, so it is left out.
EMOTION_CONDITIONS = [name for name in CONDITIONS if not name.startswith("cut-out")]


def shifts(rows: list[dict]) -> None:
    """How far each condition moved the faces found both in it and in the original."""
    original = {r["photo"]: r for r in rows if r["condition"] == "original" and r["impostor"] is not None}
    print("\nAgainst the same photo as it is (faces found in both): distance to the nearest member, its mean and "
          "largest change; faces whose name or emotion changed:\n")
    print("| condition | faces | mean distance change | largest | name changed | emotion changed |")
    print("|---|---|---|---|---|---|")
    for name in dict.fromkeys(r["condition"] for r in rows):
        pairs = [(original[r["photo"]], r) for r in rows
                 if r["condition"] == name and r["impostor"] is not None and r["photo"] in original]
        moved = np.array([abs(r["distance"] - o["distance"]) for o, r in pairs])
        print(f"| {name} | {len(pairs)} | {moved.mean():.4f} | {moved.max():.4f} "
              f"| {sum(o['outcome'] != r['outcome'] for o, r in pairs)} "
              f"| {sum(o['emotion'] != r['emotion'] for o, r in pairs)} |")


def _difference(rgb: np.ndarray | None, shown: np.ndarray) -> str:
    if rgb is None:
        return "not read"
    if rgb.shape != shown.shape:
        return f"wrong shape ({rgb.shape[1]}x{rgb.shape[0]}, shows {shown.shape[1]}x{shown.shape[0]})"
    return f"{np.abs(rgb.astype(int) - shown).mean():.1f}"


def file_table() -> None:
    """What load_image reads of each file of tests.support.photo_files, and, for a second opinion, OpenCV's
    cv2.imdecode (another build of libjpeg-turbo, libpng, libwebp and libtiff; it applies EXIF orientations too)."""
    import cv2

    photo = np.asarray(Image.open(PORTRAIT).convert("RGB"))
    print("| file | Pillow opens | read | mean difference from the picture it shows (of 255) | OpenCV's |")
    print("|---|---|---|---|---|")
    for name, (data, shown) in files(photo).items():
        with Image.open(io.BytesIO(data)) as opened:
            opens = f"{opened.format} {opened.mode}, {getattr(opened, 'n_frames', 1)} frame(s)"
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        opencv = _difference(None if bgr is None else bgr[:, :, ::-1], shown)
        try:
            rgb = load_image(data)
        except ImageError as exc:
            print(f"| {name} | {opens} | refused: {exc.reason} | - | {opencv} |")
            continue
        print(f"| {name} | {opens} | {rgb.shape[1]}x{rgb.shape[0]} | {_difference(rgb, shown)} | {opencv} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces-dir", type=Path, default=FACES_DIR)
    parser.add_argument("--emotion-data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=400, help="real photos scored (an even stride; 0: all)")
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--only", choices=("identity", "emotion", "files"))
    args = parser.parse_args(argv)
    start = time.time()
    if args.only == "files":
        file_table()
        return 0
    if args.only != "emotion":
        analyzer = FaceAnalyzer()
        photos = load_manifest(args.faces_dir)
        gallery = enrol(analyzer, photos)
        probes = labelled_probes(analyzer, photos)
        print(f"Identity: {analyzer.identity_model.name}, threshold {gallery.threshold:.2f}; {len(gallery)} members, "
              f"{len(probes)} photos\n")
        rows = run(analyzer, gallery, probes, CONDITIONS)
        table(rows, bootstrap(rows, args.draws), gallery.threshold, CONDITIONS)
        shifts(rows)
    if args.only != "identity":
        emotion_tables(args.emotion_data, args.limit or None, args.draws,
                       {name: CONDITIONS[name] for name in EMOTION_CONDITIONS})
    print(f"\n{time.time() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
