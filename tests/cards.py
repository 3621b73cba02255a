"""Helpers of the end-to-end tests about a run's card: its menu, making it stale so that a
Refresh shows, and the thread of continuations under a long answer."""

from __future__ import annotations

import json
import re
from typing import Any

from emulators.credentials import BOT_TOKEN
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
            "token": BOT_TOKEN,
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


def long_answer_thread(stack: Stack, card: dict[str, Any]) -> list[dict[str, Any]]:
    """The replies under a long answer's card once the whole answer file is attached."""

    def complete() -> list[dict[str, Any]] | None:
        replies: list[dict[str, Any]] = (stack.message(card["ts"]) or {}).get("replies", [])
        return replies if any(r.get("files") for r in replies) else None

    return wait_until(complete, what="continuations and the attached answer")


def assert_each_continuation_once(replies: list[dict[str, Any]]) -> None:
    numbers = [re.match(r"\(continued (\d+)/(\d+)\)", str(r["text"])) for r in replies]
    parts = [(int(m[1]), int(m[2])) for m in numbers if m]
    assert parts, "no continuation was posted"
    total = parts[0][1]  # the card is part 1
    assert sorted(parts) == [(n, total) for n in range(2, total + 1)]  # each once, in full
    assert [f["name"] for r in replies for f in r.get("files", [])] == ["answer.md"]
