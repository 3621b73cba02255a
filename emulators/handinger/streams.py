"""Server-sent events in the three wire formats a client must survive.

The real format is undocumented (see reference/handinger-api-facts.md §1), so the emulator can
speak whole Worker snapshots (`worker`), Vercel AI SDK v5 UI message chunks (`ai-sdk`) or
OpenAI-Responses-style events (`responses`). Only `data: <json>\\n\\n` frames are written: no
`event:`, `id:` or `retry:` lines, which the official SDK's decoder would choke on.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from .holds import wait_if_held
from .render import snapshot_at, worker_json
from .state import Emulator, Event, StreamFault, Turn, Worker

_SNAPSHOT_KINDS = ("start", "tool_call", "text_delta", "source", "file", "finish", "error")


class StreamClosed(Exception):
    """The client went away, or a stream fault cut the connection."""


def render(fmt: str, worker: Worker, turn: Turn, event: Event) -> list[Any]:
    """The frames (JSON values) one neutral event becomes in format `fmt`."""
    if fmt == "worker":
        return [snapshot_at(worker, turn, event)] if event.kind in _SNAPSHOT_KINDS else []
    if fmt == "responses":
        return _responses(worker, turn, event)
    return _ai_sdk(worker, event)


def _ai_sdk(worker: Worker, event: Event) -> list[Any]:
    d = event.data
    kind = event.kind
    if kind == "start":
        meta = {"workerId": worker.id}
        return [{"type": "start", "messageId": d["messageId"], "messageMetadata": meta}]
    if kind == "step_start":
        return [{"type": "start-step"}]
    if kind == "step_finish":
        return [{"type": "finish-step"}]
    if kind == "tool_call":
        return [{"type": "tool-input-available", **d}]
    if kind == "tool_result":
        return [
            {"type": "tool-output-available", "toolCallId": d["toolCallId"], "output": d["output"]}
        ]
    if kind in ("text_start", "text_end"):
        return [{"type": kind.replace("_", "-"), "id": d["id"]}]
    if kind == "text_delta":
        return [{"type": "text-delta", "id": d["id"], "delta": d["delta"]}]
    if kind == "source":
        return [{"type": "source-url", **d}]
    if kind == "file":
        return [{"type": "file", "url": d["url"], "mediaType": d["mediaType"]}]
    if kind == "finish":
        meta = {"workerId": worker.id, "usage": d["usage"]}
        return [{"type": "finish", "finishReason": d["finishReason"], "messageMetadata": meta}]
    if kind == "error":
        return [{"type": "error", "errorText": d["errorText"]}]
    return []


def _responses(worker: Worker, turn: Turn, event: Event) -> list[Any]:
    d = event.data
    kind = event.kind
    response: dict[str, Any] = {"id": worker.id, "object": "response"}
    if kind == "start":
        return [{"type": "response.created", "response": {**response, "status": "in_progress"}}]
    if kind in ("tool_call", "tool_result"):
        item = {
            "type": "function_call",
            "id": d["toolCallId"],
            "call_id": d["toolCallId"],
            "name": d["toolName"],
            "arguments": json.dumps(d.get("input", {})),
        }
        if kind == "tool_call":
            return [{"type": "response.output_item.added", "item": item}]
        return [{"type": "response.output_item.done", "item": {**item, "status": "completed"}}]
    if kind == "text_delta":
        return [
            {"type": "response.output_text.delta", "item_id": turn.message_id, "delta": d["delta"]}
        ]
    if kind == "text_end":
        text = turn.text[: event.text_len]
        return [{"type": "response.output_text.done", "item_id": turn.message_id, "text": text}]
    if kind == "source":
        note = {"type": "url_citation", "url": d["url"], "title": d["title"]}
        return [{"type": "response.output_text.annotation.added", "annotation": note}]
    if kind == "finish":
        done = {**response, "status": "completed", "output_text": d["text"], "usage": d["usage"]}
        return [{"type": "response.completed", "response": done}]
    if kind == "error":
        failed = {
            **response,
            "status": "failed",
            "error": {"message": d["errorText"]},
            "output_text": d["text"],
        }
        return [{"type": "response.failed", "response": failed}]
    return []


class SseWriter:
    """Writes frames, applies a stream fault (cut or stall), and ends with `[DONE]` if asked."""

    def __init__(
        self, request: web.Request, fault: StreamFault | None, sentinel: bool, fmt: str
    ) -> None:
        self.request = request
        self.fault = fault
        self.sentinel = sentinel
        self.response = web.StreamResponse(
            status=200, headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        if fmt == "ai-sdk":
            self.response.headers["x-vercel-ai-ui-message-stream"] = "v1"
        self.sent = 0
        self._stalled = False
        self._injected = False

    async def open(self, extra_headers: dict[str, str]) -> None:
        self.response.headers.update(extra_headers)
        try:
            await self.response.prepare(self.request)
        except ConnectionError as exc:  # the client left while the response was held
            raise StreamClosed from exc
        await self._maybe_cut()

    async def send(self, frame: Any) -> None:
        await self._maybe_stall()
        await self._maybe_inject()
        await self._write(f"data: {json.dumps(frame, ensure_ascii=False)}\n\n")

    async def finish(self) -> None:
        await self._maybe_stall()
        await self._maybe_inject()
        if self.sentinel:
            await self._write("data: [DONE]\n\n")
        await self.response.write_eof()

    async def _write(self, text: str) -> None:
        try:
            await self.response.write(text.encode())
        except ConnectionError as exc:
            raise StreamClosed from exc
        self.sent += 1
        await self._maybe_cut()

    async def _maybe_stall(self) -> None:
        fault = self.fault
        if fault is None or fault.stall_after is None or self._stalled:
            return
        if self.sent >= fault.stall_after:
            self._stalled = True
            await asyncio.sleep(fault.stall_seconds)

    async def _maybe_inject(self) -> None:
        """Malformed SSE: the fault's raw text, once, as if it were part of the stream."""
        fault = self.fault
        if fault is None or fault.inject_after is None or self._injected:
            return
        if self.sent >= fault.inject_after:
            self._injected = True
            try:
                await self.response.write(fault.inject.encode("utf-8", "surrogateescape"))
            except ConnectionError as exc:
                raise StreamClosed from exc

    async def _maybe_cut(self) -> None:
        fault = self.fault
        if fault is not None and fault.cut_after is not None and self.sent >= fault.cut_after:
            transport = self.request.transport
            if transport is not None:
                transport.close()  # flushes what was written, never sends the last chunk
            raise StreamClosed


async def _stream_turn(writer: SseWriter, fmt: str, worker: Worker, turn: Turn, index: int) -> None:
    """Send the turn's events from `index` on (buffered ones first), until the turn ends."""
    while True:
        await turn.wait_beyond(index)
        while index < len(turn.events):
            for frame in render(fmt, worker, turn, turn.events[index]):
                await writer.send(frame)
            index += 1
        if turn.done and index >= len(turn.events):
            return


async def serve_stream(
    request: web.Request,
    emu: Emulator,
    worker: Worker,
    only: Turn | None = None,
    headers: dict[str, str] | None = None,
) -> web.StreamResponse:
    """SSE for `/stream` (replay, then the live turn) or for one new turn (`only`, from its
    start); counted in `emu.streams` from before the headers are sent until the stream is
    closed. A held request (`holds.py`) waits for its release before the headers."""
    fmt = emu.config.stream_format
    live = only or worker.live_turn
    if only is None and live is None and emu.config.idle_stream == "204":
        return web.Response(status=204)
    writer = SseWriter(request, emu.take_stream_fault(), emu.config.done_sentinel, fmt)
    frames: list[Any] = []
    start = 0
    if only is None and fmt == "worker":
        # Snapshots are cumulative: one current snapshot stands for all buffered chunks.
        start = len(live.events) if live is not None else 0
        frames = [snapshot_at(worker, live, live.events[-1]) if live else worker_json(worker)]
    elif only is None:
        frames = list(worker.messages)  # stored messages, incl. the live turn's user message
    await wait_if_held(request, emu.held)
    gauge = emu.streams
    gauge.opened()
    try:
        await writer.open(headers or {"X-Worker-Id": worker.id})
        for frame in frames:
            await writer.send(frame)
        if live is not None:
            await _stream_turn(writer, fmt, worker, live, start)
        await writer.finish()
    except StreamClosed:
        pass
    finally:
        gauge.closed()
    return writer.response
