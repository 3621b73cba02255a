"""A worker's past turns, read from its stored messages.

The API types `messages` as a list of unknown objects; they are very likely Vercel AI SDK UI
messages (`{"id", "role", "parts": [...]}`). Read defensively: anything that does not look like
one is skipped, so an unexpected shape yields fewer turns, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .models import Source, Worker, WorkerFile


@dataclass(frozen=True, slots=True)
class PastTurn:
    """One finished assistant reply and the instruction that asked for it.

    `index` is the position of the assistant message in `Worker.messages`; it identifies the turn.
    """

    index: int
    input: str
    text: str
    sources: tuple[Source, ...]
    files: tuple[WorkerFile, ...]


def _text(parts: list[Any]) -> str:
    return "".join(
        str(p.get("text", "")) for p in parts if isinstance(p, dict) and p.get("type") == "text"
    )


def _sources(parts: list[Any]) -> tuple[Source, ...]:
    found: list[Source] = []
    for part in parts:
        if isinstance(part, dict) and part.get("type") == "source-url" and part.get("url"):
            title = part.get("title")
            found.append(
                Source(
                    id=str(part.get("sourceId") or part["url"]),
                    url=str(part["url"]),
                    title=str(title) if title else None,
                )
            )
    return tuple(found)


def _files(parts: list[Any]) -> tuple[WorkerFile, ...]:
    found: list[WorkerFile] = []
    for part in parts:
        if isinstance(part, dict) and part.get("type") == "file" and part.get("url"):
            found.append(
                WorkerFile(
                    url=str(part["url"]),
                    media_type=str(part.get("mediaType") or "application/octet-stream"),
                    filename=part.get("filename")
                    if isinstance(part.get("filename"), str)
                    else None,
                )
            )
    return tuple(found)


def past_turns(worker: Worker, since: int = 0) -> list[PastTurn]:
    """The assistant turns stored at message positions `since` and later, oldest first."""
    turns: list[PastTurn] = []
    last_input = ""
    for index, message in enumerate(worker.messages):
        role = _role(message)
        if role is None:
            continue
        if role == "user":
            last_input = _text(message["parts"])
        elif role == "assistant" and index >= since:
            parts = message["parts"]
            turns.append(PastTurn(index, last_input, _text(parts), _sources(parts), _files(parts)))
    return turns


def turn_end(worker: Worker, start: int) -> int:
    """Where the turn whose instruction is message `start` ends: at the next user message
    (a later turn, such as a schedule firing), else at the end of the history."""
    for index in range(start + 1, len(worker.messages)):
        message = worker.messages[index]
        if isinstance(message, dict) and message.get("role") == "user":
            return index
    return len(worker.messages)


def turn_reply(worker: Worker, start: int) -> PastTurn | None:
    """The reply of the turn whose instruction is message `start`: the text, sources and files
    of its own assistant message(s), whatever turns ran after it. None when the history holds
    no readable assistant message for it (not stored, or not in the expected shape)."""
    end = turn_end(worker, start)
    own = [turn for turn in past_turns(worker, since=start) if turn.index < end]
    if not own:
        return None
    return PastTurn(
        own[0].index,
        own[0].input,
        "\n\n".join(turn.text for turn in own if turn.text),
        tuple(source for turn in own for source in turn.sources),
        tuple(file for turn in own for file in turn.files),
    )


def answer_before(worker: Worker, index: int) -> str | None:
    """The text of the last assistant message before message `index` (the previous answer)."""
    earlier = [turn for turn in past_turns(worker) if turn.index < index]
    return earlier[-1].text if earlier else None


def turn_stored(worker: Worker, start: int, input: str) -> bool:
    """Whether the worker's history holds an instruction at message `start`: `input` itself
    when messages are readable (so a schedule's turn there is not mistaken for it), else any
    message at all."""
    if len(worker.messages) <= start:
        return False
    message = worker.messages[start]
    if not isinstance(message, dict) or _role(message) is None:
        return True
    return message.get("role") == "user" and _text(message["parts"]) == input


def _role(message: Any) -> str | None:
    """A UI message's role; None for anything not shaped like one."""
    if not isinstance(message, dict) or not isinstance(message.get("parts"), list):
        return None
    role = message.get("role")
    return role if isinstance(role, str) else None
