"""Shared helpers of the privacy tests (tests/test_store_*.py, test_consent.py, ...): a clock tests can move,
and an index flipped in place. The fault-injection harness is tests/support/privacy_harness.py."""
from __future__ import annotations

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
    import sqlite3

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
