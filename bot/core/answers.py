"""What the front door (`service.Service`) answers: plain data the Slack adapter words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..budgets import Budget
from ..handinger.models import When
from ..store import Run, Schedule, Vote
from .gathered import ReplyMode
from .problems import Problem


@dataclass(frozen=True, slots=True)
class Started:
    """A run was started; its message follows."""

    run: Run


@dataclass(frozen=True, slots=True)
class OverBudget:
    """The budget asked for is above the installation's maximum."""

    asked: Budget
    highest: Budget


@dataclass(frozen=True, slots=True)
class NoWorker:
    """The run has no worker yet (it has not started)."""


@dataclass(frozen=True, slots=True)
class Failed:
    """Handinger refused or could not be reached."""

    problem: Problem


@dataclass(frozen=True, slots=True)
class EmailAddress:
    address: str


@dataclass(frozen=True, slots=True)
class Scheduled:
    """A schedule was created (or an identical one adopted)."""

    schedule: Schedule
    when: When


CancelRefusal = Literal["unknown", "elsewhere", "inactive", "forbidden"]
"""Why a schedule was not cancelled: no such schedule in this workspace, it posts to another
channel, it is no longer active, or the user may not cancel it."""


@dataclass(frozen=True, slots=True)
class CancelRefused:
    why: CancelRefusal
    schedule_id: str
    schedule: Schedule | None = None


@dataclass(frozen=True, slots=True)
class Cancelled:
    """The schedule was cancelled; `still_there`: Handinger still had it (else it had already
    run or been removed there)."""

    schedule: Schedule
    still_there: bool


@dataclass(frozen=True, slots=True)
class Voted:
    """A vote on a run's answer was recorded; `previous` is the vote it replaced, if any."""

    run: Run
    vote: Vote
    previous: Vote | None


@dataclass(frozen=True, slots=True)
class Home:
    """What a user's App Home shows: their latest workers and the schedules they made."""

    runs: list[Run]
    schedules: list[Schedule]
    feedback: dict[str, tuple[int, int]]


@dataclass(frozen=True, slots=True)
class ThreadReplies:
    """Who a worker's thread answers (`mode`), and since which message replies are news to the
    worker (`since_ts`: the message that started its latest turn)."""

    mode: ReplyMode
    since_ts: str | None
