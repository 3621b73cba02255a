"""One turn of a run, from its first message to its final one.

A `Turn` starts or continues a worker, relays the stream's progress to the surface, fetches
the worker when the stream ends (the truth, ARCHITECTURE.md rule 1), finishes the message,
delivers files, and on any failure leaves the message saying what went wrong.

A run whose message cannot show its outcome when it ends (Slack or the final GET kept failing
for a passing reason) is recorded with `final_pending`; `redraw.show_final` shows it later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from ..handinger.errors import ConflictError, HandingerError, StreamInterruptedError
from ..handinger.events import StreamEvent
from ..handinger.history import answer_before, turn_end
from ..handinger.models import Costs, Worker
from ..handinger.retry import should_retry
from ..store import PendingSchedule, Run
from . import problems
from .attach import attach_schedule
from .context import TurnContext
from .gathered import ReplyMode, as_reply_mode
from .outcome import Outcome, conclude, cost_record, recorded_cost
from .ports import Mark, NotShown, Undeliverable
from .problems import Failure
from .progress import TurnProgress
from .resume import continue_landed, may_send_create
from .views import DigestHeading, LiveView, RunState, RunView, build_view

log = logging.getLogger(__name__)


class Turn:
    """Sees one run through. `run` is kept current as the store changes it."""

    def __init__(
        self, ctx: TurnContext, run: Run, started: float, pending: PendingSchedule | None
    ) -> None:
        self.ctx = ctx
        self.run = run
        self.started = started
        self.progress = TurnProgress(worker_id=run.worker_id)
        self.pending = pending
        self.recovering = False
        self._attaching: asyncio.Task[None] | None = None
        self.reply_mode: ReplyMode | None = None
        """Who the thread's worker answers, as the card shows it (None: not shown)."""

    async def load_reply_mode(self) -> None:
        """The thread's reply mode as it is now (someone may switch it while a turn runs)."""
        run = self.run
        if run.kind == "digest" or run.thread_ts is None:
            return
        mode = await self.ctx.store.reply_mode(run.team_id, run.channel_id, run.thread_ts)
        self.reply_mode = as_reply_mode(mode, self.ctx.reply_mode)

    # ---- the two kinds of turn ----------------------------------------------------------

    async def start_worker(self, *, recovering: bool) -> None:
        """A new worker (or, after a restart, the one this run already started: its create is
        sent again with the same `Idempotency-Key`, see `resume.py`)."""
        self.recovering = recovering
        await self.ensure_message()
        worker_id = self.run.worker_id
        if worker_id is None:
            if not may_send_create(self.run, self.ctx.clock()):
                await self.fail(problems.LOST_BEFORE_START)
                return
            key = await self._about_to_send()
            await self.relay(
                self.ctx.handinger.create_worker_streaming(
                    self.run.sent_input, budget=self.run.budget, idempotency_key=key
                )
            )
        elif recovering:
            if self.pending is not None and self.pending.schedule_id is None:
                self._attaching = asyncio.create_task(self._attach_schedule(worker_id))
            await self.relay(self.ctx.handinger.stream_worker(worker_id))
        await self.finalize()

    async def continue_worker(self, *, recovering: bool) -> None:
        """Another instruction to the thread's worker (after a restart: the turn it started, if
        its continue reached the worker)."""
        self.recovering = recovering
        await self._resolve_worker()
        worker_id = self.run.worker_id
        if worker_id is None:
            await self.fail(problems.NO_WORKER_ID)
            return
        self.progress.worker_id = worker_id
        if not recovering:
            await self.mark("started")
        await self.ensure_message()
        worker = await self.ctx.handinger.get_worker(worker_id)
        if recovering and continue_landed(self.run, worker):
            start = self.run.messages_before
            self.progress.stale_text = answer_before(worker, start) if start is not None else None
            await self.relay(self.ctx.handinger.stream_worker(worker_id))
        else:
            await self._send_continue(worker)
        await self.finalize()

    async def _send_continue(self, worker: Worker) -> None:
        """Send the instruction once the worker is idle; this turn's instruction becomes its
        message `messages_before` (recorded first, with the key, for a restart's sake)."""
        policy = self.ctx.policy
        for attempt in range(policy.busy_retries + 1):
            worker = await self._wait_until_idle(worker)
            if self.ctx.digests is not None:  # a scheduled turn just ended: its digest first
                await self.ctx.digests.catch_up(worker)
            self.progress.stale_text = answer_before(worker, len(worker.messages))
            key = await self._about_to_send(messages_before=len(worker.messages))
            events = self.ctx.handinger.continue_worker_streaming(
                worker.id, self.run.sent_input, budget=self.run.budget, idempotency_key=key
            )
            try:
                await self.relay(events)
                return
            except ConflictError:  # a turn the app did not start (a schedule) began first
                if attempt == policy.busy_retries:
                    raise
                await self.ctx.sleep(self._poll_delay(attempt))
                worker = await self.ctx.handinger.get_worker(worker.id)

    async def _about_to_send(self, **changes: Any) -> str:
        """Record, before a create or continue goes out, that it may reach Handinger and under
        which `Idempotency-Key`; return the key."""
        key = self.run.ref or str(uuid.uuid4())
        sent = self.run.request_sent_at or self.ctx.clock()
        await self.update(ref=key, request_sent_at=sent, **changes)
        return key

    # ---- relaying -----------------------------------------------------------------------

    async def ensure_message(self) -> None:
        """The run's message: posted now, or after a restart found where the stopped process
        posted it without recording it."""
        if self.run.message_ts is not None:
            return
        ts = await self.ctx.surface.find(self.run) if self.recovering else None
        if ts is None:
            ts = await self.ctx.surface.open(self.run, self.view("working"))
        else:
            log.info("run %d: found its message posted before the restart", self.run.id)
        await self.update(message_ts=ts, thread_ts=self.run.thread_ts or ts)

    async def relay(self, events: AsyncIterator[StreamEvent]) -> None:
        """Show the stream's events as they come. A cut stream is not an error here: the
        worker itself is the truth and `finalize` fetches it."""
        ticker = asyncio.create_task(self._tick())
        try:
            async for event in events:
                self.progress.apply(event)
                if self.run.worker_id is None and self.progress.worker_id is not None:
                    await self._bind(self.progress.worker_id)
                if self.run.status != "running" and self.run.worker_id is not None:
                    await self.update(status="running")
                self.ctx.surface.progress(self.run, self.live())
        except StreamInterruptedError as exc:
            if self.run.worker_id is None:
                raise
            log.info("run %d: stream ended early (%s); fetching the worker", self.run.id, exc)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        if self.run.worker_id is None:
            raise problems.NoWorkerId()

    async def _bind(self, worker_id: str) -> None:
        await self.update(worker_id=worker_id, status="running")
        run = self.run
        if run.kind == "new" and run.thread_ts is not None:
            await self.ctx.store.link_thread(
                run.team_id, run.channel_id, run.thread_ts, worker_id, run.user_id
            )
        log.info("run %d: worker %s started", run.id, worker_id)
        if self.pending is not None and self.pending.schedule_id is None and not self._attaching:
            self._attaching = asyncio.create_task(self._attach_schedule(worker_id))

    async def _attach_schedule(self, worker_id: str) -> None:
        """`/handinger schedule …`: the worker exists now, so its schedule can be made."""
        assert self.pending is not None
        if not await attach_schedule(self.ctx, self.run, self.pending, worker_id):
            self.pending = None  # no schedule, so the card is not a digest

    async def _tick(self) -> None:
        while True:
            await self.ctx.sleep(self.ctx.policy.tick)
            self.ctx.surface.progress(self.run, self.live())

    async def finalize(self) -> None:
        """Render the final message from GET of the worker (ARCHITECTURE.md rule 1), then files.

        Passing failures never turn a finished turn into a failed run: a final GET that kept
        failing marks the run `final_pending` before it fails (its message says the result will
        follow), and a final message Slack would not take is recorded likewise."""
        try:
            worker = await self._settle()
        except HandingerError as error:
            if should_retry(error, idempotent=True):  # the worker still has the result
                await self.update(final_pending="answer")
            raise
        outcome, view = await self.conclusion(worker)
        shown = await self.show(view)
        files_done = 0 if self.ctx.files is not None else 1
        pending = None if shown else "answer"
        await self.update(
            status=outcome.state, error=outcome.error, files_done=files_done, final_pending=pending
        )
        await self.mark(outcome.state)
        await self.deliver_files(worker)
        if self._attaching is not None:
            await self._attaching
        elapsed = self.ctx.clock() - self.started
        log.info(
            "run %d: %s in %.1f s (worker %s)",
            self.run.id,
            outcome.state,
            elapsed,
            self.run.worker_id,
        )

    async def conclusion(self, worker: Worker) -> tuple[Outcome, RunView]:
        """How this turn ended, from the worker after it, and the view that shows it."""
        # Only this turn is seen: a scheduled turn that ran after it (while the app was down,
        # say) is still news and gets its digest.
        await self.ctx.store.see_messages(
            worker.id, turn_end(worker, self.run.messages_before or 0)
        )
        await self.load_reply_mode()
        outcome = conclude(self.run, worker, self.progress)
        if outcome.worker is not None:  # the latest turn: the worker's usage is this turn's
            await self.update(**cost_record(outcome.worker))
            view = self.view(outcome.state, worker=outcome.worker, error=outcome.error)
        else:  # a later turn ran: what this one cost is known only if it was recorded
            usage, costs = recorded_cost(self.run)
            self.progress.usage = usage or self.progress.usage
            view = self.view(outcome.state, error=outcome.error, costs=costs)
        return outcome, self.as_ended(view)

    def as_ended(self, view: RunView) -> RunView:
        """A view shown after the run was recorded finished keeps the duration it had."""
        if self.run.finished_at is None:
            return view
        return replace(view, elapsed=max(self.run.finished_at - self.started, 0.0))

    async def show(self, view: RunView) -> bool:
        """Show the final view; False when the surface could not for now (`NotShown`)."""
        try:
            await self.ctx.surface.finish(self.run, view)
        except NotShown as error:
            log.warning("run %d: final message not shown yet, will retry: %s", self.run.id, error)
            return False
        return True

    async def deliver_files(self, worker: Worker, *, resumed: bool = False) -> None:
        """Files never fail a run: problems are reported in the thread by the delivery.
        `resumed`: an earlier process may have begun it (see `FileDelivery.deliver`)."""
        if self.ctx.files is None:
            return
        try:
            await self.ctx.files.deliver(self.run, worker, self.progress.files, resumed=resumed)
        except Exception:
            log.exception("run %d: file delivery failed", self.run.id)
        await self.update(files_done=1)

    async def _settle(self) -> Worker:
        """The worker once its turn is over: re-subscribe while it runs, then poll."""
        worker_id = self.run.worker_id
        assert worker_id is not None
        resubscribed = 0
        attempt = 0
        while True:
            worker = await self.ctx.handinger.get_worker(worker_id, patient=True)
            if not worker.is_running:
                return worker
            if resubscribed < self.ctx.policy.resubscribes:
                resubscribed += 1
                self.progress.resubscribed()
                await self.relay(self.ctx.handinger.stream_worker(worker_id))
                continue
            self.ctx.surface.progress(self.run, self.live())
            await self.ctx.sleep(self._poll_delay(attempt))
            attempt += 1

    async def _wait_until_idle(self, worker: Worker) -> Worker:
        """A worker busy with a turn the app did not start (a schedule): wait for it."""
        attempt = 0
        while worker.is_running:
            self.ctx.surface.progress(self.run, self.live(waiting=True))
            await self.ctx.sleep(self._poll_delay(attempt))
            attempt += 1
            worker = await self.ctx.handinger.get_worker(worker.id)
        return worker

    # ---- endings and helpers ------------------------------------------------------------

    async def fail(self, failure: Failure) -> None:
        """Leave Slack in a true state: the run's message says it failed and why."""
        view = self.view("failed", error=failure)
        pending = self.run.final_pending
        try:
            await self.ensure_message()
            await self.ctx.surface.finish(self.run, view)
        except Undeliverable:
            pass
        except NotShown as error:
            log.warning("run %d: failure not shown yet, will retry: %s", self.run.id, error)
            if self.run.message_ts is not None:  # else there is no message to show it in
                pending = pending or "failure"
        except Exception:
            log.exception("run %d: could not show the failure", self.run.id)
        await self.update(status="failed", error=problems.stored(failure), final_pending=pending)
        await self.mark("failed")

    async def mark(self, mark: Mark) -> None:
        if self.run.kind != "continue" or self.run.trigger_ts is None:
            return
        try:
            await self.ctx.surface.mark(self.run, mark)
        except Exception:
            log.warning("run %d: could not mark its message %s", self.run.id, mark, exc_info=True)

    def view(
        self,
        state: RunState,
        *,
        worker: Worker | None = None,
        error: Failure | None = None,
        waiting: bool = False,
        costs: Costs | None = None,
    ) -> RunView:
        elapsed = max(self.ctx.clock() - self.started, 0.0)
        digest = DigestHeading(self.pending.description) if self.pending else None
        return build_view(
            self.run,
            self.progress,
            state,
            elapsed,
            worker=worker,
            error=error,
            waiting=waiting,
            digest=digest,
            costs=costs,
            reply_mode=self.reply_mode,
        )

    def live(self, *, waiting: bool = False) -> LiveView:
        """The running turn's view, built when the surface shows it: per stream event, only
        this (the answer's length is kept as it grows, its text is not read)."""
        return LiveView(self.progress.text_chars, lambda: self.view("working", waiting=waiting))

    def _poll_delay(self, attempt: int) -> float:
        delay: float = self.ctx.policy.poll_initial * 2.0**attempt
        return min(delay, self.ctx.policy.poll_max)

    async def _resolve_worker(self) -> None:
        run = self.run
        if run.worker_id is not None or run.thread_ts is None:
            return
        thread = await self.ctx.store.find_thread(run.team_id, run.channel_id, run.thread_ts)
        if thread is not None:
            await self.update(worker_id=thread.worker_id)

    async def update(self, **changes: Any) -> None:
        self.run = await self.ctx.store.update_run(self.run.id, **changes)
