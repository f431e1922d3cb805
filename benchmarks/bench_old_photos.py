"""Old photos: black-and-white, sepia, faded, grainy, halftone and small prints, end to end through FaceAnalyzer.

    PYTHONPATH=. python benchmarks/bench_old_photos.py [--limit 400] [--draws 2000] [--only identity|emotion]
        [--faces-dir DIR] [--emotion-data DIR] [--condition NAME ...]
    PYTHONPATH=. python benchmarks/bench_old_photos.py --only files|spans

A household's archive as Unveil sees it after scanning: each photo of a set is turned into what an old print
of it looks like (CONDITIONS) and analysed by FaceAnalyzer.analyze, beside the photo as it is.

- Identity: ../shared/data/faces (LFW, 16 people x 8 photos + 50 strangers; test fixtures only), through
  benchmarks/bench_identity_degraded.py's protocol and code: the household enrolled as the product enrols, from
  the colour originals <Name>_0001..0004 (members enrol from today's photos), every photo aged as a whole and
  analysed with that gallery; member probes named right, as another member, unknown or missed, and false-match
  trials (strangers, and members against the household without them), with 95% bootstrap intervals over people.
- Emotion: the real-photo dev set (benchmarks/emotion_real_photos_data.py; --limit photos spread evenly through
  its manifest, which is sorted by source and class, so every source and class keeps its share), scored as
  benchmarks/emotion_real_photos.py scores it (its Models: FaceAnalyzer, the face nearest the photo's centre).
  Faces found, accuracy and macro-F1 of each condition on the photos whose face is found both in it and in the
  original, with the gap to the original from a paired bootstrap over the people photographed (within each
  source; governance.bias_audit), and how many of those faces keep the original's emotion.

Conditions (applied to the whole photo, at its own size):
- greyscale: ITU-R 601 luma in all three channels (a black-and-white print).
- sepia: the usual sepia-toning matrix (SEPIA) on the colours.
- faded colour print: the photo mixed with a yellowed paper tone (PAPER) by a share of 0.5 or 0.7: contrast
  down to a half or a third, blacks lifted, a yellow-red cast (the dyes of an old colour print fade, the
  paper yellows).
- film grain: monochrome Gaussian noise of GRAIN_SIGMA grey levels, in clumps (smoothed by GRAIN_CLUMP px).
- newspaper halftone: the grey photo printed as dots on HALFTONE_CELL px cells (a clustered-dot screen),
  then blurred by the scanner's optics (SCANNER_BLUR).
- newspaper halftone, descreened: the same blurred by DESCREEN_SIGMA px, as a scanner's descreen setting does.
- small print enlarged: the photo reduced to a half or a third (area average) and enlarged back (bicubic):
  a wallet print or a contact sheet scanned and blown up, an old digital photo's small file.
- old print: sepia, faded by 0.5, reduced to a half and enlarged back, then film grain 10 (most of the above at
  once); "old print without grain" stops before the grain.
- old print, scanned at 3x the resolution: the photo enlarged 3 times (bicubic) before it is aged, so that the
  grain is a third as coarse against the face (a 600 dpi scan of a print against a 200 dpi one).
- "+ auto-contrast": a condition with Pillow's ImageOps.autocontrast (AUTOCONTRAST_CUTOFF % of the darkest
  and lightest pixels clipped per channel) applied before analysis: the usual fix for a faded print,
  measured as a candidate preprocessing step; "+ auto-contrast when flat" only on a photo whose grey levels span
  less than FLAT_SPAN (1st to 99th percentile), as a product rule would.
- "+ smoothing": a Gaussian blur of SMOOTH_SIGMA px before analysis, the simplest remedy for grain, likewise.

Every condition draws its noise from the same seed per photo. The figures of docs/reports/old_photos.md come from
`--only identity`, `--only emotion --limit 400`, `--only files` and `--only spans`.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_identity_degraded import (
    Probe,
    bootstrap,
    enrol,
    labelled_probes,
    rate,
    run,
    table,
)
from emotion_real_photos import CLASSES, REPO, EvalSet, Models, read_manifest, summarise
from emotion_real_photos_data import DEFAULT_DATA

from fer_core import ImageError, images
from fer_core.analyzer import FaceAnalyzer
from fer_core.images import load_image
from fer_core.training.identity_devset import FACES_DIR, FacePhoto, load_manifest

LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601, as Pillow's convert("L")
SEPIA = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])
PAPER = np.array([235.0, 215.0, 175.0])  # a yellowed print's white
GRAIN_SIGMA = (10.0, 20.0)
GRAIN_CLUMP = 0.8
# A 4x4 clustered-dot threshold matrix, one cell of HALFTONE_CELL px: dots grow from each cell's centre, as a
# printer's screen (85 lines per inch scanned at 300 dpi is a 3.5 px cell).
HALFTONE_CELL = 4
CLUSTERED_DOT = np.array([[12, 5, 6, 13], [4, 0, 1, 7], [11, 3, 2, 8], [15, 10, 9, 14]])
SCANNER_BLUR = 0.7
# A scanner's "descreen" setting: a low-pass filter that averages the dots of a halftone away (half a cell).
DESCREEN_SIGMA = HALFTONE_CELL / 2
AUTOCONTRAST_CUTOFF = 1.0
PHOTO = Path("Colin_Powell") / "Colin_Powell_0001.jpg"  # the photo of the file table (--only files)
SMOOTH_SIGMA = 1.0
# Half the 8-bit range: under it are 72 of the 1,666 photos of the two sets as they are, and every one of them faded
# by 0.5 (`--only spans`).
FLAT_SPAN = 128
FINER_SCAN = 3

Box = tuple[float, float, float, float]
Degrade = Callable[[Probe, np.random.Generator], tuple[np.ndarray, Box]]


def _u8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.round(values), 0, 255).astype(np.uint8)


def _pixels(change: Callable[[np.ndarray, np.random.Generator], np.ndarray]) -> Degrade:
    """A Degrade that changes the photo's pixels (float RGB 0-255) and leaves the face where it was."""
    def apply(probe: Probe, rng: np.random.Generator) -> tuple[np.ndarray, Box]:
        return _u8(change(probe.rgb.astype(np.float64), rng)), probe.box
    return apply


def _grey(rgb: np.ndarray) -> np.ndarray:
    return rgb @ LUMA


def greyscale(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.repeat(_grey(rgb)[..., None], 3, axis=2)


def sepia(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return rgb @ SEPIA.T


def faded(amount: float) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    def change(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return (1 - amount) * rgb + amount * PAPER
    return change


def grain(sigma: float) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    def change(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        noise = ndimage.gaussian_filter(rng.normal(size=rgb.shape[:2]), GRAIN_CLUMP)
        return rgb + (sigma / noise.std()) * noise[..., None]
    return change


def halftone(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    grey = _grey(rgb)
    h, w = grey.shape
    cell = (CLUSTERED_DOT + 0.5) / CLUSTERED_DOT.size * 255  # one threshold per pixel of a cell
    screen = np.tile(cell, (h // HALFTONE_CELL + 1, w // HALFTONE_CELL + 1))[:h, :w]
    dots = np.where(grey > screen, 255.0, 0.0)
    return np.repeat(ndimage.gaussian_filter(dots, SCANNER_BLUR)[..., None], 3, axis=2)


def descreen(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return ndimage.gaussian_filter(rgb, (DESCREEN_SIGMA, DESCREEN_SIGMA, 0))


def enlarged(scale: float) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    def change(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        h, w = rgb.shape[:2]
        small = Image.fromarray(_u8(rgb)).resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                                 Image.Resampling.BOX)
        return np.asarray(small.resize((w, h), Image.Resampling.BICUBIC), dtype=np.float64)
    return change


def chain(*changes: Callable[[np.ndarray, np.random.Generator], np.ndarray]
          ) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    """Each change on what the one before made, rounded to 8 bits in between as each print or scan is."""
    def change(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        for step in changes:
            rgb = _u8(step(rgb, rng)).astype(np.float64)
        return rgb
    return change


def autocontrast_when_flat(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """autocontrast only for a photo whose grey levels span less than FLAT_SPAN between their 1st and 99th
    percentiles: the gate a product rule would need to leave ordinary photos as they are."""
    low, high = np.percentile(_grey(rgb[::2, ::2]), [1, 99])
    return autocontrast(rgb, rng) if high - low < FLAT_SPAN else rgb


def smoothed(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return ndimage.gaussian_filter(rgb, (SMOOTH_SIGMA, SMOOTH_SIGMA, 0))


def autocontrast(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.asarray(ImageOps.autocontrast(Image.fromarray(_u8(rgb)), cutoff=AUTOCONTRAST_CUTOFF), np.float64)


OLD_PRINT_NO_GRAIN = chain(sepia, faded(0.5), enlarged(0.5))
OLD_PRINT = chain(OLD_PRINT_NO_GRAIN, grain(GRAIN_SIGMA[0]))
CHANGES: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "original": lambda rgb, rng: rgb,
    "greyscale": greyscale,
    "sepia": sepia,
    "faded colour print 0.5": faded(0.5),
    "faded colour print 0.7": faded(0.7),
    **{f"film grain {s:g}": grain(s) for s in GRAIN_SIGMA},
    "newspaper halftone": halftone,
    "newspaper halftone, descreened": chain(halftone, descreen),
    "small print enlarged x2": enlarged(1 / 2),
    "small print enlarged x3": enlarged(1 / 3),
    "old print": OLD_PRINT,
    "old print without grain": OLD_PRINT_NO_GRAIN,
    "faded colour print 0.5 + auto-contrast": chain(faded(0.5), autocontrast),
    "faded colour print 0.7 + auto-contrast": chain(faded(0.7), autocontrast),
    "old print without grain + auto-contrast": chain(OLD_PRINT_NO_GRAIN, autocontrast),
    "old print + auto-contrast": chain(OLD_PRINT, autocontrast),
    "original + auto-contrast": autocontrast,
    "original + auto-contrast when flat": autocontrast_when_flat,
    "old print + auto-contrast when flat": chain(OLD_PRINT, autocontrast_when_flat),
    "film grain 20 + smoothing": chain(grain(GRAIN_SIGMA[1]), smoothed),
    "old print + smoothing": chain(OLD_PRINT, smoothed),
    "original + smoothing": smoothed,
}


def scanned_finer(times: int, change: Callable[[np.ndarray, np.random.Generator], np.ndarray]) -> Degrade:
    """`change` on the photo enlarged `times` (bicubic) first: the same print scanned at `times` the resolution, so
    that its grain is finer against the face (the face box grows with the photo)."""
    def apply(probe: Probe, rng: np.random.Generator) -> tuple[np.ndarray, Box]:
        h, w = probe.rgb.shape[:2]
        big = Image.fromarray(probe.rgb).resize((w * times, h * times), Image.Resampling.BICUBIC)
        x, y, bw, bh = probe.box
        return _u8(change(np.asarray(big, np.float64), rng)), (x * times, y * times, bw * times, bh * times)
    return apply


CONDITIONS: dict[str, Degrade] = {name: _pixels(change) for name, change in CHANGES.items()}
CONDITIONS[f"old print, scanned at {FINER_SCAN}x the resolution"] = scanned_finer(FINER_SCAN, OLD_PRINT)


# --- files -----------------------------------------------------------------------------------------


def _tiff_white_is_zero(tiff: bytes) -> bytes:
    """A little-endian TIFF as Pillow writes it, with PhotometricInterpretation set to WhiteIsZero (0 is white): of a
    negative's pixels, the file of a scanner that stores grey scans so."""
    ifd = int.from_bytes(tiff[4:8], "little")
    data = bytearray(tiff)
    for entry in range(ifd + 2, ifd + 2 + 12 * int.from_bytes(tiff[ifd:ifd + 2], "little"), 12):
        if int.from_bytes(tiff[entry:entry + 2], "little") == 262:
            data[entry + 8:entry + 10] = (0).to_bytes(2, "little")
    return bytes(data)


def scan_files(faces_dir: Path) -> dict[str, bytes]:
    """Each kind of file a scanner or a photo editor writes for an old photo, made from one LFW photo: as it would
    be saved, so that what load_image makes of it can be compared with the photo."""
    import cv2

    photo = Image.open(faces_dir / PHOTO).convert("RGB")
    grey = photo.convert("L")
    grey16 = np.asarray(grey, np.uint16) * 257
    rgb16 = np.asarray(photo, np.uint16) * 257

    def saved(image: Image.Image, fmt: str, **options: object) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, fmt, **options)
        return buffer.getvalue()

    pages = io.BytesIO()
    photo.save(pages, "TIFF", save_all=True, append_images=[grey, photo])
    return {
        "TIFF, 8-bit grey": saved(grey, "TIFF"),
        "TIFF, 8-bit grey, WhiteIsZero": _tiff_white_is_zero(saved(ImageOps.invert(grey), "TIFF")),
        "TIFF, 16-bit grey": saved(Image.fromarray(grey16), "TIFF", compression="tiff_lzw"),
        "TIFF, 16-bit grey, WhiteIsZero": _tiff_white_is_zero(saved(Image.fromarray(65535 - grey16), "TIFF")),
        "PNG, 16-bit grey": saved(Image.fromarray(grey16), "PNG"),
        "TIFF, 48-bit colour (16 a channel)": cv2.imencode(".tif", rgb16[..., ::-1])[1].tobytes(),
        "PNG, 48-bit colour": cv2.imencode(".png", rgb16[..., ::-1])[1].tobytes(),
        "TIFF, 64-bit colour with alpha": cv2.imencode(".tif", np.dstack([rgb16[..., ::-1], rgb16[..., :1] * 0 + 65535])
                                                       )[1].tobytes(),
        "TIFF, CMYK": saved(photo.convert("CMYK"), "TIFF"),
        "JPEG, CMYK": saved(photo.convert("CMYK"), "JPEG", quality=95),
        "TIFF, LAB": saved(photo.convert("LAB"), "TIFF"),
        "TIFF, JPEG-compressed (YCbCr)": saved(photo, "TIFF", compression="jpeg"),
        "TIFF, 1-bit (line art), CCITT G4": saved(grey.convert("1"), "TIFF", compression="group4"),
        "TIFF, 32-bit float grey (0-1)": saved(Image.fromarray(np.asarray(grey, np.float32) / 255), "TIFF"),
        "PNG, grey with alpha (LA)": saved(grey.convert("LA"), "PNG"),
        "TIFF, grey with alpha (LA)": saved(grey.convert("LA"), "TIFF"),
        "PNG, 256-colour palette": saved(photo.convert("P"), "PNG"),
        "TIFF, 3 pages (the first read)": pages.getvalue(),
        "JPEG 2000": saved(photo, "JPEG2000"),
    }


def file_table(faces_dir: Path) -> None:
    """What load_image makes of each file of scan_files: the mean absolute difference of its grey levels from the
    photo's (under 1: conversion loss; a 1-bit file is dithered, a palette has 256 colours), or its error."""
    expected = np.asarray(Image.open(faces_dir / PHOTO).convert("L"), np.float64)
    print("| file | Pillow's mode | read | mean grey-level difference from the photo |")
    print("|---|---|---|---|")
    for name, data in scan_files(faces_dir).items():
        mode = Image.open(io.BytesIO(data)).mode
        try:
            rgb = load_image(data)
        except ImageError as exc:
            print(f"| {name} | {mode} | refused: {exc.reason} | - |")
            continue
        difference = np.abs(_grey(rgb.astype(np.float64)) - expected).mean()
        print(f"| {name} | {mode} | {rgb.shape[1]}x{rgb.shape[0]} RGB | {difference:.1f} |")


def scan_memory(megapixels: float = 48.0) -> None:
    """Peak resident memory of load_image on a grey scan of `megapixels` at 4:3, 8 and 16 bits, each read in a
    fresh process (the kernel's ru_maxrss); the file is written to a temporary folder and deleted."""
    width = round((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = width * 3 // 4
    ramp = (np.arange(width, dtype=np.uint32) * 8 % 65536).astype(np.uint16)
    reader = ("import resource, sys; from fer_core.images import load_image; load_image(sys.argv[1]); "
              "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)")
    print(f"\nPeak resident memory reading a {width}x{height} grey TIFF (LZW) in a fresh process:\n")
    print("| bits | peak MiB |")
    print("|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for bits in (8, 16):
            values = np.broadcast_to(ramp if bits == 16 else (ramp >> 8).astype(np.uint8), (height, width))
            path = Path(folder) / f"scan{bits}.tif"
            Image.fromarray(np.ascontiguousarray(values)).save(path, compression="tiff_lzw")
            # the fer_core this script imported (PYTHONPATH=OLD_CHECKOUT:. measures another version's)
            env = {**os.environ, "PYTHONPATH": str(Path(images.__file__).resolve().parents[1])}
            peak = subprocess.run([sys.executable, "-c", reader, str(path)], capture_output=True, text=True,
                                  check=True, cwd=folder, env=env).stdout.strip()
            print(f"| {bits} | {peak} |")


def span_table(data: Path, faces_dir: Path) -> None:
    """The grey-level span (1st to 99th percentile, as autocontrast_when_flat measures it) of every photo of both
    sets, as it is and in some conditions: how many a FLAT_SPAN gate would stretch."""
    with open(data / "manifest.csv", newline="") as handle:
        paths = [data / row["path"] for row in csv.DictReader(handle)]
    paths += [photo.path for photo in load_manifest(faces_dir)]
    names = ("original", "greyscale", "sepia", "faded colour print 0.5", "faded colour print 0.7", "film grain 20",
             "newspaper halftone", "old print without grain", "old print")
    spans: dict[str, list[float]] = {name: [] for name in names}
    for i, path in enumerate(paths):
        rgb = load_image(path).astype(np.float64)
        for name in names:
            grey = _grey(_u8(CHANGES[name](rgb, np.random.default_rng(i)))[::2, ::2].astype(np.float64))
            low, high = np.percentile(grey, [1, 99])
            spans[name].append(high - low)
    print(f"Grey-level span of {len(paths)} photos (real-photo set and LFW fixtures), 1st to 99th percentile:\n")
    print(f"| condition | 5th percentile | median | under {FLAT_SPAN} |")
    print("|---|---|---|---|")
    for name, values in spans.items():
        low, mid = np.percentile(values, [5, 50])
        print(f"| {name} | {low:.0f} | {mid:.0f} | {sum(v < FLAT_SPAN for v in values)}/{len(values)} |")


# --- emotion ---------------------------------------------------------------------------------------


def emotion_tables(data: Path, limit: int | None, draws: int, conditions: dict[str, Degrade]) -> None:
    rows = read_manifest(data, None)
    if limit and limit < len(rows):  # evenly spread over the manifest (sorted by source and class): every share kept
        rows = [rows[i * len(rows) // limit] for i in range(limit)]
    models = Models([REPO / "models" / "emotion_vgg16.onnx"], [])
    scored = EvalSet("real photos, aged")
    for i, row in enumerate(rows):
        rgb = load_image(data / row["path"])
        probe = Probe(FacePhoto(data / row["path"], "", "", 0), rgb, (0.0, 0.0, rgb.shape[1], rgb.shape[0]))
        predicted = {}
        for name, degrade in conditions.items():
            image, _ = degrade(probe, np.random.default_rng(i))
            read = models.photo(image)
            predicted[name] = -1 if read is None else read.predicted[models.names[0]]
        scored.add(row["path"], CLASSES.index(row["label"]), row["source"], predicted, subject=row["subject"])
        if (i + 1) % 50 == 0:
            print(f"  emotion: {i + 1}/{len(rows)}", file=sys.stderr, flush=True)
    sources = {s: sum(1 for r in rows if r["source"] == s) for s in sorted({r["source"] for r in rows})}
    print(f"\nEmotion: {len(rows)} photos of the real-photo set ({', '.join(f'{s} {n}' for s, n in sources.items())}; "
          f"{len(set(scored.subjects))} people), at an even stride through its manifest. Accuracy "
          "and macro-F1 on the faces found both in the condition and in the original; the gap to the original "
          "is paired, 95% bootstrap over people within each source:\n")
    print("| condition | face found | accuracy | macro-F1 | accuracy gap | macro-F1 gap | same emotion as the original |")
    print("|---|---|---|---|---|---|---|")
    people = [f"{source}/{subject}" for source, subject in zip(scored.sources, scored.subjects)]
    weights = bootstrap([{"person": p} for p in people], draws)  # people resampled with all their photos
    original = np.asarray(scored.predictions["original"])
    for name in conditions:
        predicted = np.asarray(scored.predictions[name])
        found = rate([{"person": p, "found": k >= 0} for p, k in zip(people, predicted)], lambda r: r["found"],
                     weights)
        both = [i for i in range(len(original)) if original[i] >= 0 and predicted[i] >= 0]
        pair = EvalSet(name, [scored.labels[i] for i in both], [scored.sources[i] for i in both],
                       [scored.paths[i] for i in both],
                       {"original": [int(original[i]) for i in both], name: [int(predicted[i]) for i in both]},
                       subjects=[scored.subjects[i] for i in both])
        models_here = ["original"] if name == "original" else ["original", name]
        summary = summarise(pair, models_here, n_boot=draws, seed=0, by_source=False)["models"][name]
        gap = summary.get("minus_original", {})
        same = np.mean(predicted[both] == original[both])
        print(f"| {name} | {found} | {_estimate(summary['accuracy'])} | {_estimate(summary['macro_f1'])} "
              f"| {_estimate(gap['accuracy'], signed=True) if gap else '-'} "
              f"| {_estimate(gap['macro_f1'], signed=True) if gap else '-'} | {same:.1%} |")
        print(f"  emotion table: {name}", file=sys.stderr, flush=True)


def _estimate(entry: dict, signed: bool = False) -> str:
    """An Estimate's to_dict() as 'value (low to high)'; None (not finite) as '-'."""
    def cell(value: float | None) -> str:
        return "-" if value is None else f"{value:{'+' if signed else ''}.1%}"
    return f"{cell(entry['value'])} ({cell(entry['ci'][0])} to {cell(entry['ci'][1])})"


# --- identity --------------------------------------------------------------------------------------


def identity_tables(faces_dir: Path, draws: int, conditions: dict[str, Degrade]) -> None:
    analyzer = FaceAnalyzer()
    photos = load_manifest(faces_dir)
    gallery = enrol(analyzer, photos)
    probes = labelled_probes(analyzer, photos)
    print(f"Identity: {analyzer.identity_model.name}, threshold {gallery.threshold:.2f}; {len(gallery)} members "
          f"enrolled from their colour originals, {len(probes)} photos aged\n")
    rows = run(analyzer, gallery, probes, conditions)
    table(rows, bootstrap(rows, draws), gallery.threshold, conditions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces-dir", type=Path, default=FACES_DIR)
    parser.add_argument("--emotion-data", type=Path, default=DEFAULT_DATA,
                        help="the real-photo emotion set (emotion_real_photos_data.py)")
    parser.add_argument("--limit", type=int, default=400, help="real photos scored (an even stride; 0: all 1,488)")
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--only", choices=("identity", "emotion", "files", "spans"),
                        help="files: what load_image makes of each kind of scan file, and its memory on a big scan; "
                             "spans: the grey-level spans of every photo of both sets (FLAT_SPAN)")
    parser.add_argument("--condition", action="append", choices=list(CONDITIONS),
                        help="run only this condition beside the original (repeat for more; default: all)")
    args = parser.parse_args(argv)
    conditions = {name: degrade for name, degrade in CONDITIONS.items()
                  if not args.condition or name == "original" or name in args.condition}
    start = time.time()
    if args.only == "files":
        file_table(args.faces_dir)
        scan_memory()
        return 0
    if args.only == "spans":
        span_table(args.emotion_data, args.faces_dir)
        return 0
    if args.only != "emotion":
        identity_tables(args.faces_dir, args.draws, conditions)
    if args.only != "identity":
        emotion_tables(args.emotion_data, args.limit or None, args.draws, conditions)
    print(f"\n{time.time() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
