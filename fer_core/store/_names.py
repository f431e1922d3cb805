"""Members' names: the one rule for what a name may be, and for when two names are the same person.

A name is stored as `clean_name` makes it: NFC, each run of spaces (any Unicode space: no-break, ideographic)
one ASCII space, nothing around it, 1 to MAX_NAME_CHARS characters. It is refused (PersonNameError, whose message
is one of the NAME_* constants below) when it holds a control or format character, a line or paragraph
separator or a blank letter (the Hangul fillers, U+2800): each would let two names that read the same differ,
or let a name hide or fake text where it is shown. It is refused too when one word of it mixes Latin, Cyrillic and
Greek letters, many of which look alike: "Аna" with a Cyrillic "А" reads as "Ana" wherever it is shown, but is
another name (no orthography writes a word in two of these scripts; a name may have words in each). The zero-width
joiner and non-joiner (U+200D, U+200C) and variation selectors are kept: Persian, Kurdish and Indic names and emoji
sequences are written with them.

Two names are the same person when their `name_key`s are equal: compatibility forms folded (NFKC: a
full-width "Ｊ" is "J"), case folded (casefold: "ß" is "ss"), the dotted and dotless i of Turkish and
Azerbaijani folded to "i" ("İpek", "ipek" and "IPEK" are one name; so are "YILMAZ" and "Yılmaz"), the
characters that are never drawn (joiners, variation selectors, the Arabic tatweel that only stretches a word)
left out, and spaces collapsed. Keys are computed when names are compared, never stored: names kept by older
versions (NFD, double spaces) compare by the same rule without being rewritten.
"""
from __future__ import annotations

import re
import unicodedata

from fer_core.store._errors import PersonNameError

MAX_NAME_CHARS = 200

NAME_NOT_TEXT = "a person's name must be text, got {kind}"
NAME_LENGTH = "a person's name must have 1 to {most} characters, got {count}"
NAME_HIDDEN_CHARACTER = ("a person's name must not contain control or format characters, line breaks or blank "
                         "letters: it holds {code} (character {position})")
NAME_NOTHING_VISIBLE = "a person's name must have at least one visible letter, digit or symbol"
NAME_MIXED_SCRIPTS = ("a person's name must not mix {first} and {second} letters in one word, as many of them look "
                      "alike: character {position} is {second} in a word begun in {first}")

# Scripts whose capitals and small letters include many that look the same as one of another ("A", "А", "Α").
_LOOKALIKE_SCRIPTS = {"LATIN": "Latin", "CYRILLIC": "Cyrillic", "GREEK": "Greek"}

_JOINERS = frozenset("\u200c\u200d")  # zero-width non-joiner and joiner: part of how some scripts and emoji are written
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")  # Hangul fillers, the braille blank: letters that show nothing
# Unicode's Default_Ignorable_Code_Point characters (never drawn on their own) and the Arabic tatweel: left out
# of the key. Those of category C are refused in names anyway; names kept by older versions may hold them.
_NEVER_DRAWN = re.compile("[\u00ad\u034f\u061c\u0640\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
                          "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
                          "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]")


def clean_name(name: object) -> str:
    """The name as it is stored (see the module docstring), or PersonNameError saying why not."""
    if not isinstance(name, str):
        raise PersonNameError(NAME_NOT_TEXT.format(kind=type(name).__name__))
    name = unicodedata.normalize("NFC", name)
    word_script = None  # the look-alike script of the current word's letters so far
    for position, ch in enumerate(name, start=1):
        category = unicodedata.category(ch)
        if (category.startswith("C") and ch not in _JOINERS) or category in {"Zl", "Zp"} or ch in _BLANK_LETTERS:
            raise PersonNameError(NAME_HIDDEN_CHARACTER.format(code=f"U+{ord(ch):04X}", position=position))
        if category[0] not in "LM":  # a space, a hyphen, a digit: a new word
            word_script = None
        elif (script := _LOOKALIKE_SCRIPTS.get(unicodedata.name(ch, "").partition(" ")[0])) is not None:
            if word_script not in (None, script):
                raise PersonNameError(NAME_MIXED_SCRIPTS.format(first=word_script, second=script, position=position))
            word_script = script
    name = " ".join(name.split())  # every Unicode space; line breaks and tabs were refused above
    if not 1 <= len(name) <= MAX_NAME_CHARS:
        raise PersonNameError(NAME_LENGTH.format(most=MAX_NAME_CHARS, count=len(name)))
    if not any(unicodedata.category(ch)[0] in "LNSP" for ch in _NEVER_DRAWN.sub("", name)):
        raise PersonNameError(NAME_NOTHING_VISIBLE)
    return name


def name_key(name: str) -> str:
    """What two names of one person share (see the module docstring); "" for a name with nothing visible."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    folded = folded.replace("i\u0307", "i").replace("\u0131", "i")  # İ casefolds to i + combining dot; ı is dotless i
    return " ".join(unicodedata.normalize("NFKC", _NEVER_DRAWN.sub("", folded)).split())


def same_name(a: str, b: str) -> bool:
    """Whether two names are one person's (`name_key`); never for two names with nothing visible."""
    key = name_key(a)
    return bool(key) and key == name_key(b)
