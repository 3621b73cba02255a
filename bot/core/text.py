"""Text from outside (worker output, file paths) made fit to show as a name or a label.

A name or a label is one line that users read to decide what something is, so nothing in it may
be invisible or move other characters around: a U+202E (right-to-left override) can make
`gpj.exe` read as `exe.jpg`, and a zero-width space can split a word that a check looks for.
"""

from __future__ import annotations

import unicodedata

_TO_SPACE = frozenset({"Cc", "Zl", "Zp"})
"""Controls (tabs, newlines, C0 and C1) and line or paragraph separators: they break lines."""
_DROP = frozenset({"Cf", "Cs"})
"""Format characters (bidi controls, zero-width space and joiners, soft hyphen) and lone
surrogates: invisible, so a reader cannot know they are there."""
_ASCII_CONTROLS = {code: " " for code in [*range(32), 127]}


def visible_line(text: str) -> str:
    """`text` on one line of visible characters: line breaks and controls become spaces, format
    characters are dropped, and runs of whitespace become one space."""
    if text.isascii():
        return " ".join(text.translate(_ASCII_CONTROLS).split())
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category in _TO_SPACE:
            kept.append(" ")
        elif category not in _DROP:
            kept.append(char)
    return " ".join("".join(kept).split())
