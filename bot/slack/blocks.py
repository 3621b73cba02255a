"""The Block Kit every message is made of: a message, its sections and context lines.

Shared by the run cards (`render`), the one-section replies (`replies`) and the schedule views, so
Slack's limits on a section are stated once; and the budget picker both modals show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Block = dict[str, Any]

SECTION_LIMIT = 3000
SUMMARY_CHARS = 150
"""How long a notification (a message's `text`) or a one-line title gets."""


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """What to send: `text` is the short, escaped notification/fallback; `blocks` the layout."""

    text: str
    blocks: list[Block]


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def ephemeral(message: SlackMessage) -> dict[str, Any]:
    """The arguments of an ack or `respond` that only the person who asked will see."""
    return {"response_type": "ephemeral", "text": message.text, "blocks": message.blocks}


def budget_input(block_id: str, choices: Sequence[str], initial: str) -> Block:
    """A modal's budget picker over `choices` with `initial` chosen (the first choice if it is
    not one): the Ask and Schedule modals offer budgets alike."""
    options = [{"text": {"type": "plain_text", "text": name}, "value": name} for name in choices]
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": "Budget"},
        "element": {
            "type": "static_select",
            "action_id": "value",
            "options": options,
            "initial_option": next((o for o in options if o["value"] == initial), options[0]),
        },
    }
