"""What a run's Slack message shows, independent of how Slack draws it.

The core fills a `RunView`; `bot/slack/render.py` turns it into Block Kit. Keeping this a plain
value means the relay can be tested without Slack, and the renderer without Handinger.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..handinger.models import Costs, Source, Usage, Worker, WorkerFile
from ..store import Run
from .progress import TurnProgress

RunState = Literal["queued", "working", "completed", "failed"]


@dataclass(frozen=True, slots=True)
class RunView:
    """A snapshot of one run as users should see it.

    `text` is the answer so far (untrusted: the renderer escapes it). `elapsed` is seconds since
    the turn started. `error` is a user-facing explanation when `state` is "failed".
    """

    run_id: int
    state: RunState
    requester: str
    instruction: str
    is_followup: bool = False
    text: str = ""
    step: str | None = None
    elapsed: float = 0.0
    sources: tuple[Source, ...] = ()
    files: tuple[WorkerFile, ...] = ()
    usage: Usage | None = None
    costs: Costs | None = None
    steps: int | None = None
    worker_id: str | None = None
    budget: str | None = None
    error: str | None = None
    notice: str | None = None
    header: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.state in ("completed", "failed")


def build_view(
    run: Run,
    progress: TurnProgress,
    state: RunState,
    elapsed: float,
    *,
    worker: Worker | None = None,
    error: str | None = None,
    notice: str | None = None,
    header: str | None = None,
) -> RunView:
    """The view of a run from its progress, plus, once finished, the fetched worker's usage,
    costs and files when this turn is the worker's latest.

    The text is always `progress.text`: the stream's so far, and once finished the turn's own
    answer from the worker's history (`outcome.conclude`), never the worker's latest text, which
    may be another turn's. Sources accumulate over a worker's turns, so only a new worker's
    first turn falls back to the worker's list.
    """
    text = progress.text
    sources = tuple(progress.sources)
    usage = progress.usage
    costs = None
    files: tuple[WorkerFile, ...] = tuple(progress.files)
    if worker is not None:
        if not sources and run.kind == "new":
            sources = tuple(worker.sources)
        usage = worker.usage or usage
        costs = worker.costs
        files = tuple(worker.files)
    steps = usage.steps if usage is not None and usage.steps else progress.steps or None
    return RunView(
        run_id=run.id,
        state=state,
        requester=run.user_id,
        instruction=run.input,
        is_followup=run.kind == "continue",
        text=text,
        step=progress.step if state == "working" else None,
        elapsed=elapsed,
        sources=sources,
        files=files,
        usage=usage,
        costs=costs,
        steps=steps,
        worker_id=run.worker_id,
        budget=run.budget,
        error=error,
        notice=notice,
        header=header,
    )
