"""The rows the store hands out: threads, runs, schedules. Plain frozen values."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

from ..budgets import Budget, as_budget

RunKind = Literal["new", "continue", "digest"]
ScheduleStatus = Literal["active", "done", "cancelled", "gone"]
RunStatus = Literal["queued", "starting", "running", "completed", "failed"]
ACTIVE: tuple[RunStatus, ...] = ("starting", "running")
FinalPending = Literal["answer", "failure"]
"""What a finished run's message still has to show: the worker's answer as Handinger has it
now (`answer`), or the failure recorded in the run (`failure`)."""


@dataclass(frozen=True, slots=True)
class Thread:
    """A Slack thread that belongs to one Handinger worker."""

    team_id: str
    channel_id: str
    thread_ts: str
    worker_id: str
    user_id: str
    created_at: float


@dataclass(frozen=True, slots=True)
class Run:
    """One turn the app asked Handinger for, and the Slack message that shows it.

    `messages_before` is how many messages the worker had when this turn's instruction was sent:
    the turn is the one whose instruction is message `messages_before`. `ref` (random, unique)
    is the `Idempotency-Key` of its create/continue and the reference its Slack message carries;
    `request_sent_at` is set just before that request goes out, so a restart knows whether it
    may have reached Handinger. Runs from before `ref` existed have none. `usage_json` and
    `costs_json` are what the finished turn cost, as the API said while it was the latest.
    `prompt` is the instruction sent when context came with it (`core/prompt.py`); `input` is
    the user's own request, which the card shows. `permalink` is its message's link, once
    fetched (for the App Home; it never changes).
    """

    id: int
    team_id: str
    channel_id: str
    thread_ts: str | None
    kind: RunKind
    input: str
    budget: Budget
    user_id: str
    status: RunStatus
    created_at: float
    worker_id: str | None = None
    message_ts: str | None = None
    trigger_ts: str | None = None
    response_url: str | None = None
    error: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    messages_before: int | None = None
    files_done: int | None = None
    ref: str | None = None
    request_sent_at: float | None = None
    final_pending: FinalPending | None = None
    usage_json: str | None = None
    costs_json: str | None = None
    prompt: str | None = None
    permalink: str | None = None

    @property
    def done(self) -> bool:
        return self.status in ("completed", "failed")

    @property
    def sent_input(self) -> str:
        """What the worker is sent: `prompt` (context before the request) or `input` alone."""
        return self.prompt if self.prompt is not None else self.input


RUN_FIELDS = {f.name for f in fields(Run)}


@dataclass(frozen=True, slots=True)
class Schedule:
    """A Handinger schedule made from Slack, and the channel its digests go to."""

    id: str
    team_id: str
    channel_id: str
    worker_id: str
    creator_id: str
    input: str
    budget: Budget
    type: str
    description: str
    status: ScheduleStatus
    created_at: float
    next_run_at: float | None = None
    cancelled_by: str | None = None

    @property
    def one_shot(self) -> bool:
        return self.type in ("scheduled", "delayed")


@dataclass(frozen=True, slots=True)
class PendingSchedule:
    """The schedule a `/handinger schedule` run attaches to the worker it starts.

    It is created on Handinger once the worker's id is known (`schedule_id` is then set); the
    row stays, so the run's card keeps its digest header even when finished after a restart.
    """

    run_id: int
    when_json: str
    input: str
    budget: Budget
    description: str
    schedule_id: str | None = None


SCHEDULE_FIELDS = {f.name for f in fields(Schedule)}


def _budget(row: dict[str, Any]) -> Budget:
    """The stored budget; every row is written from a `Budget`, and a value the app no longer
    knows runs on the API's default."""
    return as_budget(row.get("budget")) or "standard"


def schedule_from_row(row: dict[str, Any]) -> Schedule:
    values = {key: value for key, value in row.items() if key in SCHEDULE_FIELDS}
    return Schedule(**{**values, "budget": _budget(row)})


def run_from_row(row: dict[str, Any]) -> Run:
    values = {key: value for key, value in row.items() if key in RUN_FIELDS}
    return Run(**{**values, "budget": _budget(row)})


def pending_schedule_from_row(row: dict[str, Any]) -> PendingSchedule:
    return PendingSchedule(**{**row, "budget": _budget(row)})


@dataclass(frozen=True, slots=True)
class ForgottenWorkspace:
    """What `Store.forget_workspace` stopped: the runs it failed (as they were), the schedules
    it marked gone (as they were: still to be cancelled on Handinger), how many threads."""

    team_id: str
    failed_runs: list[Run]
    schedules: list[Schedule]
    threads: int
