"""Bolt listeners still running, so that a stopping app lets them finish before it closes the
store: a Slack request already claimed and acknowledged must not die halfway (its reply would
be lost: Slack does not send it again, and a copy would be refused as a replay).

Bolt acknowledges an event and runs its listener in a task of its own; its listener runner's
start and completion handlers are the only places that see that task begin and end.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp
from slack_bolt.listener.async_listener_completion_handler import (
    AsyncListenerCompletionHandler,
)
from slack_bolt.listener.async_listener_start_handler import AsyncListenerStartHandler
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

Started = Callable[[AsyncBoltRequest], None]
Finished = Callable[[AsyncBoltRequest], Awaitable[None]]


async def _nothing(request: AsyncBoltRequest) -> None:
    return None


class InflightListeners:
    """Counts running listeners; `drain` waits until none runs. `on_start` and `on_finish`
    (the inbox's, `inbox.py`) see each listener begin and end too."""

    def __init__(
        self, on_start: Started = lambda request: None, on_finish: Finished = _nothing
    ) -> None:
        self.on_start = on_start
        self.on_finish = on_finish
        self.running = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def install(self, app: AsyncApp) -> None:
        app.listener_runner.listener_start_handler = _Started(self)
        app.listener_runner.listener_completion_handler = _Finished(self)

    def started(self) -> None:
        self.running += 1
        self._idle.clear()

    def finished(self) -> None:
        self.running -= 1
        if self.running <= 0:
            self.running = 0
            self._idle.set()

    async def drain(self, within: float) -> int:
        """Wait (at most `within` seconds) until no listener runs; return how many still do."""
        await asyncio.sleep(0)  # a listener Bolt has just scheduled starts first
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), within)
        return self.running


class _Started(AsyncListenerStartHandler):
    def __init__(self, inflight: InflightListeners) -> None:
        self.inflight = inflight

    async def handle(self, request: AsyncBoltRequest, response: BoltResponse | None) -> None:
        self.inflight.started()
        self.inflight.on_start(request)


class _Finished(AsyncListenerCompletionHandler):
    def __init__(self, inflight: InflightListeners) -> None:
        self.inflight = inflight

    async def handle(self, request: AsyncBoltRequest, response: BoltResponse | None) -> None:
        try:
            await self.inflight.on_finish(request)
        finally:
            self.inflight.finished()
