"""A labelled audit set: image paths, true labels and any group columns the user supplies.

Two layouts are read: a folder per class (`<root>/<class>/*`) or a CSV manifest with a path column,
a label column and any number of group columns (age band, self-reported skin tone, ...).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from fer_core.images import PHOTO_SUFFIXES
from governance.bias_audit._errors import AuditError

# The formats every reader of photos takes (HEIC and AVIF included): an audit folder of iPhone photos is audited
# whole, as the Analyze page and `unveil analyze` read it, not silently cut to its JPEGs.
IMAGE_SUFFIXES = frozenset(PHOTO_SUFFIXES)

# The group value of a face for which a group could not be measured or was left blank. Such faces are
# left out of that column's comparison (they are counted, not compared), never pooled into a group.
NOT_MEASURED = "n/a"

# A manifest or trials CSV that pandas cannot read as a table of text: typed errors naming the file, not
# pandas' or the codec's exceptions (which the CLI and the app would show as a traceback).
CSV_NOT_UTF8 = "{path} is not UTF-8 text (byte {byte} cannot be decoded); save it as CSV UTF-8"
CSV_EMPTY = "{path} is empty: a CSV needs a header row naming its columns"
CSV_MALFORMED = "{path} is not a well-formed CSV table: {reason}"
# pandas reads a first data row longer than the header as index labels and shifts every value one column left.
ROW_LONGER_THAN_HEADER = "a row has more fields than the header"


@dataclass(frozen=True)
class AuditSample:
    """One labelled image. `groups` maps a group column (e.g. "age_band") to this image's value."""

    path: Path
    label: str
    groups: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditSet:
    """The samples of an audit set, its labels in sorted order and the user's group columns."""

    samples: tuple[AuditSample, ...]
    labels: tuple[str, ...]
    group_columns: tuple[str, ...]
    source: str


def load_audit_set(source: str | Path, *, path_column: str = "path", label_column: str = "label") -> AuditSet:
    """Read an audit set from a class-folder layout or a CSV manifest.

    A folder `source` holds one sub-folder per class; hidden entries and non-image files are skipped.
    A `.csv` source has `path_column` (absolute, or relative to the CSV's folder), `label_column` and
    group columns (every other column); blank group values become NOT_MEASURED. Every listed file must
    exist, so an audit does not silently run on part of its set.
    """
    source = Path(source)
    if source.is_dir():
        return _from_folders(source)
    if source.is_file() and source.suffix.lower() == ".csv":
        return _from_manifest(source, path_column=path_column, label_column=label_column)
    raise AuditError(f"audit set {source} is neither a folder of class folders nor a .csv manifest")


def _from_folders(root: Path) -> AuditSet:
    samples = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(class_dir.iterdir()):
            if path.is_file() and not path.name.startswith(".") and path.suffix.lower() in IMAGE_SUFFIXES:
                samples.append(AuditSample(path=path, label=class_dir.name))
    if not samples:
        raise AuditError(f"audit set {root} has no images in <class>/ sub-folders")
    return AuditSet(
        samples=tuple(samples),
        labels=tuple(sorted({s.label for s in samples})),
        group_columns=(),
        source=str(root),
    )


def _from_manifest(manifest: Path, *, path_column: str, label_column: str) -> AuditSet:
    table = read_csv_text(manifest)
    for column in (path_column, label_column):
        if column not in table.columns:
            raise AuditError(
                f"manifest {manifest} has no '{column}' column (columns: {', '.join(table.columns)})"
            )
    if table.empty:
        raise AuditError(f"manifest {manifest} lists no images")
    group_columns = tuple(c for c in table.columns if c not in (path_column, label_column))
    samples, missing = [], []
    for record in table.to_dict("records"):
        path = Path(record[path_column].strip())
        path = path if path.is_absolute() else manifest.parent / path
        if not path.is_file():
            missing.append(str(path))
            continue
        label = record[label_column].strip()
        if not label:
            raise AuditError(f"manifest {manifest}: image {path} has an empty '{label_column}'")
        groups = {c: (record[c].strip() or NOT_MEASURED) for c in group_columns}
        samples.append(AuditSample(path=path, label=label, groups=groups))
    if missing:
        raise AuditError(f"manifest {manifest}: {len(missing)} listed image(s) not found, first: {missing[0]}")
    return AuditSet(
        samples=tuple(samples),
        labels=tuple(sorted({s.label for s in samples})),
        group_columns=group_columns,
        source=str(manifest),
    )


def read_csv_text(path: Path) -> pd.DataFrame:
    """A UTF-8 CSV file (a byte-order mark is allowed) as a table of text, or AuditError naming the file.

    Everything is read as text: group values such as "1" or "30-39" are names, not numbers.
    """
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise AuditError(CSV_NOT_UTF8.format(path=path, byte=f"0x{exc.object[exc.start]:02x}")) from None
    except pd.errors.EmptyDataError:
        raise AuditError(CSV_EMPTY.format(path=path)) from None
    except pd.errors.ParserError as exc:
        raise AuditError(CSV_MALFORMED.format(path=path, reason=str(exc).strip())) from None
    if not isinstance(table.index, pd.RangeIndex):
        raise AuditError(CSV_MALFORMED.format(path=path, reason=ROW_LONGER_THAN_HEADER))
    return table
