"""Text safety for Slack: escaping, Slack markup → plain text, markdown → mrkdwn, safe splitting.

Slack treats `&`, `<` and `>` as control characters: `<!channel>`, `<@U1>` and `<url|label>` are
live tokens. Everything untrusted is escaped, and the only `<` this module ever emits opens an
http(s) link, so no conversion can produce a mention. Output of `markdown_to_mrkdwn` keeps one
more invariant the splitters rely on: code blocks are delimited by lines that are exactly ```` ```
```` and no other run of three backticks appears, so fence state is known by counting lines.
"""

from __future__ import annotations

import re

FENCE = "```"
_ZWSP = "\u200b"
_ENTITY = re.compile(r"&(amp|lt|gt);")
_UNESCAPE = {"amp": "&", "lt": "<", "gt": ">"}


def escape(text: str) -> str:
    """Make untrusted text inert: `&` first, so existing entities are shown, not decoded."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Undo `escape` in one pass, so `&amp;lt;` becomes `&lt;` and not `<`."""
    return _ENTITY.sub(lambda m: _UNESCAPE[m.group(1)], text)


# ---- Slack's wire text → plain text for the agent ---------------------------------------------

_SLACK_TOKEN = re.compile(r"<([^<>\n]*)>")
_SPECIAL = ("here", "channel", "everyone")


def _plain_token(body: str) -> str:
    target, _, label = body.partition("|")
    if target.startswith("@"):
        return "@" + (label.lstrip("@") or target[1:])
    if target.startswith("#"):
        return "#" + (label.lstrip("#") or target[1:])
    if target.startswith("!"):
        kind, _, ident = target[1:].partition("^")
        if kind in _SPECIAL:
            return "@" + kind
        if kind == "subteam":
            return "@" + (label.lstrip("@") or ident)
        return label or kind
    if not label or label == target:
        return target
    bare = re.sub(r"^(?:https?://|mailto:)", "", target, flags=re.IGNORECASE)
    if label in (bare, bare.rstrip("/")):
        # Slack auto-linked what the user typed (`example.com`, `a@b.c`): one copy is enough.
        return label if target.lower().startswith("mailto:") else target
    return f"{label} ({target})"


def slack_to_plain(text: str) -> str:
    """Turn Slack's escaped message text into what the user meant, to send to the agent."""
    return unescape(_SLACK_TOKEN.sub(lambda m: _plain_token(m.group(1)), text))


# ---- markdown → mrkdwn ------------------------------------------------------------------------

_OPEN_FENCE = re.compile(r"^([ \t]*)(`{3,}|~{3,})(.*)$")
_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]+(.*?))?[ \t]*$")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_QUOTE = re.compile(r"^ {0,3}>(.*)$")
_BULLET = re.compile(r"^(\s*)[-*+][ \t]+(.*)$")
_TASK = re.compile(r"^\[([ xX])\][ \t]+(.*)$")
_NUMBERED = re.compile(r"^(\s*)(\d{1,9}[.)])[ \t]+(.*)$")
_TABLE_DELIM = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_SAFE_URL = re.compile(r"https?://[^\s<>|]+", re.IGNORECASE)
_MAX_LINK_URL = 1000

# Placeholders live in Unicode's private use area; input is scrubbed of that range first.
_P_OPEN, _P_CLOSE, _BOLD, _ITAL, _STRIKE = "\ue000", "\ue001", "\ue002", "\ue003", "\ue004"
_PRIVATE = re.compile("[\ue000-\ue004]")
_PLACEHOLDER = re.compile(f"{_P_OPEN}(\\d+){_P_CLOSE}")


def _label(name: str) -> str:
    return rf"\[(?P<{name}>(?:[^\[\]\n]|\[[^\[\]\n]*\])*)\]"


def _dest(name: str) -> str:
    return rf"\((?P<{name}>(?:[^()\n]|\([^()\n]*\))*)\)"


_INLINE = re.compile(
    r"(?P<code>(?P<ticks>`+)(?P<codebody>.+?)(?<!`)(?P=ticks)(?!`))"
    r"|\\(?P<esc>[!-/:-@\[-`{-~])"
    rf"|(?P<image>!{_label('alt')}{_dest('src')})"
    rf"|(?P<link>{_label('text')}{_dest('href')})"
    r"|<(?P<auto>https?://[^<>\s|]+)>"
    r"|(?P<bare>https?://[^\s<>]+)",
    re.IGNORECASE,
)
# Each span's body cannot contain its own delimiter, so a line full of unmatched markers is
# scanned in linear time instead of quadratic (worker output is untrusted and can be long).
_BODY_STARS = r"(?:[^*\n]|\*(?!\*))"
_BODY_UNDERSCORES = r"(?:[^_\n]|_(?!_))"
_BODY_TILDES = r"(?:[^~\n]|~(?!~))"
_EMPHASIS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"\*\*\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*\*\*"),
        f"{_BOLD}{_ITAL}\\1{_ITAL}{_BOLD}",
    ),
    (
        re.compile(rf"\*\*(?=\S)({_BODY_STARS}+?)(?<=\S)\*\*"),
        f"{_BOLD}\\1{_BOLD}",
    ),
    (
        re.compile(rf"(?<!\w)__(?=\S)({_BODY_UNDERSCORES}+?)(?<=\S)__(?!\w)"),
        f"{_BOLD}\\1{_BOLD}",
    ),
    (
        re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![\w*])"),
        f"{_ITAL}\\1{_ITAL}",
    ),
    (re.compile(r"(?<!\w)_(?=[^\s_])([^_\n]+?)(?<=[^\s_])_(?!\w)"), f"{_ITAL}\\1{_ITAL}"),
    (re.compile(rf"~~(?=\S)({_BODY_TILDES}+?)(?<=\S)~~"), f"{_STRIKE}\\1{_STRIKE}"),
]
_MARKERS = str.maketrans({_BOLD: "*", _ITAL: "_", _STRIKE: "~"})


def defuse_fences(text: str) -> str:
    """Break runs of three or more backticks so only our own fence lines open code blocks."""
    return re.sub(r"`{3,}", lambda m: _ZWSP.join(m.group()), text)


def link(url: str, label: str) -> str:
    """`<url|label>` when the url is a plain http(s) url; otherwise inert `label (url)` text."""
    if _SAFE_URL.fullmatch(url) and len(url) <= _MAX_LINK_URL:
        return f"<{escape(url)}|{escape(label)}>" if label else f"<{escape(url)}>"
    return escape(f"{label} ({url})" if label else url)


def _destination(raw: str) -> str:
    dest = raw.strip()
    if dest.startswith("<") and ">" in dest:
        return dest[1 : dest.index(">")]
    return re.sub(r"""\s+(?:"[^"]*"|'[^']*')$""", "", dest)


def _strip_trailing_punct(url: str) -> tuple[str, str]:
    end = len(url)
    while end and url[end - 1] in ".,;:!?'\"*_~)":
        if url[end - 1] == ")" and url.count("(", 0, end) >= url.count(")", 0, end):
            break
        end -= 1
    return url[:end], url[end:]


def _inline(text: str) -> str:
    """Convert one line of inline markdown; code, links and urls are shielded from emphasis."""
    kept: list[str] = []

    def shield(rendered: str) -> str:
        kept.append(rendered)
        return f"{_P_OPEN}{len(kept) - 1}{_P_CLOSE}"

    def token(m: re.Match[str]) -> str:
        if m.group("code"):
            return shield(f"`{escape(m.group('codebody'))}`")
        if m.group("esc"):
            return shield(escape(m.group("esc")))
        if m.group("image") or m.group("link"):
            label, dest = (m["alt"], m["src"]) if m.group("image") else (m["text"], m["href"])
            return shield(link(_destination(dest), re.sub(r"\*\*|__|~~|`", "", label).strip()))
        if m.group("auto"):
            return shield(link(m.group("auto"), ""))
        url, tail = _strip_trailing_punct(m.group("bare"))
        return shield(escape(url)) + tail

    text = _INLINE.sub(token, text)
    for pattern, replacement in _EMPHASIS:
        text = pattern.sub(replacement, text)
    text = escape(text).translate(_MARKERS)
    return _PLACEHOLDER.sub(lambda m: kept[int(m.group(1))], text)


def _line(line: str) -> str:
    """Convert one line outside code: headings, rules, quotes, lists, then inline markup."""
    if m := _HEADING.match(line):
        title = re.sub(r"[ \t]+#+$", "", m.group(1) or "").strip()
        title = re.sub(r"\*\*|__", "", title)
        return f"*{_inline(title)}*" if title else ""
    if _RULE.match(line):
        return "──────────"
    if m := _QUOTE.match(line):
        inner = re.sub(r"^[ \t]*(?:>[ \t]?)*", "", m.group(1)).rstrip()
        inner = _line(inner) if inner else ""
        return f"> {inner}" if inner else ">"
    if m := _BULLET.match(line):
        indent, item = m.groups()
        if task := _TASK.match(item):
            mark = "☐" if task.group(1) == " " else "☑"
            return f"{indent}{mark} {_inline(task.group(2))}"
        return f"{indent}• {_inline(item)}"
    if m := _NUMBERED.match(line):
        return f"{m.group(1)}{m.group(2)} {_inline(m.group(3))}"
    return _inline(line)


def _cells(row: str) -> list[str]:
    row = row.strip()
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
    return [cell.strip().replace("\\|", "|") for cell in _CELL_SPLIT.split(row)]


def _table(rows: list[str]) -> list[str]:
    """A markdown table as a monospace block with padded columns, so it lines up in Slack."""
    grid = [_cells(row) for row in rows]
    width = max(len(r) for r in grid)
    grid = [r + [""] * (width - len(r)) for r in grid]
    sizes = [max(3, *(len(r[c]) for r in grid)) for c in range(width)]
    grid[1] = ["-" * size for size in sizes]
    lines = [
        "| " + " | ".join(c.ljust(s) for c, s in zip(r, sizes, strict=True)) + " |" for r in grid
    ]
    return [FENCE, *(defuse_fences(escape(line)) for line in lines), FENCE]


def _is_table_start(lines: list[str], i: int) -> bool:
    return (
        i + 1 < len(lines)
        and "|" in lines[i]
        and "|" in lines[i + 1]
        and _TABLE_DELIM.match(lines[i + 1]) is not None
    )


def markdown_to_mrkdwn(md: str) -> str:
    """Convert the worker's GitHub-flavoured markdown to Slack mrkdwn, escaping everything."""
    lines = _PRIVATE.sub("", md.replace("\r\n", "\n").replace("\r", "\n")).split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if fence := _OPEN_FENCE.match(line):
            indent, marker = len(fence.group(1)), fence.group(2)
            if marker[0] == "`" and "`" in fence.group(3):
                out.append(defuse_fences(_line(line)))  # "```a```" is inline code, not a fence
                i += 1
                continue
            body: list[str] = []
            i += 1
            closer = re.compile(rf"^[ \t]*{re.escape(marker[0])}{{{len(marker)},}}\s*$")
            while i < len(lines) and not closer.match(lines[i]):
                stripped = re.sub(rf"^ {{0,{indent}}}", "", lines[i])
                body.append(defuse_fences(escape(stripped)))
                i += 1
            i += 1
            if any(b.strip() for b in body):
                out += [FENCE, *body, FENCE]
            continue
        if _is_table_start(lines, i):
            rows = [lines[i], lines[i + 1]]
            i += 2
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                rows.append(lines[i])
                i += 1
            out += _table(rows)
            continue
        out.append(defuse_fences(_line(line.rstrip())))
        i += 1
    text = "\n".join(out)
    return _collapse_blank_lines(text).strip("\n")


def _collapse_blank_lines(text: str) -> str:
    """Runs of blank lines outside code become one: Slack shows every newline."""
    out: list[str] = []
    in_code = False
    for line in text.split("\n"):
        if line == FENCE:
            in_code = not in_code
        elif not in_code and not line.strip() and out and not out[-1].strip():
            continue
        out.append(line)
    return "\n".join(out)


# ---- cutting mrkdwn without breaking it --------------------------------------------------------


def fence_open_after(text: str, in_code: bool = False) -> bool:
    """Whether a code block is open at the end of `text`, given the state at its start."""
    for line in text.split("\n"):
        if line == FENCE:
            in_code = not in_code
    return in_code


def _inside_token(text: str, i: int) -> tuple[int, int] | None:
    """The (start, end) of an entity or `<…>` token that position `i` falls strictly inside."""
    amp = text.rfind("&", max(0, i - 4), i)
    if amp != -1 and (m := _ENTITY.match(text, amp)) and m.end() > i:
        return amp, m.end()
    lt = text.rfind("<", 0, i)
    if lt != -1 and text.rfind(">", lt, i) == -1 and "\n" not in text[lt:i]:
        gt = text.find(">", i)
        return lt, (gt + 1 if gt != -1 else len(text))
    return None


def _find_cut(text: str, room: int) -> tuple[int, int]:
    """Where to cut `text` so the first part is at most `room` chars: (end of part, next start)."""
    window = text[: room + 1]
    para = window.rfind("\n\n")
    if para >= room // 2:
        return para, para
    newline = window.rfind("\n")
    if newline > 0:
        return newline, newline
    space = window.rfind(" ")
    while space > 0 and _inside_token(text, space):
        space = window.rfind(" ", 0, space)
    if space > room // 4:
        return space, space + 1
    cut = room
    if token := _inside_token(text, cut):
        cut = token[0] if token[0] > 0 else min(token[1], room)
    return cut, cut


def split_mrkdwn(text: str, limit: int) -> list[str]:
    """Split at paragraph, line, then word boundaries into parts of at most `limit` chars.

    A code block cut in two is closed at the end of one part and reopened at the start of the
    next, so every part renders on its own. The newlines at a cut are dropped.
    """
    parts: list[str] = []
    in_code = False
    rest = text.strip("\n")
    while rest:
        prefix = FENCE + "\n" if in_code else ""
        whole = prefix + rest + ("\n" + FENCE if fence_open_after(rest, in_code) else "")
        if len(whole) <= limit:
            parts.append(whole)
            break
        end, start = _find_cut(rest, limit - len(prefix) - len(FENCE) - 1)
        piece = rest[:end].rstrip("\n")
        opened = fence_open_after(piece, in_code)
        if opened and piece.endswith("\n" + FENCE):
            piece = piece[: -len(FENCE) - 1]  # don't end a part on a fence that opens nothing
            start = len(piece)
            opened = fence_open_after(piece, in_code)
        if piece.strip():
            parts.append(prefix + piece + ("\n" + FENCE if opened else ""))
            in_code = opened
        rest = rest[start:].lstrip("\n")
    return parts


def tail_mrkdwn(text: str, limit: int) -> tuple[str, int]:
    """The latest part of `text` in at most `limit` chars, and where in `text` it starts.

    Starts at a line boundary when that still shows at least half of `limit`, and never inside
    an entity or a link. A code block open at the cut is reopened.
    """
    if len(text) <= limit:
        return text, 0
    earliest = len(text) - limit + len(FENCE) + 1
    newline = text.find("\n", earliest - 1)
    if newline != -1 and len(text) - newline - 1 >= limit // 2:
        begin = newline + 1
    else:
        begin = earliest
        if token := _inside_token(text, begin):
            begin = token[1]
    prefix = FENCE + "\n" if fence_open_after(text[:begin]) else ""
    return prefix + text[begin:], begin


def truncate_mrkdwn(text: str, limit: int, ellipsis: str = "…") -> str:
    """Shorten escaped text to `limit` chars without cutting an entity or a link in half."""
    if len(text) <= limit:
        return text
    cut = limit - len(ellipsis)
    if token := _inside_token(text, cut):
        cut = token[0]
    return text[:cut].rstrip() + ellipsis


def plain_excerpt(md: str, limit: int) -> str:
    """A one-line, escaped excerpt of markdown for notification text."""
    text = re.sub(r"!?\[([^\[\]\n]*)\]\([^()\n]*\)", r"\1", md)
    text = re.sub(r"\*\*|__|~~|`+|^#+\s*|^>\s*", "", text, flags=re.MULTILINE)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return escape(text)
