"""How a finished turn ends: its own answer from the worker's history, and whether it failed.

The answer of a turn is the text of that turn's own assistant message(s) in `GET
/api/workers/{id}` (ARCHITECTURE.md, rule 1), found by where the turn's instruction sits in the
history (`Run.messages_before`). So it is right whether the app saw the turn stream, restarted
meanwhile, or later turns (a schedule firing) ran since: the worker's `output_text` is only the
latest turn's text, used when this turn is the latest and the history shows no text for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..handinger.history import turn_end, turn_reply
from ..handinger.models import Costs, Usage, Worker
from ..store import Run
from .progress import TurnProgress


@dataclass(frozen=True, slots=True)
class Outcome:
    """`worker` is set when this turn is the worker's latest, so its usage and costs are this
    turn's; `error` is the user-facing failure, if any."""

    state: Literal["completed", "failed"]
    worker: Worker | None
    error: str | None


def still_running(run: Run, worker: Worker) -> bool:
    """Whether the worker is still running this run's turn, rather than a later one (whose
    instruction follows this turn's in the history)."""
    start = run.messages_before or 0
    return worker.is_running and turn_end(worker, start) == len(worker.messages)


def conclude(run: Run, worker: Worker, progress: TurnProgress) -> Outcome:
    """Put the turn's own answer (and sources) into `progress`; say how the turn ended."""
    start = run.messages_before or 0
    latest = turn_end(worker, start) == len(worker.messages)
    reply = turn_reply(worker, start)
    if reply is not None:
        progress.text = reply.text
        if reply.sources:
            progress.sources = list(reply.sources)
    if latest and (reply is None or not reply.text):  # no text in the history: use the
        progress.text = worker.text or progress.text  # latest turn's text, which is this one's
    failure = worker.error_message if latest else None
    if not progress.text:
        failure = failure or progress.failure
    return Outcome("failed" if failure else "completed", worker if latest else None, failure)


def cost_record(worker: Worker) -> dict[str, str | None]:
    """The run fields that remember what the worker's latest turn cost (`Run.usage_json`)."""
    usage, costs = worker.usage, worker.costs
    return {
        "usage_json": None if usage is None else usage.model_dump_json(exclude_none=True),
        "costs_json": None if costs is None else costs.model_dump_json(exclude_none=True),
    }


def recorded_cost(run: Run) -> tuple[Usage | None, Costs | None]:
    """What the run's turn cost, as recorded when it was the worker's latest."""
    usage = None if run.usage_json is None else Usage.model_validate_json(run.usage_json)
    costs = None if run.costs_json is None else Costs.model_validate_json(run.costs_json)
    return usage, costs
