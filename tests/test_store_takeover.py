"""The heartbeat's takeover scan, on both engines: one statement that finds every run a live
process may take up, and, with large tables, reads them through indexes (migration 14)."""

from __future__ import annotations

from bot.store import Run, RunStatus, Store
from tests.heartbeat_helpers import Recorder, plan, populate
from tests.stores import Backend, Clock, add_run


async def run(store: Store, status: RunStatus, thread: str = "1.1", **changes: object) -> Run:
    added = await add_run(store, thread_ts=thread, input="x", budget="low", status=status)
    return await store.update_run(added.id, **changes) if changes else added


async def test_one_scan_finds_runs_in_flight_queued_owed_and_unposted(backend: Backend) -> None:
    clock = Clock()
    store = await backend.open(clock)
    held = await run(store, "running")
    free = await run(store, "starting")
    await run(store, "completed", message_ts="9.1", files_done=1)  # nothing owed
    await run(store, "queued", thread="2.2")
    await run(store, "queued", thread="2.2")  # one thread, listed once
    await run(store, "queued", thread="3.3")
    files = await run(store, "completed", worker_id="w1", files_done=0)
    final = await run(store, "failed", final_pending="failure")
    owed_held = await run(store, "completed", worker_id="w2", files_done=0)
    late, early = await run(store, "completed"), await run(store, "completed")
    for index, digest in ((1, late), (2, early)):
        clock.now = 2000.0 - index  # `early`'s claim is the older
        assert await store.claim_digest(
            worker_id="w3", message_index=index, schedule_id="s", run_id=digest.id, late=False
        )
    for taken in (held, owed_held):
        assert await store.take_lease(f"run:{taken.id}", "A", 30)

    scan = await store.takeover_scan()
    assert [r.id for r in scan.active] == [free.id]
    assert scan.queued == [("T1", "C1", "2.2"), ("T1", "C1", "3.3")]
    assert [r.id for r in scan.owed] == [files.id, final.id]
    assert [(r.id, index) for r, index, _ in scan.digests] == [(early.id, 2), (late.id, 1)]
    clock.now += 31  # A's leases expire
    scan = await store.takeover_scan()
    assert [r.id for r in scan.active] == [held.id, free.id]
    assert [r.id for r in scan.owed] == [files.id, final.id, owed_held.id]


async def test_the_heartbeat_reads_large_tables_through_indexes(backend: Backend) -> None:
    store = await backend.open()
    await populate(store, 3000)
    recorder = Recorder(store)
    recorder.on = True
    await store.takeover_scan()
    await store.take_orphan_requests("B", 30)
    await store.renew_requests("B", 30)
    await store.renew_leases("B", 30)
    await store.departures_after(0)
    await store.prune_events(older_than=3600)
    recorder.on = False
    plans = [await plan(store, query, params) for query, params in recorder.sent]
    scan = plans[0]
    for index in ("idx_runs_owed", "idx_runs_unposted", "idx_digests_run_id"):
        assert index in scan, scan
    assert "idx_handled_events_handled_at" in plans[-1], plans[-1]
    full_scans = ("SCAN r\n", "SCAN runs", "SCAN d\n", "SCAN digests", "SCAN handled_events\n")
    for query_plan in plans:
        assert "Seq Scan" not in query_plan, query_plan  # PostgreSQL, with sequential scans off
        assert not any(f"{line}\n".startswith(full_scans) for line in query_plan.split("\n"))
