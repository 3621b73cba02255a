"""The core's one outbound port: what it needs from a chat surface (ARCHITECTURE.md, "The port").

`Surface` is the whole port, which the Slack adapter implements. Each part of the core asks only
for its role (`RunSurface` for turns, `FileSurface` for file delivery, `DigestSurface` for
digests), so a test double implements just the role it stands in for. Everything crossing the
port is a view model or a stored row: never Slack text or Block Kit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from ..handinger.models import When
from ..store import Run, Schedule
from .problems import Problem
from .views import LiveView, RunView

Mark = Literal["queued", "started", "completed", "failed", "recovered"]
"""The state of the user message that asked for a follow-up; `recovered`: a run shown as failed
turned out completed once its result could be fetched."""


@dataclass(frozen=True, slots=True)
class ScheduleMade:
    """The schedule a `/handinger schedule …` asked for exists now (`now`: when it was made)."""

    schedule: Schedule
    when: When
    now: float


@dataclass(frozen=True, slots=True)
class ScheduleNotMade:
    """Handinger refused the schedule; the first run still completes, as a plain run."""

    problem: Problem


Notice = ScheduleMade | ScheduleNotMade
"""What the core tells a run's requester privately; the surface words it."""

FileTrouble = Literal["foreign", "too-large", "missing", "unfetched", "not-uploaded"]
"""Why a worker's file did not reach its thread: hosted outside Handinger, over the size cap,
gone from Handinger (404), a download that failed for now (tried again after the next turn), or
an upload Slack refused."""


@dataclass(frozen=True, slots=True)
class FileProblem:
    """Files of a turn that did not reach the run's thread, and why; the surface words it."""

    trouble: FileTrouble
    names: tuple[str, ...]
    """The files' names as they would have been uploaded."""
    url: str = ""
    """`foreign`: where the file is hosted."""
    limit_bytes: int = 0
    """`too-large`: the size cap it is over."""


class Undeliverable(Exception):
    """The surface cannot show this run (for example the bot is not in the channel).

    The surface has already told the user why and what to do; the core only records the failure.
    """


class NotShown(Exception):
    """The surface could not show something for a passing reason (Slack kept answering 5xx, or
    could not be reached, even after retrying for a while).

    Unlike `Undeliverable`, nothing is wrong with the run: the core records its outcome as it
    is and shows the final message again later.
    """


class RunSurface(Protocol):
    """Where a run is shown: one message per run, edited as the turn progresses."""

    async def open(self, run: Run, view: RunView) -> str:
        """Post the run's message and return its id (Slack: the message `ts`)."""
        ...

    async def find(self, run: Run) -> str | None:
        """The id of the run's message if an earlier process posted it but stopped before
        recording it (`open` marks each message with the run's `ref`); None if there is none.
        Never raises: when in doubt, None, and the message is posted anew."""
        ...

    def progress(self, run: Run, live: LiveView) -> None:
        """Show progress soon; may be coalesced with later progress, and the view is built
        only when it is shown (`LiveView`). Never raises."""
        ...

    async def finish(self, run: Run, view: RunView) -> None:
        """Show the final state, however long it is, and wait until it is visible."""
        ...

    async def mark(self, run: Run, mark: Mark) -> None:
        """Show the state of the user message that asked for a queued follow-up."""
        ...

    async def tell(self, run: Run, notice: Notice) -> None:
        """Tell the run's requester something privately."""
        ...


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A downloaded worker file, ready to upload."""

    local_path: Path
    filename: str
    title: str
    media_type: str
    size: int
    sha256: str
    source_path: str


class FileSurface(Protocol):
    async def upload_files(self, run: Run, files: Sequence[LocalFile]) -> list[str | None]:
        """Upload a turn's files into the run's thread, saying which turn they come from;
        return their ids in order (None if unknown)."""
        ...

    async def find_uploads(self, run: Run, files: Sequence[LocalFile]) -> list[str | None]:
        """For each file, the id of the same file (name, title, size) shared in the run's
        thread since the run started, else None: after a restart, an upload an earlier process
        made but did not live to record."""
        ...

    async def notify(self, run: Run, problem: FileProblem) -> None:
        """Say in the run's thread that files did not arrive, and why."""
        ...


class DigestSurface(Protocol):
    async def publish(self, run: Run, view: RunView) -> str:
        """Post a finished message at the top of the run's channel; return its id
        (`Undeliverable` if the channel cannot take it)."""
        ...

    async def find(self, run: Run) -> str | None:
        """The run's message if an earlier process published it without recording it."""
        ...


class Surface(RunSurface, FileSurface, DigestSurface, Protocol):
    """The whole port: where every run, file and digest is shown."""

    def forget_workspace(self, team_id: str) -> None:
        """The app was uninstalled from a workspace: drop what is held for it."""
        ...

    async def aclose(self) -> None:
        """Send what is still queued, then stop."""
        ...
