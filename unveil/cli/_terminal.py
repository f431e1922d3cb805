"""Text from files and users, written to a terminal as data, never as control.

A file name may hold a line break, an ANSI escape (`ESC [ 2 J` clears the screen, `ESC ] 8` makes a link) or a
right-to-left override: printed raw in a summary, it could fake lines of that summary or hide what it names.
"""
from __future__ import annotations

import unicodedata

# Unicode's control (Cc: C0, DEL, C1) and format (Cf: bidirectional overrides, zero-width characters) categories.
_CONTROL = frozenset({"Cc", "Cf"})


def shown(text: str) -> str:
    """`text` with each control or format character written as its Python escape (a line break as \\n, ESC as
    \\x1b, U+202E as \\u202e); every other character, accents and other scripts included, as it is."""
    return "".join(ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) in _CONTROL else ch
                   for ch in text)
