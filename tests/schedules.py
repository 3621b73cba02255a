"""Helpers for the end-to-end schedule tests: digests, the emulator's clock, confirmations and
the schedule modal."""

from __future__ import annotations

from typing import Any

from tests.e2e import Stack, wait_until

FAST_CHECKS = {"HANDINGER_SCHEDULE_CHECK_SECONDS": "0.5"}


def digests(stack: Stack) -> list[dict[str, Any]]:
    return [m for m in stack.bot_messages() if "Scheduled digest" in str(m["blocks"])]


def has_digests(stack: Stack, count: int) -> bool:
    return len(digests(stack)) >= count


def advance(stack: Stack, seconds: float) -> None:
    stack.handinger.post("/_emulator/clock", json={"advance": seconds}).raise_for_status()


def assistant_texts(stack: Stack, worker_id: str) -> list[str]:
    messages = stack.worker(worker_id)["messages"]
    return [
        "".join(p.get("text", "") for p in m["parts"] if p.get("type") == "text")
        for m in messages
        if m.get("role") == "assistant"
    ]


def schedule_id_from(stack: Stack, user: str = "U0001") -> str:
    said = wait_until(
        lambda: [e for e in stack.ephemeral(user) if "Scheduled:" in str(e)], what="confirmation"
    )
    text = str(said[-1])
    start = text.index("unschedule ") + len("unschedule ")
    return text[start:].split("`")[0].strip()


def open_modals(stack: Stack) -> list[dict[str, Any]]:
    views: list[dict[str, Any]] = stack.slack.get("/_emulator/views").json()["views"]
    return [v for v in views if v.get("callback_id") == "schedule_modal"]


def submit(stack: Stack, view_id: str, when: str, instruction: str) -> dict[str, Any]:
    values = {
        "when": {"value": {"type": "plain_text_input", "value": when}},
        "instruction": {"value": {"type": "plain_text_input", "value": instruction}},
        "budget": {
            "value": {"type": "static_select", "selected_option": {"value": "low"}},
        },
    }
    response = stack.slack.post(
        f"/_emulator/views/{view_id}/submit", json={"user": "U0001", "values": values}
    )
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result
