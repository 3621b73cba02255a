"""Block Kit for schedules: the `/handinger schedules` list and the schedule modal."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ..budgets import BUDGETS
from ..store import Schedule
from .blocks import SECTION_LIMIT, SlackMessage, budget_input, section
from .mrkdwn import escape, plain_excerpt, truncate_mrkdwn

CANCEL_SCHEDULE = "cancel_schedule"
SCHEDULE_MODAL = "schedule_modal"
WHEN_BLOCK, INSTRUCTION_BLOCK, BUDGET_BLOCK = "when", "instruction", "budget"
MAX_LISTED = 40
LIST_CHARS = 12_000
"""How much of the list one message holds: Slack refuses blocks much longer than ~13k in total
(`msg_blocks_too_long`), whatever the number of blocks."""


def _when(moment: float | None) -> str:
    if moment is None:
        return "not known"
    stamp = int(moment)
    fallback = datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{stamp}^{{date_short_pretty}} {{time}}|{fallback}>"


def render_schedule_list(schedules: list[Schedule]) -> SlackMessage:
    """This channel's schedules, each with a Cancel button."""
    if not schedules:
        text = "No schedules in this channel. Create one with `/handinger schedule every 1d …`."
        return SlackMessage(text="No schedules here", blocks=[section(escape(text))])
    blocks: list[dict[str, Any]] = [section("*Schedules in this channel*")]
    size = 0
    for shown, schedule in enumerate(schedules):
        line = (
            f"*{escape(schedule.description)}* · next {_when(schedule.next_run_at)}\n"
            f"by <@{schedule.creator_id}> · “{plain_excerpt(schedule.input, 120)}” · "
            f"`{escape(schedule.id)}`"
        )
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": truncate_mrkdwn(line, SECTION_LIMIT)},
                "accessory": {
                    "type": "button",
                    "action_id": CANCEL_SCHEDULE,
                    "text": {"type": "plain_text", "text": "Cancel"},
                    "style": "danger",
                    "value": schedule.id,
                    "confirm": {
                        "title": {"type": "plain_text", "text": "Cancel this schedule?"},
                        "text": {"type": "plain_text", "text": "No more digests will be posted."},
                        "confirm": {"type": "plain_text", "text": "Cancel it"},
                        "deny": {"type": "plain_text", "text": "Keep it"},
                    },
                },
            }
        )
        size += len(json.dumps(blocks[-1], ensure_ascii=False))
        if size > LIST_CHARS or len(blocks) > MAX_LISTED:
            blocks[-1] = section(
                f"…and {len(schedules) - shown} more. Cancel some with the buttons above to see "
                "the rest."
            )
            break
    return SlackMessage(text="Schedules in this channel", blocks=blocks)


def schedule_modal(
    *, channel_id: str, run_id: int | None, instruction: str, budget: str
) -> dict[str, Any]:
    """The modal of **Schedule this…** and of `/handinger schedule` without arguments."""
    return {
        "type": "modal",
        "callback_id": SCHEDULE_MODAL,
        "private_metadata": json.dumps({"channel": channel_id, "run": run_id}),
        "title": {"type": "plain_text", "text": "Schedule"},
        "submit": {"type": "plain_text", "text": "Schedule"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": WHEN_BLOCK,
                "label": {"type": "plain_text", "text": "When"},
                "hint": {
                    "type": "plain_text",
                    "text": "every 30m · in 2h · at 2026-12-01 09:00 · daily 09:00 · "
                    'weekdays 09:00 · weekly mon 09:00 · cron "0 9 * * 1-5"',
                },
                "element": {"type": "plain_text_input", "action_id": "value"},
            },
            {
                "type": "input",
                "block_id": INSTRUCTION_BLOCK,
                "label": {"type": "plain_text", "text": "Instruction"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "multiline": True,
                    "initial_value": instruction[:3000],
                },
            },
            budget_input(BUDGET_BLOCK, BUDGETS, budget if budget in BUDGETS else BUDGETS[1]),
        ],
    }


def modal_values(view: dict[str, Any]) -> tuple[str, str, str]:
    """(when, instruction, budget) as the user submitted them."""
    values = view.get("state", {}).get("values", {})

    def text(block: str) -> str:
        return str(values.get(block, {}).get("value", {}).get("value") or "").strip()

    selected = values.get(BUDGET_BLOCK, {}).get("value", {}).get("selected_option") or {}
    return text(WHEN_BLOCK), text(INSTRUCTION_BLOCK), str(selected.get("value") or "")
