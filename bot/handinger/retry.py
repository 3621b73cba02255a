"""When and how long to wait before repeating a failed Handinger request.

Built on tenacity (a well-kept retry library) rather than a hand-written loop: tenacity owns the
loop, the attempt counting and the injectable sleep; this module only decides *whether* an error
is worth repeating and *how long* to wait, following the official SDK's policy (backoff 0.5·2ⁿ s
capped at 8 s, with jitter; the server's `Retry-After` wins when it is 0–60 s).

Most requests get a few retries. A read whose answer the app cannot do without (the worker
after its turn, which is what the final message shows) may instead be *patient*: retried with
the same capped backoff until it has waited `patience` seconds in all.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base

from .errors import APIConnectionError, APIStatusError, HandingerError

MAX_RETRY_AFTER = 60.0
INITIAL_DELAY = 0.5
MAX_DELAY = 8.0

RETRYABLE_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))
"""Statuses worth repeating an idempotent request for."""

NOT_PROCESSED_STATUSES = frozenset({429, 503})
"""Statuses that mean the server did not act, so even a create may be sent again."""

Sleep = Callable[[float], Awaitable[None]]


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP date), if usable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(seconds, 0.0)


def should_retry(error: BaseException, *, idempotent: bool) -> bool:
    """Whether `error` is worth another attempt.

    A request that creates something (a worker, a turn, a schedule) is repeated only when the
    server certainly did not act on it; anything else could double a worker or a turn.
    """
    if isinstance(error, APIStatusError):
        statuses = RETRYABLE_STATUSES if idempotent else NOT_PROCESSED_STATUSES
        return error.status_code in statuses
    if isinstance(error, APIConnectionError):
        return idempotent or error.certainly_not_sent
    return False


def backoff_delay(attempt: int, rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with up to 25 % jitter: ~0.5 s, ~1 s, ~2 s, … capped at 8 s."""
    base: float = min(INITIAL_DELAY * 2.0 ** max(attempt - 1, 0), MAX_DELAY)
    return base * (1 - 0.25 * rand())


def wait_for(state: RetryCallState) -> float:
    """tenacity wait strategy: honour the server's `Retry-After`, else back off."""
    outcome = state.outcome
    error = outcome.exception() if outcome is not None else None
    retry_after = error.retry_after if isinstance(error, APIStatusError) else None
    if retry_after is not None and 0 <= retry_after <= MAX_RETRY_AFTER:
        return retry_after
    return backoff_delay(state.attempt_number)


class stop_after_waiting(stop_base):
    """Stop once the waits between attempts add up to `patience` seconds.

    Counted from the waits asked for, not the wall clock, so an injected sleep keeps it exact.
    """

    def __init__(self, patience: float) -> None:
        self.patience = patience

    def __call__(self, retry_state: RetryCallState) -> bool:
        return retry_state.idle_for >= self.patience


def retrying(
    max_retries: int, *, idempotent: bool, sleep: Sleep, patience: float | None = None
) -> AsyncRetrying:
    """An `AsyncRetrying` loop for one request: `max_retries` repeats after the first attempt,
    or, with `patience`, repeats until the waits between them add up to that many seconds."""
    stop = stop_after_attempt(max_retries + 1) if patience is None else stop_after_waiting(patience)
    return AsyncRetrying(
        stop=stop,
        wait=wait_for,
        retry=retry_if_exception(
            lambda e: isinstance(e, HandingerError) and should_retry(e, idempotent=idempotent)
        ),
        sleep=sleep,
        reraise=True,
    )
