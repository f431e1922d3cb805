"""unveil.app.text.shown: text from people and files shows through Streamlit's Markdown as it is written.

What Streamlit's Markdown makes of the escaped text was checked in headless Chromium: no link, picture,
emphasis, heading, list, formula, colour, icon or emoji is made of it, and it reads as written."""
from __future__ import annotations

import re

import pytest

from unveil.app.text import WORD_JOINER, shown

# Markdown that is read after escapes are (a link, a picture, an autolink, an e-mail link, a colour, an icon).
_LIVE_MARKUP = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(|(?<!\\)<https?|https?://|www\.|\w@\w|(?<!\\):[a-z]+\[|:material/")


@pytest.mark.parametrize("name", [
    "[Unlock the store](https://example.org/login).jpg",
    "![x](https://tracker.example/p.png).jpg",
    "<https://example.org>.jpg",
    "see https://example.org now.jpg",
    "www.example.org.jpg",
    "ada@example.org.jpg",
    ":red[Verified] :material/lock:.jpg",
    "C:\\photos\\[x](https://example.org).jpg",
])
def test_no_link_picture_or_colour_is_made_of_a_file_name(name):
    assert not _LIVE_MARKUP.search(shown(name)), shown(name)
    # The escapes and the invisible joiners are all that was added: the text reads as written.
    assert shown(name).replace(WORD_JOINER, "").replace("\\", "") == name.replace("\\", "")


def test_markdown_marks_are_escaped_and_plain_text_is_left_as_it_is():
    assert shown("**x** _y_ ~~z~~ `c` $5 and $6 &#91;") == r"\*\*x\*\* \_y\_ \~\~z\~\~ \`c\` \$5 and \$6 \&#91;"
    assert shown("# big.jpg") == r"\# big.jpg"
    assert shown("- a.jpg") == r"\- a.jpg"
    assert shown("2024. Holiday.jpg") == r"2024\. Holiday.jpg"
    assert shown("Jean-Luc O'Neil (2).jpg") == "Jean-Luc O'Neil (2).jpg"
    assert shown("IMG_0001.jpg at 18:51") == "IMG_0001.jpg at 18:51"  # an underscore inside a word emphasises nothing
    assert shown("x\\") == "x\\\\"  # a backslash the text ends with takes no escape of the app's words


def test_line_breaks_and_bidirectional_controls_cannot_forge_lines_or_reorder_text():
    assert shown("Ada\n- Deleted: nothing\r\nx\u2028y") == "Ada - Deleted: nothing x y"
    assert shown("photo\u202egpj.exe") == "photo\ufffdgpj.exe"
    assert shown("a\x1b[31mb") == "a\ufffd\\[31mb"


@pytest.mark.parametrize("text", ["שרה", "محمد علي", "Ana שרה", "קובץ (2).jpg"])
def test_a_right_to_left_text_is_isolated_from_the_words_around_it(text):
    # "שרה: 3 thumbnail(s)" showed as "3 :שרה thumbnail(s)": the name took the number after it into its run.
    assert shown(text) == "\u2066" + text + "\u2069"


def test_a_text_cannot_end_its_isolate_early_and_left_to_right_text_is_left_as_it_is():
    assert shown("שרה\u2069: 3 \u2066x") == "\u2066שרה\ufffd: 3 \ufffdx\u2069"
    assert shown("Ana María: 3") == "Ana María: 3"
    assert shown("# שרה") == "\u2066\\# שרה\u2069"
