"""The promises every fault try is judged by, checked once over both emulators' state.

Each check returns a list of problems (empty: the promise held). `check_all` runs them all and
raises `InvariantViolation`, which names the promises broken, so the suite's table can say
which invariant failed. The checks read only what users and Handinger would see: Slack's
channel history with every edit, ephemeral messages, files and ack records; Handinger's
workers and their stored messages. They never read the bot's database.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from emulators.credentials import APP_TOKEN, BOT_TOKEN, HANDINGER_KEY, SIGNING_SECRET
from tests.faults.reading import (
    CONTROLS,
    SLACK_LINK,
    SPECIAL_MENTION,
    USER_MENTION,
    all_strings,
    answer_words,
    bare_host,
    bot_messages,
    host_of,
    mrkdwn_strings,
    renditions,
    section_text,
    shown,
    shows,
    squashed,
    turn_answers,
    working_cards,
)

if TYPE_CHECKING:
    from tests.faults.harness import FaultStack

SECRETS = (HANDINGER_KEY, BOT_TOKEN, APP_TOKEN, SIGNING_SECRET)
"""The credentials the stack runs with: the Handinger key, the bot and app tokens, the
signing secret."""
SECRET_SHAPES = re.compile(r"\bBearer\s+[\w.~+/-]{4,}=*|\bxox[abpr]-\w[\w-]*|\bxapp-\w[\w-]*")
"""A bearer credential (RFC 6750's token characters) or a Slack token; a masked one such as
`Bearer [redacted]` shows nothing."""
DISTINCT_WORDS = 8
ACK_TIMEOUT = 3.0  # the Slack emulator's default --ack-timeout


class InvariantViolation(AssertionError):
    """One or more promises broken; `names` says which, for the table."""

    def __init__(self, problems: dict[str, list[str]]) -> None:
        self.names = sorted(problems)
        lines = [f"{name}: {p}" for name, found in problems.items() for p in found[:5]]
        super().__init__("invariants broken:\n" + "\n".join(lines))


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
        for text, count in Counter(worker["inputs"]).items():
            if text in typed and count > typed[text]:
                problems.append(f"{text!r} sent {count}× to {worker['id']}, typed {typed[text]}×")
    return problems


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


def deceptive_links(stack: FaultStack) -> list[str]:
    """No `<url|label>` whose label looks like a url or domain other than url's own."""
    problems = []
    for where, item in shown(stack):
        for text in mrkdwn_strings(item):
            for m in SLACK_LINK.finditer(text):
                named = host_of(m.group(2))
                if named is None:
                    continue
                target = bare_host(urlsplit(m.group(1)).hostname or "")
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
                controls = [c for c in value if unicodedata.category(c) in CONTROLS]
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


# ---- outcomes some tries expect (a try's `expect`) ----------------------------------------------


def file_shared_once(stack: FaultStack) -> list[str]:
    """The worker's one file (the emulator's `[[files=1]]`) is shared exactly once."""
    names = [
        f["name"]
        for m in stack.bot_messages()
        for r in [m, *m.get("replies", [])]
        for f in r.get("files", [])
    ]
    if names.count("reports-q3-summary.md") != 1:
        return [f"the worker's file was shared {names.count('reports-q3-summary.md')}×: {names}"]
    return []


def email_told(stack: FaultStack) -> list[str]:
    """The worker's email address reached the user who asked for it."""
    if any("inbound.handinger.test" in str(e.get("text")) for e in stack.ephemerals()):
        return []
    return ["the worker's email address never reached the user"]


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
