"""Helpers of the end-to-end tests about a run's card: its menu, and making it stale so that a
Refresh shows."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e import Stack, wait_until

STALE = "stale"


def run_id_of(card: dict[str, Any]) -> str:
    """The run id in the finished card's ⋯ menu."""
    return next(
        str(option["value"]).split(":")[1]
        for block in card["blocks"]
        if block["type"] == "actions"
        for option in block["elements"][0]["options"]
    )


def click(stack: Stack, card: dict[str, Any], value: str) -> None:
    response = stack.slack.post(
        "/_emulator/actions",
        json={
            "channel": "C0001",
            "message_ts": card["ts"],
            "action_id": "run_actions",
            "user": "U0001",
            "value": value,
        },
    )
    response.raise_for_status()
    assert response.json()["ok"], response.json()


def make_stale(stack: Stack, card: dict[str, Any], **env: str) -> None:
    """Change the card's text behind the app's back (its menu stays), then restart the app,
    which forgets what its messages show: whatever a Refresh draws is then visible."""
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": STALE}}]
    blocks += [block for block in card["blocks"] if block["type"] == "actions"]  # its menu
    response = stack.slack.post(
        "/api/chat.update",
        data={
            "token": "xoxb-test",
            "channel": "C0001",
            "ts": card["ts"],
            "text": STALE,
            "blocks": json.dumps(blocks),
        },
    )
    assert response.json()["ok"], response.json()
    assert stack.bot is not None
    stack.bot.stop()
    stack.start_bot(**env)


def redrawn(stack: Stack, ts: str) -> dict[str, Any]:
    def changed() -> dict[str, Any] | None:
        message = stack.message(ts)
        return message if message is not None and message["text"] != STALE else None

    return wait_until(changed, what="the card redrawn")
