"""`GET /_sandbox/events`: the page's live feed, as server-sent events.

The first event carries the whole workspace; each later one only what changed (see
`view.Watcher`). Changes that land close together go out as one event: after each send the
stream waits `COALESCE` seconds before looking again, so a channel with hundreds of streaming
cards costs the page a few updates a second, not one per Web API call. A comment line every
`HEARTBEAT` seconds lets both ends notice a dead connection.
"""

from __future__ import annotations

import asyncio
import json
import time

from aiohttp import web

from ..emulator import EMULATOR
from ..seed import DEFAULT_TEAM
from .changes import CHANGES
from .view import Watcher

COALESCE = 0.1
HEARTBEAT = 15.0


def frame(data: object) -> bytes:
    """One SSE `update` event; JSON never contains a raw newline, so one `data:` line is enough."""
    return b"event: update\ndata: " + json.dumps(data).encode() + b"\n\n"


async def events(request: web.Request) -> web.StreamResponse:
    emu = request.app[EMULATOR]
    changes = request.app[CHANGES]
    team = request.query.get("team", DEFAULT_TEAM)
    if team not in emu.world.workspaces:
        raise web.HTTPNotFound(text=f"no workspace {team} in this emulator")
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    watcher = Watcher(emu, team)
    try:
        while True:
            seen = changes.version
            delta = watcher.delta()
            if delta is not None:
                delta["version"] = seen
                delta["sent_at"] = time.time()
                await response.write(frame(delta))
            try:
                async with asyncio.timeout(HEARTBEAT):
                    await changes.wait_past(seen)
            except TimeoutError:
                await response.write(b": still here\n\n")
            else:
                await asyncio.sleep(COALESCE)
    except ConnectionResetError:
        pass
    return response
