"""RunView → Block Kit: the live card, and the final card with its continuations.

Pure functions, so every Slack limit can be checked in unit tests: ≤ 50 blocks a message (we keep
≤ 45 so action blocks can be added later), section text ≤ 3,000 chars, and about 11,000 chars of
answer a message (Slack rejects a message whose blocks are much longer than ~13k in total).
Untrusted text (instruction, answer, titles, errors) always goes through `mrkdwn.escape`, and
every link through `links.link`, which refuses labels that name another site. Rendering is
bounded whatever the answer's length: only a window of it is converted (see the constants).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..core.gathered import ReplyMode
from ..core.views import RunView
from ..handinger.models import Source
from .blocks import SECTION_LIMIT, SUMMARY_CHARS, Block, SlackMessage, context, section
from .context_wording import MODE_LABEL, MODE_SWITCH
from .links import link
from .markdown import markdown_head, markdown_tail, markdown_to_mrkdwn
from .mrkdwn import (
    defuse_fences,
    escape,
    plain_excerpt,
    split_mrkdwn,
    tail_mrkdwn,
    truncate_mrkdwn,
    visible,
)
from .wording import WAITING, digest_title, failure_text

MAX_BLOCKS = 45
MESSAGE_ANSWER_CHARS = 11_000
MESSAGE_TOTAL_CHARS = 12_000
"""All text of one message; the card's instruction, sources and footer count against it."""
MAX_CONTINUATIONS = 4
VISIBLE_ANSWER_CHARS = 40_000
"""Past this much text a thread is a wall; the reader is better served by the attached file."""
FINAL_SOURCE_CHARS = VISIBLE_ANSWER_CHARS + 20_000
"""How much of an answer's markdown is converted for its messages; the rest is in the file."""
PREVIEW_CHARS = 2800
PREVIEW_SOURCE_CHARS = 3 * PREVIEW_CHARS
"""How much of the end of a streaming answer is converted for its preview: rendering stays
bounded however long the answer grows, so an edit costs the same at 1 KB and at 1 MB."""
INSTRUCTION_CHARS = 1500
MAX_SOURCES = 10
STATUS_CHARS = 1500
SOURCES_CHARS = 2800
FOOTER_CHARS = 1000
"""Caps of the card's fixed parts (status line, sources, footer): with the header, they leave
room for at least a section of answer within what Slack takes in one message (fuzzed against
the Slack emulator's `msg_blocks_too_long` in tests/test_render_fuzz.py)."""
ATTACHMENT_NAME = "answer.md"
ATTACHMENT_NOTE = f"_The full answer is attached as {ATTACHMENT_NAME}._"
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")


@dataclass(frozen=True, slots=True)
class FinalMessages:
    """The finished card, the thread replies carrying the rest of the answer, and maybe a file."""

    card: SlackMessage
    continuations: list[SlackMessage]
    attachment: tuple[str, str] | None


# ---- small formatting helpers ------------------------------------------------------------------


def format_duration(seconds: float) -> str:
    """`12s`, `1m 05s`, `1h 02m`: precise when short, readable when long."""
    total = max(0, int(seconds))
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m {total % 60:02d}s"
    return f"{total // 3600}h {total % 3600 // 60:02d}m"


def format_cost(usd: float) -> str:
    """Four decimals below a dollar (agent turns are often cents), two above."""
    return f"${usd:,.4f}" if usd < 1 else f"${usd:,.2f}"


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"


def _mention(requester: str) -> str:
    """A live `<@U…>` only for a real user id; anything else is shown as inert text."""
    return f"<@{requester}>" if _USER_ID.fullmatch(requester) else escape(requester)


# ---- blocks shared by the live and the final card ----------------------------------------------


def _header_blocks(view: RunView) -> list[Block]:
    """Who asked, with what budget, and the instruction; only on a root card."""
    blocks: list[Block] = []
    if view.digest is not None:
        title = " ".join(digest_title(view.digest).split())
        title = title if len(title) <= SUMMARY_CHARS else title[: SUMMARY_CHARS - 1] + "…"
        blocks.append(section(f"*{escape(title)}*"))
    if view.is_followup:
        return blocks
    meta = [f"{_mention(view.requester)} asked"] if view.requester else []
    if view.budget:
        meta.append(f"budget: {escape(view.budget)}")
    if meta:
        blocks.append(context(" · ".join(meta)))
    instruction = view.instruction.strip()
    if visible(instruction):
        if len(instruction) > INSTRUCTION_CHARS:
            instruction = instruction[: INSTRUCTION_CHARS - 1].rstrip() + "…"
        quoted = "\n".join(f"> {escape(line)}".rstrip() for line in instruction.split("\n"))
        blocks.append(section(truncate_mrkdwn(defuse_fences(quoted), SECTION_LIMIT)))
    return blocks


def _duration(view: RunView) -> float:
    if view.usage is not None and view.usage.duration_ms is not None:
        return view.usage.duration_ms / 1000
    return view.elapsed


def _status_text(view: RunView) -> str:
    if view.state == "queued":
        parts = [":clock3: Queued"]
    elif view.state == "working":
        parts = [f":hourglass_flowing_sand: Working · {format_duration(view.elapsed)}"]
        if view.step:
            parts.append(escape(view.step.strip()[:100]))
    elif view.state == "completed":
        parts = [f":white_check_mark: Done in {format_duration(_duration(view))}"]
    else:
        error = failure_text(view.error).strip() if view.error is not None else ""
        error = error if len(error) <= 1000 else error[:999] + "…"
        parts = [f":x: Failed — {escape(error)}" if error else ":x: Failed"]
    if view.waiting:
        parts.append(WAITING)
    return truncate_mrkdwn(" · ".join(parts), STATUS_CHARS)


def _notification(view: RunView) -> str:
    if view.state == "completed":
        excerpt = plain_excerpt(view.text, SUMMARY_CHARS)
        return f"✅ {excerpt}" if visible(excerpt) else "✅ Done"
    if view.state == "failed":
        error = failure_text(view.error) if view.error is not None else ""
        return f"❌ Failed: {plain_excerpt(error or 'the run did not finish', SUMMARY_CHARS)}"
    icon = "🕒 Queued" if view.state == "queued" else "⏳ Working"
    if view.is_followup or not view.instruction.strip():
        return f"{icon}…"
    return f"{icon}: {plain_excerpt(view.instruction, SUMMARY_CHARS)}"


# ---- the live card -------------------------------------------------------------------------------


def render_progress(view: RunView) -> SlackMessage:
    """The card while the answer streams: the latest ≤ 2,800 chars of it, never the whole.

    Only the end of the answer is converted (`PREVIEW_SOURCE_CHARS`), so the cost of an edit
    does not grow with the answer.
    """
    blocks = [*_header_blocks(view), context(_status_text(view))]
    source, clipped = markdown_tail(view.text, PREVIEW_SOURCE_CHARS)
    answer = markdown_to_mrkdwn(source)
    shown_part = clipped or len(answer) > PREVIEW_CHARS
    preview = tail_mrkdwn(answer, PREVIEW_CHARS)[0] if shown_part else answer
    total = len(view.text)
    if not visible(preview):
        if shown_part:
            blocks.append(
                context(
                    f"_The end of the answer so far ({total:,} characters) has no text to show._"
                )
            )
        elif view.state == "working":
            blocks.append(context("_Thinking…_"))
    else:
        if shown_part:
            blocks.append(
                context(f"_…showing the end of the answer so far ({total:,} characters)_")
            )
        blocks.append(section(preview))
    return SlackMessage(text=_notification(view), blocks=blocks)


# ---- the final card ------------------------------------------------------------------------------


def _source_blocks(sources: tuple[Source, ...]) -> list[Block]:
    """Numbered links, titles escaped; an unsafe url is shown as text, never as a link."""
    if not sources:
        return []
    lines = ["*Sources*"]
    shown = 0
    for number, source in enumerate(sources[:MAX_SOURCES], start=1):
        title = " ".join((source.title or "").split())
        title = title if len(title) <= SUMMARY_CHARS else title[: SUMMARY_CHARS - 1] + "…"
        url = source.url.strip()
        line = f"{number}. {truncate_mrkdwn(link(url, title), 1000)}"
        if sum(len(known) + 1 for known in lines) + len(line) > SOURCES_CHARS:
            break
        lines.append(line)
        shown = number
    if len(sources) > shown:
        lines.append(f"and {len(sources) - shown} more")
    return [section(part) for part in split_mrkdwn("\n".join(lines), SECTION_LIMIT)]


def _footer_block(view: RunView) -> Block:
    """Duration, steps, tokens, cost, credits and the worker id; whatever the API returned."""
    usage, costs = view.usage, view.costs
    parts = [f":stopwatch: {format_duration(_duration(view))}"]
    steps = view.steps if view.steps is not None else (usage.steps if usage else None)
    if steps is not None:
        parts.append(f"{steps:,} step{'' if steps == 1 else 's'}")
    if usage is not None and usage.total_tokens is not None:
        parts.append(f"{usage.total_tokens:,} tokens")
    cost = costs.total_usd if costs is not None else None
    if cost is None and usage is not None:
        cost = usage.cost_usd
    if cost is not None:
        parts.append(format_cost(cost))
    if usage is not None and usage.credits is not None:
        parts.append(f"{_number(usage.credits)} credits")
    if view.worker_id:
        parts.append(f"worker `{escape(view.worker_id.replace('`', ''))}`")
    if view.reply_mode is not None and view.worker_id:
        parts.append(MODE_LABEL[view.reply_mode])
    return context(truncate_mrkdwn(" · ".join(parts), FOOTER_CHARS))


RUN_ACTIONS = "run_actions"
"""The `action_id` of a finished run's overflow menu; option values are `<action>:<run id>`."""


def _actions_block(view: RunView) -> list[Block]:
    """The next steps for a finished run: its worker's email address, a refresh, a schedule."""
    if view.worker_id is None:
        return []

    def option(label: str, action: str) -> dict[str, Any]:
        return {
            "text": {"type": "plain_text", "text": label},
            "value": f"{action}:{view.run_id}",
        }

    return [
        {
            "type": "actions",
            "elements": [
                {
                    "type": "overflow",
                    "action_id": RUN_ACTIONS,
                    "options": [
                        option("Email address", "email"),
                        option("Refresh", "refresh"),
                        option("Schedule this…", "schedule"),
                        *_mode_switch(view, option),
                    ],
                }
            ],
        }
    ]


def _mode_switch(view: RunView, option: Callable[[str, str], dict[str, Any]]) -> list[Any]:
    """The option that switches who the thread's worker answers (to the other mode)."""
    if view.reply_mode is None:
        return []
    other: ReplyMode = "auto" if view.reply_mode == "mention" else "mention"
    return [option(MODE_SWITCH[other], f"mode-{other}")]


FEEDBACK = "answer_feedback"
"""The `action_id` of a finished answer's 👍/👎; each button's value is `<up|down>:<run id>`."""


def _feedback_block(view: RunView) -> list[Block]:
    """👍 / 👎 under a finished answer (Slack's `feedback_buttons`), recorded per run."""
    if view.state != "completed":
        return []

    def button(emoji: str, label: str, vote: str) -> dict[str, Any]:
        return {
            "text": {"type": "plain_text", "text": emoji},
            "accessibility_label": label,
            "value": f"{vote}:{view.run_id}",
        }

    return [
        {
            "type": "context_actions",
            "elements": [
                {
                    "type": "feedback_buttons",
                    "action_id": FEEDBACK,
                    "positive_button": button("👍", "Good answer", "up"),
                    "negative_button": button("👎", "Bad answer", "down"),
                }
            ],
        }
    ]


def render_stream_end(view: RunView) -> list[Block]:
    """What closes a natively streamed answer, under its text: its status (done, and how
    long it took), sources, footer, the run's menu and the feedback buttons
    (`chat.stopStream`'s `blocks`)."""
    return [
        context(_status_text(view)),
        *_source_blocks(view.sources),
        _footer_block(view),
        *_actions_block(view),
        *_feedback_block(view),
    ]


def _paginate(
    sections: list[str], card_blocks: int, card_chars: int
) -> tuple[list[list[str]], bool]:
    """Fill the card, then up to four replies; report whether the answer had to be cut."""
    pages: list[list[str]] = [[]]
    used = 0
    chars = 0
    for text in sections:
        if used + len(text) > VISIBLE_ANSWER_CHARS:
            return pages, True
        on_card = len(pages) == 1
        room = card_blocks if on_card else MAX_BLOCKS - 2  # "(continued)" + a note
        budget = card_chars if on_card else MESSAGE_ANSWER_CHARS
        page = pages[-1]
        if page and (chars + len(text) > budget or len(page) >= room):
            if len(pages) > MAX_CONTINUATIONS:
                return pages, True
            page = []
            pages.append(page)
            chars = 0
        page.append(text)
        chars += len(text)
        used += len(text)
    return pages, False


def render_final(view: RunView) -> FinalMessages:
    """The finished card from the worker's final state, plus continuations or an attachment."""
    header = _header_blocks(view)
    status = context(_status_text(view))
    source, clipped = markdown_head(view.text, FINAL_SOURCE_CHARS)
    sections = split_mrkdwn(markdown_to_mrkdwn(source), SECTION_LIMIT)
    if not sections and view.state == "completed" and not clipped:
        sections = ["_The worker finished without a text answer._"]
    sources = _source_blocks(view.sources)
    footer = _footer_block(view)
    actions = [*_actions_block(view), *_feedback_block(view)]
    fixed = [*header, status, *sources, footer, *actions]
    fixed_chars = len(json.dumps(fixed, ensure_ascii=False)) + len(ATTACHMENT_NOTE)
    card_chars = max(SECTION_LIMIT, min(MESSAGE_ANSWER_CHARS, MESSAGE_TOTAL_CHARS - fixed_chars))
    pages, cut = _paginate(sections, max(1, MAX_BLOCKS - len(fixed) - 1), card_chars)
    cut = cut or clipped
    page_blocks = [[section(text) for text in page] for page in pages]
    if cut:
        page_blocks[-1].append(section(ATTACHMENT_NOTE))
    card_blocks = [*header, status, *page_blocks[0], *sources, footer, *actions]
    total = len(pages)
    continuations = [
        SlackMessage(
            text=f"(continued {number}/{total})",
            blocks=[context(f"(continued {number}/{total})"), *blocks],
        )
        for number, blocks in enumerate(page_blocks[1:], start=2)
    ]
    return FinalMessages(
        card=SlackMessage(text=_notification(view), blocks=card_blocks),
        continuations=continuations,
        attachment=(ATTACHMENT_NAME, view.text) if cut else None,
    )
