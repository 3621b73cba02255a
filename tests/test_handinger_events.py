"""The stream decoder: three wire shapes in, one internal event type out."""

from __future__ import annotations

import json

from bot.handinger.events import (
    Failed,
    FileFound,
    Finished,
    HistoryMessage,
    Snapshot,
    SourceFound,
    Started,
    StepProgress,
    TextDelta,
    decode_data,
    humanize_tool,
)


def d(payload: object) -> list[object]:
    return list(decode_data(json.dumps(payload)))


def test_skips_empty_done_non_json_and_unknown_types() -> None:
    assert decode_data("") == []
    assert decode_data("   ") == []
    assert decode_data("[DONE]") == []
    assert decode_data("not json at all") == []
    assert d({"type": "reasoning-delta", "delta": "hmm"}) == []
    assert d({"type": "data-custom", "data": {"x": 1}}) == []
    assert d({"something": "else"}) == []
    assert d(42) == []


def test_ai_sdk_chunks() -> None:
    assert d({"type": "start", "messageId": "m1", "messageMetadata": {"workerId": "w1"}}) == [
        Started(worker_id="w1")
    ]
    assert d({"type": "text-delta", "id": "t", "delta": "Hel"}) == [TextDelta("Hel")]
    assert d({"type": "text-delta", "id": "t", "delta": ""}) == []
    [step] = d({"type": "tool-input-available", "toolCallId": "c", "toolName": "webSearch"})
    assert step == StepProgress(label="web search")
    [source] = d({"type": "source-url", "sourceId": "s1", "url": "https://a.b/", "title": "A"})
    assert isinstance(source, SourceFound)
    assert (source.source.url, source.source.title) == ("https://a.b/", "A")
    [file] = d({"type": "file", "url": "/api/workers/w/files/a.md", "mediaType": "text/markdown"})
    assert isinstance(file, FileFound) and file.file.media_type == "text/markdown"
    assert d({"type": "finish", "finishReason": "stop"}) == [Finished()]
    assert d({"type": "error", "errorText": "boom"}) == [Failed("boom")]
    assert d({"type": "abort"}) == [Failed("the turn failed")]


def test_replayed_ui_message() -> None:
    message = {
        "id": "m",
        "role": "assistant",
        "parts": [
            {"type": "step-start"},
            {"type": "text", "text": "a"},
            {"type": "text", "text": "b"},
        ],
    }
    assert d(message) == [HistoryMessage(role="assistant", text="ab")]


def test_worker_snapshots() -> None:
    running = {
        "object": "worker",
        "id": "w",
        "status": "running",
        "running": True,
        "output_text": "par",
    }
    [snap] = d(running)
    assert isinstance(snap, Snapshot) and snap.worker.text == "par"
    done = {
        **running,
        "status": "completed",
        "running": False,
        "output_text": "partial",
        "usage": {"steps": 3, "totalTokens": 10},
    }
    snap, fin = d(done)
    assert isinstance(snap, Snapshot) and isinstance(fin, Finished)
    assert fin.usage is not None and fin.usage.steps == 3
    failed = {**done, "error": {"message": "tool crashed"}}
    assert d(failed)[1] == Failed("tool crashed")
    assert d({"object": "worker"}) == []  # no id: malformed, skipped


def test_responses_style_events() -> None:
    assert d({"type": "response.created", "response": {"id": "w9"}}) == [Started(worker_id="w9")]
    assert d({"type": "response.output_text.delta", "delta": "x"}) == [TextDelta("x")]
    assert d(
        {
            "type": "response.output_item.added",
            "item": {"type": "function_call", "name": "read_page"},
        }
    ) == [StepProgress(label="read page")]
    assert d({"type": "response.output_item.added", "item": {"type": "message"}}) == []
    [fin] = d({"type": "response.completed", "response": {"usage": {"inputTokens": 5}}})
    assert isinstance(fin, Finished) and fin.usage is not None and fin.usage.input_tokens == 5
    assert d({"type": "response.failed", "response": {"error": {"message": "nope"}}}) == [
        Failed("nope")
    ]


def test_lists_and_json_strings_are_unwrapped() -> None:
    assert d([{"type": "text-delta", "delta": "a"}, {"type": "text-delta", "delta": "b"}]) == [
        TextDelta("a"),
        TextDelta("b"),
    ]
    assert d(json.dumps({"type": "text-delta", "delta": "c"})) == [TextDelta("c")]
    assert d("plain words") == []


def test_humanize_tool() -> None:
    assert humanize_tool("webSearch") == "web search"
    assert humanize_tool("read_page") == "read page"
    assert humanize_tool("run-code") == "run code"
    assert humanize_tool("HTTPFetch") == "httpfetch"
