"""Held responses: a request is performed at once, but its response waits for a release.

This makes a client's crash window deterministic: the server has acted (a worker exists, a turn
runs) while the client has not yet heard back, for as long as a test needs to kill the client.
A hold is a fault with `action: "hold"` (`POST /_emulator/faults`); `GET /_emulator/held` lists
the requests being held and `POST /_emulator/release` lets their responses go.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

_ids = itertools.count(1)
HOLD_KEY = "emulator_hold"


@dataclass
class HeldRequest:
    """A request whose effect is done and whose response waits for `released`."""

    method: str
    path: str
    id: int = field(default_factory=lambda: next(_ids))
    since: float = 0.0
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "method": self.method, "path": self.path, "since": self.since}


def arm(request: web.Request) -> None:
    """Mark a request to be held once its handler has acted."""
    request[HOLD_KEY] = HeldRequest(request.method, request.path)


async def wait_if_held(request: web.Request, held: list[HeldRequest]) -> None:
    """Called just before a response is sent: wait here until released, if the request is held.

    SSE handlers call it before sending their headers (the turn has started by then); the fault
    middleware calls it for every other response once the handler returned. Only the first call
    of a request waits.
    """
    hold: HeldRequest | None = request.pop(HOLD_KEY, None)
    if hold is None:
        return
    hold.since = time.time()
    held.append(hold)
    try:
        await hold.released.wait()
    finally:
        if hold in held:
            held.remove(hold)


def release(held: list[HeldRequest], count: int | None = None) -> int:
    """Let the oldest `count` held responses go (all of them without a count)."""
    chosen = held[: count if count is not None else len(held)]
    for hold in chosen:
        hold.released.set()
        held.remove(hold)
    return len(chosen)
