"""The edit scheduler: every live message edit goes through here (see ARCHITECTURE.md).

Slack allows 50+ `chat.update` calls a minute per workspace, for all messages together, counted
per minute with bursts welcome, so edits are planned rather than fired:

- only the newest content of a message is kept (coalescing);
- a message is edited at most once per `interval` while it streams;
- no more than `per_minute` calls in any minute (`EditPolicy.window`);
- final edits go first, skip the per-message interval and the pacing below, and may use the
  whole minute's allowance at once: a finished answer never waits behind progress;
- progress edits are paced by a per-workspace token bucket shared fairly (the message that
  waited longest goes next), and leave room in the minute's allowance for one final per message
  still streaming, so ten answers that end together are all sent at once;
- among progress edits, those that show an answer's first words go first, then edits that add
  words, and last edits that only change the status line (a tool step, the elapsed time); the
  lower classes leave tokens in the bucket (`EditPolicy.reserves`), so a first answer still goes
  out at once instead of queueing behind status ticks;
- a 429 pauses the whole workspace for its `Retry-After` (with `pause`, in every process), and
  the edit is sent again afterwards;
- an edit that failed for a passing reason (the sender's `retryable`: Slack's 5xx, a dropped
  connection) is sent again after a capped exponential wait of its own (1 s, 2 s, … 30 s), up to
  `max_attempts` failures (a few minutes), and only then reported to whoever awaits it;
- with a `gate` (`shared_rates.py`), each edit first takes a call from the workspace's
  allowance shared by every process on the database; without room, a progress edit waits
  the time the database gave (progress edits all wait, then ask one at a time until one gets
  through) and nothing is spent, while the message's final never inherits that wait: a final
  is booked for the first free moment and sent then;
- an edit the sender finds the message already shows (`Unchanged`) is not sent and costs
  nothing: its token goes back to the bucket and the message's interval does not restart.

`EditLane` (`edit_lane.py`) is the pure planning part (time is passed in, so tests drive it
with plain numbers); `EditScheduler` runs one lane per workspace on the event loop and does the
sending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from .edit_lane import EditLane, EditPolicy, Send

log = logging.getLogger(__name__)

P = TypeVar("P")
K = TypeVar("K", bound=Hashable)


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


class Unchanged(Exception):
    """Raised by a sender when the message already shows this content: nothing was sent."""


Sender = Callable[[K, P, bool], Awaitable[None]]
"""Sends one edit: `(message key, payload, final)`. Raises `RateLimited` on a 429, and
`Unchanged` when it did not send because the message already shows `payload`."""

Retryable = Callable[[BaseException], bool]

Pause = Callable[[str, float], Awaitable[None]]
"""Tells the other processes that Slack answered 429 in a workspace: `(workspace, seconds)`."""

Gate = Callable[[str, bool, int], Awaitable[float]]
"""Takes a call from a workspace's shared allowance: `(workspace, final, finals to keep room
for)`. A progress edit's call is taken now (0.0) or not at all (the seconds until there may be
room); a final's is always taken, booked at the first free moment: the seconds until then."""


class _Postponed(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"no room for {seconds} s")
        self.seconds = seconds


class EditScheduler(Generic[K, P]):
    """Runs one `EditLane` per workspace and sends through `sender`."""

    def __init__(
        self,
        sender: Sender[K, P],
        policy: EditPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        retryable: Retryable = lambda error: False,
        gate: Gate | None = None,
        pause: Pause | None = None,
    ) -> None:
        self._sender = sender
        self._gate = gate
        self._pause = pause
        self.policy = policy or EditPolicy()
        self._clock = clock
        self._retryable = retryable
        self._lanes: dict[str, EditLane[K, P]] = {}
        self._wakers: dict[str, asyncio.Event] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._sends: dict[asyncio.Task[None], str] = {}  # each send and its workspace

    def update(self, workspace: str, key: K, payload: P, *, text_chars: int = 0) -> None:
        """Show `payload` on message `key` soon; superseded by any newer update.

        `text_chars`: how much answer text `payload` shows (see `EditLane.offer`).
        """
        lane = self._lane(workspace)
        lane.offer(key, payload, final=False, now=self._clock(), text_chars=text_chars)
        self._wakers[workspace].set()

    async def finish(self, workspace: str, key: K, payload: P) -> None:
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

    def forget(self, workspace: str, key: K) -> None:
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

    def _lane(self, workspace: str) -> EditLane[K, P]:
        lane = self._lanes.get(workspace)
        if lane is None:
            lane = self._lanes[workspace] = EditLane(self.policy, now=self._clock())
            self._wakers[workspace] = asyncio.Event()
            self._tasks[workspace] = asyncio.create_task(
                self._run(workspace, lane), name=f"edits:{workspace}"
            )
        return lane

    async def _run(self, workspace: str, lane: EditLane[K, P]) -> None:
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

    async def _pause_everywhere(self, workspace: str, seconds: float) -> None:
        """A 429 here pauses the workspace's other processes too; if the database cannot be
        told, they find out from Slack."""
        if self._pause is None:
            return
        try:
            await self._pause(workspace, seconds)
        except Exception as exc:
            log.warning("other processes not told of the rate limit in %s: %s", workspace, exc)

    def _send_done(self, task: asyncio.Task[None]) -> None:
        self._sends.pop(task, None)

    async def _send(self, workspace: str, lane: EditLane[K, P], send: Send[K, P]) -> None:
        try:
            if self._gate is not None:
                reserve = lane.reserved_for_finals(self._clock())
                wait = await self._gate(workspace, send.final, reserve)
                if wait > 0 and not send.final:
                    raise _Postponed(wait)
                if wait > 0:  # the final's call is booked for then: no asking again
                    await asyncio.sleep(wait)
            await self._sender(send.key, send.payload, send.final)
        except _Postponed as held:
            lane.postponed(send.key, self._clock() + held.seconds)
        except RateLimited as limited:
            log.warning(
                "slack rate limit in %s: pausing edits %.1f s", workspace, limited.retry_after
            )
            lane.rate_limited(send.key, limited.retry_after, self._clock())
            await self._pause_everywhere(workspace, limited.retry_after)
        except Unchanged:
            lane.unchanged(send.key)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # reported to whoever awaits the edit
            lane.failed(send.key, error, retry=self._retryable(error), now=self._clock())
        else:
            lane.sent(send.key, self._clock())
        waker = self._wakers.get(workspace)
        if waker is not None:  # None once the workspace was dropped
            waker.set()
