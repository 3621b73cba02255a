"""The "Ask Handinger" message shortcut's modal: an instruction and a budget."""

from __future__ import annotations

import json
from typing import Any

from ..budgets import BUDGETS, Budget
from .blocks import budget_input
from .context_wording import SHORTCUT_HINT, SHORTCUT_SUBMIT, SHORTCUT_TITLE

ASK_SHORTCUT = "ask_handinger"
"""The `callback_id` of the message shortcut (manifest.yml, `features.shortcuts`)."""
ASK_MODAL = "ask_handinger_modal"
INSTRUCTION_BLOCK, BUDGET_BLOCK = "instruction", "budget"


def ask_modal(meta: dict[str, Any], default: Budget, highest: Budget) -> dict[str, Any]:
    """The modal; `meta` (the message's channel, ts, thread) rides in `private_metadata`."""
    return {
        "type": "modal",
        "callback_id": ASK_MODAL,
        "private_metadata": json.dumps(meta),
        "title": {"type": "plain_text", "text": SHORTCUT_TITLE},
        "submit": {"type": "plain_text", "text": SHORTCUT_SUBMIT},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": INSTRUCTION_BLOCK,
                "label": {"type": "plain_text", "text": "Instruction"},
                "hint": {"type": "plain_text", "text": SHORTCUT_HINT},
                "element": {"type": "plain_text_input", "action_id": "value", "multiline": True},
            },
            budget_input(BUDGET_BLOCK, BUDGETS[: BUDGETS.index(highest) + 1], default),
        ],
    }


def ask_values(view: dict[str, Any]) -> tuple[str, str]:
    """(instruction, budget) as the user submitted them."""
    values = view.get("state", {}).get("values", {})
    text = values.get(INSTRUCTION_BLOCK, {}).get("value", {}).get("value") or ""
    selected = values.get(BUDGET_BLOCK, {}).get("value", {}).get("selected_option") or {}
    return str(text).strip(), str(selected.get("value") or "")
