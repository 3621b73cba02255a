"""Sees runs through in the background, each in a task of its own while this process holds
the run's lease: the part of the runner that owns tasks and leases. `Runner` decides which
runs to start (new workers, follow-ups, recovery, takeover); this carries each one out with a
`Turn`, delivers the files a finished run still owes, and starts a thread's next queued run
when one ends. Kept apart so that what is run and how it is run can each be read alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from ..handinger.errors import HandingerError
from ..store import Run
from . import problems
from .context import TurnContext
from .heal import Healer
from .ownership import Ownership, run_lease
from .ports import Undeliverable
from .tasks import Tasks
from .turn import Turn

log = logging.getLogger(__name__)


class Execution:
    """The background tasks of one process's runs: one per run, none in a workspace being
    left, none once closing."""

    def __init__(self, ctx: TurnContext, clock: Callable[[], float], ownership: Ownership) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.ownership = ownership
        self._clock = clock
        self._tasks: Tasks[str] = Tasks()  # each task under its workspace
        self._live: set[int] = set()  # the runs whose turn a task here sees through
        self._leaving: set[str] = set()  # workspaces being forgotten (`Runner.abandon_workspace`)
        self._closing = False  # stopping: no new work is taken
        self._turns: dict[int, asyncio.Task[None]] = {}  # each live run's task
        self.healer = Healer(ctx, self.turn, ownership)

    def is_live(self, run_id: int) -> bool:
        """A task here sees the run through (its relay owns its message)."""
        return run_id in self._live

    def run(self, run: Run, *, recovering: bool = False) -> bool:
        """See `run` through in the background; it counts as live from now on. False if it is
        refused (its workspace is being left, or this process is stopping)."""
        if run.id in self._live:
            return True
        if run.team_id in self._leaving or self._closing:
            return False
        self._live.add(run.id)
        task = self._spawn(self._execute(run, recovering=recovering), run.team_id)
        if task is not None:
            self._turns[run.id] = task
            task.add_done_callback(lambda _: self._turns.pop(run.id, None))
        return True

    async def start(self, run: Run) -> None:
        """See through a run created or started holding its lease (`Ownership.new_lease`). One
        refused lets go of the lease at once rather than keep it from every other process."""
        lease = run_lease(run.id)
        self.ownership.hold(lease)
        if not self.run(run):
            await self.ownership.let_go(lease)

    def lost(self, run_id: int) -> None:
        """The run's lease was lost: stop its turn here (another process may take it over)."""
        task = self._turns.get(run_id)
        if task is not None:
            task.cancel()

    async def pump(self, team_id: str, channel_id: str, thread_ts: str) -> None:
        """Start the thread's next queued follow-up if nothing runs there."""
        lease = self.ownership.new_lease()
        run = await self.store.start_next_queued(team_id, channel_id, thread_ts, lease)
        if run is not None:
            await self.start(run)

    async def turn(self, run: Run) -> Turn:
        """The `Turn` that carries `run` out (or redraws it), with its pending schedule."""
        started = self._clock() if run.started_at is None else run.started_at
        turn = Turn(self.ctx, run, started, await self.store.pending_schedule(run.id))
        await turn.load_reply_mode()
        return turn

    def redeliver(self, run: Run) -> None:
        """Deliver the files a finished run still owes, in the background, unless a task here
        sees the run through already."""
        if run.id in self._live or run.team_id in self._leaving or self._closing:
            return
        self._live.add(run.id)
        self._spawn(self._redeliver_files(run), run.team_id)

    def stop_workspace(self, team_id: str) -> int:
        """Cancel the turns running in a workspace the app is leaving, and start none there
        until `allow_workspace`; return how many were cancelled."""
        self._leaving.add(team_id)
        cancelled = self._tasks.cancel({team_id})
        self.healer.cancel(team_id)
        return cancelled

    def allow_workspace(self, team_id: str) -> None:
        """The workspace is forgotten (or its leaving failed): runs may start there again."""
        self._leaving.discard(team_id)

    async def wait_idle(self) -> None:
        """Wait until no run is in progress (tests and graceful shutdown)."""
        await self._tasks.wait()

    async def aclose(self) -> None:
        """Take no new work and cancel every task (the leases are the runner's to release)."""
        self._closing = True
        await self._tasks.aclose()
        await self.healer.aclose()

    def _spawn(self, coro: Coroutine[Any, Any, None], team_id: str) -> asyncio.Task[None] | None:
        if team_id in self._leaving or self._closing:  # nothing more runs there, or at all
            coro.close()
            return None
        return self._tasks.spawn(coro, team_id)

    async def _execute(self, run: Run, *, recovering: bool = False) -> None:
        """See a run through while holding its lease (taken now, unless it was taken with the
        run: `start`); a run another process holds, or one that ended before the lease was
        taken, is left alone."""
        lease = run_lease(run.id)
        try:
            held = lease in self.ownership.held or await self.ownership.take(lease)
        except BaseException:
            self._live.discard(run.id)
            raise
        if not held:
            self._live.discard(run.id)
            log.debug("run %d: another process sees it through", run.id)
            return
        try:
            current = await self.store.get_run(run.id)
            if current.done:
                return
            await self._see_through(current, recovering)
        finally:
            # also when the turn was stopped before it began (its lease lost): a later
            # takeover pass, this process's own included, may take the run again
            self._live.discard(run.id)
            await self.ownership.let_go(lease)

    async def _see_through(self, run: Run, recovering: bool) -> None:
        turn = await self.turn(run)
        try:
            if run.kind == "new":
                await turn.start_worker(recovering=recovering)
            else:
                await turn.continue_worker(recovering=recovering)
        except Undeliverable as exc:
            log.info("run %d: cannot be shown in Slack: %s", run.id, exc)
            turn.run = await self.store.update_run(run.id, status="failed", error=str(exc))
            await turn.mark("failed")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not isinstance(exc, HandingerError):
                log.exception("run %d: unexpected error", run.id)
            else:
                log.warning("run %d: %s", run.id, exc)
            turn.run = await self.store.get_run(run.id)
            if turn.run.final_pending == "answer":  # the turn ran; its result will follow
                await turn.fail(problems.unfetched(exc))
            else:
                await turn.fail(problems.diagnose(exc))
        finally:
            self._live.discard(run.id)
            current = turn.run  # as the turn last recorded it
            if current.done and current.final_pending is not None:
                self.healer.later(current)
            if current.thread_ts is not None and current.done:
                await self.pump(current.team_id, current.channel_id, current.thread_ts)

    async def _redeliver_files(self, run: Run) -> None:
        lease = run_lease(run.id)
        try:
            if not await self.ownership.take(lease):
                return  # another process delivers them
            try:
                current = await self.store.get_run(run.id)
                if current.files_done == 0:
                    await self._deliver_files_again(current)
            finally:
                await self.ownership.let_go(lease)
        finally:
            self._live.discard(run.id)
        if current.final_pending is not None:  # its final message is still owed too
            self.healer.later(current, at_once=True)

    async def _deliver_files_again(self, run: Run) -> None:
        assert run.worker_id is not None
        try:
            worker = await self.ctx.handinger.get_worker(run.worker_id)
        except HandingerError as error:
            log.warning("run %d: cannot fetch the worker for its files: %s", run.id, error)
            await self.store.update_run(run.id, files_done=1)
            return
        await (await self.turn(run)).deliver_files(worker, resumed=True)
