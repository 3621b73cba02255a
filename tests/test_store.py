"""The SQLite store: migrations, dedupe, threads and runs, and that it all survives a reopen."""

from __future__ import annotations

from pathlib import Path

from bot.store import MIGRATIONS, Store


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_fresh_database_is_migrated_and_in_wal_mode(tmp_path: Path) -> None:
    store = Store(tmp_path / "state" / "app.db")
    assert await store.schema_version() == len(MIGRATIONS)
    assert store.db.journal_mode == "wal"
    assert {"threads", "runs", "handled_events"} <= set(store.db.table_names())
    assert await store.migrate() == len(MIGRATIONS)  # running again changes nothing
    await store.close()


async def test_events_are_claimed_once_by_any_of_their_keys(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db")
    assert await store.claim_event("Ev1", "C1:1.0001")
    assert not await store.claim_event("Ev1", "C1:1.0001")  # Slack's retry
    assert not await store.claim_event("Ev2", "C1:1.0001")  # the app_mention twin of a message
    assert await store.claim_event("Ev3", "C1:1.0002")


async def test_old_event_keys_are_pruned(tmp_path: Path) -> None:
    clock = Clock()
    store = Store(tmp_path / "a.db", clock=clock)
    await store.claim_event("old")
    clock.now += 7200
    await store.claim_event("new")
    assert await store.prune_events(older_than=3600) == 1
    assert await store.claim_event("old") and not await store.claim_event("new")


async def test_runs_threads_and_queue_survive_a_reopen(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "a.db"
    store = Store(path, clock=clock)
    run = await store.add_run(
        team_id="T1",
        channel_id="C1",
        kind="new",
        input="hi",
        budget="standard",
        user_id="U1",
        status="starting",
    )
    assert run.id and run.status == "starting" and run.started_at is None
    clock.now += 1
    run = await store.update_run(
        run.id, status="running", worker_id="w1", message_ts="1.1", thread_ts="1.1"
    )
    assert run.started_at == 1001.0
    await store.link_thread("T1", "C1", "1.1", "w1", "U1")
    follow_a = await store.add_run(
        team_id="T1",
        channel_id="C1",
        thread_ts="1.1",
        kind="continue",
        input="a",
        budget="standard",
        user_id="U2",
        status="queued",
        worker_id="w1",
        trigger_ts="1.2",
    )
    await store.add_run(
        team_id="T1",
        channel_id="C1",
        thread_ts="1.1",
        kind="continue",
        input="b",
        budget="standard",
        user_id="U2",
        status="queued",
        worker_id="w1",
        trigger_ts="1.3",
    )
    await store.close()

    store = Store(path, clock=clock)
    thread = await store.find_thread("T1", "C1", "1.1")
    assert thread is not None and thread.worker_id == "w1"
    assert await store.find_thread("T1", "C1", "9.9") is None
    assert await store.find_thread("T2", "C1", "1.1") is None  # scoped by workspace
    assert [r.id for r in await store.active_runs()] == [run.id]
    assert await store.thread_busy("T1", "C1", "1.1")
    queued = await store.next_queued("T1", "C1", "1.1")
    assert queued is not None and queued.id == follow_a.id and queued.input == "a"
    assert await store.threads_with_queued_runs() == [("T1", "C1", "1.1")]
    clock.now += 5
    done = await store.update_run(run.id, status="completed")
    assert done.finished_at == 1006.0 and done.done
    assert not await store.thread_busy("T1", "C1", "1.1")
    assert [r.input for r in await store.recent_workers("T1", "C1", "U1")] == ["hi"]
    assert await store.recent_workers("T1", "C1", "U2") == []  # follow-ups start no worker
