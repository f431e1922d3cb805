"""Shared helpers of the privacy tests (tests/test_store_*.py, test_consent.py, ...): a clock tests can move,
an index flipped in place, whether the store's write lock is held, a small real JPEG to keep as a thumbnail, and a line
of a fake mount list. The fault-injection harness is tests/support/privacy_harness.py."""
from __future__ import annotations

import contextlib
import io
import sqlite3
from pathlib import Path


class FakeClock:
    """POSIX seconds that only move when told to, so retention and expiry can be tested in days."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, *, days: float) -> None:
        self.now += days * 86400.0


def flip_in_index(db_path: Path, index: str, needle: str, occurrences: int = 1) -> int:
    """Change one character of `needle` (a person id) in up to `occurrences` entries of an index's root
    page, straight in the file, leaving the table rows alone: what a bad sector or a stray write does.
    The database must have no WAL content (close every connection first). Returns how many changed."""
    with sqlite3.connect(db_path) as conn:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (index,)).fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(db_path.read_bytes())
    start, end, target, changed = (root - 1) * page_size, root * page_size, needle.encode(), 0
    position = data.find(target, start, end)
    while position != -1 and changed < occurrences:
        data[position + 5] = ord("0") if data[position + 5] != ord("0") else ord("1")
        changed += 1
        position = data.find(target, position + 1, end)
    db_path.write_bytes(bytes(data))
    return changed


def write_lock_held(data_dir: Path) -> bool:
    """Whether a session holds unveil.db's write lock now: asked of SQLite by a connection of its own, which takes
    the lock at once or is told it is held."""
    from fer_core.store import DATA_FILE

    with contextlib.closing(sqlite3.connect(Path(data_dir) / DATA_FILE, timeout=0, isolation_level=None)) as conn:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            assert "locked" in str(exc)
            return True
        conn.execute("ROLLBACK")
        return False


def jpeg_thumbnail() -> bytes:
    """A 112x112 one-colour JPEG: a thumbnail the app can draw."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (112, 112), (150, 120, 100)).save(buffer, format="JPEG")
    return buffer.getvalue()


def mountinfo_line(number: int, mount_point: str, fs_type: str, source: str = "server:/export") -> str:
    """A line of /proc/self/mountinfo mounting `fs_type` on `mount_point`, escaped as the kernel writes it (a space,
    tab or backslash as \\040, \\011, \\134): a raw space would end the field, as in a temporary folder's path."""
    escaped = mount_point.replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011")
    return f"{number} 1 0:{number} / {escaped} rw,relatime shared:{number} - {fs_type} {source} rw\n"
