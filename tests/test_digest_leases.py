"""A digest is posted once even by two processes on one database (both engines): one that
starts while another is posting a claimed digest leaves it to that one, instead of taking it
for a digest left unposted by a stopped app; one that keeps running takes over a digest whose
poster was killed, once its lease expired."""

from __future__ import annotations

import asyncio
import contextlib
from typing import NamedTuple

from bot.core.digests import Digests
from bot.core.ownership import Ownership
from bot.core.schedules import ScheduleWatcher
from bot.core.views import RunView
from bot.handinger import HandingerClient, Worker
from bot.store import Run, Schedule, Store
from tests.stores import Backend, Clock

HANDINGER_ARGS = ["--turn-seconds", "0.5", "--chunks", "10"]


class HeldSurface:
    """Slack for digests; `publish` waits until the test lets it through."""

    def __init__(self) -> None:
        self.published: list[int] = []
        self.found: list[int] = []
        self.entered = asyncio.Event()
        self.go = asyncio.Event()
        self.go.set()

    async def publish(self, run: Run, view: RunView) -> str:
        self.entered.set()
        await self.go.wait()
        self.published.append(run.id)
        return f"{run.id}.0001"

    async def find(self, run: Run) -> str | None:
        self.found.append(run.id)
        return None


async def finished(client: HandingerClient) -> Worker:
    worker = await client.create_worker("the news")
    for _ in range(400):
        worker = await client.get_worker(worker.id)
        if not worker.is_running:
            return worker
        await asyncio.sleep(0.05)
    raise AssertionError("the worker did not finish")


class Posting(NamedTuple):
    """Process A posting a worker's digest (held there), B on the same database."""

    worker: Worker
    store: Store  # B's
    b: Digests
    posting: HeldSurface  # A's
    surface: HeldSurface  # B's
    catching_up: asyncio.Task[int]  # A's catch-up, which ends once `posting` lets it go


async def a_posts_a_digest(backend: Backend, handinger: HandingerClient) -> Posting:
    worker = await finished(handinger)
    one, two = await backend.open(), await backend.open()
    await one.add_schedule(
        Schedule("s1", "T1", "C1", worker.id, "U1", "news", "low", "recurring", "hourly",
                 "active", 1.0)
    )  # fmt: skip
    await one.see_messages(worker.id, 0)  # its turn is news
    posting, surface = HeldSurface(), HeldSurface()
    a = Digests(one, posting, ownership=Ownership(one, "A", 30))
    b = Digests(two, surface, ownership=Ownership(two, "B", 30))
    posting.go.clear()
    catching_up = asyncio.create_task(a.catch_up(worker))
    await asyncio.wait_for(posting.entered.wait(), 10)  # A claimed the turn and is posting it
    return Posting(worker, two, b, posting, surface, catching_up)


async def test_a_digest_being_posted_is_left_to_its_process(
    backend: Backend, handinger: HandingerClient
) -> None:
    worker, two, b, posting, starting, catching_up = await a_posts_a_digest(backend, handinger)
    [(run, index, late)] = await two.unposted_digests()  # what B's start-up finds
    await b.post_claimed(run, worker, index, late=late)
    assert starting.published == [] and starting.found == []  # left to A
    posting.go.set()
    assert await asyncio.wait_for(catching_up, 10) == 1
    assert posting.published == [run.id]
    assert await two.unposted_digests() == []
    await b.post_claimed(run, worker, index, late=late)  # late, after A posted it
    assert starting.published == []


async def test_two_processes_checking_one_worker_post_once_and_leave_no_failed_run(
    backend: Backend, handinger: HandingerClient
) -> None:
    worker, two, b, posting, other, catching_up = await a_posts_a_digest(backend, handinger)
    assert await b.catch_up(worker) == 0  # B's watcher saw the same turn at the same time
    posting.go.set()
    assert await asyncio.wait_for(catching_up, 10) == 1
    assert await b.catch_up(worker) == 0  # and after: nothing new
    rows = await two.db.fetch("SELECT status, error FROM runs WHERE kind = 'digest'")
    assert rows == [{"status": "completed", "error": None}]  # no "duplicate digest" run
    assert posting.published != [] and other.published == []


async def test_a_digest_whose_poster_was_killed_is_posted_by_a_live_process(
    backend: Backend, handinger: HandingerClient
) -> None:
    worker = await finished(handinger)
    clock = Clock(1000.0)
    one, two = await backend.open(clock), await backend.open(clock)
    await one.add_schedule(
        Schedule("s1", "T1", "C1", worker.id, "U1", "news", "low", "recurring", "hourly",
                 "active", 1.0)
    )  # fmt: skip
    await one.see_messages(worker.id, 0)
    killed, live = HeldSurface(), HeldSurface()
    a = Digests(one, killed, ownership=Ownership(one, "A", 30))
    watcher = ScheduleWatcher(two, handinger, Digests(two, live, ownership=Ownership(two, "B", 30)))
    killed.go.clear()
    posting = asyncio.create_task(a.catch_up(worker))
    await asyncio.wait_for(killed.entered.wait(), 10)  # A claimed the turn and is posting it
    assert await watcher.take_over() == 0  # A holds it: left alone
    posting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await posting
    # A SIGKILL leaves the lease in the database until it expires (a cancel released it).
    [(claimed, _, _)] = await one.unposted_digests()
    assert await one.take_lease(f"run:{claimed.id}", "A", 30)
    assert await watcher.take_over() == 0 and live.published == []
    clock.now += 31
    assert await watcher.take_over() == 1
    assert live.published == [claimed.id]
    assert await watcher.take_over() == 0 and live.published == [claimed.id]  # once
    assert killed.published == []
