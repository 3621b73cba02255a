"""The edit scheduler: every live message edit goes through here (DESIGN.md principle 3).

Slack allows about 50 `chat.update` calls a minute per workspace, for all messages together, so
edits are planned rather than fired:

- only the newest content of a message is kept (coalescing);
- a message is edited at most once per `interval` while it streams;
- a per-workspace token bucket is shared fairly: the message that waited longest goes next;
- final edits go first and skip the per-message interval; then edits that show an answer's
  first words, then edits that add words, and last edits that only change the status line
  (a tool step, the elapsed time);
- the lower classes leave tokens in the bucket (`EditPolicy.reserves`), so when the budget binds
  a final or a first answer still goes out at once instead of queueing behind status ticks;
- a 429 pauses the whole workspace for its `Retry-After`, and the edit is sent again afterwards;
- an edit that failed for a passing reason (the sender's `retryable`: Slack's 5xx, a dropped
  connection) is sent again after a capped exponential wait of its own (1 s, 2 s, … 30 s), up to
  `max_attempts` failures (a few minutes), and only then reported to whoever awaits it.

`EditLane` is the pure planning part (time is passed in, so tests drive it with plain numbers);
`EditScheduler` runs one lane per workspace on the event loop and does the sending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

P = TypeVar("P")


class EditsDropped(Exception):
    """The workspace's edits were dropped (`EditScheduler.drop`) before this one was sent."""

    def __init__(self, workspace: str) -> None:
        super().__init__(f"edits in {workspace} were dropped")
        self.workspace = workspace


class RateLimited(Exception):
    """Raised by a sender when Slack answered 429; the edit will be sent again later."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after} s")
        self.retry_after = retry_after


FINAL, FIRST_WORDS, MORE_WORDS, STATUS = range(4)
"""Edit classes, most urgent first."""


@dataclass(frozen=True, slots=True)
class EditPolicy:
    """The numbers behind the plan. The defaults keep any 60 s window at or under 50 edits.

    `reserves[c]` is how many tokens an edit of class `c` must leave in the bucket.
    """

    interval: float = 1.0
    per_minute: float = 45.0
    burst: float = 5.0
    max_in_flight: int = 4
    max_attempts: int = 12
    """Failures (not 429s) an edit may have before it is given up."""
    retry_initial: float = 1.0
    retry_max: float = 30.0
    reserves: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 2.0)

    def retry_delay(self, failures: int) -> float:
        """How long an edit waits after its `failures`-th failure."""
        delay: float = self.retry_initial * 2.0 ** max(failures - 1, 0)
        return min(delay, self.retry_max)


@dataclass(slots=True)
class _Entry(Generic[P]):
    payload: P
    final: bool
    submitted_at: float
    text_chars: int = 0
    waiters: list[asyncio.Future[None]] = field(default_factory=list)
    last_sent_at: float = -math.inf
    final_at: float = math.inf
    failures: int = 0
    retry_at: float = -math.inf

    def urgency(self, shown_chars: int) -> int:
        """The edit's class, given how much answer text the message already shows."""
        if self.final:
            return FINAL
        if self.text_chars > shown_chars:
            return FIRST_WORDS if shown_chars == 0 else MORE_WORDS
        return STATUS

    def priority(self, shown_chars: int) -> tuple[int, float, float]:
        """By class; finals in the order they were finished, others whoever waited longest."""
        if self.final:
            return (FINAL, self.final_at, 0.0)
        return (self.urgency(shown_chars), self.last_sent_at, self.submitted_at)


@dataclass(frozen=True, slots=True)
class Send(Generic[P]):
    key: Hashable
    payload: P
    final: bool


@dataclass(frozen=True, slots=True)
class Wait:
    """Nothing can be sent before `until` (or before something new is offered, if None)."""

    until: float | None


@dataclass(slots=True)
class EditLane(Generic[P]):
    """What to send next in one workspace. All methods take `now` (monotonic seconds)."""

    policy: EditPolicy
    now: float
    tokens: float = field(init=False)
    refilled_at: float = field(init=False)
    paused_until: float = -math.inf
    pending: dict[Hashable, _Entry[P]] = field(default_factory=dict)
    in_flight: dict[Hashable, _Entry[P]] = field(default_factory=dict)
    last_sent: dict[Hashable, float] = field(default_factory=dict)
    shown_chars: dict[Hashable, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.tokens = self.policy.burst
        self.refilled_at = self.now

    def offer(
        self,
        key: Hashable,
        payload: P,
        *,
        final: bool,
        now: float,
        text_chars: int = 0,
        waiter: asyncio.Future[None] | None = None,
    ) -> None:
        """Queue `payload` as the newest content of message `key`, replacing older content.

        `text_chars` is how much answer text it shows: more than the message shows already
        makes the edit more urgent than a status change. `waiter`, if given, settles once this
        content or newer content has been sent.
        """
        older = self.pending.get(key)
        waiters = older.waiters if older is not None else []
        if waiter is not None:
            waiters.append(waiter)
        final_at = older.final_at if older is not None else math.inf
        self.pending[key] = _Entry(
            payload=payload,
            final=final or (older is not None and older.final),
            submitted_at=older.submitted_at if older is not None else now,
            text_chars=text_chars,
            waiters=waiters,
            last_sent_at=self.last_sent.get(key, -math.inf),
            final_at=min(final_at, now) if final else final_at,
            failures=older.failures if older is not None else 0,
            retry_at=older.retry_at if older is not None else -math.inf,
        )

    def next(self, now: float) -> Send[P] | Wait:
        """The next edit to send now, or how long to wait."""
        self._refill(now)
        if not self.pending:
            return Wait(None)
        if now < self.paused_until:
            return Wait(self.paused_until)
        if len(self.in_flight) >= self.policy.max_in_flight:
            return Wait(None)
        ready: list[tuple[Hashable, _Entry[P]]] = []
        earliest = math.inf
        for key, entry in self.pending.items():
            if key in self.in_flight:
                continue  # one edit per message at a time keeps them in order
            due = entry.last_sent_at + self.policy.interval if not entry.final else -math.inf
            due = max(due, entry.retry_at)
            if due <= now:
                ready.append((key, entry))
            else:
                earliest = min(earliest, due)
        if not ready:
            return Wait(earliest if earliest < math.inf else None)
        key, entry = min(ready, key=lambda item: item[1].priority(self._shown(item[0])))
        reserve = self.policy.reserves[entry.urgency(self._shown(key))]
        needed = min(1 + reserve, self.policy.burst)
        if self.tokens < needed:
            return Wait(now + (needed - self.tokens) * 60.0 / self.policy.per_minute)
        del self.pending[key]
        self.tokens -= 1
        self.in_flight[key] = entry
        return Send(key, entry.payload, entry.final)

    def sent(self, key: Hashable, now: float) -> None:
        """The edit of `key` reached Slack."""
        entry = self.in_flight.pop(key)
        self.last_sent[key] = now
        self.shown_chars[key] = max(self._shown(key), entry.text_chars)
        if key in self.pending:
            self.pending[key].last_sent_at = now
        for waiter in entry.waiters:
            if not waiter.done():
                waiter.set_result(None)

    def rate_limited(self, key: Hashable, retry_after: float, now: float) -> None:
        """Slack said 429: pause the workspace and keep the edit unless newer content exists."""
        entry = self.in_flight.pop(key)
        self.paused_until = max(self.paused_until, now + retry_after)
        self.tokens = min(self.tokens, 0.0)
        self._requeue(key, entry)

    def failed(self, key: Hashable, error: BaseException, *, retry: bool, now: float) -> None:
        """The edit failed for another reason: if `retry`, send it again after a backoff, a
        bounded number of times; else (or then) the error goes to whoever awaits it."""
        entry = self.in_flight.pop(key)
        entry.failures += 1
        if retry and entry.failures < self.policy.max_attempts:
            entry.retry_at = now + self.policy.retry_delay(entry.failures)
            self._requeue(key, entry)
            return
        for waiter in entry.waiters:
            if not waiter.done():
                waiter.set_exception(error)

    def forget(self, key: Hashable) -> None:
        """The message is finished; drop its pacing history."""
        if key not in self.pending and key not in self.in_flight:
            self.last_sent.pop(key, None)
            self.shown_chars.pop(key, None)

    def _shown(self, key: Hashable) -> int:
        return self.shown_chars.get(key, 0)

    def _requeue(self, key: Hashable, entry: _Entry[P]) -> None:
        newer = self.pending.get(key)
        if newer is None:
            self.pending[key] = entry
        else:  # the newer content supersedes this edit; its waiters wait for that one
            newer.waiters[:0] = entry.waiters
            newer.final = newer.final or entry.final
            newer.text_chars = max(newer.text_chars, entry.text_chars)
            newer.final_at = min(newer.final_at, entry.final_at)
            newer.failures = max(newer.failures, entry.failures)
            newer.retry_at = max(newer.retry_at, entry.retry_at)

    def _refill(self, now: float) -> None:
        elapsed = max(now - self.refilled_at, 0.0)
        self.tokens = min(self.policy.burst, self.tokens + elapsed * self.policy.per_minute / 60)
        self.refilled_at = now


Sender = Callable[[Hashable, P, bool], Awaitable[None]]
"""Sends one edit: `(message key, payload, final)`. Raises `RateLimited` on a 429."""

Retryable = Callable[[BaseException], bool]


class EditScheduler(Generic[P]):
    """Runs one `EditLane` per workspace and sends through `sender`."""

    def __init__(
        self,
        sender: Sender[P],
        policy: EditPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        retryable: Retryable = lambda error: False,
    ) -> None:
        self._sender = sender
        self.policy = policy or EditPolicy()
        self._clock = clock
        self._retryable = retryable
        self._lanes: dict[str, EditLane[P]] = {}
        self._wakers: dict[str, asyncio.Event] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._sends: dict[asyncio.Task[None], str] = {}  # each send and its workspace

    def update(self, workspace: str, key: Hashable, payload: P, *, text_chars: int = 0) -> None:
        """Show `payload` on message `key` soon; superseded by any newer update.

        `text_chars`: how much answer text `payload` shows (see `EditLane.offer`).
        """
        lane = self._lane(workspace)
        lane.offer(key, payload, final=False, now=self._clock(), text_chars=text_chars)
        self._wakers[workspace].set()

    async def finish(self, workspace: str, key: Hashable, payload: P) -> None:
        """Send the final content of `key` ahead of progress edits and wait until it is sent.

        Raises the sender's error if it failed for good.
        """
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._lane(workspace).offer(key, payload, final=True, now=self._clock(), waiter=waiter)
        self._wakers[workspace].set()
        try:
            await waiter
        finally:
            self.forget(workspace, key)

    def forget(self, workspace: str, key: Hashable) -> None:
        lane = self._lanes.get(workspace)
        if lane is not None:
            lane.forget(key)

    def drop(self, workspace: str, error: BaseException | None = None) -> int:
        """Stop editing in a workspace (the app was uninstalled there): unsent edits are
        discarded, sends in flight are cancelled, and whoever still waits for a final edit
        gets `error` (default `EditsDropped`). Returns how many edits were discarded."""
        lane = self._lanes.pop(workspace, None)
        self._wakers.pop(workspace, None)
        task = self._tasks.pop(workspace, None)
        if task is not None:
            task.cancel()
        for send, where in list(self._sends.items()):
            if where == workspace:
                send.cancel()
        if lane is None:
            return 0
        failure = error or EditsDropped(workspace)
        entries = [*lane.pending.values(), *lane.in_flight.values()]
        for entry in entries:
            for waiter in entry.waiters:
                if not waiter.done():
                    waiter.set_exception(failure)
        return len(entries)

    async def aclose(self) -> None:
        for task in [*self._tasks.values(), *self._sends]:
            task.cancel()
        await asyncio.gather(*self._tasks.values(), *self._sends, return_exceptions=True)
        self._tasks.clear()

    def _lane(self, workspace: str) -> EditLane[P]:
        lane = self._lanes.get(workspace)
        if lane is None:
            lane = self._lanes[workspace] = EditLane(self.policy, now=self._clock())
            self._wakers[workspace] = asyncio.Event()
            self._tasks[workspace] = asyncio.create_task(
                self._run(workspace, lane), name=f"edits:{workspace}"
            )
        return lane

    async def _run(self, workspace: str, lane: EditLane[P]) -> None:
        waker = self._wakers[workspace]
        while True:
            decision = lane.next(self._clock())
            if isinstance(decision, Send):
                task = asyncio.create_task(self._send(workspace, lane, decision))
                self._sends[task] = workspace
                task.add_done_callback(self._send_done)
                continue
            waker.clear()
            timeout = None if decision.until is None else max(decision.until - self._clock(), 0)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):  # unlike wait_for, never eats a cancel
                    await waker.wait()

    def _send_done(self, task: asyncio.Task[None]) -> None:
        self._sends.pop(task, None)

    async def _send(self, workspace: str, lane: EditLane[P], send: Send[P]) -> None:
        try:
            await self._sender(send.key, send.payload, send.final)
        except RateLimited as limited:
            log.warning(
                "slack rate limit in %s: pausing edits %.1f s", workspace, limited.retry_after
            )
            lane.rate_limited(send.key, limited.retry_after, self._clock())
        except asyncio.CancelledError:
            raise
        except Exception as error:  # reported to whoever awaits the edit
            lane.failed(send.key, error, retry=self._retryable(error), now=self._clock())
        else:
            lane.sent(send.key, self._clock())
        waker = self._wakers.get(workspace)
        if waker is not None:  # None once the workspace was dropped
            waker.set()
