"""chat.startStream / appendStream / stopStream and assistant.threads.setStatus.

A streamed message is an ordinary message whose `text` grows with each markdown chunk; every
append is kept as a version, so tests can see how the answer arrived.
"""

from __future__ import annotations

from typing import Any

from .calls import Call, Handler
from .errors import ApiError
from .methods_chat import resolve_thread
from .render import api_message
from .state import JSON, Channel, Message
from .validate import MAX_MARKDOWN_TOTAL, json_arg, parse_blocks

CHUNK_TYPES = {"markdown_text", "task_update", "plan_update", "blocks"}


def _chunks(call: Call) -> list[JSON]:
    """`markdown_text` (as one chunk) followed by `chunks`, validated."""
    out: list[JSON] = []
    markdown = call.text("markdown_text")
    if markdown:
        out.append({"type": "markdown_text", "text": markdown})
    raw: Any = json_arg(call.params.get("chunks"), "chunks", "invalid_chunks")
    if raw is not None:
        if not isinstance(raw, list):
            raise ApiError("invalid_chunks")
        for chunk in raw:
            if not isinstance(chunk, dict) or chunk.get("type") not in CHUNK_TYPES:
                raise ApiError("invalid_chunks")
            if chunk["type"] == "blocks":
                parse_blocks(chunk.get("blocks"))
            out.append(chunk)
    for chunk in out:
        text = chunk.get("text")
        if chunk["type"] == "markdown_text" and (
            not isinstance(text, str) or len(text) > MAX_MARKDOWN_TOTAL
        ):
            raise ApiError("msg_too_long" if isinstance(text, str) else "invalid_chunks")
    return out


def _apply(message: Message, chunks: list[JSON]) -> None:
    for chunk in chunks:
        if chunk["type"] == "markdown_text":
            message.text += str(chunk["text"])
    message.chunks.extend(chunks)


def _streaming(call: Call) -> tuple[Channel, Message]:
    channel = call.channel()
    message = call.message(channel, call.text("ts"))
    if message.bot_id != call.workspace.bot_id:
        raise ApiError("message_not_owned_by_app")
    if message.stream_state != "streaming":
        raise ApiError("message_not_in_streaming_state")
    return channel, message


def start_stream(call: Call) -> JSON:
    channel = call.channel()
    if channel.kind != "im":
        if not call.text("recipient_user_id"):
            raise ApiError("missing_recipient_user_id")
        if not call.text("recipient_team_id"):
            raise ApiError("missing_recipient_team_id")
    chunks = _chunks(call)
    message = Message(
        ts=call.world.new_ts(),
        channel=channel.id,
        team=channel.team,
        user=call.bot_user,
        text="",
        bot_id=call.workspace.bot_id,
        thread_ts=resolve_thread(channel, call.text("thread_ts")),
        stream_state="streaming",
    )
    _apply(message, chunks)
    call.world.add_message(message, call.method)
    call.emu.posted(message)
    return {"channel": channel.id, "ts": message.ts}


def append_stream(call: Call) -> JSON:
    channel, message = _streaming(call)
    chunks = _chunks(call)
    if not chunks:
        raise ApiError("invalid_arguments")
    _apply(message, chunks)
    call.world.record_version(message, call.method)
    return {"channel": channel.id, "ts": message.ts}


def stop_stream(call: Call) -> JSON:
    channel, message = _streaming(call)
    previous = call.emu.snapshot(message)
    _apply(message, _chunks(call))
    blocks = parse_blocks(call.params.get("blocks"))
    if blocks:
        message.blocks = blocks
    metadata = json_arg(call.params.get("metadata"), "metadata", "invalid_metadata_format")
    if isinstance(metadata, dict) and metadata:
        message.metadata = metadata
    message.stream_state = "completed"
    edit_ts = call.world.record_version(message, call.method)
    call.emu.changed(message, previous, edit_ts)
    return {"channel": channel.id, "ts": message.ts, "message": api_message(call.world, message)}


def set_status(call: Call) -> JSON:
    channel = call.channel("channel_id")
    root = channel.messages.get(call.text("thread_ts") or "")
    if root is None or root.deleted:
        raise ApiError("invalid_thread_ts")
    if root.is_reply and root.thread_ts:
        root = channel.messages[root.thread_ts]
    loading: Any = json_arg(call.params.get("loading_messages"), "loading_messages")
    if isinstance(loading, list) and len(loading) > 10:
        raise ApiError("invalid_arguments")
    status = call.text("status")
    if status is None:
        raise ApiError("invalid_arguments")
    root.assistant_status = status or None
    return {}


METHODS: dict[str, Handler] = {
    "chat.startStream": start_stream,
    "chat.appendStream": append_stream,
    "chat.stopStream": stop_stream,
    "assistant.threads.setStatus": set_status,
}
