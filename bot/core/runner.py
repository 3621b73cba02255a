"""Runs turns in the background: new workers, follow-ups queued per thread, recovery.

This is the heart of the app, and it knows nothing of Slack's wire: it talks to Handinger
through the client, to users through a `RunSurface`, and remembers everything in the `Store`
so that a restart can finish what was in flight (ARCHITECTURE.md, rules 1, 4 and 5). Each run
is carried out by a `Turn`, in the background task `execution.py` gives it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, Literal

from ..budgets import Budget
from ..handinger.client import HandingerClient
from ..handinger.models import When
from ..store import ForgottenWorkspace, PendingSchedule, Run, Store, Takeover
from ..store.records import ACTIVE
from .context import RunnerPolicy, TurnContext
from .digests import Digests
from .execution import Execution
from .files import FileDelivery
from .gathered import ReplyMode
from .ownership import Ownership, new_owner, run_lease
from .ports import RunSurface
from .redraw import refresh
from .requests import take_request

log = logging.getLogger(__name__)

__all__ = ["Refreshed", "Runner", "RunnerPolicy"]

Refreshed = Literal["shown", "running", "unchanged"]
"""What a Refresh did: redrew the message, left it to the turn still running in it, or neither
(nothing to redraw, or Slack or its turn not ready: the message stays as it was)."""


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
        digests: Digests | None = None,
        schedules_changed: Callable[[], None] | None = None,
        policy: RunnerPolicy | None = None,
        reply_mode: ReplyMode = "auto",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Coroutine[Any, Any, None]] = asyncio.sleep,
        ownership: Ownership | None = None,
    ) -> None:
        self.store = store
        self.handinger = handinger
        self.surface = surface
        self.default_budget = default_budget
        self.policy = policy or RunnerPolicy()
        self._ctx = TurnContext(
            store,
            handinger,
            surface,
            files,
            self.policy,
            clock,
            sleep,
            digests=digests,
            schedules_changed=schedules_changed,
            reply_mode=reply_mode,
        )
        self.ownership = ownership or Ownership(store, new_owner(), self.policy.lease)
        self._runs = Execution(self._ctx, clock, self.ownership)

    # ---- entry points -------------------------------------------------------------------

    async def start_new(
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
        schedule: tuple[When, str] | None = None,
        prompt: str | None = None,
    ) -> Run:
        """Start a new worker.

        Without `trigger_ts` (a slash command) the run's message starts a new thread. With it,
        the run is threaded under `thread_ts` (default: the triggering message itself).
        With `schedule` (when, description), the new worker also gets that schedule and this
        first run is its first digest. `prompt`: what the worker is sent when context comes
        with the instruction (`prompt.compose`).
        """
        run = await self.store.add_run(
            request=take_request(),
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
            prompt=prompt,
            lease=self.ownership.new_lease(),
        )
        if schedule is not None:
            when, description = schedule
            try:
                await self.store.add_pending_schedule(
                    PendingSchedule(
                        run_id=run.id,
                        when_json=when.model_dump_json(by_alias=True),
                        input=instruction,
                        budget=run.budget,
                        description=description,
                    )
                )
            except BaseException:  # the run is left for a takeover pass to see through
                await self.ownership.let_go(run_lease(run.id))
                raise
        log.info("run %d: new worker requested by %s in %s", run.id, user_id, channel_id)
        await self._runs.start(run)
        return run

    async def is_worker_thread(self, team_id: str, channel_id: str, thread_ts: str) -> bool:
        """A thread with a worker, or whose worker is being started. A thread whose every start
        ended without a worker (Handinger refused it) is nobody's: the next instruction there
        starts a worker, rather than failing to continue one that does not exist."""
        if await self.store.find_thread(team_id, channel_id, thread_ts) is not None:
            return True
        return any(
            run.kind == "new" and (run.worker_id is not None or not run.done)
            for run in await self.store.thread_runs(team_id, channel_id, thread_ts)
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
        prompt: str | None = None,
    ) -> Run | None:
        """Continue the worker of a thread, or queue the instruction behind a running turn.

        Returns None when the thread belongs to no worker.
        """
        if not await self.is_worker_thread(team_id, channel_id, thread_ts):
            return None
        thread = await self.store.find_thread(team_id, channel_id, thread_ts)
        earlier = await self.store.thread_runs(team_id, channel_id, thread_ts)
        run = await self.store.add_run(
            request=take_request(),
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
            prompt=prompt,
        )
        if await self.store.thread_busy(team_id, channel_id, thread_ts):
            log.info("run %d: queued behind the running turn of %s", run.id, thread_ts)
            await (await self._runs.turn(run)).mark("queued")
        await self._runs.pump(team_id, channel_id, thread_ts)
        return run

    async def recover(self) -> int:
        """Finish every run that was in flight when the app stopped (and that no other live
        process holds); start queued follow-ups; return how many runs were in flight."""
        await self.ownership.release_dead()
        active = await self.store.active_runs()
        for run in active:
            log.info("run %d: recovering (%s, %s)", run.id, run.kind, run.status)
            self._runs.run(run, recovering=True)
        for run in await self.store.runs_awaiting_files():
            self._runs.redeliver(run)
        for team_id, channel_id, thread_ts in await self.store.threads_with_queued_runs():
            await self._runs.pump(team_id, channel_id, thread_ts)
        for run in await self.store.runs_with_final_pending():
            self._runs.healer.later(run, at_once=True)
        return len(active)

    async def refresh(self, run: Run) -> Refreshed:
        """The card's Refresh: redraw the run's own turn from Handinger (`redraw.refresh`).

        A run whose turn is in flight keeps its message as its relay shows it: the relay owns
        it and edits it to the end. If nothing here relays it, it is taken up as after a restart,
        so its message is never left saying "working"."""
        run = await self.store.get_run(run.id)
        if self._runs.is_live(run.id):
            return "running"
        if run.status in ACTIVE:
            log.info("run %d: in flight with nothing relaying it; taking it up", run.id)
            self._runs.run(run, recovering=True)
            return "running"
        return "shown" if await refresh(await self._runs.turn(run)) else "unchanged"

    def stop_workspace(self, team_id: str) -> int:
        """Cancel the turns running in a workspace the app is leaving, and start none there
        until `abandon_workspace` has forgotten it; return how many were cancelled."""
        return self._runs.stop_workspace(team_id)

    def left_elsewhere(self, team_id: str) -> int:
        """Another process forgot the workspace in the store already: cancel the turns this
        one runs there; return how many."""
        try:
            return self.stop_workspace(team_id)
        finally:
            self._runs.allow_workspace(team_id)

    async def abandon_workspace(self, team_id: str, reason: str) -> ForgottenWorkspace:
        """The app was uninstalled from a workspace: the turns still running there are
        cancelled first (`stop_workspace`), then its queued and in-flight runs fail with
        `reason` without another word to Slack (the token is gone), its schedules are marked
        gone and its threads forgotten (`Store.forget_workspace`). Nothing starts there while
        the store's round trip lets other tasks run."""
        try:
            cancelled = self.stop_workspace(team_id)
            forgotten = await self.store.forget_workspace(team_id, reason)
        finally:
            self._runs.allow_workspace(team_id)
        log.info(
            "workspace %s forgotten: %d run(s) failed, %d turn(s) cancelled, %d schedule(s) "
            "gone, %d thread(s) forgotten",
            team_id,
            len(forgotten.failed_runs),
            cancelled,
            len(forgotten.schedules),
            forgotten.threads,
        )
        return forgotten

    async def keep_watch(self) -> Takeover:
        """One heartbeat and takeover pass (`heartbeat.py`): renew this process's leases, stop
        the turns whose lease was lost, and take over the runs whose lease was released or
        expired (another process stopped); return the scan (its digests are the schedule
        watcher's)."""
        for name in await self.ownership.beat():
            if not name.startswith("run:"):  # a worker's digests: its claims keep each single
                continue
            run_id = int(name.removeprefix("run:"))
            log.warning("run %d: its lease was lost; another process may take it over", run_id)
            self._runs.lost(run_id)
        scan = await self.store.takeover_scan()
        for run in scan.active:
            self._runs.run(run, recovering=True)
        for team_id, channel_id, thread_ts in scan.queued:
            await self._runs.pump(team_id, channel_id, thread_ts)
        for run in scan.owed:  # left undelivered by a process gone
            if run.files_done == 0 and run.worker_id is not None:
                self._runs.redeliver(run)
            else:
                self._runs.healer.later(run, at_once=True)
        return scan

    async def wait_idle(self) -> None:
        """Wait until no run is in progress (tests and graceful shutdown)."""
        await self._runs.wait_idle()

    async def aclose(self) -> None:
        """Stop: take no new work, cancel every turn, and let go of every lease, so another
        process takes the runs over at once."""
        await self._runs.aclose()
        try:
            await self.ownership.release_all()
        except Exception as exc:  # the database is out: the leases expire on their own
            log.warning("leases not released; other processes take over when they expire: %s", exc)
