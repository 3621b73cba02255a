"""Slack's rate limits shared through the store, on both engines: every process together stays
inside one sliding window per scope, and progress calls leave room for everyone's finals."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.stores import Backend, Clock


async def test_processes_share_one_window_per_scope(backend: Backend) -> None:
    clock = Clock()
    a, b = await backend.open(clock), await backend.open(clock)
    for n in range(3):
        assert await (a if n % 2 else b).take_call("update:T1", "A" if n % 2 else "B",
                                                   limit=4, window=60) == 0.0  # fmt: skip
        clock.now += 10
    assert await a.take_call("update:T1", "A", limit=4, window=60) == 0.0  # the 4th, at 1030
    assert await b.take_call("update:T1", "B", limit=4, window=60) == 30.0  # 1000 leaves at 1060
    assert await a.take_call("update:T2", "A", limit=4, window=60) == 0.0  # another workspace
    clock.now = 1060
    assert await b.take_call("update:T1", "B", limit=4, window=60) == 0.0
    assert await a.take_call("update:T1", "A", limit=4, window=60) == 10.0


async def test_progress_leaves_room_for_every_process_finals(backend: Backend) -> None:
    clock = Clock()
    a, b = await backend.open(clock), await backend.open(clock)
    # A streams three messages, B one: progress must leave four calls of ten
    kw: dict[str, Any] = {"limit": 10, "window": 60.0, "final": False, "reserve_cap": 5}
    assert await a.take_call("update:T1", "A", reserve=3, **kw) == 0.0
    for _ in range(5):
        assert await b.take_call("update:T1", "B", reserve=1, **kw) == 0.0
    assert await b.take_call("update:T1", "B", reserve=1, **kw) > 0  # 6 + 4 reserved = 10
    for _ in range(4):  # the finals use the room kept for them
        assert await a.take_call("update:T1", "A", reserve=3, limit=10, window=60) == 0.0
    assert await b.take_call("update:T1", "B", reserve=0, limit=10, window=60) > 0
    clock.now += 61  # reserves not refreshed for a window no longer count
    assert await b.take_call("update:T1", "B", reserve=0, **kw) == 0.0


async def test_racing_processes_never_overrun_the_window(backend: Backend) -> None:
    stores = [await backend.open() for _ in range(3)]
    waits = await asyncio.gather(
        *[
            store.take_call("post:T1:C1", f"owner-{i}", limit=5, window=60)
            for i, store in enumerate(stores)
            for _ in range(4)
        ]
    )
    assert sum(1 for wait in waits if wait == 0.0) == 5
