"""Reading a message body (`text`, `blocks`, `markdown_text`, ...) from any posting method.

chat.postMessage, chat.postEphemeral, chat.update and response_url posts accept the same
fields with the same limits; this is the one place those rules live.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ApiError
from .state import JSON
from .validate import (
    check_markdown_text,
    check_text,
    json_arg,
    parse_attachments,
    parse_blocks,
)


@dataclass
class Content:
    text: str | None
    blocks: list[JSON] | None
    attachments: list[JSON] | None
    metadata: JSON | None
    given: set[str]
    warnings: list[str]

    @property
    def empty(self) -> bool:
        return not self.text and not self.blocks and not self.attachments


def read_content(params: dict[str, Any], long_text: str) -> Content:
    """Validate and normalise the message fields present in `params`."""
    given = {k for k in ("text", "blocks", "attachments", "metadata") if params.get(k) is not None}
    raw_text = params.get("text")
    text = None if raw_text is None else str(raw_text)
    blocks = parse_blocks(params.get("blocks"))
    attachments = parse_attachments(params.get("attachments"))
    metadata = json_arg(params.get("metadata"), "metadata", "invalid_metadata_format")
    if metadata is not None and not isinstance(metadata, dict):
        raise ApiError("invalid_metadata_format")
    markdown = params.get("markdown_text")
    warnings: list[str] = []
    if markdown is not None:
        if text or blocks:
            raise ApiError("markdown_text_conflict")
        markdown = str(markdown)
        check_markdown_text(markdown)
        text = markdown
        blocks = [{"type": "markdown", "text": markdown}]
        given |= {"text", "blocks"}
    elif text is not None:
        text, warnings = check_text(text, long_text)
    return Content(text, blocks, attachments, metadata, given, warnings)
