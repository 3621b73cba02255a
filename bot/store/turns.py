"""Turns at a PostgreSQL process's connections: a statement that finds them all in use waits
its turn, in order, instead of timing out in the pool (which is no outage, and whose retry
would put it at the back of the queue); and the heartbeat's lease renewals (`urgent`) have a
connection of their own, so bulk work cannot starve them and a busy process keep its leases.

Past its turn a statement always has a connection free for it in the pool (the pool holds
`slots + reserved`), so a pool that cannot hand one over in time is making a new connection
that the server does not accept: an outage (`postgres.py`)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

RESERVED = 1
"""Connections beyond the pool's `max_size` kept for urgent statements: the heartbeat sends
its renewals one after the other, so one is enough."""

_URGENT: ContextVar[bool] = ContextVar("urgent", default=False)


@contextmanager
def urgent() -> Iterator[None]:
    """The statements sent inside (by this task) go ahead of ordinary ones: the heartbeat's
    lease renewals, which must not wait behind bulk work longer than a lease lasts."""
    token = _URGENT.set(True)
    try:
        yield
    finally:
        _URGENT.reset(token)


class Turns:
    """At most `slots` ordinary statements (or transactions) at a time, and `reserved` urgent
    ones beside them; the others wait first come, first served (asyncio's semaphores are)."""

    def __init__(self, slots: int, reserved: int = RESERVED) -> None:
        self._ordinary = asyncio.Semaphore(slots)
        self._urgent = asyncio.Semaphore(reserved)

    def turn(self) -> asyncio.Semaphore:
        """The queue of the statement about to be sent: `async with turns.turn(): ...`."""
        return self._urgent if _URGENT.get() else self._ordinary
