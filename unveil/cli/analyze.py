"""`unveil analyze PATH...`: faces and emotions of every photo in files and folders, on this machine.

    unveil analyze holiday/ portrait.jpg                    # JSON Lines on stdout, one line per photo
    unveil analyze holiday/ --format csv -o faces.csv       # one CSV row per face
    unveil analyze holiday/ --annotate annotated/           # plus copies with boxes and labels
    unveil analyze holiday/ -o faces.jsonl --resume         # after Ctrl-C, kill -9 or a crash: go on from there

Folders are searched recursively for image files, following links to folders once every real folder is searched
(a folder reached both ways is named by its own path, and the link listed as a repeat). Nothing that cannot be
analysed stops the run or is passed over in silence: each such path is listed at the end with its
reason, and with --errors FILE also written to a CSV file (columns path, error, reason; error is one
of the kinds below). The last line counts the photos analysed, not read and read with a problem. Left out
on purpose, and said after the lists: the --annotate folder when it is inside a folder searched (it holds this
command's copies, which a second run analysed as photos and then refused to write over), and the ._NAME files
macOS leaves beside each file on a disk that is not its own (AppleDouble metadata, told by its first bytes).
Exit status (EXIT_STATUSES, the end of --help): 0 when a photo was analysed (or, with --resume, is in -o already),
1 when none could be read, an output could not be written or an error stopped the run, 2 for unusable options, 130
when interrupted (Ctrl-C, or SIGTERM or SIGHUP, which stop the run the same way: see reports_errors), 141 when the
reader of standard output went away.

Each photo's record is written and flushed as soon as it is analysed, so a run stopped in any way (Ctrl-C,
kill -9, a power cut) leaves whole records but for the one being written. `--resume` with the same -o goes on
from there: a photo whose record is there, under its path (as written, or another path to the same file: the
folder named absolute or relative, or through a link; a record kept keeps the path its run wrote) and with the same
size and modification time as now ("bytes" and "modified" of each record), is not analysed again; a photo changed
since is, and its record replaced; a photo's second record and a last record cut off are dropped. A record of a
photo not given this time (a folder left out of the PATHs, or a photo deleted or renamed since) is not: the run is
refused (RESUME_NOT_GIVEN, exit status 2, -o left as it was); give the same PATHs, or write to a new -o
(unveil/cli/_resume.py). The --errors file and the lists cover the photos this run read. A run cut short says
how to go on.

Not read: a path that does not exist (missing), a folder that cannot be listed (unreadable_folder),
a path that cannot be looked at (unreadable_path), a symbolic link that loops or leads back to a
folder it is in (link_loop) or to nothing (broken_link), a second way into a folder already searched
(repeated_folder), a FIFO, socket or device named like an image (not_a_file), and a file that is not
a readable image (unreadable_image; a video named explicitly is said to be one, for the app's Video page).
Read with a problem: a file holding more than one picture, of which only the first is analysed: a multi-page
TIFF (pages_not_read), an animated GIF, WebP or PNG (frames_not_read) and a multi-picture JPEG (pictures_not_read),
each with fer_core.images' note; a photo whose --annotate copy could not be written (annotation_not_written), and one
whose copy was saved under another name (annotation_renamed).

Nothing given to analyse is ever written over: -o and --errors must not be one of the photos, nor the
same file, and an --annotate folder where a copy would replace a photo is refused, all before any
photo is read (exit status 2). Each copy keeps its name under the folder (a photo named explicitly
goes in the folder itself, a folder's photos under the folder's name); a JPEG stays JPEG, anything
else becomes PNG. Where two copies, or a copy and -o or --errors, would get the same name (compared
without case, as macOS and Windows do), the later copy is saved as NAME-2, NAME-3... instead.

Output per photo (JSON Lines): {"source", "bytes", "modified", "width", "height", "faces": [{"face", "x", "y",
"w", "h", "score", "emotion", "p_<class>"...}]}, "bytes" the file's size and "modified" its modification time
(UTC, ISO 8601 to the nanosecond). A face whose mouth is outside the photo gets "emotion" null and no "p_<class>"
(fer_core.emotion.mouth_outside). CSV: one row per face with "source" first and "bytes", "modified" last (a face
not read has its emotion cells empty); a photo without a face gets one row with face = 0 and the face's columns empty,
so every photo read appears. A file name's byte that is not UTF-8 is written as its JSON escape (\\udce9).
Identity is not part of this command's output: no embedding or name is written anywhere. What is written is about
the people photographed all the same, so every new file (-o, --errors, each copy) is made readable by its owner only
(0600) and every new --annotate folder 0700; a file that exists keeps its mode.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import errno
import functools
import io
import json
import math
import os
import stat
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from fer_core.store import make_private_folders, owner_only, write_whole
from unveil.cli import _resume
from unveil.cli._store_args import reports_errors
from unveil.cli._terminal import UNENCODABLE, shown

# File name endings searched for inside folders (files named explicitly are always tried): those of
# fer_core.images.PHOTO_SUFFIXES, HEIC and AVIF included, written out so that the CLI imports no image library
# before it reads a photo.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".heic", ".heif",
                            ".hif", ".avif"})
# Videos' file name endings (fer_core.video.VIDEO_SUFFIXES, written out for the same reason): a video named explicitly
# is not analysed here, and is said to be a video (REASON_A_VIDEO) rather than "not an image, or its header is corrupt".
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".3gp", ".mts", ".m2ts", ".mpg", ".mpeg", ".wmv", ".avi", ".mkv",
                            ".webm"})
# Annotated copies of JPEG photos are written as JPEG at this quality, anything else as PNG.
ANNOTATED_JPEG_QUALITY = 90
_JPEG_SUFFIXES = (".jpg", ".jpeg")
_BASE_COLUMNS = ("source", "face", "x", "y", "w", "h", "score", "emotion")
_FILE_COLUMNS = ("bytes", "modified")
# Columns of the --errors file.
ERROR_COLUMNS = ("path", "error", "reason")

# Kinds of problem (the "error" column of --errors; see the module docstring) and the reason shown.
MISSING = "missing"
UNREADABLE_FOLDER = "unreadable_folder"
UNREADABLE_PATH = "unreadable_path"
LINK_LOOP = "link_loop"
BROKEN_LINK = "broken_link"
REPEATED_FOLDER = "repeated_folder"
NOT_A_FILE = "not_a_file"
UNREADABLE_IMAGE = "unreadable_image"
PAGES_NOT_READ = "pages_not_read"
FRAMES_NOT_READ = "frames_not_read"
PICTURES_NOT_READ = "pictures_not_read"
ANNOTATION_NOT_WRITTEN = "annotation_not_written"
ANNOTATION_RENAMED = "annotation_renamed"
REASON_MISSING = "no such file or folder"
REASON_UNREADABLE_FOLDER = "folder cannot be read ({detail})"
REASON_UNREADABLE_PATH = "cannot be looked at ({detail})"
REASON_LINK_LOOP = "symbolic link loop"
REASON_FOLDER_LOOP = "link back to {folder}, a folder it is in: not followed"
REASON_BROKEN_LINK = "symbolic link to nothing ({target})"
REASON_REPEATED_FOLDER = "the same folder as {folder}, searched there"
REASON_NOT_A_FILE = "not a regular file but a {kind}"
REASON_A_VIDEO = "a video, not a photo: the app's Video page analyses videos (unveil app)"
REASON_ANNOTATION_NOT_WRITTEN = "annotated copy not written ({detail})"
REASON_ANNOTATION_RENAMED = "annotated copy saved as {target} ({wanted} is taken by {other})"
# The two lists of the summary on stderr.
NOT_READ_HEADER = "{count} of {total} could not be read:"
READ_WITH_PROBLEM_HEADER = "{count} read with a problem:"
# Before the summary when the run was cut short (interrupted, an error, stdout closed).
STOPPED_AFTER = "unveil analyze: stopped after {done} of {total} photo(s); the lists below cover those"
# What was met in folders and left out on purpose, said after the lists (not in --errors: no photo was missed).
OWN_COPIES_NOT_SEARCHED = ("unveil analyze: {folder} not searched: it is the --annotate folder, which holds this "
                           "command's copies")
APPLE_DOUBLE_LEFT_OUT = ("unveil analyze: {count} file(s) named ._NAME left out: macOS keeps another file's metadata "
                         "in them (AppleDouble) on disks that are not its own; they hold no photo")
# The last lines: what the run did, and after a run cut short with -o how to go on.
SUMMARY = "unveil analyze: {analysed} photo(s) analysed, {not_read} not read, {noted} read with a problem"
SUMMARY_RESUMED = ("unveil analyze: {analysed} photo(s) analysed, {earlier} analysed before and kept in {output} "
                   "(--resume), {not_read} not read, {noted} read with a problem")
RESUME_HINT = ("unveil analyze: to go on, run the same command with --resume: the {count} photo(s) in {output} are "
               "not analysed again")

# The end of `unveil analyze --help`: what a script running it can rely on.
EXIT_STATUSES = ("exit status: 0 when a photo was analysed (with --resume: or is in -o already), 1 when none could "
                 "be read, an output could not be written or an error stopped the run, 2 for unusable options, 130 "
                 "when interrupted (Ctrl-C, SIGTERM or SIGHUP; -o keeps every photo done: go on with --resume), 141 "
                 "when the reader of standard output went away")

# Refusals before any photo is read (exit status 2).
JOBS_TOO_FEW = "unveil analyze: --jobs must be at least 1"
MIN_FACE_SIZE_INVALID = "unveil analyze: --min-face-size must be a number of pixels of at least {minimum}, got {value}"
FOLDER_MISSING = "unveil analyze: cannot write {option} {path}: the folder {folder} does not exist"
CANNOT_WRITE = "unveil analyze: cannot write {option} {path}: {detail}"
STANDARD_OUTPUT = "standard output"  # what WRITE_REFUSED names when there is no --output
# An output the disk refused a write to during the run (a full disk, an I/O error): the run stops there.
WRITE_REFUSED = ("unveil analyze: {what} could not be written ({detail}), so it holds only part of what it should. "
                 "Free some space, or write to another disk, and run it again")
RESUME_NEEDS_OUTPUT = "unveil analyze: --resume goes on with the file of -o FILE: give the -o of the run to continue"
RESUME_REFUSED = ("unveil analyze: cannot --resume {path}: {detail}; give the file unveil analyze wrote in this format, "
                  "or leave out --resume to write it anew")
# --resume with records of photos this run is not given: going on would drop them (hours of work), so it does not.
RESUME_NOT_GIVEN = ("unveil analyze: cannot --resume {path}: {count} of its {total} record(s) are of photos not given "
                    "this time (a folder left out of the PATHs, or a photo deleted or renamed since), such as {example}; "
                    "give the same PATHs as the run that wrote it, or write to a new -o")
IS_A_PHOTO = "it is {photo}, one of the photos to analyse"
SAME_AS_OUTPUT = "it is also the --output file"
ANNOTATE_OVER_PHOTO = ("unveil analyze: cannot write --annotate {folder}: the copy of {source} would replace the photo "
                       "{photo}; give a folder that holds none of the photos")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "analyze", help="faces and emotions in photos (files and folders, recursive)",
        description="Detect every face and read its emotion, entirely on this machine.", epilog=EXIT_STATUSES,
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="photos or folders of photos")
    parser.add_argument("--format", choices=("jsonl", "csv"), default=None,
                        help="output format (default: from the --output suffix, else jsonl)")
    parser.add_argument("-o", "--output", type=Path, default=None, help="write results here (default: stdout)")
    parser.add_argument("--annotate", type=Path, default=None, metavar="DIR",
                        help="also save a copy of each photo with numbered boxes and labels in DIR; refused if a "
                             "copy would replace one of the photos; copies that would share a name (or the name of "
                             "-o or --errors) are saved as NAME-2, NAME-3...")
    parser.add_argument("--errors", type=Path, default=None, metavar="FILE",
                        help="also write every path not read, or read with a problem, to this CSV file")
    parser.add_argument("--emotion-model", type=Path, default=None, help="emotion ONNX model (default: the shipped one)")
    parser.add_argument("--min-face-size", type=float, default=None,
                        help="smallest face window in pixels (default: the analyzer's, 40)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="photos analysed at once, one inference thread each (default 1)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument("--resume", action="store_true",
                        help="go on with the -o FILE of a run cut short: photos it holds, unchanged since, are not "
                             "analysed again (a fresh run when FILE does not exist yet); refused, FILE left as it "
                             "was, when it holds photos not given this time (give the same PATHs, or a new -o)")
    parser.set_defaults(handler=run)


@dataclass(frozen=True)
class Problem:
    """A path not analysed, or analysed with a problem: kind is one of the kinds above."""

    path: Path
    kind: str
    reason: str


@dataclass
class _Result:
    path: Path
    size: tuple[int, int] | None  # (width, height) of the upright photo; None if unreadable
    faces: list
    key: _resume.Key | None = None  # its size in bytes and modification time before it was read (see --resume)
    failure: Problem | None = None  # why it could not be read
    problems: list[Problem] = field(default_factory=list)  # read, but with these


@dataclass(frozen=True)
class _Copy:
    """Where a photo's annotated copy is saved, and the note to list when that is not under its own name."""

    target: Path
    renamed: Problem | None = None


@dataclass
class _Tally:
    """What the run has done so far: the summary is written from it even when the run is cut short."""

    read: int = 0
    earlier: int = 0  # photos an earlier run analysed, kept in -o (--resume)
    not_read: list[Problem] = field(default_factory=list)
    read_with_problem: list[Problem] = field(default_factory=list)


@reports_errors
def run(args: argparse.Namespace) -> int:
    from fer_core import UnveilError

    refusal = _refusal(args)
    if refusal:
        return _refuse(refusal)
    found = _collect(args.paths, args.annotate)
    files, skipped = found.files, found.problems
    copies = _plan_copies(files, args) if args.annotate else {}
    refusal = _overwrite_refusal(args, files, copies)
    if refusal:
        return _refuse(refusal)
    analyzer = None
    if files:
        try:
            analyzer = _analyzer(args)
        except UnveilError as exc:
            print(shown(f"unveil analyze: {exc}"), file=sys.stderr)
            return 1
    with contextlib.ExitStack() as stack:
        try:
            if analyzer is None:
                errors = _open_target(args.errors, "--errors", stack) if args.errors else None
                print(shown("unveil analyze: no image files found in " + ", ".join(map(str, args.paths))), file=sys.stderr)
                _report(skipped, [], total=len(skipped))
                _write_errors(errors, skipped)
                _say_left_out(found)
                return 1
            output_format = args.format or ("csv" if args.output and args.output.suffix.lower() == ".csv" else "jsonl")
            columns = _columns(analyzer.emotion_model.classes)
            todo, earlier = _to_do(args.output, output_format, columns, files) if args.resume else (list(files), 0)
            out = _open_target(args.output, "--output", stack, append=args.resume) if args.output else sys.stdout
            # Opened (so emptied) only once -o is known to go on: a refused --resume leaves the last run's list too.
            errors = _open_target(args.errors, "--errors", stack) if args.errors else None
        except _Refused as refused:
            return _refuse(str(refused))
        tally, refused = _Tally(earlier=earlier), {}
        try:
            with _writing(f"--output {args.output}" if args.output else STANDARD_OUTPUT, refused):
                # --resume goes on with a CSV file's rows under the header it has
                header = not (args.resume and args.output.stat().st_size)
                writer = _Writer(out, output_format, columns, header=header)
                _analyse_into(writer, analyzer, copies, args, files=todo, tally=tally)
        finally:  # also when cut short (Ctrl-C, an error, stdout closed, a full disk): what was found is not lost
            with _writing(f"--errors {args.errors}", refused):
                _summarise(tally, len(todo), found, errors, args.output)
    for what, detail in refused.items():
        print(shown(WRITE_REFUSED.format(what=what, detail=detail)), file=sys.stderr)
    if STANDARD_OUTPUT in refused:
        _discard_stdout()
    return 0 if (tally.read or tally.earlier) and not refused else 1


def _refuse(message: str) -> int:
    print(shown(message), file=sys.stderr)  # refusals name photos found in folders: any name a file can have
    return 2


def _analyse_into(writer: _Writer, analyzer, copies: dict[Path, _Copy], args: argparse.Namespace, *,
                  files: list[Path], tally: _Tally) -> None:
    """Write the results of `files` with `writer`, counting in `tally` as each photo is done."""
    for result in _progress(_analyse_all(analyzer, files, copies, args.jobs), len(files), args.no_progress):
        tally.read_with_problem += result.problems
        if result.failure is not None:
            tally.not_read.append(result.failure)
            continue
        writer.write(result)
        tally.read += 1  # once its line is out: a run cut short while writing it has not done it


def _refusal(args: argparse.Namespace) -> str | None:
    """Why the options cannot work, checked before any model is loaded or file is written; None if they can."""
    from fer_core.detection import MIN_FACE_SIZE_LIMIT

    if args.jobs < 1:
        return JOBS_TOO_FEW
    if args.resume and args.output is None:
        return RESUME_NEEDS_OUTPUT
    size = args.min_face_size
    if size is not None and not (math.isfinite(size) and size >= MIN_FACE_SIZE_LIMIT):
        return MIN_FACE_SIZE_INVALID.format(minimum=MIN_FACE_SIZE_LIMIT, value=f"{size:g}")
    for option, path in (("--output", args.output), ("--errors", args.errors)):
        if path is None:
            continue
        folder = path.parent
        if not folder.is_dir():
            return FOLDER_MISSING.format(option=option, path=path, folder=folder)
        if path.is_dir():
            return CANNOT_WRITE.format(option=option, path=path, detail="it is a folder")
    return None


def _overwrite_refusal(args: argparse.Namespace, files: dict[Path, Path], copies: dict[Path, _Copy]) -> str | None:
    """Why an output would replace a photo given to analyse, or -o the --errors file; None if none would.

    Files are told apart by (device, inode), so a link or another spelling of a photo's path is caught too."""
    photos = {identity: path for path in files if (identity := _identity(path)) is not None}
    for option, path in (("--output", args.output), ("--errors", args.errors)):
        photo = photos.get(_identity(path)) if path is not None else None
        if photo is not None:
            return CANNOT_WRITE.format(option=option, path=path, detail=IS_A_PHOTO.format(photo=photo))
    if args.output is not None and args.errors is not None and _name_key(args.output) == _name_key(args.errors):
        return CANNOT_WRITE.format(option="--errors", path=args.errors, detail=SAME_AS_OUTPUT)
    for source, copy in copies.items():
        photo = photos.get(_identity(copy.target))
        if photo is not None:
            return ANNOTATE_OVER_PHOTO.format(folder=args.annotate, source=source, photo=photo)
    return None


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at `path`, through links; None if there is none."""
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _name_key(path: Path) -> str:
    # Without case: on macOS and Windows IMG.jpg and img.jpg are one file.
    return str(path.resolve()).casefold()


def _plan_copies(files: dict[Path, Path], args: argparse.Namespace) -> dict[Path, _Copy]:
    """Where each photo's annotated copy goes: its name under --annotate, or NAME-2, NAME-3... where an
    earlier copy, -o or --errors has that name already (see the module docstring)."""
    taken = {_name_key(path): path for path in (args.output, args.errors) if path is not None}
    copies = {}
    for source, name in files.items():
        wanted = args.annotate / name
        if wanted.suffix.lower() not in _JPEG_SUFFIXES:
            wanted = wanted.with_suffix(".png")
        target, number = wanted, 1
        while _name_key(target) in taken:
            number += 1
            target = wanted.with_name(f"{wanted.stem}-{number}{wanted.suffix}")
        taken[_name_key(target)] = source
        renamed = None if target == wanted else Problem(source, ANNOTATION_RENAMED, REASON_ANNOTATION_RENAMED.format(
            target=target, wanted=wanted, other=taken[_name_key(wanted)]))
        copies[source] = _Copy(target, renamed)
    return copies


class _Refused(Exception):
    """An output file that cannot be opened for writing; the message is the line to print."""


def _open_target(path: Path, option: str, stack: contextlib.ExitStack, *, append: bool = False) -> TextIO:
    """`path` opened for writing, closed with `stack`; _Refused with the line to print if it cannot be. Every
    write to it is flushed inside _writing, so what its close could still be refused was refused and said there.

    A file name's byte that is not UTF-8 (a lone surrogate in Python) is written as its JSON escape (\\udce9), as the
    terminal shows it: strict UTF-8 stopped the run at that photo with UnicodeEncodeError."""
    try:
        handle = open(path, "a" if append else "w", newline="", encoding="utf-8", errors=UNENCODABLE,
                      opener=owner_only)
    except OSError as exc:
        raise _Refused(CANNOT_WRITE.format(option=option, path=path, detail=exc.strerror or exc)) from None
    stack.callback(_close_quietly, handle)
    return handle


def _close_quietly(handle: TextIO) -> None:
    with contextlib.suppress(OSError):
        handle.close()


def _to_do(output: Path, output_format: str, columns: list[str], files: dict[Path, Path]) -> tuple[list[Path], int]:
    """--resume: the photos of `files` that `output` does not hold yet, and how many it does. The records of these
    photos that cannot be kept (changed since, a second one, a last one cut off) are taken out of `output` first;
    a record of a photo not in `files` is refused (RESUME_NOT_GIVEN), `output` left as it was (_resume)."""
    try:
        earlier = _resume.read(output, output_format, columns)
    except _resume.ResumeRefused as exc:
        raise _Refused(RESUME_REFUSED.format(path=output, detail=exc)) from None
    except OSError as exc:
        raise _Refused(CANNOT_WRITE.format(option="--output", path=output, detail=exc.strerror or exc)) from None
    if earlier is None:
        return list(files), 0
    current = {}
    for path in files:
        status = _status(path)
        current[_written_source(path, output_format)] = None if isinstance(status, Problem) else _key(status)
    records = earlier.sort(current, functools.partial(_leads_to, output_format=output_format))
    if records.strays:  # before FILE is touched: it is left as it was
        raise _Refused(RESUME_NOT_GIVEN.format(path=output, count=len(records.strays), total=len(earlier.records),
                                               example=records.strays[0].source))
    if earlier.cut or len(records.kept) < len(earlier.records):
        try:
            _resume.replace(output, earlier, records.kept)
        except OSError as exc:
            raise _Refused(CANNOT_WRITE.format(option="--output", path=output, detail=exc.strerror or exc)) from None
    todo = [path for path in files if _written_source(path, output_format) not in records.done]
    return todo, len(files) - len(todo)


def _leads_to(source: str, output_format: str) -> str:
    """The file a path as written (a record's, or a photo's) leads to, resolved against the current folder, so that
    a folder named another way (absolute or relative, through a link) finds its records. A CSV cell's "'" before a
    formula's first character is not part of the path; a name's JSON escape is compared as written, on both sides."""
    from fer_core.render import FORMULA_STARTS

    if output_format == "csv" and source.startswith("'") and source[1:].startswith(FORMULA_STARTS):
        source = source[1:]
    try:
        return os.path.realpath(source)
    except (OSError, ValueError):  # a NUL in a record edited by hand: it leads to no photo
        return source


def _written_source(path: Path, output_format: str) -> str:
    """`path` as the output reads back: JSON gives the name itself back; a CSV cell is the text written."""
    if output_format == "jsonl":
        return str(path)
    from fer_core.render import spreadsheet_cell

    return spreadsheet_cell(str(path)).encode("utf-8", UNENCODABLE).decode("utf-8")


def _key(status: os.stat_result) -> _resume.Key:
    """A photo's size in bytes and modification time (UTC, to the nanosecond the file system keeps), as written;
    a time outside the years 1 to 9999 (a camera's clock gone wrong) as its nanoseconds since 1970."""
    seconds, nanoseconds = divmod(status.st_mtime_ns, 1_000_000_000)
    try:
        when = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, ValueError, OSError):
        return str(status.st_size), str(status.st_mtime_ns)
    return str(status.st_size), f"{when:%Y-%m-%dT%H:%M:%S}.{nanoseconds:09d}Z"


@contextlib.contextmanager
def _writing(what: str, refused: dict[str, str]) -> Iterator[None]:
    """Writes to one output: one it refuses (a full disk, an I/O error) ends the block and notes `what` and the
    system's reason in `refused` (said as WRITE_REFUSED), instead of a traceback. A reader gone from stdout
    (BrokenPipeError) still stops the run quietly."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        refused[what] = exc.strerror or str(exc)


def _discard_stdout() -> None:
    # What stdout's buffer still holds was refused; at exit Python would flush it again, print the error and exit
    # 120. Pointed at /dev/null, that flush is harmless (as unveil.cli does for a reader gone).
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _analyzer(args: argparse.Namespace):
    from fer_core.analyzer import FaceAnalyzer
    from fer_core.detection import FaceDetector

    # --min-face-size changes the smallest face only: the analyzer's neck check and tight-crop retry stay on.
    detector = (FaceDetector(min_face_size=args.min_face_size, threads=1, neck_check=True, tight_crop_retry=True)
                if args.min_face_size is not None else None)
    # No identity here: without the family gallery an embedding names nobody, and it must not be written out.
    return FaceAnalyzer(detector=detector, emotion_model=args.emotion_model, identity_model=False, threads=1)


@dataclass
class _Found:
    """What the paths given hold: image files (each mapped to the name it gets under --annotate), the paths that
    cannot be analysed, and what was left out on purpose (said after the lists)."""

    files: dict[Path, Path] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    own_copies: list[Path] = field(default_factory=list)  # the --annotate folder, met inside a folder searched
    apple_double: int = 0  # ._NAME files


def _collect(paths: list[Path], annotate: Path | None) -> _Found:
    found = _Found()
    # The --annotate folder inside a folder given holds the copies of an earlier run: searched, they were analysed as
    # photos, and the run was refused (a copy would replace a "photo", the copy before it).
    own = _identity(annotate) if annotate is not None else None
    for path in paths:
        status = _status(path)
        if isinstance(status, Problem):
            found.problems.append(status)
        elif stat.S_ISDIR(status.st_mode):
            images: list[Path] = []
            search, first = _Search(images, found, own), len(found.problems)
            search.folder(path, status, ancestors={})
            while search.links:  # after every real folder: a photo is named by its own path, not a link's
                search.enter(*search.links.pop(0))
            found.problems[first:] = sorted(found.problems[first:], key=lambda problem: problem.path)  # links' last
            for image in sorted(images):
                found.files.setdefault(image, Path(path.resolve().name or "root") / image.relative_to(path))
        elif stat.S_ISREG(status.st_mode):
            found.files.setdefault(path, Path(path.name))  # a file named explicitly is tried whatever its suffix
        else:
            found.problems.append(_not_a_file(path, status))
    return found


# The first bytes of an AppleDouble file (RFC 1740): what macOS writes as ._NAME beside NAME on FAT, exFAT and
# network disks, which have no place for a file's metadata. A library copied from a Mac holds one per photo.
_APPLE_DOUBLE_MAGIC = b"\x00\x05\x16\x07"


def _apple_double(path: Path) -> bool:
    if not path.name.startswith("._"):
        return False
    try:
        with open(path, "rb") as stream:
            return stream.read(len(_APPLE_DOUBLE_MAGIC)) == _APPLE_DOUBLE_MAGIC
    except OSError:
        return False  # tried as a photo, and listed with its reason


@dataclass
class _Search:
    """One folder given, searched: image files go to `images`, what cannot be searched or is left out to `found`.

    Folders are told apart by (device, inode), so each is searched once: a link back to a folder on the way down is
    a loop, a second way into a folder searched is a repeat. Links to folders are followed after every real folder
    (`links`), so a folder reached both ways is searched as itself and the link is the repeat: a "Favourites" link,
    or a link sorted before the folder, named every photo by the link's path and listed the real folder as not
    read. The --annotate folder (`own`) is never searched."""

    images: list[Path]
    found: _Found
    own: tuple[int, int] | None
    searched: dict[tuple[int, int], Path] = field(default_factory=dict)
    links: list[tuple[Path, os.stat_result, dict[tuple[int, int], Path]]] = field(default_factory=list)

    def folder(self, folder: Path, status: os.stat_result, *, ancestors: dict[tuple[int, int], Path]) -> None:
        problems = self.found.problems
        key = (status.st_dev, status.st_ino)
        self.searched[key] = folder
        try:
            with os.scandir(folder) as listing:
                names = sorted(entry.name for entry in listing)
        except OSError as exc:
            problems.append(Problem(folder, UNREADABLE_FOLDER,
                                    REASON_UNREADABLE_FOLDER.format(detail=exc.strerror or exc)))
            return
        ancestors = {**ancestors, key: folder}
        for name in names:
            path = folder / name
            entry = _status(path)
            if isinstance(entry, Problem):
                problems.append(entry)
            elif stat.S_ISDIR(entry.st_mode):
                if path.is_symlink():
                    self.links.append((path, entry, ancestors))
                else:
                    self.enter(path, entry, ancestors)
            elif path.suffix.lower() not in IMAGE_SUFFIXES:
                continue  # not a photo by its name, like readme.txt
            elif stat.S_ISREG(entry.st_mode):
                if _apple_double(path):
                    self.found.apple_double += 1
                else:
                    self.images.append(path)
            else:
                problems.append(_not_a_file(path, entry))

    def enter(self, path: Path, status: os.stat_result, ancestors: dict[tuple[int, int], Path]) -> None:
        """Search the folder at `path` (found in a folder whose own ancestors are `ancestors`), unless it is a loop,
        a repeat or the --annotate folder."""
        inner = (status.st_dev, status.st_ino)
        if inner in ancestors:
            self.found.problems.append(Problem(path, LINK_LOOP, REASON_FOLDER_LOOP.format(folder=ancestors[inner])))
        elif inner == self.own:
            self.found.own_copies.append(path)
        elif inner in self.searched:
            self.found.problems.append(Problem(path, REPEATED_FOLDER,
                                               REASON_REPEATED_FOLDER.format(folder=self.searched[inner])))
        else:
            self.folder(path, status, ancestors=ancestors)


def _status(path: Path) -> os.stat_result | Problem:
    """os.stat of `path` (through links), or the problem that stops it being looked at."""
    try:
        return path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Problem(path, LINK_LOOP, REASON_LINK_LOOP)
        if path.is_symlink():
            return Problem(path, BROKEN_LINK, REASON_BROKEN_LINK.format(target=os.readlink(path)))
        if exc.errno == errno.ENOENT:
            return Problem(path, MISSING, REASON_MISSING)
        return Problem(path, UNREADABLE_PATH, REASON_UNREADABLE_PATH.format(detail=exc.strerror or exc))


def _not_a_file(path: Path, status: os.stat_result) -> Problem:
    mode = status.st_mode
    kind = ("FIFO" if stat.S_ISFIFO(mode) else "socket" if stat.S_ISSOCK(mode)
            else "device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "special file")
    return Problem(path, NOT_A_FILE, REASON_NOT_A_FILE.format(kind=kind))


def _analyse_all(analyzer, files: list[Path], copies: dict[Path, _Copy], jobs: int) -> Iterator[_Result]:
    def one(path: Path) -> _Result:
        return _analyse_one(analyzer, path, copies.get(path))

    if jobs == 1:
        yield from map(one, files)
        return
    # onnxruntime, OpenCV and Pillow's decoders release the GIL: threads share one set of models.
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(one, files)


def _analyse_one(analyzer, path: Path, copy: _Copy | None) -> _Result:
    from fer_core import ImageError
    from fer_core.images import FRAMES, NOT_AN_IMAGE, PAGES, PICTURES, load_image, pictures_not_read

    status = _status(path)  # before it is read: a photo changed while being read is not taken as done (--resume)
    if isinstance(status, Problem):  # gone since the folder was listed
        return _Result(path, None, [], failure=status)
    try:
        rgb = load_image(path)
        left_out = pictures_not_read(path)
    except ImageError as exc:
        reason = str(exc).removeprefix(f"{path.name}: ")  # the summary names the path in full
        if reason == NOT_AN_IMAGE and path.suffix.lower() in VIDEO_SUFFIXES:
            reason = REASON_A_VIDEO
        return _Result(path, None, [], failure=Problem(path, UNREADABLE_IMAGE, reason))
    result = _Result(path, (rgb.shape[1], rgb.shape[0]), analyzer.analyze(rgb), _key(status))
    if left_out is not None:
        kind = {PAGES: PAGES_NOT_READ, FRAMES: FRAMES_NOT_READ, PICTURES: PICTURES_NOT_READ}[left_out.kind]
        result.problems.append(Problem(path, kind, left_out.note))
    problem = _save_copy(rgb, result.faces, path, copy) if copy is not None else None
    if problem is not None:
        result.problems.append(problem)
    return result


def _save_copy(rgb, faces: list, path: Path, copy: _Copy) -> Problem | None:
    """Save the annotated copy of `path`: the problem to list (not written, or renamed), None if none."""
    try:
        _save_annotated(rgb, faces, copy.target)
    except OSError as exc:
        detail = f"{exc.strerror}: {exc.filename}" if exc.strerror and exc.filename else str(exc)
        return Problem(path, ANNOTATION_NOT_WRITTEN, REASON_ANNOTATION_NOT_WRITTEN.format(detail=detail))
    return copy.renamed


def _progress(results: Iterator[_Result], total: int, disabled: bool) -> Iterator[_Result]:
    from tqdm import tqdm

    return tqdm(results, total=total, unit="photo", disable=disabled, file=sys.stderr, dynamic_ncols=True)


def _columns(classes: tuple[str, ...]) -> list[str]:
    """The CSV columns: a face's, then the photo file's size and modification time (which --resume compares)."""
    return [*_BASE_COLUMNS, *(f"p_{c}" for c in classes), *_FILE_COLUMNS]


class _Writer:
    """Each photo's record (a JSON line, or its CSV rows) in one write, flushed at once: a run stopped any way at all
    (kill -9 too) leaves whole records, but for the one being written then, which --resume drops."""

    def __init__(self, out: TextIO, output_format: str, columns: list[str], *, header: bool) -> None:
        self._out = out
        self._format = output_format
        self._columns = columns
        if output_format == "csv" and header:
            csv.writer(out).writerow(columns)
            out.flush()

    def write(self, result: _Result) -> None:
        from fer_core.render import face_records, spreadsheet_cell

        size, modified = result.key
        rows = face_records(result.faces, source=str(result.path), recognition=False)
        if self._format == "csv":
            record = io.StringIO()
            writer = csv.DictWriter(record, fieldnames=self._columns, extrasaction="ignore")
            rows = rows or [{"source": str(result.path), "face": 0}]
            writer.writerows({**{key: spreadsheet_cell(value) for key, value in row.items()},
                              "bytes": size, "modified": modified} for row in rows)
            text = record.getvalue()
        else:
            width, height = result.size
            faces = [{k: v for k, v in row.items() if k != "source"} for row in rows]
            line = {"source": str(result.path), "bytes": int(size), "modified": modified, "width": width,
                    "height": height, "faces": faces}
            text = json.dumps(line, ensure_ascii=False) + "\n"
        self._out.write(text)
        self._out.flush()


def _save_annotated(rgb, faces: list, target: Path) -> None:
    from fer_core.render import annotate

    image = annotate(rgb, faces, recognition=False)
    make_private_folders(target.parent)  # 0700 each, as the store's folders: mkdir(parents=True) made them 0755
    # Written whole beside it (write_whole): written in place, a run stopped while saving (Ctrl-C, SIGTERM, kill -9)
    # left a copy cut short under its name, over a whole one an earlier run made.
    if target.suffix.lower() in _JPEG_SUFFIXES:
        write_whole(target, lambda stream: image.save(stream, format="JPEG", quality=ANNOTATED_JPEG_QUALITY))
    else:
        write_whole(target, lambda stream: image.save(stream, format="PNG"))  # _plan_copies named it .png


def _summarise(tally: _Tally, photos: int, found: _Found, errors: TextIO | None, output: Path | None) -> None:
    """The --errors file, then _report of a run over `photos` image files, saying first how far it got if it stopped
    early, then what was left out on purpose, what the run did, and (cut short, with -o) how to go on. The file
    first: stopped by SIGHUP as its terminal closed, each line to stderr raised (EIO), and the file stayed empty. A
    file the disk refuses is said after the summary (WRITE_REFUSED)."""
    not_read = [*found.problems, *tally.not_read]
    try:
        _write_errors(errors, [*not_read, *tally.read_with_problem])
    finally:
        done = tally.read + len(tally.not_read)
        if done < photos:
            print(STOPPED_AFTER.format(done=done, total=photos), file=sys.stderr)
        _report(not_read, tally.read_with_problem, total=photos + len(found.problems))
        _say_left_out(found)
        counts = {"analysed": tally.read, "not_read": len(not_read), "noted": len(tally.read_with_problem)}
        line = (SUMMARY_RESUMED.format(earlier=tally.earlier, output=output, **counts) if tally.earlier
                else SUMMARY.format(**counts))
        print(shown(line), file=sys.stderr)
        if done < photos and output is not None:
            print(shown(RESUME_HINT.format(count=tally.earlier + tally.read, output=output)), file=sys.stderr)


def _say_left_out(found: _Found) -> None:
    for folder in found.own_copies:
        print(shown(OWN_COPIES_NOT_SEARCHED.format(folder=folder)), file=sys.stderr)
    if found.apple_double:
        print(APPLE_DOUBLE_LEFT_OUT.format(count=found.apple_double), file=sys.stderr)


def _report(not_read: list[Problem], read_with_problem: list[Problem], *, total: int) -> None:
    """The lists of the summary on stderr."""
    for header, problems in ((NOT_READ_HEADER.format(count=len(not_read), total=total), not_read),
                             (READ_WITH_PROBLEM_HEADER.format(count=len(read_with_problem)), read_with_problem)):
        if problems:
            print(header, file=sys.stderr)
            for problem in problems:
                print(shown(f"  {problem.path}: {problem.reason}"), file=sys.stderr)


def _write_errors(errors: TextIO | None, problems: list[Problem]) -> None:
    """Every problem in the --errors file, when there is one."""
    if errors is None:
        return
    from fer_core.render import spreadsheet_cell

    writer = csv.writer(errors)
    writer.writerow(ERROR_COLUMNS)
    writer.writerows((spreadsheet_cell(str(p.path)), p.kind, spreadsheet_cell(p.reason)) for p in problems)
    errors.flush()  # refused here, not at its quiet close
