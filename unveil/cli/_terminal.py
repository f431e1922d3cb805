"""Text from files and users, written to a terminal as data, never as control.

A file name may hold a line break, an ANSI escape (`ESC [ 2 J` clears the screen, `ESC ] 8` makes a link) or a
right-to-left override: printed raw in a summary, it could fake lines of that summary or hide what it names.

A terminal whose encoding is not UTF-8 (LANG=en_US.ISO-8859-1, PYTHONIOENCODING=latin-1, an old Windows console)
cannot show every member's name: Python's stdout raised UnicodeEncodeError on the first name outside its encoding,
after a list half printed or a consent renewed and stored (the command then looked as if it had failed). The CLI's
streams write such a character, and a file name's undecodable byte (a lone surrogate), as its JSON escape instead
(UNENCODABLE): readable, and JSON printed stays valid JSON of the same value.
"""
from __future__ import annotations

import codecs
import json
import sys
import unicodedata
from typing import Any

# Unicode's control (Cc: C0, DEL, C1) and format (Cf: bidirectional overrides, zero-width characters) categories.
_CONTROL = frozenset({"Cc", "Cf"})


def shown(text: str) -> str:
    """`text` with each control or format character written as its Python escape (a line break as \\n, ESC as
    \\x1b, U+202E as \\u202e); every other character, accents and other scripts included, as it is."""
    return "".join(ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) in _CONTROL else ch
                   for ch in text)


def cells(text: str) -> int:
    """How many columns of a terminal `text` takes: two for a wide or full-width East Asian character (CJK, most
    emoji), none for a combining mark (Hebrew and Arabic vowel marks, accents kept apart), one for any other."""
    return sum(0 if unicodedata.category(ch) in ("Mn", "Me") else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in text)


def padded(text: str, width: int) -> str:
    """`text` followed by spaces to fill `width` columns of a terminal (format's `:<width` counted characters, so a
    list's columns after a Chinese name of 3 characters stood 3 columns right, after a Hebrew name one column left
    for each vowel mark)."""
    return text + " " * max(0, width - cells(text))


def json_shown(value: Any, **kwargs: Any) -> str:
    """`value` as JSON (json.dumps with `kwargs`) that a terminal shows as data: accents and other scripts as they
    are, and each control or format character inside a string written as its JSON escape (U+202E as \\u202e), so
    that the text stays valid JSON which reads back to the same value."""
    text = json.dumps(value, ensure_ascii=False, **kwargs)
    # json.dumps escapes the C0 controls inside strings itself: a raw line break is the layout's (indent).
    return "".join(_json_escape(ch) if ch != "\n" and unicodedata.category(ch) in _CONTROL else ch for ch in text)


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # beyond the BMP (a Unicode tag character): JSON's UTF-16 surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


# The codec error handler the CLI's stdout and stderr use (use_escapes_for_unencodable).
UNENCODABLE = "unveil-json-escape"


def _escape_unencodable(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    return "".join(_json_escape(ch) for ch in error.object[error.start:error.end]), error.end


codecs.register_error(UNENCODABLE, _escape_unencodable)


def use_escapes_for_unencodable() -> None:
    """Make sys.stdout and sys.stderr write each character their encoding cannot hold as its JSON escape (U+674E as
    \\u674e) instead of raising UnicodeEncodeError; what they can hold is written as it is."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors=UNENCODABLE)
