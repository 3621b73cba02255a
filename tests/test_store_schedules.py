"""The store's contract for schedules, digests and an uninstalled workspace, on both engines."""

from __future__ import annotations

import asyncio

from bot.store import PendingSchedule, Schedule, Store
from tests.stores import Backend, Clock, add_run


def schedule(id: str, **fields: object) -> Schedule:
    values: dict[str, object] = {
        "id": id,
        "team_id": "T1",
        "channel_id": "C1",
        "worker_id": "w1",
        "creator_id": "U1",
        "input": "news",
        "budget": "standard",
        "type": "recurring",
        "description": "every hour",
        "status": "active",
        "created_at": 10.0,
        **fields,
    }
    return Schedule(**values)  # type: ignore[arg-type]


async def digest_run(store: Store, team_id: str = "T1") -> int:
    run = await add_run(
        store, team_id=team_id, kind="digest", input="news", status="completed", worker_id="w1"
    )
    return run.id


async def test_schedules_are_kept_listed_and_changed(backend: Backend) -> None:
    store = await backend.open()
    await store.add_schedule(schedule("s1", next_run_at=50.0, created_at=1.0))
    await store.add_schedule(schedule("s2", next_run_at=None, created_at=2.0))
    await store.add_schedule(schedule("s3", channel_id="C2", next_run_at=20.0, created_at=3.0))
    await store.add_schedule(schedule("s4", worker_id="w2", status="done", created_at=4.0))
    assert await store.get_schedule("nope") is None
    assert await store.get_schedule("s1") == schedule("s1", next_run_at=50.0, created_at=1.0)
    assert [s.id for s in await store.active_schedules()] == ["s2", "s3", "s1"]
    assert [s.id for s in await store.channel_schedules("T1", "C1")] == ["s1", "s2"]
    assert [s.id for s in await store.worker_schedules("w1")] == ["s3", "s2", "s1"]
    cancelled = await store.update_schedule("s1", status="cancelled", cancelled_by="U9")
    assert (cancelled.status, cancelled.cancelled_by) == ("cancelled", "U9")
    await store.add_schedule(schedule("s2", description="daily"))  # made again: replaced
    assert [s.description for s in await store.channel_schedules("T1", "C1")] == ["daily"]


async def test_a_pending_schedule_is_attached_then_dropped(backend: Backend) -> None:
    store = await backend.open()
    pending = PendingSchedule(7, '{"type": "recurring"}', "news", "high", "every hour")
    await store.add_pending_schedule(pending)
    assert await store.pending_schedule(7) == pending
    await store.pending_schedule_created(7, "s1")
    found = await store.pending_schedule(7)
    assert found is not None and found.schedule_id == "s1" and found.budget == "high"
    await store.drop_pending_schedule(7)
    assert await store.pending_schedule(7) is None


async def test_messages_seen_only_grow(backend: Backend) -> None:
    store = await backend.open()
    assert await store.messages_seen("w1") is None
    await store.see_messages("w1", 4)
    await store.see_messages("w1", 2)  # an older view of the worker arriving late
    assert await store.messages_seen("w1") == 4
    await store.see_messages("w1", 6)
    assert await store.messages_seen("w1") == 6


async def test_a_digest_is_claimed_once_even_by_two_processes(backend: Backend) -> None:
    first, second = await backend.open(), await backend.open()
    runs = [await digest_run(first), await digest_run(first)]
    claims = [
        store.claim_digest(
            worker_id="w1", message_index=3, schedule_id="s1", run_id=run, late=n == 1
        )
        for n, (store, run) in enumerate(zip((first, second), runs, strict=True))
    ]
    won = await asyncio.gather(*claims)
    assert sorted(won) == [False, True]
    winner = runs[won.index(True)]
    assert await first.digest_of(winner) == ("s1", 3, bool(won.index(True)))
    assert await first.digest_of(runs[won.index(False)]) is None
    [(unposted, index, late)] = await second.unposted_digests()
    assert (unposted.id, index, late) == (winner, 3, bool(won.index(True)))
    await first.update_run(winner, message_ts="9.9")
    assert await second.unposted_digests() == []


async def test_forgetting_a_workspace_stops_everything_there(backend: Backend) -> None:
    clock = Clock()
    store = await backend.open(clock)
    running = await add_run(store, thread_ts="1.1", input="a", status="running", worker_id="w1")
    await store.link_thread("T1", "C1", "1.1", "w1", "U1")
    await store.add_pending_schedule(PendingSchedule(running.id, "{}", "a", "standard", "d"))
    unposted = await digest_run(store)
    await store.add_schedule(schedule("s1"))
    await store.add_schedule(schedule("s2", team_id="T2", created_at=11.0))
    other = await add_run(store, team_id="T2", thread_ts="1.1", input="b", status="running")
    await store.link_thread("T2", "C1", "1.1", "w2", "U1")
    clock.now = 2000.0

    forgotten = await store.forget_workspace("T1", "uninstalled")
    assert [r.id for r in forgotten.failed_runs] == [running.id]
    assert forgotten.failed_runs[0].status == "running"  # as it was
    assert [s.id for s in forgotten.schedules] == ["s1"] and forgotten.threads == 1
    after = await store.get_run(running.id)
    assert (after.status, after.error, after.finished_at) == ("failed", "uninstalled", 2000.0)
    assert after.thread_ts is None and after.files_done == 1
    assert (await store.get_run(unposted)).status == "failed"
    assert await store.pending_schedule(running.id) is None
    assert [s.status for s in (await store.worker_schedules("w1"))] == ["active", "gone"]
    assert await store.find_thread("T1", "C1", "1.1") is None
    assert await store.find_thread("T2", "C1", "1.1") is not None
    assert (await store.get_run(other.id)).status == "running"
