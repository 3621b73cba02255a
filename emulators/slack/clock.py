"""Two clocks: real wall time for timestamps, and scaled emulated time for Slack's slow windows.

Rate-limit windows, retry delays and response_url expiry are measured in emulated seconds so a
benchmark can run "an hour of Slack" in a minute (`--time-scale 60`). Anything the app itself
must meet (ack deadlines, `ts` values, signature timestamps) stays in real time.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable


class Clock:
    """Scaled monotonic time with injectable sources, so limiter tests need no sleeping."""

    def __init__(
        self,
        scale: float = 1.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._monotonic = monotonic
        self._wall = wall
        self._scale = scale
        self._base_real = monotonic()
        self._base_emu = 0.0

    @property
    def scale(self) -> float:
        return self._scale

    def set_scale(self, scale: float) -> None:
        """Change speed without making emulated time jump."""
        if scale <= 0:
            raise ValueError("time scale must be > 0")
        self._base_emu = self.now()
        self._base_real = self._monotonic()
        self._scale = scale

    def now(self) -> float:
        """Emulated seconds since start; only differences matter."""
        return self._base_emu + (self._monotonic() - self._base_real) * self._scale

    def wall(self) -> float:
        """Real Unix time, for message `ts` values and records."""
        return self._wall()

    def to_real(self, emulated_seconds: float) -> float:
        return emulated_seconds / self._scale

    def retry_after(self, emulated_seconds: float) -> int:
        """Slack's `Retry-After` is whole real seconds; never 0 so clients always back off."""
        return max(1, math.ceil(self.to_real(emulated_seconds) - 1e-9))

    async def sleep(self, emulated_seconds: float) -> None:
        if emulated_seconds > 0:
            await asyncio.sleep(self.to_real(emulated_seconds))
