"""The one-section replies: notices (errors, file problems), `/handinger help` and `status`.

Untrusted text is escaped here like on the cards (`mrkdwn.escape`), and links go through
`links.link`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..budgets import BUDGETS
from .blocks import SECTION_LIMIT, SUMMARY_CHARS, SlackMessage, section
from .commands import RESERVED_WORDS
from .links import link
from .mrkdwn import escape, plain_excerpt, truncate_mrkdwn, visible


def render_notice(text: str, trusted: bool = False) -> SlackMessage:
    """A one-section message (errors, file problems); escaped unless the caller wrote it."""
    body = text.strip() if trusted else escape(text.strip())
    body = truncate_mrkdwn(body, SECTION_LIMIT) if visible(body) else "(no details)"
    return SlackMessage(text=truncate_mrkdwn(body, SUMMARY_CHARS), blocks=[section(body)])


def render_help(command: str = "/handinger", max_budget: str | None = None) -> SlackMessage:
    """Ephemeral usage: what the command does, its options, threads, mentions and `--`."""
    budgets = "|".join(BUDGETS)
    words = ", ".join(f"`{word}`" for word in RESERVED_WORDS)
    limit = f" The highest budget allowed here is `{max_budget}`." if max_budget else ""
    lines = [
        f"*`{command} <instruction>`* starts a Handinger agent worker on your instruction and"
        f" posts its answer here as it works, e.g. `{command} summarise this week's incidents`.",
        f"• `--budget {budgets}` (or `-b`) sets how much the worker may spend. Put it before or"
        f" after the instruction: `{command} --budget high compare our three vendors`.{limit}",
        "• Reply in the card's thread to continue the same worker; no @mention needed.",
        "• Mention @Handinger in a channel, or send the app a direct message: that works too.",
        f"• `{command} status` lists your recent workers in this channel.",
        f"• `{command} schedule every 1d <instruction>` posts a digest here on a schedule"
        " (also `in 45m`, `at 09:00`, `daily 09:00`, `weekdays 09:00`, `weekly mon 09:00`,"
        f' `cron "0 9 * * 1-5"`); `{command} schedules` lists this channel\'s schedules and'
        f" `{command} unschedule <id>` cancels one.",
        f"• `{command} help` shows this message.",
        f"• {words} are command words. To start an instruction with one of them, put it after"
        f" `--`: `{command} -- status of the deploy`.",
    ]
    return SlackMessage(
        text=f"How to use {escape(command)}", blocks=[section(escape("\n".join(lines)))]
    )


@dataclass(frozen=True)
class StatusRow:
    """One of a user's recent workers, for `/handinger status`."""

    instruction: str
    state: str
    created_at: float
    permalink: str | None
    votes: tuple[int, int] = (0, 0)
    """👍 and 👎 on the worker's answers."""


STATE_LABELS = {
    "queued": ":clock3: queued",
    "starting": ":hourglass_flowing_sand: starting",
    "running": ":hourglass_flowing_sand: working",
    "completed": ":white_check_mark: done",
    "failed": ":x: failed",
}


def render_status(rows: list[StatusRow], command: str = "/handinger") -> SlackMessage:
    """The caller's recent workers in this channel, newest first, each with a thread link."""
    if not rows:
        text = (
            f"You have not started any workers in this channel yet. Try `{command} <instruction>`."
        )
        return SlackMessage(text="No workers yet", blocks=[section(escape(text))])
    lines = []
    for row in rows:
        when = int(row.created_at)
        fallback = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(when))
        date = f"<!date^{when}^{{date_short_pretty}} {{time}}|{fallback}>"
        excerpt = plain_excerpt(row.instruction, 80)
        label = STATE_LABELS.get(row.state, escape(row.state))
        thread = f" · {link(row.permalink, 'thread')}" if row.permalink else ""
        up, down = row.votes
        votes = f" · 👍 {up} 👎 {down}" if up or down else ""
        lines.append(f"• {label} · {date} · “{excerpt}”{thread}{votes}")
    body = "*Your recent workers here*\n" + "\n".join(lines)
    return SlackMessage(text="Your recent workers", blocks=[section(body)])
