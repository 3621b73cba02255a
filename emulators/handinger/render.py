"""JSON shapes of the reference: Worker and WorkerSchedule.

Kept apart from the state so that the shape (checked by the official SDK in strict mode) is in
one place, and so a `worker`-format stream can render a snapshot "as of" an earlier event.
"""

from __future__ import annotations

from typing import Any

from .state import Event, Schedule, Turn, Worker, iso_ms


def worker_json(worker: Worker) -> dict[str, Any]:
    """The Worker object as it is now."""
    return _current_json(worker, worker.turns[-1] if worker.turns else None)


def snapshot_at(worker: Worker, turn: Turn, at: Event) -> dict[str, Any]:
    """The Worker as it was when `at` (an event of `turn`) happened, for `worker`-format streams."""
    if at.kind in ("finish", "error") and turn.final_snapshot is not None:
        return turn.final_snapshot
    return _running_json(worker, turn, at)


def _current_json(worker: Worker, turn: Turn | None) -> dict[str, Any]:
    running = turn is not None and not turn.done
    text = turn.text if turn is not None else ""
    body = _base(worker, running=running, text=text, turn=turn)
    body["sources"] = list(worker.sources)
    body["files"] = [f.as_json() for f in worker.files.values()]
    body["messages"] = list(worker.messages)
    if turn is not None and turn.done and turn.error is not None:
        body["error"] = {"message": turn.error}
    _add_usage(body, worker.usage, worker.costs)
    return body


def _running_json(worker: Worker, turn: Turn, at: Event) -> dict[str, Any]:
    body = _base(worker, running=True, text=turn.text[: at.text_len], turn=turn)
    body["sources"] = worker.sources[: at.n_sources]
    body["files"] = [f.as_json() for f in list(worker.files.values())[: at.n_files]]
    body["messages"] = worker.messages[: at.n_messages]
    _add_usage(body, turn.prev_usage, turn.prev_costs)
    return body


def _base(worker: Worker, *, running: bool, text: str, turn: Turn | None) -> dict[str, Any]:
    output: list[dict[str, Any]] = []
    if text and turn is not None:
        output.append(
            {
                "id": turn.message_id,
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text}],
            }
        )
    return {
        "id": worker.id,
        "object": "worker",
        "created_at": worker.created_at,
        "status": "running" if running else "completed",
        "running": running,
        "output": output,
        "output_text": text,
        "sources": [],
        "files": [],
        "messages": [],
        "metadata": {},
        "error": None,
        "incomplete_details": None,
    }


def _add_usage(
    body: dict[str, Any], usage: dict[str, Any] | None, costs: dict[str, Any] | None
) -> None:
    """`usage`/`costs` are omitted (not null) until a turn completed, as the TS SDK expects."""
    if usage is not None:
        body["usage"] = dict(usage)
    if costs is not None:
        body["costs"] = dict(costs)


def schedule_json(schedule: Schedule) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": schedule.id,
        "type": schedule.type,
        "input": schedule.input,
        "budget": schedule.budget,
        "nextRunAt": iso_ms(schedule.next_run),
    }
    if schedule.type == "delayed":
        body["delayInSeconds"] = schedule.delay_in_seconds
    elif schedule.type == "cron":
        body["cron"] = schedule.cron
    elif schedule.type == "interval":
        body["intervalSeconds"] = schedule.interval_seconds
    return body


def user_message(message_id: str, text: str) -> dict[str, Any]:
    return {"id": message_id, "role": "user", "parts": [{"type": "text", "text": text}]}


def assistant_message(turn: Turn) -> dict[str, Any]:
    """The stored AI SDK UI message of a finished turn: step, tool, text, source and file parts."""
    return {"id": turn.message_id, "role": "assistant", "parts": list(turn.parts)}
