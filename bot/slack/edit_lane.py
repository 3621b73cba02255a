"""The plan of one workspace's edits: which edit goes next, and when.

The rules are in `edit_scheduler.py`, whose `EditScheduler` runs one `EditLane` per workspace.
Pure: time is passed in (monotonic seconds), so tests drive it with plain numbers.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

P = TypeVar("P")
K = TypeVar("K", bound=Hashable)

FINAL, FIRST_WORDS, MORE_WORDS, STATUS = range(4)
"""Edit classes, most urgent first."""


@dataclass(frozen=True, slots=True)
class EditPolicy:
    """The numbers behind the plan.

    Slack allows 50+ `chat.update` a minute per workspace, evaluated per minute, "sporadic
    bursts welcome": the lane never makes more than `per_minute` calls in any `window` seconds,
    and final edits may use all of that at once. Progress edits are paced on top of it by a
    token bucket (`burst`, refilled at `per_minute`), and must leave room in the window for the
    finals of the messages still streaming, one each, up to `final_share` of the allowance.
    `reserves[c]` is how many bucket tokens a progress edit of class `c` must leave.
    """

    interval: float = 1.0
    per_minute: float = 45.0
    window: float = 60.0
    burst: float = 5.0
    final_share: float = 0.5
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
        """By class; finals of messages that show no answer yet first (the final is also their
        first words), then in the order they were finished; others whoever waited longest."""
        if self.final:
            return (FINAL, 1.0 if shown_chars else 0.0, self.final_at)
        return (self.urgency(shown_chars), self.last_sent_at, self.submitted_at)


@dataclass(frozen=True, slots=True)
class Send(Generic[K, P]):
    key: K
    payload: P
    final: bool


@dataclass(frozen=True, slots=True)
class Wait:
    """Nothing can be sent before `until` (or before something new is offered, if None)."""

    until: float | None


@dataclass(slots=True)
class EditLane(Generic[K, P]):
    """What to send next in one workspace. All methods take `now` (monotonic seconds)."""

    policy: EditPolicy
    now: float
    tokens: float = field(init=False)
    refilled_at: float = field(init=False)
    paused_until: float = -math.inf
    held_until: float = -math.inf
    """Progress edits wait until then: other processes used the workspace's shared allowance."""
    probing: bool = False
    """The shared allowance refused a progress edit: until one gets through, progress edits ask
    one at a time (the others would be refused too, each for a round trip to the database)."""
    pending: dict[K, _Entry[P]] = field(default_factory=dict)
    in_flight: dict[K, _Entry[P]] = field(default_factory=dict)
    last_sent: dict[K, float] = field(default_factory=dict)
    shown_chars: dict[K, int] = field(default_factory=dict)
    calls: deque[float] = field(default_factory=deque)
    """When each call of the last `window` seconds was answered, oldest first."""
    live: dict[K, float] = field(default_factory=dict)
    """Messages streaming, each with when it was last offered: each will need a final edit.
    One not offered for a `window` (a streaming run's status ticks every few seconds) no longer
    counts, so a run that ended without a final edit cannot hold room forever."""

    def __post_init__(self) -> None:
        self.tokens = self.policy.burst
        self.refilled_at = self.now

    def offer(
        self,
        key: K,
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
        if not final:
            self.live[key] = now
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

    def next(self, now: float) -> Send[K, P] | Wait:
        """The next edit to send now, or how long to wait."""
        self._refill(now)
        if not self.pending:
            return Wait(None)
        if now < self.paused_until:
            return Wait(self.paused_until)
        if len(self.in_flight) >= self.policy.max_in_flight:
            return Wait(None)
        ready: list[tuple[K, _Entry[P]]] = []
        earliest = math.inf
        asking = self.probing and any(not e.final for e in self.in_flight.values())
        for key, entry in self.pending.items():
            if key in self.in_flight or (asking and not entry.final):
                continue  # one edit per message at a time keeps them in order
            due = entry.last_sent_at + self.policy.interval if not entry.final else -math.inf
            due = max(due, entry.retry_at, self.held_until if not entry.final else -math.inf)
            if due <= now:
                ready.append((key, entry))
            else:
                earliest = min(earliest, due)
        if not ready:
            return Wait(earliest if earliest < math.inf else None)
        key, entry = min(ready, key=lambda item: item[1].priority(self._shown(item[0])))
        # a final needs only room in Slack's window; progress leaves room for the finals
        opens = self._window_opens(0 if entry.final else self.reserved_for_finals(now), now)
        if opens > now:
            return Wait(None if opens == math.inf else opens)
        if not entry.final:
            reserve = self.policy.reserves[entry.urgency(self._shown(key))]
            needed = min(1 + reserve, self.policy.burst)
            if self.tokens < needed:
                return Wait(now + (needed - self.tokens) * 60.0 / self.policy.per_minute)
            self.tokens -= 1
        del self.pending[key]
        self.in_flight[key] = entry
        return Send(key, entry.payload, entry.final)

    def sent(self, key: K, now: float) -> None:
        """The edit of `key` reached Slack."""
        entry = self.in_flight.pop(key)
        self.probing = False
        self.calls.append(now)
        self.last_sent[key] = now
        self.shown_chars[key] = max(self._shown(key), entry.text_chars)
        if key in self.pending:
            self.pending[key].last_sent_at = now
        for waiter in entry.waiters:
            if not waiter.done():
                waiter.set_result(None)

    def unchanged(self, key: K) -> None:
        """The message already showed the edit's content: settled as sent, but it spent no
        call, so its token is given back and the message's interval is not restarted."""
        entry = self.in_flight.pop(key)
        self.probing = False
        if not entry.final:  # a final took no token
            self.tokens = min(self.tokens + 1, self.policy.burst)
        self.shown_chars[key] = max(self._shown(key), entry.text_chars)
        for waiter in entry.waiters:
            if not waiter.done():
                waiter.set_result(None)

    def rate_limited(self, key: K, retry_after: float, now: float) -> None:
        """Slack said 429: pause the workspace and keep the edit unless newer content exists."""
        entry = self.in_flight.pop(key)
        self.paused_until = max(self.paused_until, now + retry_after)
        self.tokens = min(self.tokens, 0.0)
        self._requeue(key, entry)

    def postponed(self, key: K, until: float) -> None:
        """The allowance shared with other processes had no room: nothing was sent, the
        token goes back, and the edit waits until `until`: a progress edit holds all progress
        (`held_until`), never the message's final, which asks for its own room (a message
        finished while its progress edit waits must not inherit that wait)."""
        entry = self.in_flight.pop(key)
        if entry.final:
            entry.retry_at = max(entry.retry_at, until)
        else:
            self.tokens = min(self.tokens + 1, self.policy.burst)
            self.held_until = max(self.held_until, until)
            self.probing = True
        self._requeue(key, entry)

    def failed(self, key: K, error: BaseException, *, retry: bool, now: float) -> None:
        """The edit failed for another reason: if `retry`, send it again after a backoff, a
        bounded number of times; else (or then) the error goes to whoever awaits it."""
        entry = self.in_flight.pop(key)
        self.probing = False
        self.calls.append(now)  # Slack may have counted it
        entry.failures += 1
        if retry and entry.failures < self.policy.max_attempts:
            entry.retry_at = now + self.policy.retry_delay(entry.failures)
            self._requeue(key, entry)
            return
        for waiter in entry.waiters:
            if not waiter.done():
                waiter.set_exception(error)

    def forget(self, key: K) -> None:
        """The message is finished; drop its pacing history."""
        if key not in self.pending and key not in self.in_flight:
            self.last_sent.pop(key, None)
            self.shown_chars.pop(key, None)
            self.live.pop(key, None)

    def _shown(self, key: K) -> int:
        return self.shown_chars.get(key, 0)

    def reserved_for_finals(self, now: float) -> int:
        """Calls a progress edit must leave in the window: one per message streaming, up to
        `final_share` of the allowance, and never all of it (progress would wait forever)."""
        for key in [k for k, at in self.live.items() if at <= now - self.policy.window]:
            del self.live[key]
        share = int(self.policy.per_minute * self.policy.final_share)
        return max(min(len(self.live), share, int(self.policy.per_minute) - 1), 0)

    def _window_opens(self, reserve: int, now: float) -> float:
        """From when a call leaves `reserve` calls of the window's allowance: `now` or later,
        `math.inf` if only answers to the calls in flight can tell (they wake the lane)."""
        while self.calls and self.calls[0] <= now - self.policy.window:
            self.calls.popleft()
        over = len(self.calls) + len(self.in_flight) + 1 + reserve - int(self.policy.per_minute)
        if over <= 0:
            return now
        if over > len(self.calls):
            return math.inf
        return self.calls[over - 1] + self.policy.window

    def _requeue(self, key: K, entry: _Entry[P]) -> None:
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
