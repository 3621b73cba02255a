"""The status line of an assistant thread ("is searching the web…") for answers shown by edits.

A natively streamed answer sets its thread's status between appends (`streaming.py`); an answer
that fell back to the edit path (streaming refused, its budget spent) sets it here, so the user
of the assistant pane sees what the agent does either way. Which threads are the assistant
pane's is asked of the stored assistant thread records (`is_assistant`), not guessed from the
channel. Only the newest status is sent, at most one a `interval` seconds per thread; Slack
allows about one a second per conversation, counted with every process on the database
(`SharedRates.room_for_status`). A 429 pauses the conversation's statuses in every process and
the status is sent again after it; any other refusal stops that thread's statuses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from ..core.views import LiveView, RunView
from ..store import Run
from .clients import TeamClients
from .posting import retry_after
from .shared_rates import STATUS_PATIENCE, SharedRates
from .stream_chunks import status_line

log = logging.getLogger(__name__)

IsAssistant = Callable[[str, str, str], Awaitable[bool]]
"""(team, channel, thread ts) → whether it is a thread of the assistant pane."""


@dataclass(slots=True)
class _Line:
    team: str
    channel: str
    thread_ts: str
    wanted: str
    latest: Callable[[], RunView] | None = None
    """Builds the newest view offered, which `wanted` is worked out from when it may be sent
    (at most once an interval: building a view reads the whole answer)."""
    offered: bool = False
    """A view was offered since `wanted` was last worked out."""
    shown: str | None = None
    sender: asyncio.Task[None] | None = None
    refused: bool = False
    tried: bool = False
    """A status was sent (it may have reached Slack even if its call was cancelled)."""


class ThreadStatuses:
    """The status lines of the assistant threads whose answers are edited, keyed by run id."""

    def __init__(
        self,
        clients: TeamClients,
        is_assistant: IsAssistant | None,
        *,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        rates: SharedRates | None = None,
    ) -> None:
        self.clients = clients
        self.is_assistant = is_assistant
        self.rates = rates
        self.interval = interval
        self._clock = clock
        self._lines: dict[int, _Line] = {}

    async def assistant(self, run: Run) -> bool:
        """Whether the run answers in a thread of the assistant pane."""
        if self.is_assistant is None or run.thread_ts is None:
            return False
        try:
            return await self.is_assistant(run.team_id, run.channel_id, run.thread_ts)
        except Exception:
            log.warning("run %d: cannot tell its thread's kind", run.id, exc_info=True)
            return False

    def begin(self, run: Run, view: RunView) -> None:
        """The run's answer is edited in an assistant thread: show its status from now on."""
        if run.thread_ts is None:
            return
        self._lines[run.id] = _Line(run.team_id, run.channel_id, run.thread_ts, status_line(view))
        self._send(self._lines[run.id])

    def update(self, run: Run, live: LiveView) -> None:
        """Per stream event: the view is kept unbuilt until the status may be sent."""
        line = self._lines.get(run.id)
        if line is not None and not line.refused:
            line.latest, line.offered = live.build, True
            self._send(line)

    async def end(self, run: Run) -> None:
        """The answer is final: clear the status (after any status still on its way)."""
        line = self._lines.pop(run.id, None)
        if line is None:
            return
        if line.sender is not None:
            line.sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await line.sender  # a status on its way lands before it is cleared
        if line.tried and not line.refused:
            await self._set(line, "")

    async def aclose(self) -> None:
        senders = [line.sender for line in self._lines.values() if line.sender is not None]
        self._lines.clear()
        for sender in senders:
            sender.cancel()
        await asyncio.gather(*senders, return_exceptions=True)

    def _send(self, line: _Line) -> None:
        if line.sender is None or line.sender.done():
            line.sender = asyncio.create_task(self._sender(line))

    async def _sender(self, line: _Line) -> None:
        """Send the newest wanted status until it is shown, one per `interval`; the views
        offered meanwhile are worked out once a round, from the newest."""
        while not line.refused and (line.offered or line.shown != line.wanted):
            began = self._clock()
            if line.offered and line.latest is not None:
                line.offered, line.wanted = False, status_line(line.latest())
            if line.shown != line.wanted:
                await self._set(line, line.wanted)
            await asyncio.sleep(max(0.0, self.interval - (self._clock() - began)))

    async def _set(self, line: _Line, status: str) -> None:
        if not await self._room(line):
            return
        client = await self.clients.edit_client_for(line.team)
        line.tried = True
        try:
            await client.assistant_threads_setStatus(
                channel_id=line.channel, thread_ts=line.thread_ts, status=status
            )
        except Exception as error:
            wait = retry_after(error) if isinstance(error, SlackApiError) else None
            if wait is not None and self.rates is not None:  # sent again once the pause ends
                await self._paused(line, wait)
                return
            log.info("thread %s: status not set (%r)", line.thread_ts, error)
            line.refused = True
            return
        line.shown = status

    async def _room(self, line: _Line) -> bool:
        """Whether the conversation has room for a status, in every process's count; when
        the database cannot say, the status is sent (Slack would refuse it)."""
        if self.rates is None:
            return True
        try:
            return await self.rates.room_for_status(line.team, line.channel, STATUS_PATIENCE)
        except Exception as exc:
            log.warning("thread %s: shared status allowance unknown: %s", line.thread_ts, exc)
            return True

    async def _paused(self, line: _Line, seconds: float) -> None:
        assert self.rates is not None
        log.info("thread %s: statuses rate limited for %.0f s", line.thread_ts, seconds)
        try:
            await self.rates.paused("assistant.threads.setStatus", line.team, line.channel, seconds)
        except Exception as exc:
            log.warning("other processes not told of the rate limit in %s: %s", line.channel, exc)
