"""The promises every fault try is judged by, checked once over both emulators' state.

Each check returns a list of problems (empty: the promise held). `check_all` runs them all and
raises `InvariantViolation`, which names the promises broken, so the suite's table can say
which invariant failed. The checks read only what users and Handinger would see: Slack's
channel history with every edit, ephemeral messages, files and ack records; Handinger's
workers and their stored messages. They never read the bot's database.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tests.e2e import KEY

if TYPE_CHECKING:
    from tests.faults.harness import FaultStack

SECRETS = (KEY, "xoxb-test", "xapp-test", "test-secret")
"""The credentials the stack runs with: the Handinger key, the bot and app tokens, the
signing secret."""
SECRET_SHAPES = re.compile(r"\bBearer\s+[\w.~+/-]{4,}=*|\bxox[abpr]-\w[\w-]*|\bxapp-\w[\w-]*")
"""A bearer credential (RFC 6750's token characters) or a Slack token; a masked one such as
`Bearer [redacted]` shows nothing."""
DISTINCT_WORDS = 8
ACK_TIMEOUT = 3.0  # the Slack emulator's default --ack-timeout

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


class InvariantViolation(AssertionError):
    """One or more promises broken; `names` says which, for the table."""

    def __init__(self, problems: dict[str, list[str]]) -> None:
        self.names = sorted(problems)
        lines = [f"{name}: {p}" for name, found in problems.items() for p in found[:5]]
        super().__init__("invariants broken:\n" + "\n".join(lines))


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

_CONTROLS = {"Cc", "Cf"}
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
        if c.isspace() or unicodedata.category(c) not in _CONTROLS
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
                if message.get("bot_id") and _text(message).startswith(states):
                    found.append((message, _rendition(stack, message, thread[i + 1 :])))
    return found


def _text(message: dict[str, Any]) -> str:
    return str(message.get("text") or "")


def _rendition(stack: FaultStack, card: dict[str, Any], later: list[dict[str, Any]]) -> str:
    seen = squashed(section_text(card))
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


def lost_answers(stack: FaultStack) -> list[str]:
    """Every turn's answer, as `GET /api/workers/{id}` has it, is shown by a ✅ message (no
    try makes a turn fail, so every one of them must end ✅ with its answer)."""
    shown_by = renditions(stack, ("✅",))
    problems = []
    for worker_id, number, text in turn_answers(stack):
        words = answer_words(text)
        if not any(shows(words, seen) for _, seen in shown_by):
            problems.append(f"turn {number} of {worker_id} is shown by no final message")
    return problems


# ---- duplicates ---------------------------------------------------------------------------------


def duplicate_workers(stack: FaultStack) -> list[str]:
    """No more workers than runs asked for, no more turns than instructions sent, and no
    instruction sent to Handinger more often than a user typed it."""
    record = stack.record
    workers = stack.workers()
    problems = []
    if len(workers) > len(record.new_runs):
        problems.append(f"{len(workers)} workers for {len(record.new_runs)} run(s) asked")
    turns = sum(w["turns"] for w in workers)
    allowed = len(record.new_runs) + len(record.followups) + record.extra_turns
    if turns > allowed:
        problems.append(f"{turns} turns for {allowed} instruction(s)")
    typed = record.typed()
    for worker in workers:
        for text, count in _counts(worker["inputs"]).items():
            if text in typed and count > typed[text]:
                problems.append(f"{text!r} sent {count}× to {worker['id']}, typed {typed[text]}×")
    return problems


def _counts(items: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


def duplicate_messages(stack: FaultStack) -> list[str]:
    """No turn is shown by two final messages, and no thread has the same message twice."""
    problems = []
    finals = renditions(stack)
    for worker_id, number, text in turn_answers(stack):
        head = answer_words(text)[:40]
        if len(head) < DISTINCT_WORDS:
            continue  # too few words to tell whose answer a message shows
        owners = [m["ts"] for m, _ in finals if shows(head, squashed(section_text(m)))]
        if len(owners) > 1:
            problems.append(f"turn {number} of {worker_id} shown by {len(owners)}: {owners}")
    seen: dict[tuple[Any, ...], str] = {}
    for message in bot_messages(stack):
        if message.get("deleted"):
            continue
        files = tuple(sorted(f.get("name", "") for f in message.get("files", [])))
        key = (
            message["channel"],
            message.get("thread_ts") or message["ts"],
            message.get("text"),
            repr(message.get("blocks")),
            files,
        )
        if key in seen:
            problems.append(f"{message['ts']} repeats {seen[key]}: {str(message.get('text'))[:80]}")
        seen.setdefault(key, message["ts"])
    return problems


# ---- what stays on screen -----------------------------------------------------------------------


def working_cards(stack: FaultStack) -> list[str]:
    """Messages that still say ⏳ Working / 🕒 Queued."""
    found = []
    for message in bot_messages(stack):
        if message.get("deleted"):
            continue
        texts = [str(message.get("text", "")), *mrkdwn_strings({"blocks": message.get("blocks")})]
        if any(WORKING.search(t) for t in texts):
            found.append(f"{message['ts']} still says {str(message.get('text'))[:60]!r}")
    return found


def live_mentions(stack: FaultStack) -> list[str]:
    """No @channel/@here/@everyone/user-group ping, and no user mention except of the people
    who acted (the card's “@alice asked”), anywhere the app wrote mrkdwn, in any version."""
    problems = []
    for where, item in shown(stack):
        for text in mrkdwn_strings(item):
            for m in SPECIAL_MENTION.finditer(text):
                problems.append(f"{where}: {m.group(0)}")
            for m in USER_MENTION.finditer(text):
                if m.group(1) not in stack.record.actors:
                    problems.append(f"{where}: {m.group(0)}")
    return sorted(set(problems))


def host_of(label: str) -> str | None:
    """The host a link label names, if it looks like a url or a domain."""
    cleaned = slack_unescape(_visible(label))
    cleaned = cleaned.strip().strip("*_~`()[]<>\"' ").strip()
    match = HOST_LIKE.match(cleaned)
    if match is None:
        return None
    if "://" not in cleaned and FILE_EXTENSION.fullmatch(match.group("tld").lower()):
        return None
    return _bare(match.group("host"))


def looks_like_host(label: str) -> bool:
    return host_of(label) is not None


def _bare(host: str) -> str:
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def deceptive_links(stack: FaultStack) -> list[str]:
    """No `<url|label>` whose label looks like a url or domain other than url's own."""
    problems = []
    for where, item in shown(stack):
        for text in mrkdwn_strings(item):
            for m in SLACK_LINK.finditer(text):
                named = host_of(m.group(2))
                if named is None:
                    continue
                target = _bare(urlsplit(m.group(1)).hostname or "")
                if named != target:
                    problems.append(f"{where}: {m.group(0)[:120]}")
    return sorted(set(problems))


def secrets_shown(stack: FaultStack) -> list[str]:
    """No credential, and nothing shaped like one, anywhere Slack users can read."""
    problems = []
    for where, item in shown(stack):
        for text in all_strings(item):
            for secret in SECRETS:
                if secret in text:
                    problems.append(f"{where}: contains {secret[:4]}…")
            for m in SECRET_SHAPES.finditer(text):
                problems.append(f"{where}: {m.group(0)[:12]}…")
    return sorted(set(problems))


def unsafe_file_titles(stack: FaultStack) -> list[str]:
    """File names and titles carry no control or bidi characters and no mention syntax."""
    problems = []
    for message in bot_messages(stack):
        for file in message.get("files", []):
            for field in ("name", "title"):
                value = str(file.get(field) or "")
                controls = [c for c in value if unicodedata.category(c) in _CONTROLS]
                if controls or SPECIAL_MENTION.search(value) or USER_MENTION.search(value):
                    problems.append(f"file {file.get('id')} {field} {value!r}")
    return problems


def late_acks(stack: FaultStack) -> list[str]:
    """Every command, click and event Slack delivered while the bot was up was acked in time.
    Deliveries whose ack window overlaps a crash or a restart are not the app's to answer."""
    problems = []
    for ack in stack.acks():
        sent = float(ack.get("sent_at") or 0)
        window = (sent, sent + ACK_TIMEOUT + 1.0)
        up = any(start <= window[0] and window[1] <= end for start, end in stack.record.alive)
        if up and not ack.get("acked"):
            problems.append(f"{ack['type']} {ack.get('event_type')} not acked ({ack.get('error')})")
    return problems


INVARIANTS: dict[str, Callable[[FaultStack], list[str]]] = {
    "lost answers": lost_answers,
    "duplicate workers": duplicate_workers,
    "duplicate messages": duplicate_messages,
    "cards left working": working_cards,
    "live mentions": live_mentions,
    "deceptive links": deceptive_links,
    "secrets shown": secrets_shown,
    "unsafe file titles": unsafe_file_titles,
    "late acks": late_acks,
}


def check_all(stack: FaultStack, outcome: list[str] | None = None) -> None:
    """Run every invariant (plus the try's own expected `outcome` problems, if any)."""
    problems = {name: found for name, check in INVARIANTS.items() if (found := check(stack))}
    if outcome:
        problems["outcome"] = outcome
    if problems:
        raise InvariantViolation(problems)
