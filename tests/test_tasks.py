"""`Tasks`: background tasks under a key, cancelled by key or all at once; an empty set of keys
cancels none (a workspace with no watched workers must not stop every other watch)."""

from __future__ import annotations

import asyncio

from bot.core.tasks import Tasks


async def forever() -> None:
    await asyncio.Event().wait()


async def test_tasks_are_cancelled_by_key_or_all_at_once() -> None:
    tasks: Tasks[str] = Tasks()
    a, b = tasks.spawn(forever(), "T1"), tasks.spawn(forever(), "T2")
    await asyncio.sleep(0)
    assert tasks.cancel(set()) == 0
    assert tasks.cancel({"T1"}) == 1
    await asyncio.gather(a, return_exceptions=True)
    assert a.cancelled() and not b.done() and len(tasks) == 1
    await tasks.aclose()
    assert b.cancelled() and len(tasks) == 0


async def test_wait_includes_the_tasks_that_ending_ones_start() -> None:
    tasks: Tasks[str] = Tasks()
    ended: list[str] = []

    async def second() -> None:
        ended.append("second")

    async def first() -> None:
        tasks.spawn(second(), "T1")
        ended.append("first")

    tasks.spawn(first(), "T1")
    await tasks.wait()
    assert ended == ["first", "second"] and len(tasks) == 0
