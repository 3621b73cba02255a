"""Helpers of the end-to-end tests about what the agent sees: people posting with files, the
inputs Handinger recorded, and the files the app downloaded."""

from __future__ import annotations

import base64
from typing import Any

from fpdf import FPDF

from tests.e2e import Stack, wait_until

BOT = "<@U0BOT>"
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
        "0000000d4944415478da63f8cfc0f01f0005000201a5e2b1f10000000049454e44ae426082"
    )
).decode()


def pdf_base64(text: str) -> str:
    """A one-page PDF whose text layer holds `text` (made with fpdf2)."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 10, text)
    return base64.b64encode(bytes(pdf.output())).decode()


def post(
    stack: Stack,
    text: str,
    *,
    user: str = "U0001",
    thread_ts: str | None = None,
    files: list[dict[str, Any]] | None = None,
    channel: str = "C0001",
) -> dict[str, Any]:
    body: dict[str, Any] = {"channel": channel, "user": user, "text": text}
    if thread_ts:
        body["thread_ts"] = thread_ts
    if files:
        body["files"] = files
    response = stack.slack.post("/_emulator/messages", json=body)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def inputs(stack: Stack, turns: int = 1, count: int = 1) -> list[list[str]]:
    """The inputs of every worker, once `count` workers have at least `turns` turns each."""

    def ready() -> list[list[str]] | None:
        workers = stack.workers()
        done = [w["inputs"] for w in workers if len(w["inputs"]) >= turns]
        return done if len(done) >= count else None

    return wait_until(ready, what=f"{count} worker(s) with {turns} turn(s)")


def downloads(stack: Stack) -> list[dict[str, Any]]:
    """Every `url_private` request the Slack emulator served (or refused)."""
    return stack.calls("url_private")


def thread_replies(stack: Stack, thread_ts: str) -> list[dict[str, Any]]:
    root = stack.message(thread_ts) or {}
    replies: list[dict[str, Any]] = root.get("replies", [])
    return replies


def notice(stack: Stack, thread_ts: str, needle: str) -> dict[str, Any]:
    """The app's reply in the thread whose text holds `needle`."""

    def found() -> dict[str, Any] | None:
        return next(
            (
                r
                for r in thread_replies(stack, thread_ts)
                if r.get("bot_id") and needle in str(r.get("text"))
            ),
            None,
        )

    return wait_until(found, what=f"a notice with {needle!r}")
