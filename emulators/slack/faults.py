"""Injected failures (`/_emulator/faults`): which call fails, how, and the calls held back.

A fault names a Web API method, or one of two pseudo-methods: `upload` (the POST of a file's
bytes to its `upload_url`) and `response_url` (a POST to a `response_url`). It skips its first
`after` matching calls, then acts on the next `count`:

- `respond` (default): answer `status`/`error` (and `Retry-After`) instead; no effect.
- `hold`: perform the call, but keep its response back until `POST /_emulator/release`. A test
  can SIGKILL the app while it waits, which makes a crash window of microseconds certain.
- `close`: drop the connection without a response.

With `performed: true`, a `respond` or `close` fault lets the call take effect first (the
message is posted), then fails it: Slack acted, and the app cannot tell.

`match` narrows a fault to calls whose arguments contain some text: a string is looked for
in all the arguments as JSON (say `"✅"` for a final edit, or a `thread_ts`), an object
`{argument: text}` in those arguments. Faults are tried in the order they were added; the
first that matches a call counts it.

`/_emulator/holds` (`control_holds.py`) is the same `hold`, listed and armed on its own.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
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
    match: str | dict[str, str] | None = None
    action: str = "respond"
    performed: bool = False

    def matches(self, method: str, team: str | None, args: dict[str, Any]) -> bool:
        if self.method != method or (self.team is not None and self.team != team):
            return False
        if isinstance(self.match, dict):
            return all(text in str(args.get(name, "")) for name, text in self.match.items())
        if self.match is None:
            return True
        return self.match in json.dumps(args, ensure_ascii=False, default=str)

    def describe(self) -> dict[str, Any]:
        return asdict(self)


_held_ids = itertools.count(1)


@dataclass
class HeldCall:
    """A call that was performed and whose response waits for `POST /_emulator/release`."""

    method: str
    team: str | None
    since: float
    id: int = field(default_factory=lambda: next(_held_ids))
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "method": self.method, "team": self.team, "since": self.since}


class Faults:
    """The pending faults, and the calls held back by `hold` until released."""

    def __init__(self) -> None:
        self.pending: list[Fault] = []
        self.held: list[HeldCall] = []
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

    async def hold(self, method: str, team: str | None, now: float) -> None:
        """Wait until released (or reset); the caller then sends its response."""
        call = HeldCall(method, team, now)
        self.held.append(call)
        self.held_total += 1
        try:
            await call.released.wait()
        finally:
            if call in self.held:
                self.held.remove(call)

    def release(self, count: int | None = None) -> int:
        """Let the held responses go, oldest first: all of them, or `count`."""
        chosen = self.held[: len(self.held) if count is None else count]
        for call in chosen:
            call.released.set()
            self.held.remove(call)
        return len(chosen)

    def clear(self, action: str | None = None) -> None:
        """Drop the pending faults (only those with `action`, if given); release every call."""
        self.pending = [f for f in self.pending if action is not None and f.action != action]
        self.release()

    def describe(self) -> dict[str, Any]:
        return {
            "faults": [f.describe() for f in self.pending],
            "held": len(self.held),
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
    if isinstance(match, dict):
        match = {str(name): str(text) for name, text in match.items()}
    elif match is not None:
        match = str(match)
    return Fault(
        method=need_method,
        error=error,
        status=status,
        retry_after=None if retry_after is None else int(retry_after),
        count=count,
        team=body.get("team"),
        after=after,
        match=match,
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
    now: float,
) -> web.StreamResponse:
    """Serve a call outside the Web API (the upload and response URLs) under its fault."""
    fault = faults.take(method, team, args)
    if fault is None:
        return await perform()
    if fault.action == "hold":
        response = await perform()
        await faults.hold(method, team, now)
        return response
    if fault.performed:
        await perform()  # it takes effect; the answer still fails
    if fault.action == "close":
        drop_connection(request.transport)
        return web.Response(status=599)  # never written: the connection is gone
    headers = None if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
    body = {"ok": False, "error": fault.error}
    return web.json_response(body, status=fault.status, headers=headers)
