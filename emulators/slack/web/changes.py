"""Telling open sandbox pages that the emulator's state may have changed.

Everything that changes what the page shows arrives as an HTTP request to the emulator: the
app's Web API calls and uploads, its `response_url` posts, and the people and tests acting
through `/_emulator/`. So one middleware bumps a counter after each such request, and each open
page's event stream wakes, works out what changed (see `view.Watcher`) and pushes it.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.typedefs import Handler

SANDBOX_PREFIX = "/_sandbox/"


class Changes:
    """A version number that goes up after every change, and a way to wait for the next one."""

    def __init__(self) -> None:
        self.version = 0
        self._bumped = asyncio.Event()

    def bump(self) -> None:
        self.version += 1
        self._bumped.set()
        self._bumped = asyncio.Event()

    async def wait_past(self, seen: int) -> None:
        """Return once the version is past `seen`."""
        bumped = self._bumped
        if self.version == seen:
            await bumped.wait()


CHANGES = web.AppKey("sandbox_changes", Changes)


def _may_change(request: web.Request) -> bool:
    """Reads of the control API and the page's own requests change nothing the page shows."""
    path = request.path
    if path.startswith(SANDBOX_PREFIX) or path == "/" or path.startswith("/sandbox"):
        return False
    return not (request.method == "GET" and path.startswith("/_emulator/"))


@web.middleware
async def notify_changes(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    finally:
        if _may_change(request):
            request.app[CHANGES].bump()
