"""The Governance page's bias audit: an uploaded audit set unpacked safely, the audit run, and its
results as tables. The report files and the unpacked set live in private temporary folders deleted at once.
"""
from __future__ import annotations

import contextlib
import io
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from fer_core import UnveilError

# The bias audit's form in plain words: its labels keep the terms the report and the docs use, and these say
# what each means (governance.bias_audit.AuditSettings; the report's "How to read this").
BIAS_INTRO = ("How evenly the emotion model works across groups of faces: a folder with one sub-folder of face "
              "crops per emotion, or a CSV manifest (a spreadsheet-like .csv file with one row per photo: its path, "
              "its emotion label, and any group columns). Proxy groups (skin tone band, illumination, face size, "
              "head pose, grayscale) are measured on every face: they are read from the pixels of each photo, not "
              "facts about the people in it.")
SOURCE_HELP = ("The path of a folder holding one sub-folder of face crops per emotion (named after the emotion), "
               "or of a CSV manifest: a .csv file with one row per photo giving its path, its emotion label and "
               "any group columns.")
MIN_GROUP_HELP = ("Groups with fewer faces than this are shown, but neither flagged nor compared: with so few faces "
                  "their numbers are too uncertain to act on.")
GAP_HELP = ("A group is flagged when the model does worse for it than for the rest of the faces by more than this, "
            "on a scale from 0 to 1: 0.05 is 5 percentage points (say 80% right against 85%), and only when the "
            "gap is clearly more than chance. A group served better than the rest is never flagged.")
N_BOOT_HELP = ("How many times the audit draws the faces again at random (some twice, some not at all) to see how "
               "much each number could move by chance: the ranges shown come from these draws. More gives steadier "
               "ranges and takes longer.")


@dataclass(frozen=True)
class BiasReport:
    """A finished emotion bias audit (governance.bias_audit) and its report files' contents."""

    audit: Any
    html: str
    json: bytes
    rows_csv: bytes


@dataclass(frozen=True)
class UnpackedAuditSet:
    """An uploaded audit set unpacked (unpacked_audit_set): `path` is what to audit, inside the temporary
    `folder`, which the report calls `name`, the upload's file name."""

    path: Path
    folder: Path
    name: str


def bias_audit_report(
    data: str | Path | UnpackedAuditSet, *, min_group_size: int, gap_threshold: float, n_boot: int,
    model: str | Path | None = None,
) -> BiasReport:
    """Audit the emotion model on a class-folder layout or CSV manifest of face crops, with the page's
    settings (governance.bias_audit.AuditSettings, which checks them; the rest keep its defaults). An uploaded
    set's paths are given inside the upload's name ("faces.zip/happy/a.png").

    The report files are written to a private temporary folder, read back for the page (and its
    download buttons) and deleted with the folder."""
    from governance.bias_audit import AuditSettings, audit_emotion_model

    settings = AuditSettings(min_group_size=min_group_size, gap_threshold=gap_threshold, n_boot=n_boot)
    unpacked = data if isinstance(data, UnpackedAuditSet) else None
    shown_as = (unpacked.folder, unpacked.name) if unpacked else None
    with tempfile.TemporaryDirectory(prefix="unveil-audit-") as folder:
        audit, paths = audit_emotion_model(data=unpacked.path if unpacked else data, out_dir=folder, model=model,
                                           settings=settings, shown_as=shown_as)
        return BiasReport(audit, paths.html.read_text(encoding="utf-8"), paths.json.read_bytes(),
                          paths.rows.read_bytes())


class AuditUploadError(UnveilError, ValueError):
    """An uploaded audit set that cannot be unpacked: not a zip, unsafe paths, a password or a compression
    method it cannot unpack, or too big once unpacked."""


AUDIT_ZIP_UNREADABLE = "{name} is not a readable zip archive ({reason}). Nothing was unpacked."


AUDIT_ZIP_UNSAFE = "{name} holds a path that leads outside the archive ({member}). Nothing was unpacked."


AUDIT_ZIP_ENCRYPTED = ("{name} holds a password-protected entry ({member}), which the app cannot unpack: zip the "
                       "audit set again without a password. Nothing was unpacked.")


AUDIT_ZIP_METHOD = ("{name} is packed with a compression method the app cannot unpack ({reason}): zip the audit set "
                    "again with the usual (deflate) compression. Nothing was unpacked.")


AUDIT_ZIP_TOO_LARGE = ("{name} would unpack to {size_mb:,.0f} MB, over the {limit_mb:,.0f} MB an audit set may take. "
                       "Nothing was unpacked.")


# 2,500 face crops take well under 100 MB; the cap stops an archive that unpacks to far more than it weighs
# from filling the disk.
AUDIT_ZIP_MAX_BYTES = 2 * 1024**3


def _safe_members(archive: zipfile.ZipFile, name: str) -> list[zipfile.ZipInfo]:
    members = archive.infolist()
    for member in members:
        path = Path(member.filename)
        if path.is_absolute() or ".." in path.parts or member.filename.startswith(("/", "\\")):
            raise AuditUploadError(AUDIT_ZIP_UNSAFE.format(name=name, member=member.filename))
        if member.flag_bits & 0x1:  # zipfile would ask for the password (RuntimeError) while unpacking
            raise AuditUploadError(AUDIT_ZIP_ENCRYPTED.format(name=name, member=member.filename))
    size = sum(member.file_size for member in members)
    if size > AUDIT_ZIP_MAX_BYTES:
        raise AuditUploadError(AUDIT_ZIP_TOO_LARGE.format(name=name, size_mb=size / 1024**2,
                                                          limit_mb=AUDIT_ZIP_MAX_BYTES / 1024**2))
    return members


def _audit_set_root(folder: Path) -> Path:
    """Where the audit set starts in an unpacked archive: its one CSV manifest at the top, else the class
    folders, looking inside a single top folder (an archive of a folder) as often as there is one."""
    while True:
        entries = [p for p in folder.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
        manifests = [p for p in entries if p.is_file() and p.suffix.lower() == ".csv"]
        if len(manifests) == 1:
            return manifests[0]
        if len(entries) == 1 and entries[0].is_dir():
            folder = entries[0]
            continue
        return folder


@contextlib.contextmanager
def unpacked_audit_set(data: bytes, name: str) -> Iterator[UnpackedAuditSet]:
    """A zip of an audit set (class folders, or a CSV manifest with paths relative to it) unpacked into a
    private temporary folder, deleted afterwards; yields what to audit, for bias_audit_report. AuditUploadError,
    with nothing unpacked, when it is not a zip, holds a path leading outside it or a password-protected entry, is
    packed with a compression method zipfile cannot unpack, or unpacks to over AUDIT_ZIP_MAX_BYTES.

    An AuditError raised while it is open (a set the audit cannot use) names the zip, not the temporary
    folder, which is gone by the time the message is read."""
    from governance.bias_audit import AuditError

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise AuditUploadError(AUDIT_ZIP_UNREADABLE.format(name=name, reason=exc)) from None
    with archive, tempfile.TemporaryDirectory(prefix="unveil-audit-set-") as folder:
        members = _safe_members(archive, name)
        try:
            archive.extractall(folder, members)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise AuditUploadError(AUDIT_ZIP_UNREADABLE.format(name=name, reason=exc)) from None
        except NotImplementedError as exc:
            raise AuditUploadError(AUDIT_ZIP_METHOD.format(name=name, reason=exc)) from None
        try:
            yield UnpackedAuditSet(_audit_set_root(Path(folder)), Path(folder), name)
        except AuditError as exc:
            raise AuditError(str(exc).replace(folder, name)) from None


def bias_overall_table(audit: Any) -> pd.DataFrame:
    """The audit's overall metrics with their bootstrap intervals."""
    rows = [{"metric": name, "value": e.value, "low": e.low, "high": e.high} for name, e in audit.overall.overall.items()]
    return pd.DataFrame(rows, columns=["metric", "value", "low", "high"])


def bias_coverage(audit: Any) -> tuple[str | None, bool, list[str]]:
    """What a finished audit may claim: its verdict when no group is flagged (None when one is; see
    governance.bias_audit.verdict), whether any group column was compared, and for each group column
    the sentence saying whether it was compared or why not."""
    from governance.bias_audit import comparison_summary, verdict

    summary = comparison_summary(audit)
    return verdict(audit), any(column.compared for column in summary), [column.sentence for column in summary]


def bias_flags_table(audit: Any) -> pd.DataFrame:
    """The flagged groups: a metric worse than the rest of the column beyond the threshold."""
    rows = [{"column": f.column, "group": f.group, "metric": f.metric, "size": f.size, "gap": f.gap.value,
             "low": f.gap.low, "high": f.gap.high} for f in audit.flags]
    return pd.DataFrame(rows, columns=["column", "group", "metric", "size", "gap", "low", "high"])
