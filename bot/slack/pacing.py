"""Pace `chat.postMessage` per channel, as Slack allows about one message a second per channel.

Twenty runs started at once in one channel would otherwise all post their card together, get
429s, retry together and collide again until a retry budget runs out. Posts instead reserve a
slot in a per-channel token bucket (a short burst, then one a second), in arrival order.

Slack counts a post when it arrives, not when its slot came. Posts held up on the way by
different amounts (a busy event loop, a slow connection) arrive closer together than they were
sent, so a bucket exactly as large as Slack's would overrun it: the burst here is one post
smaller than Slack's (about 3), and that spare post absorbs up to a second of such unevenness.

Other processes on the same database post too: with `shared` (`shared_rates.py`), a post also
books its place in the channel's allowance that all of them share, and waits until then.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class ChannelPacer:
    """Hands out posting slots per (workspace, channel)."""

    def __init__(
        self,
        per_second: float = 1.0,
        burst: float = 2.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        shared: Callable[[str, str], Awaitable[float]] | None = None,
    ) -> None:
        self._shared = shared
        self.per_second = per_second
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def reserve(self, team: str, channel: str) -> float:
        """Take the next slot of a channel; return how many seconds to wait for it."""
        now = self._clock()
        bucket = self._buckets.get((team, channel))
        if bucket is None:
            bucket = self._buckets[(team, channel)] = _Bucket(self.burst, now)
        elapsed = max(now - bucket.updated, 0.0)
        bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.per_second)
        bucket.updated = now
        bucket.tokens -= 1  # may go negative: later callers queue behind this one
        return 0.0 if bucket.tokens >= 0 else -bucket.tokens / self.per_second

    def penalize(self, team: str, channel: str, seconds: float) -> None:
        """Slack said 429 anyway: push every later slot of the channel back by `seconds`."""
        bucket = self._buckets.get((team, channel))
        if bucket is not None:
            bucket.tokens = min(bucket.tokens, 0.0) - seconds * self.per_second

    async def wait(self, team: str, channel: str) -> None:
        delay = self.reserve(team, channel)
        if delay > 0:
            await self._sleep(delay)
        if self._shared is not None and (delay := await self._shared(team, channel)) > 0:
            await self._sleep(delay)  # the shared slot is booked: no asking again
