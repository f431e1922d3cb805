"""`unveil analyze --resume -o FILE`: what an earlier run left in FILE, so that a run cut short (Ctrl-C, a crash,
kill -9, a power cut) goes on where it stopped instead of analysing hours of photos again.

A photo is done when FILE holds its record (its JSON line, or its CSV rows) under its path, with the size in bytes
and the modification time the file has now: a photo edited since (turned, cropped) is analysed again and its record
replaced. A record is a photo's when it has the photo's path as this run writes it or, failing that, a path leading
to the same file (the folder named another way: absolute or relative, through a link), so that naming the folder
otherwise does not analyse it all again; a record kept keeps the path its run wrote. Records of photos this run is
given go when they cannot be kept: changed since, a photo's second record, and a last record cut off (its line not
ended: the run was killed while writing it). A record of a photo this run is not given (a folder left out of the
PATHs, a photo deleted or renamed since) is never dropped: the caller refuses to go on, since dropping it would lose
work the user may want, and keeping it beside a new record would count a photo twice.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fer_core.store import write_whole

# Why a file cannot be continued (the detail of analyze.RESUME_REFUSED).
NOT_JSON_LINE = "line {line} is not a JSON line of unveil analyze"
OTHER_COLUMNS = "its columns are not those this run writes (another emotion model, or an older unveil)"
NOT_CSV_ROW = "row {line} does not have the {count} columns of the header"
NOT_UTF_8 = "it is not UTF-8 text"

# A photo's key: its size in bytes and modification time as the output writes them (`bytes`, `modified`).
Key = tuple[str, str]


class ResumeRefused(Exception):
    """FILE is not an output of unveil analyze in this run's format: the message says why."""


@dataclass
class _Record:
    source: str  # as written: the JSON string decoded, or the CSV cell
    key: Key | None  # None: written without one (an older unveil)
    lines: list  # the JSON line's text, or the CSV rows


@dataclass
class Sorted:
    """An earlier run's records against this run's photos (Earlier.sort)."""

    kept: list[_Record]  # of photos of this run, unchanged since: not analysed again
    done: set[str]  # those photos, as this run writes them
    strays: list[_Record]  # of photos this run is not given


@dataclass
class Earlier:
    """The records of an earlier run, in the order they were written."""

    output_format: str
    header: list[str] | None
    records: list[_Record]
    cut: bool  # the last record was cut off and dropped

    def sort(self, current: dict[str, Key | None], where: Callable[[str], str]) -> Sorted:
        """The records of the photos of `current` (this run's, as written, with their keys now; None: one that cannot
        be looked at) already analysed, one each and in their order, and the records of photos not in `current`.
        `where` gives the file a path as written leads to (resolved), to match a path written another way."""
        kept: dict[int, str] = {}  # a record's index: the photo of `current` it is kept for
        done: set[str] = set()

        def keep(index: int, source: str) -> bool:
            record = self.records[index]
            if source in done or record.key is None or current[source] != record.key:
                return False
            kept[index] = source
            done.add(source)
            return True

        others = []
        for index, record in enumerate(self.records):  # the same path first, so that another way in takes no photo
            if record.source in current:
                keep(index, record.source)
            else:
                others.append(index)
        strays = []
        if others:  # resolved only when needed: a run given the same PATHs looks at no path again
            same_file: dict[str, list[str]] = {}
            for source in current:
                same_file.setdefault(where(source), []).append(source)
            for index in others:
                photos = same_file.get(where(self.records[index].source))
                if photos is None:
                    strays.append(self.records[index])
                else:
                    for source in photos:  # two photos of this run may be one file (a link beside it)
                        if keep(index, source):
                            break
        return Sorted([self.records[index] for index in sorted(kept)], done, strays)

    def write(self, stream: io.TextIOBase, records: list[_Record]) -> None:
        if self.output_format == "csv":
            writer = csv.writer(stream)
            writer.writerow(self.header)
            writer.writerows(row for record in records for row in record.lines)
        else:
            stream.writelines(line + "\n" for record in records for line in record.lines)


def read(path: Path, output_format: str, columns: list[str]) -> Earlier | None:
    """The records in `path`, None when it does not exist or is empty; ResumeRefused when it is not an output of
    unveil analyze in `output_format` with these CSV `columns`."""
    try:
        with open(path, encoding="utf-8", newline="") as stream:
            text = stream.read()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise ResumeRefused(NOT_UTF_8) from None
    if not text:
        return None
    cut = not text.endswith("\n")
    return _csv(text, columns, cut) if output_format == "csv" else _jsonl(text, cut)


def _jsonl(text: str, cut: bool) -> Earlier:
    # Split at line breaks only: str.splitlines would also split at a U+2028 in a file name, written as it is. What
    # follows the last line break is the line cut off (or nothing).
    records = []
    for number, line in enumerate(text.split("\n")[:-1], start=1):
        try:
            value = json.loads(line)
            source = value["source"]
        except (ValueError, TypeError, KeyError):
            raise ResumeRefused(NOT_JSON_LINE.format(line=number)) from None
        key = (str(value["bytes"]), str(value["modified"])) if "bytes" in value and "modified" in value else None
        records.append(_Record(source, key, [line]))
    return Earlier("jsonl", None, records, cut=cut)


def _csv(text: str, columns: list[str], cut: bool) -> Earlier:
    rows = list(csv.reader(io.StringIO(text)))
    if rows[0] != columns:
        raise ResumeRefused(OTHER_COLUMNS)
    partial = rows.pop() if cut else None  # the csv module gives back what it read of a row cut off
    source, size, modified = (columns.index(name) for name in ("source", "bytes", "modified"))
    records: list[_Record] = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(columns):
            raise ResumeRefused(NOT_CSV_ROW.format(line=number, count=len(columns)))
        key = (row[size], row[modified])
        if records and records[-1].source == row[source] and records[-1].key == key:
            records[-1].lines.append(row)  # the next face of the same photo
        else:
            records.append(_Record(row[source], key, [row]))
    if partial is not None and records and records[-1].source.startswith(partial[0]):
        records.pop()  # the row cut off may be a face of the last photo: without it that photo's record is not whole
    return Earlier("csv", columns, records, cut=cut)


def replace(path: Path, earlier: Earlier, records: list[_Record]) -> None:
    """Write `records` over `path` as a whole (write_whole), so that a run killed or a power cut meanwhile leaves the
    file as it was or as rewritten. The file keeps its mode (0600 as made, or what its owner gave it)."""
    text = io.StringIO()  # no newline translation, as the file is read and appended to
    earlier.write(text, records)
    write_whole(path.resolve(), text.getvalue().encode("utf-8"))
