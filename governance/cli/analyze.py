"""`unveil analyze PATH...`: faces and emotions of every photo in files and folders, on this machine.

    unveil analyze holiday/ portrait.jpg                    # JSON Lines on stdout, one line per photo
    unveil analyze holiday/ --format csv -o faces.csv       # one CSV row per face
    unveil analyze holiday/ --annotate annotated/           # plus copies with boxes and labels

Folders are searched recursively for image files. A file that cannot be read does not stop the run:
it is listed at the end with the reason. The exit status is 1 only when no photo could be read.

Output per photo (JSON Lines): {"source", "width", "height", "faces": [{"face", "x", "y", "w", "h",
"score", "emotion", "p_<class>"...}]}. CSV: one row per face with "source" first; a photo without a
face gets one row with face = 0 and the other columns empty, so every photo read appears.
Identity is not part of this command's output: no embedding or name is written anywhere.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

# File name endings searched for inside folders (files named explicitly are always tried).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
# Annotated copies of JPEG photos are written as JPEG at this quality, anything else as PNG.
ANNOTATED_JPEG_QUALITY = 90
_BASE_COLUMNS = ("source", "face", "x", "y", "w", "h", "score", "emotion")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "analyze", help="faces and emotions in photos (files and folders, recursive)",
        description="Detect every face and read its emotion, entirely on this machine.",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="photos or folders of photos")
    parser.add_argument("--format", choices=("jsonl", "csv"), default=None,
                        help="output format (default: from the --output suffix, else jsonl)")
    parser.add_argument("-o", "--output", type=Path, default=None, help="write results here (default: stdout)")
    parser.add_argument("--annotate", type=Path, default=None, metavar="DIR",
                        help="also save a copy of each photo with numbered boxes and labels in DIR")
    parser.add_argument("--emotion-model", type=Path, default=None, help="emotion ONNX model (default: the shipped one)")
    parser.add_argument("--min-face-size", type=float, default=None,
                        help="smallest face window in pixels (default: the analyzer's, 40)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="photos analysed at once, one inference thread each (default 1)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(handler=run)


@dataclass
class _Result:
    path: Path
    size: tuple[int, int] | None  # (width, height) of the upright photo; None if unreadable
    faces: list
    error: str | None


def run(args: argparse.Namespace) -> int:
    from fer_core._errors import UnveilError

    output_format = args.format or ("csv" if args.output and args.output.suffix.lower() == ".csv" else "jsonl")
    if args.jobs < 1:
        print("unveil analyze: --jobs must be at least 1", file=sys.stderr)
        return 2
    files, missing = _collect(args.paths)
    if not files:
        print("unveil analyze: no image files found in " + ", ".join(map(str, args.paths)), file=sys.stderr)
        _report_failures([(p, "no such file or folder") for p in missing], total=len(missing))
        return 1
    try:
        analyzer = _analyzer(args)
    except UnveilError as exc:
        print(f"unveil analyze: {exc}", file=sys.stderr)
        return 1
    failures = [(p, "no such file or folder") for p in missing]
    read = 0
    out = open(args.output, "w", newline="", encoding="utf-8") if args.output else sys.stdout
    try:
        writer = _Writer(out, output_format, analyzer.emotion_model.classes)
        results = _analyse_all(analyzer, files, args.annotate, args.jobs)
        for result in _progress(results, len(files), args.no_progress):
            if result.error is not None:
                failures.append((result.path, result.error))
                continue
            read += 1
            writer.write(result)
    finally:
        if args.output:
            out.close()
        else:
            out.flush()
    _report_failures(failures, total=len(files) + len(missing))
    return 0 if read else 1


def _analyzer(args: argparse.Namespace):
    from fer_core.analyzer import FaceAnalyzer
    from fer_core.detection import FaceDetector

    detector = FaceDetector(min_face_size=args.min_face_size, threads=1) if args.min_face_size else None
    # No identity here: without the family gallery an embedding names nobody, and it must not be written out.
    return FaceAnalyzer(detector=detector, emotion_model=args.emotion_model, identity_model=False, threads=1)


def _collect(paths: list[Path]) -> tuple[dict[Path, Path], list[Path]]:
    """Image files (each mapped to the name it gets under --annotate) and the paths that do not exist."""
    files: dict[Path, Path] = {}
    missing = []
    for path in paths:
        if path.is_dir():
            for found in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES):
                files.setdefault(found, Path(path.resolve().name or "root") / found.relative_to(path))
        elif path.exists():
            files.setdefault(path, Path(path.name))
        else:
            missing.append(path)
    return files, missing


def _analyse_all(analyzer, files: dict[Path, Path], annotate: Path | None, jobs: int) -> Iterator[_Result]:
    def one(item: tuple[Path, Path]) -> _Result:
        path, name = item
        return _analyse_one(analyzer, path, None if annotate is None else annotate / name)

    if jobs == 1:
        yield from map(one, files.items())
        return
    # onnxruntime, OpenCV and Pillow's decoders release the GIL: threads share one set of models.
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(one, files.items())


def _analyse_one(analyzer, path: Path, annotated: Path | None) -> _Result:
    from fer_core._errors import ImageError
    from fer_core.images import load_image

    try:
        rgb = load_image(path)
    except ImageError as exc:
        reason = str(exc)
        prefix = f"{path.name}: "
        return _Result(path, None, [], reason[len(prefix):] if reason.startswith(prefix) else reason)
    faces = analyzer.analyze(rgb)
    if annotated is not None:
        _save_annotated(rgb, faces, annotated)
    return _Result(path, (rgb.shape[1], rgb.shape[0]), faces, None)


def _progress(results: Iterator[_Result], total: int, disabled: bool) -> Iterator[_Result]:
    from tqdm import tqdm

    return tqdm(results, total=total, unit="photo", disable=disabled, file=sys.stderr, dynamic_ncols=True)


class _Writer:
    def __init__(self, out: TextIO, output_format: str, classes: tuple[str, ...]) -> None:
        self._out = out
        self._format = output_format
        if output_format == "csv":
            columns = [*_BASE_COLUMNS, *(f"p_{c}" for c in classes)]
            self._csv = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
            self._csv.writeheader()

    def write(self, result: _Result) -> None:
        from governance.app_services import face_records

        rows = face_records(result.faces, source=str(result.path), recognition=False)
        if self._format == "csv":
            self._csv.writerows(rows or [{"source": str(result.path), "face": 0}])
            return
        width, height = result.size
        faces = [{k: v for k, v in row.items() if k != "source"} for row in rows]
        line = {"source": str(result.path), "width": width, "height": height, "faces": faces}
        self._out.write(json.dumps(line, ensure_ascii=False) + "\n")


def _save_annotated(rgb, faces: list, target: Path) -> None:
    from governance.app_services import annotate

    image = annotate(rgb, faces, recognition=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix.lower() in (".jpg", ".jpeg"):
        image.save(target, format="JPEG", quality=ANNOTATED_JPEG_QUALITY)
    else:
        image.save(target.with_suffix(".png"), format="PNG")


def _report_failures(failures: list[tuple[Path, str]], *, total: int) -> None:
    if not failures:
        return
    print(f"{len(failures)} of {total} could not be read:", file=sys.stderr)
    for path, reason in failures:
        print(f"  {path}: {reason}", file=sys.stderr)
