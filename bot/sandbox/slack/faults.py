"""Injected failures (`/_emulator/faults`): which call fails, how, and the calls held back.

A fault names a Web API method, or one of two pseudo-methods: `upload` (the POST of a file's
bytes to its `upload_url`) and `response_url` (a POST to a `response_url`). It skips its first
`after` matching calls, then acts on the next `count`:

- `respond` (default): answer `status`/`error` (and `Retry-After`) instead; no effect.
- `hold`: perform the call, but keep its response back until `POST /_emulator/release`. A test
  can SIGKILL the app while it waits, which makes a crash window of microseconds certain.
- `close`: drop the connection without a response; with `performed: true` the call takes
  effect first (the app cannot tell whether it did).

`match` narrows a fault to calls whose arguments, as JSON, contain that text (say `"✅"` for a
final edit, or a `thread_ts`). Faults are tried in the order they were added; the first that
matches a call counts it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from aiohttp import web

ACTIONS = ("respond", "hold", "close")


@dataclass
class Fault:
    method: str
    error: str
    status: int
    retry_after: int | None
    count: int
    team: str | None = None
    after: int = 0
    match: str | None = None
    action: str = "respond"
    performed: bool = False

    def matches(self, method: str, team: str | None, args: dict[str, Any]) -> bool:
        if self.method != method or (self.team is not None and self.team != team):
            return False
        if self.match is None:
            return True
        return self.match in json.dumps(args, ensure_ascii=False, default=str)

    def describe(self) -> dict[str, Any]:
        return asdict(self)


class Faults:
    """The pending faults, and the responses held back by `hold` until released."""

    def __init__(self) -> None:
        self.pending: list[Fault] = []
        self._held: list[asyncio.Future[None]] = []
        self.held_total = 0

    def add(self, fault: Fault) -> None:
        self.pending.append(fault)

    def take(self, method: str, team: str | None, args: dict[str, Any]) -> Fault | None:
        """The fault that applies to this call, if any (counting it against `after`/`count`)."""
        for fault in self.pending:
            if not fault.matches(method, team, args):
                continue
            if fault.after > 0:
                fault.after -= 1
                return None
            fault.count -= 1
            if fault.count <= 0:
                self.pending.remove(fault)
            return fault
        return None

    @property
    def held(self) -> int:
        """Responses being held back right now."""
        return sum(1 for future in self._held if not future.done())

    async def hold(self) -> None:
        """Wait until released (or reset); the caller then sends its response."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._held.append(future)
        self.held_total += 1
        try:
            await future
        finally:
            if future in self._held:
                self._held.remove(future)

    def release(self) -> int:
        """Let every held response go; returns how many there were."""
        released = 0
        for future in self._held:
            if not future.done():
                future.set_result(None)
                released += 1
        self._held = []
        return released

    def clear(self) -> None:
        self.pending.clear()
        self.release()

    def describe(self) -> dict[str, Any]:
        return {
            "faults": [f.describe() for f in self.pending],
            "held": self.held,
            "held_total": self.held_total,
        }


def parse_fault(body: dict[str, Any], need_method: str) -> Fault:
    """A `Fault` from the control API's JSON (`need_method` is the already-checked method)."""
    status = int(body.get("status", 200))
    error = str(body.get("error") or ("ratelimited" if status == 429 else "internal_error"))
    retry_after = body.get("retry_after")
    action = str(body.get("action") or "respond")
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}")
    after = int(body.get("after", 0))
    count = int(body.get("count", 1))
    if after < 0 or count < 1:
        raise ValueError("after must be >= 0 and count >= 1")
    match = body.get("match")
    return Fault(
        method=need_method,
        error=error,
        status=status,
        retry_after=None if retry_after is None else int(retry_after),
        count=count,
        team=body.get("team"),
        after=after,
        match=None if match is None else str(match),
        action=action,
        performed=bool(body.get("performed", False)),
    )


def drop_connection(transport: asyncio.BaseTransport | None) -> None:
    """Close the client's connection with no response at all (a network failure)."""
    if transport is not None:
        transport.close()


async def faulted(
    faults: Faults,
    request: web.Request,
    method: str,
    team: str | None,
    args: dict[str, Any],
    perform: Callable[[], Awaitable[web.StreamResponse]],
) -> web.StreamResponse:
    """Serve a call outside the Web API (the upload and response URLs) under its fault."""
    fault = faults.take(method, team, args)
    if fault is None:
        return await perform()
    if fault.action == "respond":
        headers = None if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
        body = {"ok": False, "error": fault.error}
        return web.json_response(body, status=fault.status, headers=headers)
    if fault.action == "close" and not fault.performed:
        drop_connection(request.transport)
        return web.Response(status=599)  # never written: the connection is gone
    response = await perform()
    if fault.action == "hold":
        await faults.hold()
    else:
        drop_connection(request.transport)
    return response
