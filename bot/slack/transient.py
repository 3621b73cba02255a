"""Which Slack failures pass by themselves, and how long the app keeps trying through them.

Slack's 5xx answers (and `internal_error` / `service_unavailable` with any status) and dropped
or timed-out connections say nothing about the request itself: the same call usually works a
moment later. Each Web API client already repeats such a call twice, quickly
(`clients.transient_handlers`; never a post, which Slack may have made before failing: see
`posting.py`); `Patience` is the longer haul above that: capped exponential waits
until a budget of seconds is spent, and then `NotShown`, which tells the core that Slack, not the
run, failed. 429s are not handled here: the edit scheduler and the channel pacer own those.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError

from ..core.ports import NotShown

log = logging.getLogger(__name__)

TRANSIENT_CODES = frozenset({"internal_error", "service_unavailable"})
"""Slack error codes that mean "our side had a problem, try again" (Slack's own docs)."""
_UPLOAD_5XX = re.compile(r"\(status: 5\d\d\b")
"""How slack_sdk reports a 5xx from the file upload URL (a `SlackRequestError`)."""

Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")


def status_of(error: SlackApiError) -> int:
    return error.response.status_code if error.response is not None else 0


def code_of(error: SlackApiError) -> str:
    data = error.response.data if error.response is not None else None
    return str(data.get("error", "")) if isinstance(data, dict) else ""


def is_transient(error: BaseException) -> bool:
    """True for failures worth the same call again: Slack's 5xx, its "try again" error codes,
    a dropped, refused or timed-out connection."""
    if isinstance(error, SlackApiError):
        return status_of(error) >= 500 or code_of(error) in TRANSIENT_CODES
    if isinstance(error, SlackRequestError):
        return bool(_UPLOAD_5XX.search(str(error)))
    return isinstance(error, aiohttp.ClientError | TimeoutError | ConnectionError)


class Patience:
    """Waits between tries of one Slack call through transient failures: `initial` seconds,
    doubling up to `cap`, until `budget` seconds of waiting are used up; then `NotShown`."""

    def __init__(
        self,
        budget: float,
        *,
        sleep: Sleep = asyncio.sleep,
        initial: float = 1.0,
        cap: float = 30.0,
    ) -> None:
        self.budget = budget
        self.sleep = sleep
        self.next_delay = initial
        self.cap = cap
        self.spent = 0.0

    async def pause(self, what: str, error: BaseException) -> None:
        """Wait before the next try of `what`, or raise `NotShown` if the budget is spent."""
        if self.spent >= self.budget:
            raise NotShown(f"Slack kept failing {what}: {error!r}") from error
        delay = min(self.next_delay, self.cap, self.budget - self.spent)
        log.info("%s failed for a passing reason (%r); trying again in %.1f s", what, error, delay)
        self.spent += delay
        self.next_delay = min(self.next_delay * 2, self.cap)
        await self.sleep(delay)


async def calmly(
    call: Callable[[], Awaitable[T]], what: str, *, budget: float, sleep: Sleep = asyncio.sleep
) -> T:
    """`call()`, tried again through transient failures (see `Patience`)."""
    patience = Patience(budget, sleep=sleep)
    while True:
        try:
            return await call()
        except Exception as error:
            if not is_transient(error):
                raise
            await patience.pause(what, error)
