"""Schedules made from Slack, and the watcher that notices when they fire.

The watcher sleeps until shortly before a schedule's `nextRunAt`, then follows its worker
(the stream while a turn runs, else `GET` with backoff) until the scheduled turn is over and
posted as a digest. As a safety net against clock skew between Handinger and the app, every
scheduled worker is also checked every `safety_interval` seconds; idle workers are never polled
more often than that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from ..budgets import Budget, as_budget
from ..handinger.client import HandingerClient
from ..handinger.errors import HandingerError, NotFoundError
from ..handinger.models import When, WorkerSchedule
from ..store import Run, Schedule, Store
from .digests import Digests
from .tasks import Tasks

log = logging.getLogger(__name__)


def _timestamp(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None


def _same_schedule(remote: WorkerSchedule, when: When, input: str) -> bool:
    if remote.type != when.type or remote.input != input:
        return False
    for field in ("cron", "interval_seconds", "delay_in_seconds"):
        mine = getattr(when, field, None)
        if mine is not None and getattr(remote, field, None) not in (None, mine):
            return False
    return True


async def create_schedule(
    store: Store,
    handinger: HandingerClient,
    *,
    worker_id: str,
    team_id: str,
    channel_id: str,
    creator_id: str,
    input: str,
    when: When,
    budget: Budget | None,
    description: str,
) -> Schedule:
    """Create a schedule on a worker and remember it.

    If the worker already has the very same schedule that the app does not know (the app
    stopped right after creating it), that one is adopted instead of making a second.
    """
    known = {s.id for s in await store.worker_schedules(worker_id)}
    remote = None
    with contextlib.suppress(HandingerError):
        for existing in await handinger.list_schedules(worker_id):
            if existing.id not in known and _same_schedule(existing, when, input):
                remote = existing
                break
    if remote is None:
        remote = await handinger.create_schedule(worker_id, input, when, budget=budget)
    schedule = Schedule(
        id=remote.id,
        team_id=team_id,
        channel_id=channel_id,
        worker_id=worker_id,
        creator_id=creator_id,
        input=input,
        budget=as_budget(remote.budget) or budget or "standard",
        type=remote.type,
        description=description,
        status="active",
        created_at=time.time(),
        next_run_at=_timestamp(remote.next_run_at),
    )
    if await store.messages_seen(worker_id) is None:
        worker = await handinger.get_worker(worker_id)
        await store.see_messages(worker_id, len(worker.messages))
    log.info("schedule %s created on worker %s (%s)", schedule.id, worker_id, description)
    return await store.add_schedule(schedule)


async def cancel_schedule(
    store: Store, handinger: HandingerClient, schedule: Schedule, by: str
) -> bool:
    """Cancel a schedule; False when Handinger no longer had it (it ran or was removed)."""
    try:
        cancelled = await handinger.cancel_schedule(schedule.worker_id, schedule.id)
    except NotFoundError:
        cancelled = False
    await store.update_schedule(
        schedule.id, status="cancelled" if cancelled else "gone", cancelled_by=by
    )
    log.info("schedule %s cancelled by %s (%s)", schedule.id, by, cancelled)
    return cancelled


async def sync_worker(store: Store, handinger: HandingerClient, worker_id: str) -> list[Schedule]:
    """Bring the app's view of a worker's schedules in line with Handinger's.

    A one-shot schedule that has fired is done; one that disappeared otherwise was deleted
    outside Slack.
    """
    try:
        remote = {s.id: s for s in await handinger.list_schedules(worker_id)}
    except NotFoundError:
        remote = {}
    active: list[Schedule] = []
    for schedule in await store.worker_schedules(worker_id):
        if schedule.status != "active":
            continue
        found = remote.get(schedule.id)
        if found is None:
            status = "done" if schedule.one_shot else "gone"
            await store.update_schedule(schedule.id, status=status)
        else:
            next_run = _timestamp(found.next_run_at)
            active.append(await store.update_schedule(schedule.id, next_run_at=next_run))
    return active


class ScheduleWatcher:
    """Notices scheduled turns and has them posted as digests."""

    def __init__(
        self,
        store: Store,
        handinger: HandingerClient,
        digests: Digests,
        *,
        lead: float = 5.0,
        grace: float = 900.0,
        poll_max: float = 30.0,
        safety_interval: float = 300.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Coroutine[Any, Any, None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.handinger = handinger
        self.digests = digests
        self.lead = lead
        self.grace = grace
        self.poll_max = poll_max
        self.safety_interval = safety_interval
        self._clock = clock
        self._sleep = sleep
        self._wake = asyncio.Event()
        self._watching: set[str] = set()
        self._checked: dict[str, float] = {}
        self._tasks: Tasks[str] = Tasks()  # each watch under its worker

    def wake(self) -> None:
        """Something changed (a schedule was added or cancelled): re-plan now."""
        self._wake.set()

    async def startup(self) -> None:
        """After a restart: post digests claimed but never posted, then whatever fired while
        the app was down, marked late."""
        await self._post_unposted(await self.store.unposted_digests())
        workers = {s.worker_id for s in await self.store.active_schedules()}
        for worker_id in workers:
            try:
                self.digests.ran_while_offline(await self.handinger.get_worker(worker_id))
            except HandingerError as error:
                log.warning("worker %s: cannot read it at start-up: %s", worker_id, error)
                continue
            await self._check(worker_id, late=True)

    async def take_over(self) -> int:
        """Post the digests a process claimed and then stopped or died before posting (no
        process holds their run); return how many were found."""
        unposted = await self.store.unposted_digests(unleased=True)
        await self._post_unposted(unposted)
        return len(unposted)

    async def keep_taking_over(self, every: float) -> None:
        """Forever: `take_over`, so a replica that dies mid-post loses no digest while the
        others run (not only at the next start)."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.take_over()
            except Exception as exc:  # the database is out: try again at the next beat
                log.warning("digests of stopped processes not checked: %s", exc)

    async def _post_unposted(self, unposted: list[tuple[Run, int, bool]]) -> None:
        for run, index, late in unposted:
            if run.worker_id is None:
                continue
            try:
                worker = await self.handinger.get_worker(run.worker_id)
                await self.digests.post_claimed(run, worker, index, late=late)
            except HandingerError as error:
                log.warning("digest run %d: cannot post it: %s", run.id, error)

    async def run(self) -> None:
        """Plan and watch forever."""
        while True:
            now = self._clock()
            upcoming: list[float] = []
            for worker_id, due in (await self._plan(now)).items():
                if due <= now:
                    self._spawn(worker_id, patient=await self._is_due(worker_id, now))
                else:
                    upcoming.append(due)
            self._wake.clear()
            timeout = min(upcoming) - now if upcoming else self.safety_interval
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(timeout, 0.05)):
                    await self._wake.wait()

    def forget_workers(self, worker_ids: set[str]) -> None:
        """Stop watching these workers now (their workspace uninstalled the app)."""
        self._tasks.cancel(worker_ids)
        for worker_id in worker_ids:
            self._checked.pop(worker_id, None)
        self.wake()

    async def aclose(self) -> None:
        await self._tasks.aclose()

    async def _plan(self, now: float) -> dict[str, float]:
        """When each scheduled worker should next be looked at."""
        plan: dict[str, float] = {}
        for schedule in await self.store.active_schedules():
            if schedule.worker_id in self._watching:
                continue
            due = (schedule.next_run_at or now) - self.lead
            safety = self._checked.get(schedule.worker_id, now) + self.safety_interval
            self._checked.setdefault(schedule.worker_id, now)
            plan[schedule.worker_id] = min(due, safety, plan.get(schedule.worker_id, due))
        return plan

    async def _is_due(self, worker_id: str, now: float) -> bool:
        return any(
            (s.next_run_at or now) - self.lead <= now
            for s in await self.store.active_schedules()
            if s.worker_id == worker_id
        )

    def _spawn(self, worker_id: str, *, patient: bool) -> None:
        self._watching.add(worker_id)
        self._tasks.spawn(self._watch(worker_id, patient=patient), worker_id)

    async def _watch(self, worker_id: str, *, patient: bool) -> None:
        """Follow a worker until its scheduled turn is posted (or, if not `patient`, once)."""
        try:
            due = min(
                (
                    s.next_run_at or 0.0
                    for s in await self.store.active_schedules()
                    if s.worker_id == worker_id
                ),
                default=0.0,
            )
            if patient and due > self._clock():
                await self._sleep(due - self._clock())
            deadline = max(due, self._clock()) + self.grace
            delay = 1.0
            while True:
                if await self._check(worker_id, late=False) or not patient:
                    break
                if self._clock() > deadline:
                    log.info("worker %s: no scheduled turn seen by its deadline", worker_id)
                    break
                await self._sleep(delay)
                delay = min(delay * 2, self.poll_max)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("watching worker %s failed", worker_id)
        finally:
            with contextlib.suppress(HandingerError):
                await sync_worker(self.store, self.handinger, worker_id)
            self._checked[worker_id] = self._clock()
            self._watching.discard(worker_id)
            self.wake()

    async def _check(self, worker_id: str, *, late: bool) -> int:
        """Look at a worker once: follow a running turn to its end, then post what is new."""
        if await self.store.active_run_for_worker(worker_id) is not None:
            return 0  # the app's own turn; it will hand over when it is done
        try:
            worker = await self.handinger.get_worker(worker_id)
            if worker.is_running:
                with contextlib.suppress(HandingerError):
                    async for _ in self.handinger.stream_worker(worker_id):
                        pass
                worker = await self.handinger.get_worker(worker_id)
                if worker.is_running:
                    return 0
            if await self.store.active_run_for_worker(worker_id) is not None:
                return 0
            return await self.digests.catch_up(worker, late=late)
        except NotFoundError:
            log.info("worker %s is gone; its schedules end", worker_id)
            for schedule in await self.store.worker_schedules(worker_id):
                if schedule.status == "active":
                    await self.store.update_schedule(schedule.id, status="gone")
            return 0
        except HandingerError as error:
            log.warning("worker %s: cannot check for scheduled turns: %s", worker_id, error)
            return 0
