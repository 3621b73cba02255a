"""Text safety for Slack: escaping, Slack markup → plain text, and cutting mrkdwn safely.

Slack treats `&`, `<` and `>` as control characters: `<!channel>`, `<@U1>` and `<url|label>` are
live tokens, so everything untrusted is escaped. The mrkdwn cut here (made by
`markdown.markdown_to_mrkdwn`) keeps one invariant the splitters rely on: code blocks are
delimited by lines that are exactly ```` ``` ```` and no other run of three backticks appears,
so fence state is known by counting lines.
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


def defuse_fences(text: str) -> str:
    """Break runs of three or more backticks so only our own fence lines open code blocks."""
    return re.sub(r"`{3,}", lambda m: _ZWSP.join(m.group()), text)


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
    """A one-line, escaped excerpt of markdown for notification text.

    Only the start of `md` is read: markup rarely takes more than 40 characters per shown one.
    """
    text = re.sub(r"!?\[([^\[\]\n]*)\]\([^()\n]*\)", r"\1", md[: limit * 40])
    text = re.sub(r"\*\*|__|~~|`+|^#+\s*|^>\s*", "", text, flags=re.MULTILINE)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return escape(text)
