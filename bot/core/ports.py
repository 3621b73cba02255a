"""What the core needs from a chat surface. The Slack adapter implements it; tests may too."""

from __future__ import annotations

from typing import Literal, Protocol

from ..store import Run
from .views import RunView

Mark = Literal["queued", "started", "completed", "failed", "recovered"]
"""The state of the user message that asked for a follow-up; `recovered`: a run shown as failed
turned out completed once its result could be fetched."""


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

    def progress(self, run: Run, view: RunView) -> None:
        """Show progress soon; may be coalesced with later progress. Never raises."""
        ...

    async def finish(self, run: Run, view: RunView) -> None:
        """Show the final state, however long it is, and wait until it is visible."""
        ...

    async def mark(self, run: Run, mark: Mark) -> None:
        """Show the state of the user message that asked for a queued follow-up."""
        ...

    async def tell(self, run: Run, text: str) -> None:
        """Tell the run's requester something privately (plain text)."""
        ...
