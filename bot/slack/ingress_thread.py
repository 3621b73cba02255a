"""The app's HTTP server on a thread and event loop of its own, so acks never wait for the relay.

The app's event loop relays every Handinger stream, sends every edit and writes the database.
With a thousand runs, one turn of that loop can take a tenth of a second or more when many
runs start or finish together, and an HTTP request needs several turns before its answer is
written: measured, event acks waited up to 2.4 s for a loop that was busy relaying (issue 14).
So the server runs here, and `/slack/events` checks and answers each request on this thread
(`ingress.SlackEndpoint`); what needs the app's state (Bolt's listeners, the OAuth pages, the
health check) is handed to the app's loop through `Core`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from aiohttp import web

log = logging.getLogger(__name__)
T = TypeVar("T")


class Core:
    """The app's event loop, as the ingress thread reaches it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` on the app's loop; wait for its result on the caller's loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self.loop))

    def start(self, work: Coroutine[Any, Any, object], what: str) -> None:
        """Run `work` on the app's loop without waiting for it; a failure is logged."""
        future = asyncio.run_coroutine_threadsafe(work, self.loop)
        future.add_done_callback(lambda done: _log_failure(done, what))


def _log_failure(done: concurrent.futures.Future[object], what: str) -> None:
    if not done.cancelled() and (error := done.exception()) is not None:
        log.error("handling %s failed", what, exc_info=error)


class IngressThread:
    """Serves the web app that `build` makes on its own thread; `start` returns the bound
    port, `stop` finishes the requests in flight and ends the thread."""

    def __init__(self, build: Callable[[], web.Application], host: str, port: int) -> None:
        self.build = build
        self.host = host
        self.port = port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    async def start(self) -> int:
        ready: concurrent.futures.Future[int] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._serve, args=(ready,), name="slack-ingress", daemon=True
        )
        self._thread.start()
        return await asyncio.wrap_future(ready)

    async def stop(self) -> None:
        if self._thread is None:
            return
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        await asyncio.to_thread(self._thread.join)
        self._thread = None

    def _serve(self, ready: concurrent.futures.Future[int]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._run(ready))
        except BaseException as error:
            if not ready.done():
                ready.set_exception(error)
            else:
                log.exception("the HTTP server stopped")
        finally:
            loop.close()

    async def _run(self, ready: concurrent.futures.Future[int]) -> None:
        self._stop = asyncio.Event()
        runner = web.AppRunner(self.build())
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
            ready.set_result(_bound_port(runner) or self.port)
            await self._stop.wait()
        finally:
            await runner.cleanup()


def _bound_port(runner: web.AppRunner) -> int | None:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return None
