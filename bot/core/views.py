"""What a run's Slack message shows, independent of how Slack draws it.

The core fills a `RunView`; `bot/slack/render.py` turns it into Block Kit. Keeping this a plain
value means the relay can be tested without Slack, and the renderer without Handinger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ..handinger.models import Costs, Source, Usage, Worker, WorkerFile
from ..store import Run
from .gathered import ReplyMode
from .problems import Failure
from .progress import TurnProgress

RunState = Literal["queued", "working", "completed", "failed"]
TaskState = Literal["in_progress", "complete", "error"]


@dataclass(frozen=True, slots=True)
class TaskView:
    """One step of the agent as users should see it: what it did, how it ended, its sources."""

    number: int
    title: str
    state: TaskState
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True, slots=True)
class DigestHeading:
    """A scheduled digest's heading: its schedule's description, and whether it is posted late
    (the turn ran while the app was offline)."""

    description: str
    late: bool = False


@dataclass(frozen=True, slots=True)
class RunView:
    """A snapshot of one run as users should see it.

    `text` is the answer so far (untrusted: the renderer escapes it). `elapsed` is seconds since
    the turn started. `error` says why when `state` is "failed". `waiting`: the worker is busy
    with a turn the app did not start, which this one waits for. `digest`: the run is a
    scheduled digest, headed so. `reply_mode`: who the thread's worker answers (None: not shown).
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
    error: Failure | None = None
    waiting: bool = False
    digest: DigestHeading | None = None
    reply_mode: ReplyMode | None = None
    tasks: tuple[TaskView, ...] = ()


@dataclass(frozen=True, slots=True)
class LiveView:
    """A running turn's view, built when a surface is about to show it, not on every stream event.

    A stream gives hundreds of events a second and a surface shows a message about once a
    second, so `build` is called per send: a view per event would read (and join) the whole
    answer each time, quadratic in a long answer. The view is as of when it is built (newer
    than offered). `text_chars` is the answer's length when offered, for ranking the edit
    without building the view.
    """

    text_chars: int
    build: Callable[[], RunView]


def task_views(progress: TurnProgress, state: RunState) -> tuple[TaskView, ...]:
    """The turn's steps: every one but the last is done; the last runs while the turn does,
    then is done, or failed with the turn."""
    last = len(progress.tasks) - 1
    ending: TaskState = "complete"
    if state in ("working", "queued"):
        ending = "in_progress"
    elif state == "failed":
        ending = "error"
    return tuple(
        TaskView(
            number=index + 1,
            title=task.title,
            state=ending if index == last else "complete",
            sources=tuple(task.sources),
        )
        for index, task in enumerate(progress.tasks)
    )


def build_view(
    run: Run,
    progress: TurnProgress,
    state: RunState,
    elapsed: float,
    *,
    worker: Worker | None = None,
    error: Failure | None = None,
    waiting: bool = False,
    digest: DigestHeading | None = None,
    costs: Costs | None = None,
    reply_mode: ReplyMode | None = None,
) -> RunView:
    """The view of a run from its progress, plus, once finished, the fetched worker's usage,
    costs and files when this turn is the worker's latest (else `costs`, if known).

    The text is always `progress.text`: the stream's so far, and once finished the turn's own
    answer from the worker's history (`outcome.conclude`), never the worker's latest text, which
    may be another turn's. Sources accumulate over a worker's turns, so only a new worker's
    first turn falls back to the worker's list.
    """
    text = progress.text
    sources = tuple(progress.sources)
    usage = progress.usage
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
        waiting=waiting,
        digest=digest,
        reply_mode=reply_mode,
        tasks=task_views(progress, state),
    )
