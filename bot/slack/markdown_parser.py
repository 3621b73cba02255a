"""The markdown parser for worker answers: markdown-it-py, set up for Slack and hostile input.

CommonMark with GFM tables and strikethrough; raw HTML is text; every link is kept exactly as
written, because `links.link` alone decides what may be a link. Two inline rules of our own:
bare http(s) URLs are kept whole (emphasis cannot reach inside `https://x.io/a_b_`), and a run
of `[` with no `]` after it is text at once instead of costing ~10 µs a `[` as link attempts.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

MAX_NESTING = 20
"""markdown-it's guard: what is nested deeper (quotes, lists: about nine levels of lists) is
not parsed further. A higher limit makes runs of `[` dearer: 100 costs 4x on `[[[…]]]`."""

_URL_REST = re.compile(r"://[^\s<>\[\]]+")
_TRAILING = frozenset(".,;:!?'\"*_~)")
_BRACKET_RUN = re.compile(r"[\[!]+")
_LAST_CLOSE = "slack.last_close"
"""Key in the parse's `env` of (the inline text, the offset of its last `]`)."""


def _bare_url(state: StateInline, silent: bool) -> bool:
    """A bare http(s) URL is text that emphasis cannot touch: `https://x.io/a_b_c`.

    Runs at the `:` of `http://` or `https://`; trailing punctuation and unbalanced `)` stay
    outside the URL, as readers expect in `(see https://x.io/a).`
    """
    pos, src = state.pos, state.src
    if src[pos] != ":":
        return False
    if src[max(pos - 5, 0) : pos].lower() == "https":
        scheme = src[pos - 5 : pos]
    elif src[max(pos - 4, 0) : pos].lower() == "http":
        scheme = src[pos - 4 : pos]
    else:
        return False
    before = src[pos - len(scheme) - 1 : pos - len(scheme)] if pos > len(scheme) else ""
    if before and (before.isalnum() or before in "_.+-"):
        return False
    match = _URL_REST.match(src, pos, state.posMax)
    if match is None:
        return False
    rest = match.group()
    end = len(rest)
    opens, closes = rest.count("("), rest.count(")")
    while end > 3 and rest[end - 1] in _TRAILING:
        if rest[end - 1] == ")":
            if opens >= closes:
                break
            closes -= 1
        end -= 1
    if end <= 3:
        return False
    if not silent:
        if not state.pending.endswith(scheme):
            return False
        state.pending = state.pending[: -len(scheme)]
        token = state.push("text", "", 0)
        token.content = scheme + rest[:end]
    state.pos = pos + end
    return True


def _unclosed_brackets(state: StateInline, silent: bool) -> bool:
    """A run of `[` and `!` with no `]` anywhere after it opens no link or image: it is text.

    markdown-it would try each `[` as a link label, at ~10 µs a `[`; a worker answer of 300,000
    `[` should cost what plain text does. The last `]` is found once per inline text.
    """
    src, pos = state.src, state.pos
    if src[pos] not in "[!":
        return False
    last = state.env.get(_LAST_CLOSE)
    if last is None or last[0] is not src:
        last = state.env[_LAST_CLOSE] = (src, src.rfind("]"))
    if last[1] > pos:
        return False
    match = _BRACKET_RUN.match(src, pos, state.posMax)
    assert match is not None
    if not silent:
        state.append_pending(match.group())
    state.pos = match.end()
    return True


class _Parser(MarkdownIt):
    """CommonMark with tables and strikethrough, raw HTML as text, and every link kept exactly
    as written: `links.link` alone decides what may be a link (and shows the rest as text)."""

    def __init__(self) -> None:
        super().__init__("commonmark", {"html": False, "maxNesting": MAX_NESTING})
        self.enable(["table", "strikethrough"])
        self.inline.ruler.after("text", "bare_url", _bare_url)
        self.inline.ruler.before("link", "unclosed_brackets", _unclosed_brackets)

    def validateLink(self, url: str) -> bool:
        return True

    def normalizeLink(self, url: str) -> str:
        return url

    def normalizeLinkText(self, link: str) -> str:
        return link


_PARSER = _Parser()


def parse(md: str) -> list[Token]:
    """The block tokens of `md` (inline content in each `inline` token's children)."""
    return _PARSER.parse(md)
