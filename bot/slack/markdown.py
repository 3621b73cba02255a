"""The worker's markdown → Slack mrkdwn: a CommonMark parser (markdown-it-py) and a small renderer.

Why a parser, and why this one. The converter used to be ~400 lines of regular expressions; one
of them counted parentheses in a loop, so `https://a/` and 30,000 `)` took seconds and froze the
event loop, and every new rule was another chance of that. markdown-it-py parses in one linear
pass (CommonMark and GFM tables and strikethrough, tested against the spec), is widely used and
maintained, and yields a token stream with nesting: a link's label, with its bold text or
image, is one subtree, so `links.link` sees the whole label and can refuse a deceptive one.
mistune is as fast, but its AST carries no source line numbers (used below to keep the author's
blank lines) and follows CommonMark less closely. The parser is pure Python, so its worst case
is a larger constant than a regex engine's (markup-dense input such as 60,000 chars of `_a_a…`
takes a few tenths of a second): callers bound what they convert (`markdown_head`,
`markdown_tail`) and render off the event loop. The parser's set-up is in `markdown_parser`.

What the output keeps: the author's blank lines between blocks (one at most), line breaks,
`*bold*`, `_italic_`, `~strike~`, `code`, links through `links.link`, lists as `•` or `1.` lines
(tasks as ☐/☑), quotes as one level of `>`, headings in bold, and code blocks and tables as
``` blocks at the start of a line (out of any quote or list), since the splitters in `mrkdwn`
find code blocks by lines that are exactly ```. Everything else is text, escaped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from markdown_it.token import Token

from .links import link, safe_url
from .markdown_parser import parse
from .mrkdwn import FENCE, defuse_fences, escape

RULE = "──────────"
QUOTE_DEPTH = 8
_DEEP_QUOTES = re.compile(rf"^((?:[ \t]*>){{{QUOTE_DEPTH}}})(?:[ \t]*>)+", re.MULTILINE)

_TASK = re.compile(r"\[([ xX])\][ \t]+")
_MARKS = {
    "strong_open": ("*", 0),
    "em_open": ("_", 1),
    "s_open": ("~", 2),
    "strong_close": ("*", 0),
    "em_close": ("_", 1),
    "s_close": ("~", 2),
}
"""Emphasis markers and their order when several touch: `***x***` becomes `*_x_*`."""
_FENCE_LINE = re.compile(r"^[ \t]*(`{3,}|~{3,})(.*)$", re.MULTILINE)


# ---- inline -----------------------------------------------------------------------------------


def _plain(tokens: Sequence[Token]) -> str:
    """The text of inline tokens without markup: what a link label or an image's alt says."""
    parts: list[str] = []
    for token in tokens:
        if token.type in ("text", "code_inline", "text_special"):
            parts.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif token.type == "image":
            parts.append(_plain(token.children or []))
    return "".join(parts)


def _closing(tokens: Sequence[Token], start: int) -> int:
    """The index of the `link_close` that matches the `link_open` at `start`."""
    depth = 0
    for index in range(start, len(tokens)):
        kind = tokens[index].type
        if kind == "link_open":
            depth += 1
        elif kind == "link_close":
            depth -= 1
            if depth == 0:
                return index
    return len(tokens)


def _marks(run: Sequence[Token], heading: bool) -> str:
    """Touching emphasis markers in a fixed order (opening: bold first; closing: the reverse)."""
    opening = run[0].nesting == 1
    ordered = sorted(run, key=lambda t: _MARKS[t.type][1], reverse=not opening)
    return "".join(
        "" if heading and t.type.startswith("strong") else _MARKS[t.type][0] for t in ordered
    )


def _inline(tokens: Sequence[Token], heading: bool = False) -> str:
    """Inline tokens as mrkdwn. In a heading, bold is dropped: the heading is bold already."""
    out: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        kind = token.type
        if kind in _MARKS:
            run: list[Token] = []
            while index < len(tokens) and (
                (tokens[index].type in _MARKS and tokens[index].nesting == token.nesting)
                or (tokens[index].type == "text" and not tokens[index].content)
            ):
                if tokens[index].type in _MARKS:
                    run.append(tokens[index])
                index += 1
            out.append(_marks(run, heading))
            continue
        if kind == "link_open":
            end = _closing(tokens, index)
            label = _plain(tokens[index + 1 : end])
            href = str(token.attrs.get("href", ""))
            if token.markup == "autolink" and safe_url(href) is None:
                out.append(escape(f"<{label}>"))  # `<a@b.c>`, `<x:y>`: shown as typed
            else:
                out.append(link(href, label))
            index = end + 1
            continue
        if kind in ("softbreak", "hardbreak"):
            out.append("\n")
        elif kind == "code_inline":
            out.append(f"`{escape(token.content)}`")
        elif kind == "image":
            out.append(link(str(token.attrs.get("src", "")), _plain(token.children or [])))
        else:
            out.append(escape(token.content))
        index += 1
    return "".join(out)


# ---- blocks -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Item:
    marker: str
    """What the item's first line starts with (`• `, `3. `), until that line is written."""
    indent: str
    bullet: bool
    inner: str
    """The indent of the item's other lines and nested lists: under its first line's text."""


class _Renderer:
    """Walks block tokens once, writing each leaf block with its containers' prefixes."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.items: list[_Item] = []
        self.lists: list[bool] = []  # each open list: is it a bullet list
        self.quotes = 0
        self.quote_serial = 0
        self.last_line = -1
        self.last_quote: int | None = None

    def render(self, tokens: Sequence[Token]) -> str:
        index = 0
        while index < len(tokens):
            index = self._block(tokens, index)
        return "\n".join(self.out).strip("\n")

    def _block(self, tokens: Sequence[Token], index: int) -> int:
        token = tokens[index]
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            self.lists.append(kind == "bullet_list_open")
        elif kind in ("bullet_list_close", "ordered_list_close"):
            self.lists.pop()
        elif kind == "list_item_open":
            self._open_item(token)
        elif kind == "list_item_close":
            item = self.items.pop()
            if item.marker:
                self._write_marker(item)
        elif kind == "blockquote_open":
            if self.quotes == 0:
                self.quote_serial += 1
            self.quotes += 1
        elif kind == "blockquote_close":
            self.quotes -= 1
        elif kind in ("paragraph_open", "heading_open"):
            inline = tokens[index + 1]
            self._leaf(token, self._text_lines(inline, heading=kind == "heading_open"))
            return index + 3
        elif kind in ("fence", "code_block"):
            self._leaf(token, _code_lines(token.content.split("\n")), code=True)
        elif kind == "hr":
            self._leaf(token, [RULE])
        elif kind == "table_open":
            end = index
            while tokens[end].type != "table_close":
                end += 1
            self._leaf(token, _table(tokens[index:end]), code=True)
            return end + 1
        return index + 1

    def _open_item(self, token: Token) -> None:
        outer = self.items[-1] if self.items else None
        if outer is not None and outer.marker:
            self._write_marker(outer)  # `- - x`: the outer item's marker gets its own line
        bullet = self.lists[-1] if self.lists else True
        marker = "• " if bullet else f"{token.info}{token.markup} "
        indent = outer.inner if outer is not None else ""
        self.items.append(_Item(marker, indent, bullet, indent + " " * len(marker)))

    def _write_marker(self, item: _Item) -> None:
        self.out.append(self._quote_prefix() + item.indent + item.marker.rstrip())
        item.marker = ""

    def _text_lines(self, inline: Token, heading: bool) -> list[str]:
        children = inline.children or []
        item = self.items[-1] if self.items else None
        if item is not None and item.marker and item.bullet and children:
            first = children[0]
            if first.type == "text" and (task := _TASK.match(first.content)):
                item.marker = "☐ " if task.group(1) == " " else "☑ "
                first.content = first.content[task.end() :]
        text = _inline(children, heading=heading).strip()
        if heading and text:
            text = f"*{text}*"
        return [defuse_fences(line.rstrip()) for line in text.split("\n")] if text else []

    def _quote_prefix(self) -> str:
        return "> " if self.quotes else ""

    def _leaf(self, token: Token, lines: list[str], code: bool = False) -> None:
        if not any(line.strip() for line in lines):
            return
        first, last = token.map or (self.last_line + 1, self.last_line + 1)
        quote = self.quote_serial if self.quotes else None
        if self.out and first > self.last_line:
            self.out.append(">" if quote is not None and quote == self.last_quote else "")
        self.last_line, self.last_quote = last, quote
        if code:
            if self.items and self.items[-1].marker:
                self._write_marker(self.items[-1])
            self.out += lines
            return
        item = self.items[-1] if self.items else None
        prefix = self._quote_prefix()
        rest = prefix + (item.inner if item is not None else "")
        if item is not None and item.marker:
            self.out.append(prefix + item.indent + item.marker + lines[0])
            item.marker = ""
        else:
            self.out.append(rest + lines[0])
        self.out += [rest + line for line in lines[1:]]


def _code_lines(body: list[str]) -> list[str]:
    if body and body[-1] == "":
        body = body[:-1]
    return [FENCE, *(defuse_fences(escape(line)) for line in body), FENCE]


def _table(tokens: Sequence[Token]) -> list[str]:
    """A table as a code block with padded columns, so it lines up in Slack's monospace."""
    rows: list[list[str]] = []
    for token in tokens:
        if token.type == "tr_open":
            rows.append([])
        elif token.type == "inline" and rows:
            rows[-1].append(token.content.strip().replace("\\|", "|"))
    width = max(len(row) for row in rows)
    grid = [row + [""] * (width - len(row)) for row in rows]
    sizes = [max(3, *(len(row[column]) for row in grid)) for column in range(width)]
    grid.insert(1, ["-" * size for size in sizes])
    lines = [
        "| " + " | ".join(c.ljust(s) for c, s in zip(row, sizes, strict=True)) + " |"
        for row in grid
    ]
    return [FENCE, *(defuse_fences(escape(line)) for line in lines), FENCE]


def markdown_to_mrkdwn(md: str) -> str:
    """Convert the worker's (GitHub-flavoured) markdown to Slack mrkdwn, escaping everything.

    Linear in the length of `md`; see the module docstring for what is kept. Quotes nested
    deeper than `QUOTE_DEPTH` lose their extra markers first: Slack shows one level anyway,
    and markdown-it drops what lies deeper than `markdown_parser.MAX_NESTING`.
    """
    return _Renderer().render(parse(_DEEP_QUOTES.sub(r"\1", md)))


# ---- bounded windows of long answers ----------------------------------------------------------


def markdown_head(md: str, limit: int) -> tuple[str, bool]:
    """The start of `md` in at most `limit` chars, cut at a blank line (else a line end) when
    that keeps at least half; and whether anything was cut."""
    if len(md) <= limit:
        return md, False
    window = md[:limit]
    cut = window.rfind("\n\n")
    if cut < limit // 2:
        cut = window.rfind("\n")
    if cut < limit // 2:
        cut = limit
    return md[:cut], True


def markdown_tail(md: str, limit: int) -> tuple[str, bool]:
    """The end of `md` in about `limit` chars, from the start of a line when that keeps at least
    half; and whether anything was cut. A fenced code block open at the cut is reopened, so its
    code is not read as markdown."""
    if len(md) <= limit:
        return md, False
    start = len(md) - limit
    newline = md.find("\n", start)
    if newline != -1 and len(md) - newline > limit // 2:
        start = newline + 1
    opener = _fence_open_at(md, start)
    return (f"{opener}\n" if opener else "") + md[start:], True


def _fence_open_at(md: str, end: int) -> str | None:
    """The fence line (```` ``` ```` or `~~~`, any length) still open at offset `end`, if any."""
    opener: str | None = None
    for match in _FENCE_LINE.finditer(md, 0, end):
        marker, rest = match.group(1), match.group(2)
        if opener is None:
            if not (marker[0] == "`" and "`" in rest):
                opener = marker
        elif marker[0] == opener[0] and len(marker) >= len(opener) and not rest.strip():
            opener = None
    return opener
