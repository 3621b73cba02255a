"""Runs turns: start or continue a worker, relay its progress, finish its message.

This is the heart of the app, and it knows nothing of Slack's wire: it talks to Handinger
through the client, to users through a `RunSurface`, and remembers everything in the `Store`
so that a restart can finish what was in flight (DESIGN.md principles 1, 4 and 5).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any, Literal

from ..handinger.client import HandingerClient
from ..handinger.errors import (
    ConflictError,
    HandingerError,
    StreamInterruptedError,
)
from ..handinger.events import StreamEvent
from ..handinger.models import BUDGETS, Budget, Worker
from ..store import Run, Store
from . import problems
from .files import FileDelivery
from .ports import Mark, RunSurface, Undeliverable
from .progress import TurnProgress
from .views import RunState, RunView, build_view

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunnerPolicy:
    """Timings of the relay. Defaults suit real Slack; tests shorten them."""

    tick: float = 5.0
    """How often the status line refreshes (elapsed time) when the stream is quiet."""
    resubscribes: int = 3
    """How many times a turn that is still running after its stream ended is re-subscribed."""
    poll_initial: float = 1.0
    poll_max: float = 30.0
    busy_retries: int = 20
    """How many times a continue waits for a worker busy with someone else's turn."""


class Runner:
    """Starts runs in the background and sees each one through to a final message."""

    def __init__(
        self,
        store: Store,
        handinger: HandingerClient,
        surface: RunSurface,
        *,
        default_budget: Budget = "standard",
        files: FileDelivery | None = None,
        policy: RunnerPolicy | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Coroutine[Any, Any, None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.handinger = handinger
        self.surface = surface
        self.default_budget = default_budget
        self.files = files
        self.policy = policy or RunnerPolicy()
        self._clock = clock
        self._sleep = sleep
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- entry points -------------------------------------------------------------------

    def start_new(
        self,
        *,
        team_id: str,
        channel_id: str,
        user_id: str,
        instruction: str,
        budget: Budget | None = None,
        trigger_ts: str | None = None,
        thread_ts: str | None = None,
        response_url: str | None = None,
    ) -> Run:
        """Start a new worker.

        Without `trigger_ts` (a slash command) the run's message starts a new thread. With it,
        the run is threaded under `thread_ts` (default: the triggering message itself).
        """
        run = self.store.add_run(
            team_id=team_id,
            channel_id=channel_id,
            thread_ts=thread_ts or trigger_ts,
            kind="new",
            input=instruction,
            budget=budget or self.default_budget,
            user_id=user_id,
            status="starting",
            trigger_ts=trigger_ts,
            response_url=response_url,
        )
        log.info("run %d: new worker requested by %s in %s", run.id, user_id, channel_id)
        self._spawn(self._execute(run))
        return run

    def is_worker_thread(self, team_id: str, channel_id: str, thread_ts: str) -> bool:
        if self.store.find_thread(team_id, channel_id, thread_ts) is not None:
            return True
        return any(
            run.kind == "new" for run in self.store.thread_runs(team_id, channel_id, thread_ts)
        )

    async def follow_up(
        self,
        *,
        team_id: str,
        channel_id: str,
        thread_ts: str,
        user_id: str,
        text: str,
        trigger_ts: str,
    ) -> Run | None:
        """Continue the worker of a thread, or queue the instruction behind a running turn.

        Returns None when the thread belongs to no worker.
        """
        if not self.is_worker_thread(team_id, channel_id, thread_ts):
            return None
        thread = self.store.find_thread(team_id, channel_id, thread_ts)
        earlier = self.store.thread_runs(team_id, channel_id, thread_ts)
        run = self.store.add_run(
            team_id=team_id,
            channel_id=channel_id,
            thread_ts=thread_ts,
            kind="continue",
            input=text,
            budget=earlier[-1].budget if earlier else self.default_budget,
            user_id=user_id,
            status="queued",
            worker_id=thread.worker_id if thread else None,
            trigger_ts=trigger_ts,
        )
        if self.store.thread_busy(team_id, channel_id, thread_ts):
            log.info("run %d: queued behind the running turn of %s", run.id, thread_ts)
            await self._mark(run, "queued")
        self._pump(team_id, channel_id, thread_ts)
        return run

    async def recover(self) -> int:
        """Finish every run that was in flight when the app stopped; start queued follow-ups."""
        active = self.store.active_runs()
        for run in active:
            log.info("run %d: recovering (%s, %s)", run.id, run.kind, run.status)
            self._spawn(self._execute(run, recovering=True))
        for run in self.store.runs_awaiting_files():
            self._spawn(self._redeliver_files(run))
        for team_id, channel_id, thread_ts in self.store.threads_with_queued_runs():
            self._pump(team_id, channel_id, thread_ts)
        return len(active)

    async def refresh(self, run: Run) -> None:
        """Re-render a run's message from its worker's current state (the card's Refresh)."""
        if run.worker_id is None or run.message_ts is None:
            return
        worker = await self.handinger.get_worker(run.worker_id)
        progress = TurnProgress(worker_id=run.worker_id)
        started = run.started_at or run.created_at
        if worker.is_running:
            progress.text = worker.text
            self.surface.progress(run, self._view(run, progress, "working", started))
            return
        failure = worker.error_message
        state: Literal["completed", "failed"] = "failed" if failure else "completed"
        view = self._view(run, progress, state, started, worker=worker, error=failure)
        if run.finished_at is not None:
            view = replace(view, elapsed=max(run.finished_at - started, 0.0))
        await self.surface.finish(run, view)

    async def wait_idle(self) -> None:
        """Wait until no run is in progress (tests and graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # ---- lifecycle ----------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _pump(self, team_id: str, channel_id: str, thread_ts: str) -> None:
        """Start the thread's next queued follow-up if nothing runs there."""
        if self.store.thread_busy(team_id, channel_id, thread_ts):
            return
        run = self.store.next_queued(team_id, channel_id, thread_ts)
        if run is None:
            return
        run = self.store.update_run(run.id, status="starting")
        self._spawn(self._execute(run))

    async def _execute(self, run: Run, *, recovering: bool = False) -> None:
        started = self._clock() if run.started_at is None else run.started_at
        try:
            if run.kind == "new":
                await self._run_new(run, started, recovering=recovering)
            else:
                await self._run_continue(run, started, recovering=recovering)
        except Undeliverable as exc:
            log.info("run %d: cannot be shown in Slack: %s", run.id, exc)
            self.store.update_run(run.id, status="failed", error=str(exc))
            await self._mark(self.store.get_run(run.id), "failed")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not isinstance(exc, HandingerError):
                log.exception("run %d: unexpected error", run.id)
            else:
                log.warning("run %d: %s", run.id, exc)
            await self._fail(self.store.get_run(run.id), problems.describe(exc), started)
        finally:
            current = self.store.get_run(run.id)
            if current.thread_ts is not None and current.done:
                self._pump(current.team_id, current.channel_id, current.thread_ts)

    async def _run_new(self, run: Run, started: float, *, recovering: bool) -> None:
        progress = TurnProgress(worker_id=run.worker_id)
        run = await self._ensure_message(run, progress, started)
        if run.worker_id is None:
            if recovering:
                await self._fail(run, problems.LOST_BEFORE_START, started)
                return
            budget = _budget(run.budget)
            events = self.handinger.create_worker_streaming(run.input, budget=budget)
            run = await self._relay(run, progress, events, started)
        elif recovering:
            run = await self._relay(
                run, progress, self.handinger.stream_worker(run.worker_id), started
            )
        await self._finalize(run, progress, started)

    async def _run_continue(self, run: Run, started: float, *, recovering: bool) -> None:
        run = self._resolve_worker(run)
        if run.worker_id is None:
            await self._fail(run, problems.NO_WORKER_ID, started)
            return
        if not recovering:
            await self._mark(run, "started")
        worker_id = run.worker_id
        progress = TurnProgress(worker_id=worker_id)
        run = await self._ensure_message(run, progress, started)
        worker = await self.handinger.get_worker(worker_id)
        progress.stale_text = worker.text
        landed = recovering and run.status == "running"
        if recovering and run.status == "starting" and run.messages_before is not None:
            landed = worker.is_running or len(worker.messages) > run.messages_before
        if landed:
            events = self.handinger.stream_worker(worker_id)
            run = await self._relay(run, progress, events, started)
        else:
            worker = await self._wait_until_idle(run, progress, worker, started)
            run = self.store.update_run(run.id, messages_before=len(worker.messages))
            run = await self._continue(run, progress, started)
        await self._finalize(run, progress, started)

    async def _continue(self, run: Run, progress: TurnProgress, started: float) -> Run:
        assert run.worker_id is not None
        for attempt in range(self.policy.busy_retries + 1):
            events = self.handinger.continue_worker_streaming(
                run.worker_id, run.input, budget=_budget(run.budget)
            )
            try:
                return await self._relay(run, progress, events, started)
            except ConflictError:
                if attempt == self.policy.busy_retries:
                    raise
                await self._sleep(self._poll_delay(attempt))
        raise AssertionError("unreachable")

    # ---- relaying -----------------------------------------------------------------------

    async def _ensure_message(self, run: Run, progress: TurnProgress, started: float) -> Run:
        if run.message_ts is not None:
            return run
        ts = await self.surface.open(run, self._view(run, progress, "working", started))
        return self.store.update_run(run.id, message_ts=ts, thread_ts=run.thread_ts or ts)

    async def _relay(
        self,
        run: Run,
        progress: TurnProgress,
        events: AsyncIterator[StreamEvent],
        started: float,
    ) -> Run:
        """Show the stream's events as they come. A cut stream is not an error here: the
        worker itself is the truth and `_finalize` fetches it."""
        ticker = asyncio.create_task(self._tick(run, progress, started))
        try:
            async for event in events:
                progress.apply(event)
                if run.worker_id is None and progress.worker_id is not None:
                    run = self._bind(run, progress.worker_id)
                if run.status != "running" and run.worker_id is not None:
                    run = self.store.update_run(run.id, status="running")
                self.surface.progress(run, self._view(run, progress, "working", started))
        except StreamInterruptedError as exc:
            if run.worker_id is None:
                raise
            log.info("run %d: stream ended early (%s); fetching the worker", run.id, exc)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        if run.worker_id is None:
            raise _NoWorkerId()
        return run

    def _bind(self, run: Run, worker_id: str) -> Run:
        run = self.store.update_run(run.id, worker_id=worker_id, status="running")
        if run.kind == "new" and run.thread_ts is not None:
            self.store.link_thread(
                run.team_id, run.channel_id, run.thread_ts, worker_id, run.user_id
            )
        log.info("run %d: worker %s started", run.id, worker_id)
        return run

    async def _tick(self, run: Run, progress: TurnProgress, started: float) -> None:
        while True:
            await self._sleep(self.policy.tick)
            self.surface.progress(run, self._view(run, progress, "working", started))

    async def _finalize(self, run: Run, progress: TurnProgress, started: float) -> None:
        """Render the final message from GET of the worker (principle 1)."""
        worker = await self._settle(run, progress, started)
        failure = worker.error_message or (progress.failure if not worker.text else None)
        state: Literal["completed", "failed"] = "failed" if failure else "completed"
        view = self._view(run, progress, state, started, worker=worker, error=failure)
        await self.surface.finish(run, view)
        files_done = 0 if self.files is not None else 1
        run = self.store.update_run(run.id, status=state, error=failure, files_done=files_done)
        await self._mark(run, state)
        await self._deliver_files(run, worker, progress)
        log.info(
            "run %d: %s in %.1f s (worker %s)",
            run.id,
            state,
            self._clock() - started,
            run.worker_id,
        )

    async def _deliver_files(self, run: Run, worker: Worker, progress: TurnProgress) -> None:
        """Files never fail a run: problems are reported in the thread by the delivery."""
        if self.files is None:
            return
        try:
            await self.files.deliver(run, worker, progress.files)
        except Exception:
            log.exception("run %d: file delivery failed", run.id)
        self.store.update_run(run.id, files_done=1)

    async def _redeliver_files(self, run: Run) -> None:
        assert run.worker_id is not None
        try:
            worker = await self.handinger.get_worker(run.worker_id)
        except HandingerError as error:
            log.warning("run %d: cannot fetch the worker for its files: %s", run.id, error)
            self.store.update_run(run.id, files_done=1)
            return
        await self._deliver_files(run, worker, TurnProgress(worker_id=run.worker_id))

    async def _settle(self, run: Run, progress: TurnProgress, started: float) -> Worker:
        """The worker once its turn is over: re-subscribe while it runs, then poll."""
        assert run.worker_id is not None
        resubscribed = 0
        attempt = 0
        while True:
            worker = await self.handinger.get_worker(run.worker_id)
            if not worker.is_running:
                return worker
            if resubscribed < self.policy.resubscribes:
                resubscribed += 1
                progress.resubscribed()
                await self._relay(
                    run, progress, self.handinger.stream_worker(run.worker_id), started
                )
                continue
            self.surface.progress(run, self._view(run, progress, "working", started))
            await self._sleep(self._poll_delay(attempt))
            attempt += 1

    async def _wait_until_idle(
        self, run: Run, progress: TurnProgress, worker: Worker, started: float
    ) -> Worker:
        """A worker busy with a turn the app did not start (a schedule): wait for it."""
        attempt = 0
        while worker.is_running:
            view = self._view(
                run, progress, "working", started, notice="waiting for the worker's current turn"
            )
            self.surface.progress(run, view)
            await self._sleep(self._poll_delay(attempt))
            attempt += 1
            worker = await self.handinger.get_worker(worker.id)
        progress.stale_text = worker.text
        return worker

    def _poll_delay(self, attempt: int) -> float:
        delay: float = self.policy.poll_initial * 2.0**attempt
        return min(delay, self.policy.poll_max)

    def _resolve_worker(self, run: Run) -> Run:
        if run.worker_id is not None or run.thread_ts is None:
            return run
        thread = self.store.find_thread(run.team_id, run.channel_id, run.thread_ts)
        if thread is None:
            return run
        return self.store.update_run(run.id, worker_id=thread.worker_id)

    async def _fail(self, run: Run, message: str, started: float) -> None:
        """Leave Slack in a true state: the run's message says it failed and why."""
        progress = TurnProgress(worker_id=run.worker_id)
        view = self._view(run, progress, "failed", started, error=message)
        try:
            if run.message_ts is None:
                run = await self._ensure_message(run, progress, started)
            await self.surface.finish(run, view)
        except Undeliverable:
            pass
        except Exception:
            log.exception("run %d: could not show the failure", run.id)
        self.store.update_run(run.id, status="failed", error=message)
        await self._mark(run, "failed")

    async def _mark(self, run: Run, mark: Mark) -> None:
        if run.kind != "continue" or run.trigger_ts is None:
            return
        try:
            await self.surface.mark(run, mark)
        except Exception:
            log.warning("run %d: could not mark the message as %s", run.id, mark, exc_info=True)

    def _view(
        self,
        run: Run,
        progress: TurnProgress,
        state: RunState,
        started: float,
        *,
        worker: Worker | None = None,
        error: str | None = None,
        notice: str | None = None,
    ) -> RunView:
        elapsed = max(self._clock() - started, 0.0)
        return build_view(run, progress, state, elapsed, worker=worker, error=error, notice=notice)


class _NoWorkerId(HandingerError):
    def __init__(self) -> None:
        super().__init__(problems.NO_WORKER_ID)


def _budget(value: str) -> Budget | None:
    for budget in BUDGETS:
        if budget == value:
            return budget
    return None
