"""Slack's rate limits shared through the store, on both engines: every process together stays
inside one sliding window per scope, and progress calls leave room for everyone's finals."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from bot.store.rates import Allowance, CallTerms, fit
from tests.stores import Backend, Clock


async def test_processes_share_one_window_per_scope(backend: Backend) -> None:
    clock = Clock()
    a, b = await backend.open(clock), await backend.open(clock)
    for n in range(3):
        assert await (a if n % 2 else b).take_call("update:T1", "A" if n % 2 else "B",
                                                   CallTerms(4, 60)) == 0.0  # fmt: skip
        clock.now += 10
    assert await a.take_call("update:T1", "A", CallTerms(4, 60)) == 0.0  # the 4th, at 1030
    assert await b.take_call("update:T1", "B", CallTerms(4, 60)) == 30.0  # 1000 leaves at 1060
    assert await a.take_call("update:T2", "A", CallTerms(4, 60)) == 0.0  # another workspace
    clock.now = 1060
    assert await b.take_call("update:T1", "B", CallTerms(4, 60)) == 0.0
    assert await a.take_call("update:T1", "A", CallTerms(4, 60)) == 10.0


async def test_progress_leaves_room_for_every_process_finals(backend: Backend) -> None:
    clock = Clock()
    a, b = await backend.open(clock), await backend.open(clock)
    # A streams three messages, B one: progress must leave four calls of ten
    progress = CallTerms(limit=10, window=60.0, final=False, reserve_cap=5)
    assert await a.take_call("update:T1", "A", replace(progress, reserve=3)) == 0.0
    for _ in range(5):
        assert await b.take_call("update:T1", "B", replace(progress, reserve=1)) == 0.0
    assert await b.take_call("update:T1", "B", replace(progress, reserve=1)) > 0  # 6 + 4 = 10
    for _ in range(4):  # the finals use the room kept for them
        assert await a.take_call("update:T1", "A", CallTerms(10, 60, reserve=3)) == 0.0
    assert await b.take_call("update:T1", "B", CallTerms(10, 60)) > 0
    clock.now += 61  # reserves not refreshed for a window no longer count
    assert await b.take_call("update:T1", "B", progress) == 0.0


async def test_refused_progress_queues_the_processes_one_opening_each(backend: Backend) -> None:
    clock = Clock()
    a, b, c = [await backend.open(clock) for _ in range(3)]
    progress = CallTerms(limit=4, window=60.0, final=False)
    for _ in range(4):  # the window fills, one call every 10 s: 1000 … 1030
        assert await a.take_call("update:T1", "A", progress) == 0.0
        clock.now += 10
    # each refused process is told the next opening, not the one the others were told
    assert await b.take_call("update:T1", "B", progress) == 20.0  # 1000 leaves at 1060
    assert await c.take_call("update:T1", "C", progress) == 30.0  # then 1010, at 1070
    assert await a.take_call("update:T1", "A", progress) == 40.0  # then 1020, at 1080
    for store, owner, turn in ((b, "B", 1060), (c, "C", 1070), (a, "A", 1080)):
        clock.now = turn  # each asks again when told, and is let through at once
        assert await store.take_call("update:T1", owner, progress) == 0.0


async def test_racing_processes_never_overrun_the_window(backend: Backend) -> None:
    stores = [await backend.open() for _ in range(3)]
    waits = await asyncio.gather(
        *[
            store.take_call("post:T1:C1", f"owner-{i}", CallTerms(5, 60))
            for i, store in enumerate(stores)
            for _ in range(4)
        ]
    )
    assert sum(1 for wait in waits if wait == 0.0) == 5


async def test_a_429_one_process_got_pauses_the_scope_for_all(backend: Backend) -> None:
    clock = Clock()
    a, b = await backend.open(clock), await backend.open(clock)
    await a.pause_scope("update:T1", 30)
    assert await b.take_call("update:T1", "B", CallTerms(45, 60)) == 30.0
    assert await b.take_call("update:T2", "B", CallTerms(45, 60)) == 0.0  # its scope only
    await b.pause_scope("update:T1", 5)  # a shorter pause does not cut the longer one short
    clock.now += 20
    assert await a.take_call("update:T1", "A", CallTerms(45, 60)) == 10.0
    clock.now += 10
    assert await a.take_call("update:T1", "A", CallTerms(45, 60)) == 0.0


async def test_a_call_needs_room_in_every_allowance_and_is_counted_in_all(
    backend: Backend,
) -> None:
    clock = Clock()
    a, b = await backend.open(clock), await backend.open(clock)
    workspace = Allowance("post:T1", 3, 60)
    for channel in ("C1", "C2", "C3"):  # one post in each of three channels
        wait = await a.take_call(f"post:T1:{channel}", "A", CallTerms(2, 2, more=(workspace,)))
        assert wait == 0.0
    # C1 has room, the workspace has none: nothing is counted anywhere
    assert await b.take_call("post:T1:C1", "B", CallTerms(2, 2, more=(workspace,))) == 60.0
    assert await b.take_call("post:T1:C1", "B", CallTerms(2, 2)) == 0.0
    assert await b.take_call("post:T1:C1", "B", CallTerms(2, 2)) > 0  # 2 taken: A's and B's


async def test_a_take_is_one_round_trip_on_postgresql(backend: Backend) -> None:
    store = await backend.open()
    progress = CallTerms(limit=45, window=60.0, final=False, reserve=2, reserve_cap=20)
    before = store.db.tally.statements
    assert await store.take_call("update:T1", "A", progress) == 0.0
    # PostgreSQL: one statement (a function); SQLite: a local transaction, no network
    assert store.db.tally.statements - before == {"postgresql": 1, "sqlite": 8}[backend.kind]


async def test_racing_posts_in_two_channels_share_the_workspace_allowance(
    backend: Backend,
) -> None:
    stores = [await backend.open() for _ in range(3)]
    workspace = Allowance("post:T1", 5, 60)
    channels = ["post:T1:C1", "post:T1:C2"]
    waits = await asyncio.gather(
        *[
            store.take_call(channels[n % 2], f"owner-{i}", CallTerms(4, 60, more=(workspace,)))
            for i, store in enumerate(stores)
            for n in range(6)
        ]
    )  # each take locks two rows, in one order: no deadlock, and the counts add up
    assert sum(1 for wait in waits if wait == 0.0) == 5


async def test_booked_calls_are_counted_in_turn_at_the_first_free_time(backend: Backend) -> None:
    clock = Clock()
    a, b = await backend.open(clock), await backend.open(clock)
    workspace = Allowance("post:T1", 5, 60)
    post = CallTerms(limit=2, window=2.0, more=(workspace,), book=True)
    waits = [await (a, b)[n % 2].take_call("post:T1:C1", "AB"[n % 2], post) for n in range(5)]
    assert waits == [0.0, 0.0, 2.0, 2.0, 4.0]  # two a window, in the order asked
    assert await a.take_call("post:T1:C2", "A", post) == 60.0  # the workspace's 5 are booked
    await b.pause_scope("post:T1:C3", 90)
    assert await a.take_call("post:T1:C3", "A", CallTerms(2, 2.0, book=True)) == 90.0
    clock.now += 3  # 1002's two fill the window until 1004, where one of two is booked
    assert await b.take_call("post:T1:C1", "B", CallTerms(2, 2.0)) == 1.0  # unbooked: asks


async def test_racing_bookings_never_overrun_any_window(backend: Backend) -> None:
    stores = [await backend.open() for _ in range(3)]
    waits = await asyncio.gather(
        *[
            store.take_call("post:T1:C1", f"owner-{i}", CallTerms(3, 60, book=True))
            for i, store in enumerate(stores)
            for _ in range(4)
        ]
    )
    assert sorted(round(wait / 60) for wait in waits) == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3
    rows = await stores[0].db.fetch("SELECT at FROM rate_calls WHERE scope = 'post:T1:C1'")
    times = sorted(float(row["at"]) for row in rows)
    assert len(times) == 12
    for i, at in enumerate(times):  # never more than 3 in any 60 s
        assert len([t for t in times[i:] if t < at + 60]) <= 3


def test_a_booking_fits_the_first_gap_even_before_later_bookings() -> None:
    assert fit([], 2, 2.0, 5.0) == 5.0
    assert fit([0.0, 1.0], 2, 2.0, 0.5) == 2.0  # when the call at 0 leaves the window
    assert fit([10.0], 1, 2.0, 0.0) == 0.0  # before a call booked later, with room
    assert fit([1.0], 1, 2.0, 0.0) == 3.0  # not between: 0 and 1 would be two in 2 s
    assert fit([0.0, 4.0], 1, 2.0, 0.0) == 2.0  # in the gap between two bookings


async def test_a_paused_channel_does_not_hold_up_the_workspace_other_channels(
    backend: Backend,
) -> None:
    clock = Clock()
    store = await backend.open(clock)
    post = CallTerms(limit=2, window=2.0, more=(Allowance("post:T1", 50, 12.0),), book=True)
    await store.pause_scope("post:T1:C1", 60)
    assert await store.take_call("post:T1:C1", "A", post) == 60.0
    assert await store.take_call("post:T1:C2", "A", post) == 0.0


async def test_rows_no_window_uses_any_more_are_pruned(backend: Backend) -> None:
    clock = Clock()
    store = await backend.open(clock)
    for owner in ("gone-1", "gone-2"):  # processes that ran once and stopped
        assert await store.take_call("post:T1:C1", owner, CallTerms(2, 2)) == 0.0
    await store.pause_scope("post:T1:C2", 7200)
    clock.now += 3601
    assert await store.take_call("post:T1:C3", "live", CallTerms(2, 2)) == 0.0
    assert await store.prune_rates(older_than=3600) == 5  # 2 reserves, 2 calls, C1's scope
    rows = await store.db.fetch("SELECT scope FROM rate_scopes ORDER BY scope")
    assert [row["scope"] for row in rows] == ["post:T1:C2", "post:T1:C3"]  # C2 is paused
    assert await store.take_call("post:T1:C1", "live", CallTerms(2, 2)) == 0.0
