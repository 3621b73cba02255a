"""Decode the worker event stream into one internal event type.

The API does not document its SSE payloads (ARCHITECTURE.md, rule 2), so the decoder accepts the
three shapes a server could plausibly send and maps them onto `StreamEvent`:

- whole Worker snapshots: `{"object": "worker", ...}`;
- Vercel AI SDK UI-message chunks: `{"type": "text-delta", "delta": ...}`, `tool-*`, `source-url`,
  `file`, `finish`, `error`, and stored UI messages `{"role": ..., "parts": [...]}` when replayed;
- OpenAI-Responses-style events: `{"type": "response.output_text.delta", ...}`,
  `response.completed`, `response.failed`.

Anything else (comments, empty data, `[DONE]`, unknown types, non-JSON) is skipped: an unknown
chunk must never end a run.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from .models import Source, Usage, Worker, WorkerFile

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Started:
    """A turn began. The worker's id is whatever the server told us, if anything."""

    worker_id: str | None = None


@dataclass(frozen=True, slots=True)
class TextDelta:
    """More answer text, to append to what the turn has said so far."""

    text: str


@dataclass(frozen=True, slots=True)
class StepProgress:
    """The agent moved to a new step, usually a tool call. `label` is fit to show users."""

    label: str


@dataclass(frozen=True, slots=True)
class SourceFound:
    source: Source


@dataclass(frozen=True, slots=True)
class FileFound:
    file: WorkerFile


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The whole worker as the server sees it now; its `text` replaces any accumulated text."""

    worker: Worker


@dataclass(frozen=True, slots=True)
class HistoryMessage:
    """A stored message replayed at the start of a stream (an earlier turn, or the user's input)."""

    role: str
    text: str


@dataclass(frozen=True, slots=True)
class Finished:
    """The turn completed. The final truth still comes from `GET /api/workers/{id}`."""

    usage: Usage | None = None


@dataclass(frozen=True, slots=True)
class Failed:
    """The turn failed; `message` is the server's explanation."""

    message: str


StreamEvent = (
    Started
    | TextDelta
    | StepProgress
    | SourceFound
    | FileFound
    | Snapshot
    | HistoryMessage
    | Finished
    | Failed
)

_IGNORED_DATA = {"", "[DONE]"}


def decode_data(data: str) -> list[StreamEvent]:
    """Decode the `data` of one SSE event into zero or more stream events."""
    stripped = data.strip()
    if stripped in _IGNORED_DATA:
        return []
    try:
        payload: Any = json.loads(stripped)
    except ValueError:
        log.debug("skipping non-JSON stream data: %.80r", stripped)
        return []
    return decode_payload(payload)


def decode_payload(payload: Any) -> list[StreamEvent]:
    """Decode one already-parsed JSON value (a list is decoded item by item)."""
    if isinstance(payload, list):
        return [event for item in payload for event in decode_payload(item)]
    if isinstance(payload, str):
        # The SDK types stream items as strings; a string holding JSON is unwrapped once.
        if payload.strip().startswith(("{", "[")):
            return decode_data(payload)
        return []
    if not isinstance(payload, dict):
        return []
    if payload.get("object") == "worker":
        return _decode_snapshot(payload)
    kind = payload.get("type")
    if isinstance(kind, str):
        if kind.startswith("response."):
            return _decode_responses(kind, payload)
        return _decode_ui_chunk(kind, payload)
    if "role" in payload and isinstance(payload.get("parts"), list):
        return [_decode_ui_message(payload)]
    return []


def _decode_snapshot(payload: dict[str, Any]) -> list[StreamEvent]:
    try:
        worker = Worker.model_validate(payload)
    except ValidationError:
        log.debug("skipping malformed worker snapshot")
        return []
    events: list[StreamEvent] = [Snapshot(worker)]
    if not worker.is_running:
        message = worker.error_message
        events.append(Failed(message) if message else Finished(worker.usage))
    return events


def _decode_ui_message(payload: dict[str, Any]) -> HistoryMessage:
    texts = [
        part.get("text", "")
        for part in payload["parts"]
        if isinstance(part, dict) and part.get("type") == "text"
    ]
    return HistoryMessage(role=str(payload.get("role")), text="".join(str(t) for t in texts))


def _str(payload: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = payload.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _decode_ui_chunk(kind: str, payload: dict[str, Any]) -> list[StreamEvent]:
    if kind == "text-delta":
        delta = _str(payload, "delta", "textDelta")
        return [TextDelta(delta)] if delta else []
    if kind == "start":
        metadata = payload.get("messageMetadata")
        worker_id = _str(metadata, "workerId", "worker_id") if isinstance(metadata, dict) else None
        return [Started(worker_id=worker_id)]
    if kind in ("tool-input-start", "tool-input-available"):
        tool = _str(payload, "toolName") or "tool"
        return [StepProgress(label=humanize_tool(tool))]
    if kind == "source-url":
        url = _str(payload, "url")
        if not url:
            return []
        source = Source(id=_str(payload, "sourceId") or url, url=url, title=_str(payload, "title"))
        return [SourceFound(source)]
    if kind == "file":
        url = _str(payload, "url")
        if not url:
            return []
        media_type = _str(payload, "mediaType") or "application/octet-stream"
        file = WorkerFile(url=url, media_type=media_type, filename=_str(payload, "filename"))
        return [FileFound(file)]
    if kind == "finish":
        return [Finished()]
    if kind in ("error", "abort"):
        return [Failed(_str(payload, "errorText", "reason", "message") or "the turn failed")]
    return []


def _decode_responses(kind: str, payload: dict[str, Any]) -> list[StreamEvent]:
    response = payload.get("response")
    response = response if isinstance(response, dict) else {}
    if kind == "response.created":
        return [Started(worker_id=_str(response, "id"))]
    if kind == "response.output_text.delta":
        delta = _str(payload, "delta")
        return [TextDelta(delta)] if delta else []
    if kind == "response.output_item.added":
        item = payload.get("item")
        if isinstance(item, dict) and item.get("type") != "message":
            tool = _str(item, "name", "type") or "tool"
            return [StepProgress(label=humanize_tool(tool))]
        return []
    if kind == "response.completed":
        usage = response.get("usage")
        try:
            parsed = Usage.model_validate(usage) if isinstance(usage, dict) else None
        except ValidationError:
            parsed = None
        return [Finished(parsed)]
    if kind in ("response.failed", "response.incomplete"):
        error = response.get("error")
        message = _str(error, "message") if isinstance(error, dict) else None
        return [Failed(message or _str(payload, "message") or "the turn failed")]
    return []


def humanize_tool(name: str) -> str:
    """`webSearch` / `web_search` / `web-search` → `web search`, for status lines."""
    out: list[str] = []
    for i, ch in enumerate(name):
        if ch in "_-.":
            out.append(" ")
        elif ch.isupper() and i and not name[i - 1].isupper():
            out.append(" " + ch.lower())
        else:
            out.append(ch.lower() if ch.isupper() else ch)
    return " ".join("".join(out).split()) or name
