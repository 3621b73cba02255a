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
        if not isinstance(message, dict) or not isinstance(message.get("parts"), list):
            continue
        role = message.get("role")
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
