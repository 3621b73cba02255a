"""Held Web API calls: performed at once, answered only when a test releases them.

A crash window of a few milliseconds (the app posted a message but was killed before it read the
`ts`) becomes deterministic: hold `chat.postMessage`, wait until the call is held (the message
exists), kill the app, release. Rules come from `POST /_emulator/holds`; see `control_holds.py`.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

_ids = itertools.count(1)


@dataclass
class HoldRule:
    """Hold the next `count` calls of `method` (in `team`, if given)."""

    method: str
    count: int = 1
    team: str | None = None


@dataclass
class HeldCall:
    method: str
    team: str | None
    since: float
    id: int = field(default_factory=lambda: next(_ids))
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "method": self.method, "team": self.team, "since": self.since}


@dataclass
class Holds:
    rules: list[HoldRule] = field(default_factory=list)
    held: list[HeldCall] = field(default_factory=list)

    def take(self, method: str, team: str | None) -> bool:
        """Whether this call is to be held (consumes one use of the first matching rule)."""
        for rule in self.rules:
            if rule.method == method and (rule.team is None or rule.team == team):
                rule.count -= 1
                if rule.count <= 0:
                    self.rules.remove(rule)
                return True
        return False

    async def hold(self, method: str, team: str | None, now: float) -> None:
        """Wait until this (already performed) call is released."""
        call = HeldCall(method, team, now)
        self.held.append(call)
        try:
            await call.released.wait()
        finally:
            if call in self.held:
                self.held.remove(call)

    def release(self, count: int | None = None) -> int:
        chosen = self.held[: count if count is not None else len(self.held)]
        for call in chosen:
            call.released.set()
            self.held.remove(call)
        return len(chosen)

    def reset(self) -> None:
        self.rules.clear()
        self.release()
