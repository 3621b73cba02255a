"""Fuzz the renderers against the Slack emulator's own validation: whatever a worker answers and
whatever a user types, every message the bot would send is one Slack accepts.

Cases are generated from fixed seeds (the same ones every run), so a failure names its seed and
reproduces. Each case mixes the hard parts: answers up to 300,000 characters, deep and broken
markdown, many sources with long titles and URLs, long file names, long instructions and hostile
text (mentions, `<!channel>`, escapes, control characters, emoji, right-to-left marks). The
messages are those of a whole run: progress cards, the final card and its continuations,
digests, file notices, ephemerals (help, status, errors, confirmations), the schedule list and
the schedule modal.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import pytest

from bot.budgets import BUDGETS
from bot.core.files import safe_filename
from bot.core.ports import FileProblem, ScheduleMade, ScheduleNotMade
from bot.core.problems import diagnose
from bot.core.views import DigestHeading, RunState, RunView
from bot.handinger.errors import APIStatusError
from bot.handinger.models import Costs, IntervalWhen, Source, Usage
from bot.slack.blocks import SlackMessage
from bot.slack.commands import CommandError, parse_command
from bot.slack.mrkdwn import escape
from bot.slack.refused import (
    ARCHIVED,
    ARCHIVED_MEANWHILE,
    CANNOT_POST,
    DIRECT_MESSAGE,
    NOT_IN_PRIVATE,
)
from bot.slack.render import render_final, render_progress
from bot.slack.replies import StatusRow, render_help, render_notice, render_status
from bot.slack.schedule_views import render_schedule_list, schedule_modal
from bot.slack.wording import file_problem_text, notice_text, problem_text
from bot.store import Schedule
from emulators.slack.errors import ApiError
from emulators.slack.validate import check_blocks, check_text
from emulators.slack.view_schema import view_problems

SEEDS = range(40)
PERMALINK = (
    "https://a-workspace-domain-21.slack.com/archives/C0123456789/p1700000000123456"
    "?thread_ts=1700000000.123456&cid=C0123456789"
)
"""As long as Slack's permalinks get (they come from Slack, not from users)."""
HUGE = 300_000
HOSTILE = [
    "<!channel>",
    "<!here|here>",
    "@everyone",
    "<@U0001>",
    "<#C0001|general>",
    "<https://evil.test|click me>",
    "&amp;&lt;&gt;",
    "&",
    "<",
    ">",
    "```",
    "`",
    "*",
    "_",
    "~",
    ">>>",
    "\u202e",
    "\u200b",
    "\x00",
    "\x1b[31m",
    "\ufeff",
    "😀",
    "👩\u200d👩\u200d👧",
    "e\u0301",
    "\ud7ff",
    "\r\n",
    "\t",
    "[x](javascript:alert(1))",
    "<script>",
    "|",
    "\\",
    '"',
]


class Maker:
    """Random text of the kinds that break renderers, from one seed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def word(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.15:
            return rng.choice(HOSTILE)
        if roll < 0.02 + 0.15:
            return "x" * rng.randint(200, 5000)  # no place to break
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyzé") for _ in range(rng.randint(1, 12)))

    def line(self, words: int) -> str:
        return " ".join(self.word() for _ in range(words))

    def markdown(self, size: int) -> str:
        """Markdown-ish text of about `size` characters: nesting, fences, tables, links."""
        rng = self.rng
        parts: list[str] = []
        total = 0
        while total < size:
            kind = rng.randrange(12)
            if kind == 0:
                depth = rng.randint(1, 40)
                part = "\n".join("  " * d + f"- {self.line(3)}" for d in range(depth))
            elif kind == 1:
                part = ">" * rng.randint(1, 60) + " " + self.line(8)
            elif kind == 2:
                part = "#" * rng.randint(1, 8) + " " + self.line(6)
            elif kind == 3:
                fence = "```" + rng.choice(["", "python", "md", "```"])
                closing = "\n```" if rng.random() < 0.7 else ""
                part = fence + "\n" + "\n".join(self.line(5) for _ in range(10)) + closing
            elif kind == 4:
                cols = rng.randint(1, 12)
                rows = [" | ".join(self.line(1) for _ in range(cols)) for _ in range(6)]
                part = "\n".join([rows[0], " | ".join(["---"] * cols), *rows[1:]])
            elif kind == 5:
                url = "https://example.test/" + "p" * rng.randint(1, 4000)
                part = f"[{self.line(3)}]({url}) ![{self.line(2)}]({url})"
            elif kind == 6:
                part = "*" * rng.randint(1, 6) + self.line(4) + "_" * rng.randint(1, 6)
            elif kind == 7:
                part = "\n" * rng.randint(1, 30)
            elif kind == 8:
                part = "\n".join(self.word() for _ in range(rng.randint(10, 400)))
            elif kind == 9:
                part = rng.choice(HOSTILE) * rng.randint(1, 2000)
            elif kind == 10:
                part = f"{rng.randint(1, 999)}. " + self.line(10)
            else:
                part = self.line(rng.randint(5, 80))
            parts.append(part)
            total += len(part) + 2
        return "\n\n".join(parts)[: max(size, 1)]

    def answer(self) -> str:
        rng = self.rng
        size = rng.choice([0, 1, 50, 2_900, 3_001, 11_000, 12_500, 40_000, 90_000, HUGE])
        return self.markdown(size) if size else ""

    def sources(self) -> tuple[Source, ...]:
        rng = self.rng
        count = rng.choice([0, 1, 9, 10, 11, 60, 500])
        found = []
        for i in range(count):
            scheme = rng.choice(["https://", "http://", "javascript:", "ftp://", ""])
            url = scheme + "site.test/" + "q" * rng.randint(0, 5000) + rng.choice(HOSTILE)
            title = self.line(rng.randint(0, 60)) if rng.random() < 0.9 else None
            found.append(Source(id=str(i), url=url, title=title))
        return tuple(found)

    def instruction(self) -> str:
        size = self.rng.choice([1, 80, 1_500, 4_000, 40_000])
        return self.markdown(size).strip() or "x"

    def view(self, state: RunState, **changes: Any) -> RunView:
        rng = self.rng
        usage = Usage(
            total_tokens=rng.randint(0, 10**9),
            steps=rng.randint(0, 10**6),
            cost_usd=rng.random() * 10**6,
            credits=rng.random() * 10**7,
            duration_ms=rng.randint(0, 10**10),
        )
        view = RunView(
            run_id=rng.randint(1, 10**9),
            state=state,
            requester=rng.choice(["U0001", "W123ABC", "<!channel>", "", "U" + "A" * 300]),
            instruction=self.instruction(),
            is_followup=rng.random() < 0.3,
            text=self.answer(),
            step=self.line(rng.randint(0, 200)) or None,
            elapsed=rng.random() * 10**6,
            sources=self.sources(),
            usage=usage if rng.random() < 0.8 else None,
            costs=Costs(model_cost_usd=rng.random() * 100) if rng.random() < 0.5 else None,
            steps=rng.choice([None, 1, 10**6]),
            worker_id=rng.choice([None, "wrk_" + "a" * rng.randint(1, 400) + "`"]),
            budget=rng.choice([*BUDGETS, "<!here>" * 40]),
            error=self.line(rng.randint(1, 1000)) if state == "failed" else None,
            waiting=rng.random() < 0.5,
            digest=None,
        )
        for name, value in changes.items():
            view = _replace(view, name, value)
        return view

    def file_name(self) -> str:
        raw = "/".join(self.line(2) for _ in range(self.rng.randint(1, 30)))
        return safe_filename(raw + ".md", "text/markdown")

    def schedule(self) -> Schedule:
        rng = self.rng
        return Schedule(
            id="sch_" + "s" * rng.randint(1, 40),  # Handinger's ids
            team_id="T0001",
            channel_id="C0001",
            worker_id="wrk_1",
            creator_id="U0001",
            input=self.instruction(),
            budget=rng.choice(BUDGETS),
            type="interval",
            description=self.line(rng.randint(1, 8)),  # the bot's words for the timing
            status="active",
            created_at=time.time(),
            next_run_at=rng.choice([None, time.time() + rng.random() * 10**8]),
        )


def _replace(view: RunView, name: str, value: Any) -> RunView:
    fields = {f: getattr(view, f) for f in view.__dataclass_fields__}
    fields[name] = value
    return RunView(**fields)


def accepted(message: SlackMessage, what: str) -> None:
    """Slack takes this message: the emulator's own checks, called as its Web API calls them."""
    try:
        check_blocks(message.blocks)
        check_text(message.text, "reject")
    except ApiError as error:
        detail = error.extra.get("errors", [])[:5]
        raise AssertionError(f"{what}: Slack answers {error.error} {detail}") from error
    assert message.text, f"{what}: no fallback text"


def run_messages(make: Maker) -> list[tuple[str, SlackMessage]]:
    """Everything one run of the bot posts or edits, in every state."""
    out: list[tuple[str, SlackMessage]] = []
    for state in ("queued", "working", "completed", "failed"):
        view = make.view(state)
        out.append((f"progress card ({state})", render_progress(view)))
        if state in ("completed", "failed"):
            final = render_final(view)
            out.append((f"final card ({state})", final.card))
            out += [(f"continuation {i}", m) for i, m in enumerate(final.continuations, 1)]
            if final.attachment is not None:
                name, content = final.attachment
                assert content == view.text and name.endswith(".md")
    heading = DigestHeading(make.line(make.rng.randint(1, 300)), late=make.rng.random() < 0.5)
    digest = render_final(make.view("completed", digest=heading, is_followup=False))
    out.append(("digest", digest.card))
    out += [(f"digest continuation {i}", m) for i, m in enumerate(digest.continuations, 1)]
    return out


def notices(make: Maker) -> list[tuple[str, SlackMessage]]:
    """File notices in threads, and what users are told privately."""
    rng = make.rng
    name = make.file_name()
    assert len(name) <= 120
    problems = [
        FileProblem("too-large", (name,), limit_bytes=10**9),
        FileProblem("missing", (name,)),
        FileProblem("unfetched", (name,)),
        FileProblem("not-uploaded", tuple(make.file_name() for _ in range(rng.randint(1, 40)))),
        FileProblem("foreign", (name,), url="https://x.test/" + "u" * rng.randint(1, 5000)),
    ]
    out = [("file notice", render_notice(file_problem_text(p))) for p in problems]
    when = IntervalWhen(interval_seconds=rng.choice([60, 3600, 86_400 * 30]))
    refused = APIStatusError(400, make.line(rng.randint(1, 500)))
    told = [
        notice_text(ScheduleMade(make.schedule(), when, time.time())),
        problem_text(diagnose(RuntimeError(make.line(50)))),
        notice_text(ScheduleNotMade(diagnose(refused))),
    ]
    out += [("ephemeral", render_notice(escape(text), trusted=True)) for text in told]
    out += [
        ("ephemeral", render_notice(text, trusted=True))
        for text in (NOT_IN_PRIVATE, CANNOT_POST, DIRECT_MESSAGE, ARCHIVED, ARCHIVED_MEANWHILE)
    ]
    parsed = parse_command(make.instruction())
    if isinstance(parsed, CommandError):
        out.append(("command error", render_notice(parsed.message, trusted=True)))
    out.append(("help", render_help("/handinger", rng.choice([*BUDGETS, None]))))
    rows = [
        StatusRow(
            make.instruction(),
            rng.choice(["queued", "starting", "running", "completed", "failed", "<!here>"]),
            time.time() - rng.random() * 10**8,
            rng.choice([None, PERMALINK]),
        )
        for _ in range(rng.randint(0, 10))
    ]
    out.append(("status", render_status(rows)))
    schedules = [make.schedule() for _ in range(rng.choice([0, 1, 40, 60]))]
    out.append(("schedule list", render_schedule_list(schedules)))
    return out


CHECKS: list[tuple[str, Callable[[Maker], list[tuple[str, SlackMessage]]]]] = [
    ("run", run_messages),
    ("notices", notices),
]


@pytest.mark.parametrize("seed", SEEDS)
def test_every_message_of_a_generated_run_is_accepted(seed: int) -> None:
    make = Maker(seed)
    for group, produce in CHECKS:
        for what, message in produce(make):
            accepted(message, f"seed {seed}, {group}: {what}")


@pytest.mark.parametrize("seed", SEEDS)
def test_the_schedule_modal_is_accepted(seed: int) -> None:
    make = Maker(seed)
    budget = make.rng.choice([*BUDGETS, "weird"])
    view = schedule_modal(
        channel_id="C" + "0" * make.rng.randint(1, 50),
        run_id=make.rng.choice([None, 10**12]),
        instruction=make.instruction(),
        budget=budget,
    )
    assert view_problems(view, "modal") == [], f"seed {seed}"
