"""Waiting out a database outage: statements wait and try again with backoff instead of
failing the runs they belong to, and the log gets one line when an outage starts and one
when it ends, however many statements were waiting."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

FIRST_WAIT = 0.5
LONGEST_WAIT = 5.0


class Outage:
    """The state of the connection to one database, shared by every statement sent to it."""

    def __init__(
        self,
        where: str,
        *,
        sleep: Callable[[float], Coroutine[Any, Any, None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.where = where
        self.down_since: float | None = None
        self._sleep = sleep
        self._clock = clock

    async def wait(self, error: Exception, attempt: int) -> None:
        """A statement could not reach the database: note the outage, then wait to retry."""
        if self.down_since is None:
            self.down_since = self._clock()
            log.warning(
                "the %s does not answer (%s); work waits and retries until it is back",
                self.where,
                " ".join(str(error).split()) or type(error).__name__,
            )
        await self._sleep(min(LONGEST_WAIT, FIRST_WAIT * 2**attempt))

    def over(self) -> None:
        """A statement went through: an outage, if there was one, is over."""
        if self.down_since is not None:
            log.info("the %s is back after %.0f s", self.where, self._clock() - self.down_since)
            self.down_since = None
