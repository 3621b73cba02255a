"""Slack's message limits: text length, Block Kit shape and sizes, markdown totals.

Errors mirror Slack's: `invalid_blocks` carries `errors` with JSON pointers (as observed from
real Slack), `msg_blocks_too_many` past 50 blocks, `msg_too_long` or a truncation warning past
40,000 characters of `text` depending on `--long-text`.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import ApiError

MAX_TEXT = 40_000
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_MARKDOWN_TOTAL = 12_000
MAX_BLOCK_ID = 255
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_ATTACHMENTS = 100
WARNING_MESSAGES = {
    "message_truncated": "[WARN] Your message was truncated but still posted. "
    "The `text` field accepts up to 40,000 characters.",
}
KNOWN_BLOCKS = {
    "actions",
    "context",
    "context_actions",
    "divider",
    "file",
    "header",
    "image",
    "input",
    "markdown",
    "rich_text",
    "section",
    "table",
    "video",
    "plan",
    "task_card",
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
    """Raise Slack's error for the first kind of problem found (all problems listed)."""
    if len(blocks) > max_blocks:
        raise ApiError("msg_blocks_too_many")
    problems: list[str] = []
    markdown_total = 0
    for index, block in enumerate(blocks):
        where = f"/blocks/{index}"
        if not isinstance(block, dict) or block.get("type") not in KNOWN_BLOCKS:
            problems.append(f"unknown or missing block type [json-pointer:{where}/type]")
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str) and len(block_id) > MAX_BLOCK_ID:
            problems.append(f"must be less than 256 characters [json-pointer:{where}/block_id]")
        kind = block["type"]
        if kind == "section":
            problems += _section(block, where)
        elif kind == "header":
            problems += _text_object(block.get("text"), f"{where}/text", MAX_HEADER_TEXT, True)
        elif kind == "markdown":
            text = block.get("text")
            if not isinstance(text, str):
                problems.append(f"must provide a string [json-pointer:{where}/text]")
            else:
                markdown_total += len(text)
        elif kind == "context":
            problems += _elements(block, where, MAX_CONTEXT_ELEMENTS)
        elif kind == "actions":
            problems += _elements(block, where, MAX_ACTIONS_ELEMENTS)
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


def _section(block: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    text = block.get("text")
    fields = block.get("fields")
    if text is None and not fields:
        problems.append(f"must provide text or fields [json-pointer:{where}]")
    if text is not None:
        problems += _text_object(text, f"{where}/text", MAX_SECTION_TEXT, False)
    if fields is not None:
        if not isinstance(fields, list) or len(fields) > MAX_FIELDS:
            problems.append(f"must provide no more than 10 items [json-pointer:{where}/fields]")
        else:
            for i, item in enumerate(fields):
                problems += _text_object(item, f"{where}/fields/{i}", MAX_FIELD_TEXT, False)
    return problems


def _text_object(obj: Any, where: str, limit: int, plain_only: bool) -> list[str]:
    allowed = {"plain_text"} if plain_only else {"plain_text", "mrkdwn"}
    if not isinstance(obj, dict) or obj.get("type") not in allowed:
        return [f"must be a valid text object [json-pointer:{where}]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"must be a non-empty string [json-pointer:{where}/text]"]
    if len(text) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{where}/text]"]
    return []


def _elements(block: dict[str, Any], where: str, limit: int) -> list[str]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        return [f"must provide at least one element [json-pointer:{where}/elements]"]
    if len(elements) > limit:
        return [f"must provide no more than {limit} items [json-pointer:{where}/elements]"]
    problems: list[str] = []
    for i, element in enumerate(elements):
        if not isinstance(element, dict) or not isinstance(element.get("type"), str):
            problems.append(f"element needs a type [json-pointer:{where}/elements/{i}]")
    return problems
