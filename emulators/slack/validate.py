"""Slack's message limits: text length, Block Kit shape and sizes, markdown totals.

Errors mirror Slack's: `msg_blocks_too_many` past 50 blocks, `msg_blocks_too_long` when all
blocks together are too long, `invalid_blocks` with `errors` carrying JSON pointers (as observed
from real Slack) for everything `blockkit` finds, `msg_too_long` or a truncation warning past
40,000 characters of `text` depending on `--long-text`.
"""

from __future__ import annotations

import json
from typing import Any

from .blockkit import blocks_problems
from .errors import ApiError

MAX_TEXT = 40_000
MAX_BLOCKS = 50
MAX_MARKDOWN_TOTAL = 12_000
MAX_BLOCKS_LENGTH = 13_300
"""The whole `blocks` of one message (`msg_blocks_too_long`). Slack does not document the
number or how it counts; a Slack engineer described it as 12,000 text characters plus a buffer
for the blocks' structure, and markdown-only messages are refused past about 13,300 characters
(bolt-js issues 2509 and 2867). The emulator counts the blocks as compact JSON whose strings
count at their own length (escapes are not counted twice)."""
MAX_ATTACHMENTS = 100
WARNING_MESSAGES = {
    "message_truncated": "[WARN] Your message was truncated but still posted. "
    "The `text` field accepts up to 40,000 characters.",
}


def json_arg(value: Any, name: str, error: str = "invalid_arguments") -> Any:
    """Form-encoded callers send arrays and objects as JSON strings; JSON callers send them raw."""
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else None
        except json.JSONDecodeError as exc:
            raise ApiError(error, response_metadata={"messages": [f"[ERROR] bad {name}"]}) from exc
    return value


def check_text(text: str, long_text: str) -> tuple[str, list[str]]:
    """Return the text to store and any warning codes, or raise `msg_too_long`."""
    if len(text) <= MAX_TEXT:
        return text, []
    if long_text == "reject":
        raise ApiError("msg_too_long")
    return text[:MAX_TEXT], ["message_truncated"]


def check_markdown_text(markdown: str) -> None:
    if len(markdown) > MAX_MARKDOWN_TOTAL:
        raise ApiError("msg_too_long")


def parse_blocks(raw: Any) -> list[dict[str, Any]] | None:
    """Decode and validate a `blocks` argument; None when it was not given."""
    if raw is None:
        return None
    blocks = json_arg(raw, "blocks", "invalid_blocks_format")
    if blocks is None:
        return None
    if not isinstance(blocks, list):
        raise ApiError("invalid_blocks_format")
    check_blocks(blocks)
    return blocks


def parse_attachments(raw: Any) -> list[dict[str, Any]] | None:
    if raw is None:
        return None
    attachments = json_arg(raw, "attachments", "invalid_attachments")
    if attachments is None:
        return None
    if not isinstance(attachments, list):
        raise ApiError("invalid_attachments")
    if len(attachments) > MAX_ATTACHMENTS:
        raise ApiError("too_many_attachments")
    return attachments


def check_blocks(blocks: list[Any], max_blocks: int = MAX_BLOCKS) -> None:
    """Raise Slack's error for the first kind of problem found: too many blocks, too long in
    total, then `invalid_blocks` listing every problem of the blocks themselves."""
    if len(blocks) > max_blocks:
        raise ApiError("msg_blocks_too_many")
    if blocks_length(blocks) > MAX_BLOCKS_LENGTH:
        raise ApiError("msg_blocks_too_long")
    problems = blocks_problems(blocks, "/blocks")
    markdown_total = sum(
        len(b["text"])
        for b in blocks
        if isinstance(b, dict) and b.get("type") == "markdown" and isinstance(b.get("text"), str)
    )
    if markdown_total > MAX_MARKDOWN_TOTAL:
        problems.append(
            "the cumulative length of markdown blocks must be no more than 12000 characters "
            "[json-pointer:/blocks]"
        )
    if problems:
        raise ApiError(
            "invalid_blocks",
            errors=problems,
            response_metadata={"messages": [f"[ERROR] {p}" for p in problems]},
        )


def blocks_length(value: Any) -> int:
    """The length of `value` written as compact JSON, each string counted by its characters."""
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, dict):
        inner = sum(len(str(k)) + 3 + blocks_length(v) for k, v in value.items())
        return 2 + inner + max(len(value) - 1, 0)
    if isinstance(value, list):
        return 2 + sum(blocks_length(v) for v in value) + max(len(value) - 1, 0)
    return len(json.dumps(value))
