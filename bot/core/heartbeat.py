"""Each process's heartbeat: one pass every few seconds over all of its background duties.

Renew this process's leases and stop the turns whose lease was lost, then take over what other
processes left (`Runner.keep_watch`, which reads the runs table once: `Store.takeover_scan`):
runs in flight, queued follow-ups, owed files and finals, and unposted digests (handed to the
schedule watcher); then the Slack requests whose owner died (the inbox), then the workspaces
another process saw leave (`Departures`). One pass, not a loop per duty, so an idle process
sends few statements a beat whatever the size of its tables (ARCHITECTURE.md). A duty whose
statement fails (the database is out) is tried again at the next beat; the others still run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Protocol

from ..store import Run
from .departures import Departures
from .runner import Runner

log = logging.getLogger(__name__)


class TakesOverRequests(Protocol):
    """The inbox (`slack/inbox.py`): dispatch again the Slack requests of dead processes."""

    async def take_over(self) -> int: ...


class PostsDigests(Protocol):
    """The schedule watcher: post the digests of dead processes."""

    async def take_over(self, unposted: list[tuple[Run, int, bool]] | None = None) -> int: ...


class Heartbeat:
    """Every `every` seconds, one pass over the process's background duties (see the module)."""

    def __init__(
        self,
        runner: Runner,
        watcher: PostsDigests,
        inbox: TakesOverRequests,
        departures: Departures,
        every: float,
    ) -> None:
        self.runner = runner
        self.watcher = watcher
        self.inbox = inbox
        self.departures = departures
        self.every = every
        self.digests = False
        """Whether to hand unposted digests to the watcher: only once its own start-up posted
        those found then (`ScheduleWatcher.startup`), so one process never posts one twice."""
        self._posting: asyncio.Task[None] | None = None

    async def run(self) -> None:
        """Forever: sleep `every` seconds, then beat."""
        try:
            while True:
                await asyncio.sleep(self.every)
                await self.beat()
        finally:
            if self._posting is not None:
                self._posting.cancel()

    async def beat(self) -> None:
        try:
            scan = await self.runner.keep_watch()
        except Exception as exc:
            log.warning("leases not renewed, runs not checked: %s", exc)
        else:
            self._post(scan.digests)
        await self._duty(self.inbox.take_over(), "Slack requests of stopped processes")
        await self._duty(self.departures.catch_up(), "departed workspaces")

    def _post(self, digests: list[tuple[Run, int, bool]]) -> None:
        """Posting asks Handinger and Slack, which may take long: in the background, so the
        next beat renews the leases on time; one posting at a time."""
        if not self.digests or not digests:
            return
        if self._posting is None or self._posting.done():
            posting = self.watcher.take_over(digests)
            self._posting = asyncio.create_task(self._duty(posting, "digests of others"))

    @staticmethod
    async def _duty(step: Awaitable[object], what: str) -> None:
        try:
            await step
        except Exception as exc:  # the database is out: try again at the next beat
            log.warning("%s not checked: %s", what, exc)
