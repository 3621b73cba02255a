"""Reading what the app showed: the mrkdwn of every version of every message and ephemeral,
the words an answer must show, and which final message shows which turn. Shared by the
invariants (`invariants.py`) and the harness's wait for a settled stack."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.faults.harness import FaultStack

WORKING = re.compile(r"^(⏳|🕒)|:hourglass_flowing_sand: Working|:clock3: Queued")
FINAL = ("✅", "❌")
SPECIAL_MENTION = re.compile(r"<!(channel|here|everyone|subteam\^[^>|]*)(\|[^>]*)?>")
USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(\|[^>]*)?>")
SLACK_LINK = re.compile(r"<((?:https?|mailto|ftp)[^<>|\s]*)\|([^<>]*)>", re.IGNORECASE)
FILE_EXTENSION = re.compile(
    r"bin|csv|exe|gif|gz|htm|html|jpeg|jpg|js|json|log|md|pdf|png|py|sh|svg|tar|txt|xml|yaml|yml|zip"
)
"""Endings that make `summary.txt` a file name rather than a domain (`md` is Moldova's TLD,
but the bot names files `*.md`, so it counts as a file here)."""
HOST_LIKE = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*://)?(?P<host>(?:[^\W_](?:[\w-]*[^\W_])?\.)+(?P<tld>[^\W\d_]{2,24}))"
    r"\.?(?::\d+)?(?:[/?#].*)?$",
    re.IGNORECASE,
)


# ---- reading Slack-visible text -----------------------------------------------------------------


def mrkdwn_strings(item: dict[str, Any]) -> Iterator[str]:
    """Texts Slack parses as mrkdwn in a message or ephemeral: its `text` and every mrkdwn
    text object of its blocks (plain_text is shown as typed, so it cannot ping or link)."""
    if item.get("text"):
        yield str(item["text"])
    yield from _mrkdwn_in(item.get("blocks") or [])
    for attachment in item.get("attachments") or []:
        if isinstance(attachment, dict):
            yield from mrkdwn_strings(attachment)


def _mrkdwn_in(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for child in node:
            yield from _mrkdwn_in(child)
    elif isinstance(node, dict):
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            yield node["text"]
        for child in node.values():
            if isinstance(child, list | dict):
                yield from _mrkdwn_in(child)


def all_strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for child in node:
            yield from all_strings(child)
    elif isinstance(node, dict):
        for child in node.values():
            yield from all_strings(child)


def versions(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every state a message was ever in (the original, each edit, the current one)."""
    return [*message.get("edits", []), message]


def bot_messages(stack: FaultStack) -> list[dict[str, Any]]:
    return [m for m in stack.all_messages() if m.get("bot_id")]


def shown(stack: FaultStack) -> Iterator[tuple[str, dict[str, Any]]]:
    """Everything the app showed anyone, version by version: (where, message-like dict)."""
    for message in bot_messages(stack):
        for version in versions(message):
            yield f"message {message['ts']}", version
        for file in message.get("files", []):
            yield f"file {file.get('id')}", {"name": file.get("name"), "title": file.get("title")}
    for ephemeral in stack.ephemerals():
        for version in [*ephemeral.get("edits", []), ephemeral]:
            yield f"ephemeral {ephemeral['ts']}", version


# ---- answers -----------------------------------------------------------------------------------

CONTROLS = {"Cc", "Cf"}
_WORD = re.compile(r"[^\W_]+")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_FENCE_INFO = re.compile(r"^( {0,3}(?:`{3,}|~{3,})).*$", re.MULTILINE)
_REFERENCE = re.compile(r"^ {0,3}\[[^\]\n]+\]:[ \t]*\S.*$", re.MULTILINE)
_ANGLED = re.compile(r"<[^<>\n]*>")
_MD_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)")
_MD_LINK = re.compile(r"\[([^\]\n]*)\]\(([^)\n]*)\)")
_ENTITY = re.compile(r"&(amp|lt|gt);")
_UNESCAPE = {"amp": "&", "lt": "<", "gt": ">"}


def _visible(text: str) -> str:
    """Without control and format characters (bidi marks, zero-width spaces, NULs), except
    that line breaks and tabs stay word boundaries."""
    return "".join(
        c if not c.isspace() else "\n"
        for c in text
        if c.isspace() or unicodedata.category(c) not in CONTROLS
    )


def slack_unescape(text: str) -> str:
    return _ENTITY.sub(lambda m: _UNESCAPE[m.group(1)], text)


def answer_words(markdown: str) -> list[str]:
    """The words any faithful rendering of an answer shows, in order. Left out, because a
    safe renderer may show them differently or not at all (as CommonMark does): markup,
    anything in angle brackets (mentions, html, autolinks), link and image targets, link
    labels that are themselves urls or domains, images, fence info strings, link reference
    definitions and terminal escape sequences."""
    text = html.unescape(_ANSI.sub(" ", markdown))
    text = _FENCE_INFO.sub(lambda m: m.group(1), text)
    text = _REFERENCE.sub(" ", text)
    text = _MD_IMAGE.sub(" ", text)
    text = _MD_LINK.sub(lambda m: " " if looks_like_host(m.group(1)) else f" {m.group(1)} ", text)
    return _WORD.findall(_ANGLED.sub(" ", _visible(text)))


def squashed(mrkdwn: str) -> str:
    """What a message shows, as its letters and digits only, links as label then target."""
    text = SLACK_LINK.sub(lambda m: f" {m.group(2)} {m.group(1)} ", _visible(mrkdwn))
    return "".join(_WORD.findall(slack_unescape(text)))


def shows(words: list[str], seen: str) -> bool:
    """Every word appears in `seen`, in order (words a renderer joined still count)."""
    at = 0
    for word in words:
        found = seen.find(word, at)
        if found < 0:
            return False
        at = found + len(word)
    return True


def section_text(message: dict[str, Any]) -> str:
    return "\n".join(
        str(b["text"]["text"])
        for b in message.get("blocks") or []
        if b.get("type") == "section" and isinstance(b.get("text"), dict)
    )


def assistant_texts(worker: dict[str, Any]) -> list[str]:
    """The answer of each finished turn, in order, from the worker's stored messages."""
    return [
        "".join(p.get("text", "") for p in m.get("parts", []) if p.get("type") == "text")
        for m in worker.get("messages", [])
        if m.get("role") == "assistant"
    ]


def renditions(
    stack: FaultStack, states: tuple[str, ...] = FINAL
) -> list[tuple[dict[str, Any], str]]:
    """Each final message (of the given states) with what it shows (`squashed`): its own text,
    plus the continuation replies and the attached `answer.md` that follow it in its thread."""
    found: list[tuple[dict[str, Any], str]] = []
    for channel in sorted(stack.record.channels):
        for root in stack.messages(channel):
            thread = [root, *root.get("replies", [])]
            for i, message in enumerate(thread):
                if not message.get("bot_id"):
                    continue
                if _text(message).startswith(states) or ("✅" in states and streamed(message)):
                    found.append((message, _rendition(stack, message, thread[i + 1 :])))
    return found


def streamed(message: dict[str, Any]) -> bool:
    """A natively streamed answer, closed whole: its text is the answer's markdown (a stream
    finished by an edit is a card, with ✅ or ❌ like any)."""
    stream = message.get("stream") or {}
    text = _text(message)
    return stream.get("state") == "completed" and bool(text) and not text.startswith(FINAL)


def stuck_streams(stack: FaultStack) -> list[str]:
    """Streamed messages never closed: Slack shows them as still being written."""
    return [
        f"{m['ts']} still streams: {_text(m)[:60]!r}"
        for m in bot_messages(stack)
        if (m.get("stream") or {}).get("state") == "streaming" and not m.get("deleted")
    ]


def _text(message: dict[str, Any]) -> str:
    return str(message.get("text") or "")


def _rendition(stack: FaultStack, card: dict[str, Any], later: list[dict[str, Any]]) -> str:
    seen = squashed(_text(card) if streamed(card) else section_text(card))
    for message in later:
        if not message.get("bot_id"):
            continue
        if _text(message).startswith(FINAL) or WORKING.search(_text(message)):
            break  # the next run's card
        if _text(message).startswith("(continued"):
            seen += squashed(section_text(message))
        for file in message.get("files", []):
            if file.get("name") == "answer.md":
                content = stack.slack.get(f"/_emulator/files/{file['id']}").text
                seen += "".join(answer_words(content))
    return seen


def turn_answers(stack: FaultStack) -> list[tuple[str, int, str]]:
    """(worker id, turn number, answer) of every finished turn with a text answer."""
    found = []
    for listed in stack.workers():
        worker = stack.worker(listed["id"])
        for number, text in enumerate(assistant_texts(worker), start=1):
            if answer_words(text):
                found.append((listed["id"], number, text))
    return found


def host_of(label: str) -> str | None:
    """The host a link label names, if it looks like a url or a domain."""
    cleaned = slack_unescape(_visible(label))
    cleaned = cleaned.strip().strip("*_~`()[]<>\"' ").strip()
    match = HOST_LIKE.match(cleaned)
    if match is None:
        return None
    if "://" not in cleaned and FILE_EXTENSION.fullmatch(match.group("tld").lower()):
        return None
    return bare_host(match.group("host"))


def looks_like_host(label: str) -> bool:
    return host_of(label) is not None


def bare_host(host: str) -> str:
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def working_cards(stack: FaultStack) -> list[str]:
    """Messages that still say ⏳ Working / 🕒 Queued, or still stream."""
    found = stuck_streams(stack)
    for message in bot_messages(stack):
        if message.get("deleted"):
            continue
        texts = [str(message.get("text", "")), *mrkdwn_strings({"blocks": message.get("blocks")})]
        if any(WORKING.search(t) for t in texts):
            found.append(f"{message['ts']} still says {str(message.get('text'))[:60]!r}")
    return found
