"""Text that comes from people or files (a member's or guardian's name, an uploaded file's name, a zip's or a
manifest's entries, an error message quoting them), made safe to show through Streamlit's Markdown.

st.markdown, st.header, st.subheader, st.caption, st.success, st.warning, st.error and a widget's help all read their text as
Markdown: a file named "[Unlock the store](https://example.org).jpg" showed as a link that looked like the app's
own, and one named "![x](https://example.org/p.png).jpg" made the browser fetch a picture from the internet.
`shown` gives the text that displays as it is written: its Markdown characters escaped, links never made of it,
its line breaks made spaces (a name with a line break could start lines that read as the app's own, in a
deletion receipt) and its bidirectional controls made visible (U+202E shows "gpj.exe" as "exe.jpg"). A text
with a right-to-left letter is set apart from the app's words around it (see `RTL_ISOLATE`).
"""
from __future__ import annotations

import re
import unicodedata

# Characters that start Markdown wherever they are: emphasis (*, and _ but for one between two letters or
# digits, as in IMG_0001.jpg, which Markdown leaves as it is), strikethrough (~), code (`), links and images
# ([ ]), autolinks (<), character references (&: "&#91;" is a "["), LaTeX ($), and the backslash itself (an
# escape the text holds would take the next escape's backslash). The table pipe (|) and block marks below act only at a line's
# start, which a text without line breaks has once.
_INLINE = re.compile(r"([\\`*~\[\]<>&$|]|(?<![^\W_])_|_(?![^\W_]))")
# What starts a block at the beginning of the text (a quote's ">" is escaped above): a heading or a list item.
_BLOCK_START = re.compile(r"^(\s*(?:[#+-]|\d+(?=[.)])))")
# Web and e-mail addresses, which GitHub-flavoured Markdown makes links of in the text it has already read, so
# that no escape stops it, and Streamlit's colours, icons and emoji (":red[...]", ":material/lock:", ":smile:"),
# found there too: a WORD JOINER (invisible, it joins nothing here) breaks their "://", "www.", "@", "mailto:"
# or "xmpp:", and a ":" before a letter, "+" or "-" (":+1:").
_AUTOLINK = re.compile(r"(?i)(?=://)|(?<=www)(?=\.)|(?=@)|(?<=mailto)(?=:)|(?<=xmpp)(?=:)|(?<=:)(?=[^\W\d_]|[+-])")
WORD_JOINER = "\u2060"
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")
# Bidirectional controls reorder the text after them (and, in a message, the app's own words): shown as U+FFFD.
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_OTHER_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f]")
# A Hebrew or Arabic name takes a number after it, and the punctuation between, into its right-to-left run: the Family
# page's "שרה: 3 thumbnail(s)" showed as "3 :שרה thumbnail(s)" (the Unicode bidirectional algorithm, as fribidi
# applies it; browsers apply the same). Such a text goes between
# a left-to-right isolate and its end (invisible; the text's own isolates were made U+FFFD above): it reads inside
# as written, and the app's words and numbers around it keep their order. Left-to-right rather than by its first
# letter, since `shown` also takes whole messages that begin with a name, which stay left-to-right sentences.
RTL_ISOLATE = ("\u2066", "\u2069")


def shown(text: object) -> str:
    """`text` as Streamlit's Markdown displays it literally: "**x**.jpg" shows as **x**.jpg, no link or
    picture is made of it, a line break is a space, a bidirectional or other control character shows as
    U+FFFD, and a text with a right-to-left letter is isolated (RTL_ISOLATE). For any text the app did not write
    itself, put into a message, a title, a caption or a help."""
    text = _LINE_BREAKS.sub(" ", str(text))
    text = _OTHER_CONTROLS.sub("\ufffd", _BIDI_CONTROLS.sub("\ufffd", text))
    text = _INLINE.sub(r"\\\1", _AUTOLINK.sub(WORD_JOINER, text))
    # A heading or list mark is escaped itself; a list's number by the "." or ")" after it.
    text = _BLOCK_START.sub(_escape_block_start, text, count=1)
    if any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text):
        return RTL_ISOLATE[0] + text + RTL_ISOLATE[1]
    return text


def _escape_block_start(match: re.Match) -> str:
    mark = match.group(1)
    return mark + "\\" if mark[-1].isdigit() else mark[:-1] + "\\" + mark[-1]
