"""Post scheduled turns as digests: one top-level message per turn, exactly once.

A schedule makes the worker run a turn the app did not start. Such turns are found by comparing
the worker's stored messages with how many of them Slack has already seen (every turn the app
itself runs marks its messages seen when it finishes). Each unseen assistant turn is claimed in
the store before it is posted, so a restart posts it once: late if it fired while the app was
down.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from ..handinger.history import PastTurn, past_turns
from ..handinger.models import Worker
from ..store import Run, Schedule, Store
from .files import FileDelivery
from .outcome import cost_record, recorded_cost
from .ownership import DEFAULT_LEASE, Ownership, digests_lease, new_owner, run_lease
from .ports import DigestSurface, Undeliverable
from .progress import TurnProgress
from .views import DigestHeading, RunView, build_view

log = logging.getLogger(__name__)


class Digests:
    """Finds a worker's unseen scheduled turns and posts each as a digest."""

    def __init__(
        self,
        store: Store,
        surface: DigestSurface,
        files: FileDelivery | None = None,
        ownership: Ownership | None = None,
    ) -> None:
        self.store = store
        self.surface = surface
        self.files = files
        self.ownership = ownership or Ownership(store, new_owner(), DEFAULT_LEASE)
        self._locks: dict[str, asyncio.Lock] = {}
        self._late_before: dict[str, int] = {}

    def ran_while_offline(self, worker: Worker) -> None:
        """At start-up: whatever this worker did until now happened while the app was down,
        so digests of those turns are marked late, whenever they get posted."""
        self._late_before[worker.id] = len(worker.messages)

    async def catch_up(self, worker: Worker, *, late: bool = False) -> int:
        """Post every turn of `worker` that Slack has not seen; return how many were posted.

        Only a worker with a schedule gets digests, and never while the app runs a turn on it
        (that turn is not a scheduled one).
        """
        schedules = await self.store.worker_schedules(worker.id)
        if not schedules or worker.is_running:
            return 0
        lock = self._locks.setdefault(worker.id, asyncio.Lock())
        async with lock:
            # Every process's watcher sees a scheduled turn at about the same time; one of them
            # posts it, the others leave it (and record nothing: no failed duplicate run).
            lease = digests_lease(worker.id)
            if not await self.ownership.take(lease):
                return 0
            try:
                return await self._catch_up(worker, schedules[0], late=late)
            finally:
                await self.ownership.let_go(lease)

    async def _catch_up(self, worker: Worker, schedule: Schedule, *, late: bool) -> int:
        """`catch_up`, holding the worker's digests lease."""
        seen = await self.store.messages_seen(worker.id)
        if seen is None:  # first sighting: nothing before now is news
            await self.store.see_messages(worker.id, len(worker.messages))
            return 0
        turns = past_turns(worker, since=seen)
        posted = 0
        for index, turn in enumerate(turns):
            latest = index == len(turns) - 1
            offline = late or turn.index < self._late_before.get(worker.id, 0)
            if await self._post(worker, turn, schedule, late=offline, latest=latest):
                posted += 1
        await self.store.see_messages(worker.id, len(worker.messages))
        return posted

    async def post_claimed(self, run: Run, worker: Worker, index: int, *, late: bool) -> None:
        """Post a digest that was claimed before the app stopped but never posted, unless
        another process is posting it now (it holds the run's lease) or has meanwhile."""
        lease = run_lease(run.id)
        if not await self.ownership.take(lease):
            return
        try:
            run = await self.store.get_run(run.id)
            if run.message_ts is None and run.status == "completed":
                await self._post_claimed(run, worker, index, late=late)
        finally:
            await self.ownership.let_go(lease)

    async def _post_claimed(self, run: Run, worker: Worker, index: int, *, late: bool) -> None:
        schedule = next(iter(await self.store.worker_schedules(worker.id)), None)
        turn = next((t for t in past_turns(worker, since=index) if t.index == index), None)
        if schedule is None or turn is None:
            await self.store.update_run(run.id, status="failed", error="digest source vanished")
            return
        await self._show(run, worker, turn, schedule, late=late, latest=False, recovering=True)

    async def _post(
        self, worker: Worker, turn: PastTurn, schedule: Schedule, *, late: bool, latest: bool
    ) -> bool:
        run = await self.store.add_run(
            team_id=schedule.team_id,
            channel_id=schedule.channel_id,
            kind="digest",
            input=turn.input or schedule.input,
            budget=schedule.budget,
            user_id=schedule.creator_id,
            status="completed",
            worker_id=worker.id,
        )
        lease = run_lease(run.id)
        # A new run: free. Held from before the claim until it is posted, so no takeover pass
        # (`ScheduleWatcher.take_over`) sees a claimed digest nobody holds while it is posted.
        await self.ownership.take(lease)
        try:
            claimed = await self.store.claim_digest(
                worker_id=worker.id,
                message_index=turn.index,
                schedule_id=schedule.id,
                run_id=run.id,
                late=late,
            )
            if not claimed:
                await self.store.update_run(run.id, status="failed", error="duplicate digest")
                return False
            await self._show(run, worker, turn, schedule, late=late, latest=latest)
        finally:
            await self.ownership.let_go(lease)
        return True

    async def _show(
        self,
        run: Run,
        worker: Worker,
        turn: PastTurn,
        schedule: Schedule,
        *,
        late: bool,
        latest: bool,
        recovering: bool = False,
    ) -> None:
        """Publish the digest; when `recovering`, first look for one an earlier process
        published but stopped before recording (`find`), so a restart never posts it twice."""
        view = await self._view(run, worker, turn, schedule, late=late, latest=latest)
        ts = await self.surface.find(run) if recovering else None
        if ts is None:
            try:
                ts = await self.surface.publish(run, view)
            except Undeliverable as exc:  # the channel was archived, say: recorded, not retried
                log.warning("digest of schedule %s cannot be posted: %s", schedule.id, exc)
                await self.store.update_run(run.id, status="failed", error=str(exc), files_done=1)
                return
        run = await self.store.update_run(run.id, message_ts=ts, thread_ts=ts, files_done=0)
        await self.store.link_thread(
            run.team_id, run.channel_id, ts, worker.id, schedule.creator_id
        )
        log.info(
            "digest of schedule %s posted (worker %s, turn %d)", schedule.id, worker.id, turn.index
        )
        if self.files is not None:
            try:
                await self.files.deliver(run, worker, turn.files)
            except Exception:
                log.exception("digest run %d: file delivery failed", run.id)
        await self.store.update_run(run.id, files_done=1)

    async def _view(
        self,
        run: Run,
        worker: Worker,
        turn: PastTurn,
        schedule: Schedule,
        *,
        late: bool,
        latest: bool,
    ) -> RunView:
        progress = TurnProgress(worker_id=worker.id)
        progress.text = turn.text
        progress.sources.extend(turn.sources)
        progress.files.extend(turn.files)
        # The latest turn is what the worker reports now: its text, usage and costs are exact;
        # once later turns ran, what it cost is known only as recorded then.
        shown_worker = worker if latest and worker.text == turn.text else None
        failure = worker.error_message if shown_worker is not None else None
        costs = None
        if shown_worker is not None:
            await self.store.update_run(run.id, **cost_record(shown_worker))
        else:
            progress.usage, costs = recorded_cost(run)
        view = build_view(
            run,
            progress,
            "failed" if failure else "completed",
            _duration(worker) if shown_worker is not None else 0.0,
            worker=shown_worker,
            error=failure,
            costs=costs,
        )
        return _with_heading(view, DigestHeading(schedule.description, late), turn)

    async def redrawn(self, run: Run, worker: Worker) -> RunView | None:
        """A posted digest as Handinger has its turn now (the card's Refresh): that turn, not
        the worker's latest. None when the digest, its schedule or its turn is not known."""
        claim = await self.store.digest_of(run.id)
        if claim is None:
            return None
        schedule_id, index, late = claim
        schedule = await self.store.get_schedule(schedule_id)
        turns = past_turns(worker, since=index)
        if schedule is None or not turns or turns[0].index != index:
            return None
        latest = len(turns) == 1 and not worker.is_running
        return await self._view(run, worker, turns[0], schedule, late=late, latest=latest)


def _duration(worker: Worker) -> float:
    if worker.usage is not None and worker.usage.duration_ms is not None:
        return worker.usage.duration_ms / 1000
    return 0.0


def _with_heading(view: RunView, heading: DigestHeading, turn: PastTurn) -> RunView:
    sources = view.sources or turn.sources
    return replace(view, digest=heading, sources=sources, is_followup=False)
