"""The scripted agent: a deterministic turn driven by `[[directives]]` in the instruction.

A turn is planned up front as a list of neutral events, then played out over the turn's duration
by a background task that mutates the worker as each event "happens". The HTTP side never waits
for the agent: it only reads the worker and the turn's growing event list. Each event is stamped
with the real time it happened, which `/_emulator/workers?times=true` reports.
"""

from __future__ import annotations

import asyncio
import math
import re
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from .files import media_type_for
from .render import assistant_message, user_message, worker_json
from .script import compose_answer, slug, split_text, usage_for
from .state import Emulator, Event, PublishedFile, ScriptedAnswer, Turn, Worker, new_ulid

DIRECTIVE = re.compile(r"\[\[\s*([A-Za-z][\w-]*)\s*(?:=\s*([^\]]*?)\s*)?\]\]")
FAIL_MESSAGE = "Scripted failure: the agent stopped halfway ([[fail]] directive)"
ECHO_LIMIT = 10_000_000
"""Most characters an `[[echo=N]]` answer may have."""
TOOLS = ("webSearch", "readPage")


@dataclass
class Script:
    """What a turn will do, decided from the directives and the config."""

    instruction: str
    duration: float
    chunks: int
    steps: int = 2
    fail: bool = False
    min_chars: int = 0
    sources: bool = True
    relative: bool = False
    version: int | None = None
    echo: str | None = None
    """The whole answer, verbatim, when the instruction asked for `[[echo]]`."""
    files: list[PublishedFile] = field(default_factory=list)
    answer: ScriptedAnswer | None = None


def strip_directives(text: str) -> str:
    """The instruction as the agent "sees" it: directives removed, whitespace tidied."""
    return re.sub(r"[ \t]{2,}", " ", DIRECTIVE.sub("", text)).strip()


def echo_answer(text: str, times: int) -> str:
    """`[[echo]]`: the instruction itself, directives (and the blanks before them) removed, as
    typed otherwise, repeated `times` times: hostile answers on demand for tests."""
    body = re.sub(r"[ \t]*" + DIRECTIVE.pattern, "", text)
    return body * min(times, ECHO_LIMIT // max(len(body), 1))


def make_script(emu: Emulator, worker: Worker, text: str) -> Script:
    flags: set[str] = set()
    values: dict[str, str] = {}
    explicit_files: list[str] = []
    for match in DIRECTIVE.finditer(text):
        name, value = match.group(1).lower(), match.group(2)
        if value is None:
            flags.add(name)
        elif name == "file":
            explicit_files.append(value.strip().lstrip("/"))
        else:
            values[name] = value
    config = emu.config
    duration = config.turn_seconds * (8 if "slow" in flags else 1)
    script = Script(
        instruction=strip_directives(text),
        duration=_number(values.get("duration"), float, duration, 0.0, 86400.0),
        chunks=_number(values.get("chunks"), int, config.chunks, 1, 1_000_000),
        steps=_number(values.get("steps"), int, 2, 0, 1000),
        fail="fail" in flags,
        min_chars=_number(values.get("chars"), int, 45_001 if "long" in flags else 0, 0, 10**8),
        sources="nosources" not in flags,
        relative="relative-files" in flags,
        version=_number(values.get("version"), int, None, -(10**9), 10**9),
        answer=emu.take_answer(text),
    )
    if "echo" in flags or "echo" in values:
        script.echo = echo_answer(text, _number(values.get("echo"), int, 1, 1, ECHO_LIMIT))
    paths = [_numbered_path(i) for i in range(1, _number(values.get("files"), int, 0, 0, 500) + 1)]
    paths += [p for p in explicit_files if p]
    for path in paths:
        script.files.append(_published(emu, worker, script, path, None))
    size = _number(values.get("filesize"), int, None, 0, 1 << 40)
    if size is not None:
        script.files.append(_published(emu, worker, script, "big.bin", size))
    if "foreign-file" in flags:
        url = f"{emu.foreign_base_url}/_foreign/{worker.id}/foreign.txt"
        script.files.append(PublishedFile("foreign.txt", "text/plain", url, script.version))
    return script


def _number(raw: str | None, kind: type[Any], default: Any, low: Any, high: Any) -> Any:
    """Parse a directive value; garbage falls back to the default, range is clamped."""
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        return default
    if not math.isfinite(value):
        return default
    return min(max(value, low), high)


def _numbered_path(index: int) -> str:
    if index == 1:
        return "reports/q3/summary.md"
    if index == 2:
        return "chart.png"
    return f"notes-{index}.txt"


def _published(
    emu: Emulator, worker: Worker, script: Script, path: str, size: int | None
) -> PublishedFile:
    relative = f"/api/workers/{quote(worker.id, safe='')}/files/{quote(path, safe='/')}"
    url = relative if script.relative else emu.base_url + relative
    media_type = "application/octet-stream" if size is not None else media_type_for(path)
    return PublishedFile(path, media_type, url, script.version, size)


def plan(worker: Worker, turn: Turn, script: Script) -> list[tuple[str, dict[str, Any]]]:
    """The neutral events of a turn, in order (the `start` event is emitted separately)."""
    text = script.echo
    if text is None:
        text = compose_answer(script.instruction, turn.number, script.min_chars)
    topic = slug(script.instruction)
    sources = [
        {
            "sourceId": f"src_{turn.number}_{k}",
            "url": f"https://example.org/{topic}/{turn.number}-{k}",
            "title": f"{topic.replace('-', ' ').title()}: source {k}",
        }
        for k in (1, 2)
    ]
    if script.answer is not None:
        text = script.answer.text
        if script.answer.sources is not None:
            sources = [
                {"sourceId": f"src_{turn.number}_{k}", "url": s["url"], "title": s["title"]}
                for k, s in enumerate(script.answer.sources, start=1)
            ]
    events: list[tuple[str, dict[str, Any]]] = []
    for step in range(script.steps):
        call_id = f"call_{turn.number}_{step + 1}"
        name = TOOLS[step % len(TOOLS)]
        tool_input: dict[str, Any] = (
            {"query": script.instruction[:120]}
            if name == "webSearch"
            else {"url": sources[0]["url"]}
        )
        output = (
            {"results": [s["url"] for s in sources]} if name == "webSearch" else {"chars": 4096}
        )
        events += [
            ("step_start", {}),
            ("tool_call", {"toolCallId": call_id, "toolName": name, "input": tool_input}),
            ("tool_result", {"toolCallId": call_id, "toolName": name, "output": output}),
            ("step_finish", {}),
        ]
    text_id = f"txt_{turn.number}"
    deltas = split_text(text, script.chunks)
    if script.fail:
        deltas = deltas[: max(1, len(deltas) // 2)]
    events += [("step_start", {}), ("text_start", {"id": text_id})]
    events += [("text_delta", {"id": text_id, "delta": d}) for d in deltas]
    if script.fail:
        return [*events, ("error", {"errorText": FAIL_MESSAGE})]
    events.append(("text_end", {"id": text_id}))
    if script.sources:
        events += [("source", s) for s in sources]
    for published in script.files:
        events.append(("file", {"path": published.path}))
    return [*events, ("step_finish", {}), ("finish", {"finishReason": "stop"})]


def start_turn(emu: Emulator, worker: Worker, text: str, budget: str) -> Turn:
    """Append a turn (and its user message) and start playing it in the background."""
    turn = Turn(
        number=len(worker.turns) + 1,
        input=text,
        budget=budget,
        user_message_id=f"msg_{new_ulid()}",
        message_id=f"msg_{new_ulid()}",
        prev_usage=worker.usage,
        prev_costs=worker.costs,
    )
    worker.turns.append(turn)
    worker.messages.append(user_message(turn.user_message_id, text))
    script = make_script(emu, worker, text)
    start = {"messageId": turn.message_id, "workerId": worker.id}
    turn.events.append(_stamp(worker, turn, "start", start))
    turn.task = asyncio.get_running_loop().create_task(_play(emu, worker, turn, script))
    return turn


async def _play(emu: Emulator, worker: Worker, turn: Turn, script: Script) -> None:
    events = plan(worker, turn, script)
    files = {f.path: f for f in script.files}
    loop = asyncio.get_running_loop()
    began = loop.time()
    try:
        for index, (kind, data) in enumerate(events, start=1):
            delay = began + script.duration * index / len(events) - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if kind in ("finish", "error"):
                error = data["errorText"] if kind == "error" else None
                await _finalize(emu, worker, turn, script, kind, data, error)
                return
            _apply(worker, turn, kind, data, files)
            await turn.append(_stamp(worker, turn, kind, data))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # an emulator bug must not leave a worker running forever
        traceback.print_exc(file=sys.stderr)
        message = f"emulator error: {exc}"
        await _finalize(emu, worker, turn, script, "error", {"errorText": message}, message)


def _apply(
    worker: Worker, turn: Turn, kind: str, data: dict[str, Any], files: dict[str, PublishedFile]
) -> None:
    """The side effect of one event on the worker and on the turn's assistant message parts."""
    if kind == "step_start":
        turn.parts.append({"type": "step-start"})
    elif kind == "tool_call":
        part = {"type": f"tool-{data['toolName']}", "state": "input-available", **data}
        del part["toolName"]
        turn.parts.append(part)
    elif kind == "tool_result":
        for part in turn.parts:
            if part.get("toolCallId") == data["toolCallId"]:
                part.update(state="output-available", output=data["output"])
    elif kind == "text_start":
        turn.parts.append({"type": "text", "text": ""})
    elif kind == "text_delta":
        turn.text += data["delta"]
        turn.parts[-1]["text"] = turn.text
    elif kind == "source":
        source = {"id": data["sourceId"], "type": "url", "url": data["url"], "title": data["title"]}
        worker.sources.append(source)
        turn.parts.append({"type": "source-url", **data})
    elif kind == "file":
        published = files[data["path"]]
        worker.files[published.path] = published  # a re-published path keeps its place
        data.update(url=published.url, mediaType=published.media_type, filename=published.path)
        turn.parts.append({"type": "file", **data})


def _stamp(worker: Worker, turn: Turn, kind: str, data: dict[str, Any]) -> Event:
    """The event as it happens now; the caller appends it to the turn at once."""
    return Event(
        kind,
        data,
        text_len=len(turn.text),
        n_sources=len(worker.sources),
        n_files=len(worker.files),
        n_messages=len(worker.messages),
        time=time.time(),
    )


async def _finalize(
    emu: Emulator,
    worker: Worker,
    turn: Turn,
    script: Script,
    kind: str,
    data: dict[str, Any],
    error: str | None,
) -> None:
    """End the turn atomically: stored message, usage, final snapshot, then the last event."""
    usage, costs = usage_for(script.instruction, turn, script.steps, script.duration)
    async with turn.cond:
        turn.error = error
        worker.messages.append(assistant_message(turn))
        worker.usage, worker.costs = usage, costs
        turn.done = True
        turn.final_snapshot = worker_json(worker)
        final = {**data, "text": turn.text, "usage": usage}
        turn.events.append(_stamp(worker, turn, kind, final))
        turn.cond.notify_all()
    emu.on_turn_end()
