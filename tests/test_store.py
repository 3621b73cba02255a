"""The store's contract, on both engines: migrations, claims, threads, runs and their queue,
and that it all survives a reopen. Every test runs on SQLite and on PostgreSQL (`backend`)."""

from __future__ import annotations

import asyncio

import pytest

from bot.store import MIGRATIONS
from bot.store.pg_schema import PG_MIGRATIONS
from tests.stores import Backend, Clock, add_run


def test_both_engines_have_the_same_migrations() -> None:
    assert len(PG_MIGRATIONS) == len(MIGRATIONS)


async def test_a_fresh_database_is_migrated_once(backend: Backend) -> None:
    store = await backend.open()
    assert await store.schema_version() == len(MIGRATIONS)
    before = store.db.tally.statements
    assert await store.migrate() == len(MIGRATIONS)  # running again changes nothing
    assert store.db.tally.statements - before <= 2  # and costs a look at the version only
    again = await backend.open()  # a second process on the same database
    assert await again.schema_version() == len(MIGRATIONS)


async def test_events_are_claimed_once_by_any_of_their_keys(backend: Backend) -> None:
    store = await backend.open()
    assert await store.claim_event("Ev1", "C1:1.0001")
    assert not await store.claim_event("Ev1", "C1:1.0001")  # Slack's retry
    assert not await store.claim_event("Ev2", "C1:1.0001")  # the app_mention twin of a message
    assert await store.claim_event("Ev3", "C1:1.0002")
    assert await store.claim_event("Ev4", "Ev4")  # the same key twice is one key


async def test_concurrent_claims_from_two_processes_have_one_winner(backend: Backend) -> None:
    """Two replicas get the message event and its app_mention twin at the same moment."""
    first, second = await backend.open(), await backend.open()
    for n in range(10):
        post = f"C1:{n}.0001"
        won = await asyncio.gather(
            first.claim_event(f"EvA{n}", post), second.claim_event(f"EvB{n}", post)
        )
        assert sorted(won) == [False, True]


async def test_old_event_keys_are_pruned(backend: Backend) -> None:
    clock = Clock()
    store = await backend.open(clock)
    await store.claim_event("old")
    clock.now += 7200
    await store.claim_event("new")
    assert await store.prune_events(older_than=3600) == 1
    assert await store.claim_event("old") and not await store.claim_event("new")


async def test_runs_threads_and_queue_survive_a_reopen(backend: Backend) -> None:
    clock = Clock()
    store = await backend.open(clock)
    run = await add_run(store)
    assert run.id and run.status == "starting" and run.started_at is None
    clock.now += 1
    run = await store.update_run(
        run.id, status="running", worker_id="w1", message_ts="1.1", thread_ts="1.1"
    )
    assert run.started_at == 1001.0
    await store.link_thread("T1", "C1", "1.1", "w1", "U1")
    follow_a = await add_run(
        store,
        thread_ts="1.1",
        kind="continue",
        input="a",
        user_id="U2",
        status="queued",
        worker_id="w1",
        trigger_ts="1.2",
    )
    await add_run(
        store,
        thread_ts="1.1",
        kind="continue",
        input="b",
        user_id="U2",
        status="queued",
        worker_id="w1",
        trigger_ts="1.3",
    )
    await store.close()

    store = await backend.open(clock)
    thread = await store.find_thread("T1", "C1", "1.1")
    assert thread is not None and thread.worker_id == "w1" and thread.created_at == 1001.0
    assert await store.find_thread("T1", "C1", "9.9") is None
    assert await store.find_thread("T2", "C1", "1.1") is None  # scoped by workspace
    assert [r.id for r in await store.active_runs()] == [run.id]
    assert (await store.active_run_for_worker("w1")) == run
    assert await store.thread_busy("T1", "C1", "1.1")
    assert await store.start_next_queued("T1", "C1", "1.1") is None  # a turn runs there
    assert await store.threads_with_queued_runs() == [("T1", "C1", "1.1")]
    assert [r.input for r in await store.thread_runs("T1", "C1", "1.1")] == ["hi", "a", "b"]
    clock.now += 5
    done = await store.update_run(run.id, status="completed")
    assert done.finished_at == 1006.0 and done.done
    assert not await store.thread_busy("T1", "C1", "1.1")
    assert await store.active_run_for_worker("w1") is None
    started = await store.start_next_queued("T1", "C1", "1.1")
    assert started is not None and started.id == follow_a.id and started.status == "starting"
    assert await store.start_next_queued("T1", "C1", "1.1") is None  # "a" runs now
    assert [r.input for r in await store.recent_workers("T1", "C1", "U1")] == ["hi"]
    assert await store.recent_workers("T1", "C1", "U2") == []  # follow-ups start no worker


async def test_a_relinked_thread_belongs_to_its_new_worker(backend: Backend) -> None:
    store = await backend.open()
    await store.link_thread("T1", "C1", "1.1", "w1", "U1")
    await store.link_thread("T1", "C1", "1.1", "w2", "U2")
    thread = await store.find_thread("T1", "C1", "1.1")
    assert thread is not None and (thread.worker_id, thread.user_id) == ("w2", "U2")


async def test_runs_get_a_unique_ref_and_start_unsent(backend: Backend) -> None:
    store = await backend.open()
    runs = [await store.get_run((await add_run(store)).id) for _ in range(3)]
    assert len({run.ref for run in runs}) == 3 and all(run.ref for run in runs)
    assert all(run.request_sent_at is None for run in runs)
    sent = await store.update_run(runs[0].id, request_sent_at=5.0)
    assert sent.request_sent_at == 5.0 and sent.ref == runs[0].ref


async def test_unknown_runs_and_fields_are_refused(backend: Backend) -> None:
    store = await backend.open()
    run_id = (await add_run(store)).id
    with pytest.raises(ValueError, match="unknown run fields"):
        await store.update_run(run_id, colour="red")
    with pytest.raises(KeyError):
        await store.get_run(run_id + 100)
    with pytest.raises(KeyError):
        await store.update_run(run_id + 100, status="failed")
    assert (await store.update_run(run_id)).id == run_id  # no change is no error


async def test_finished_runs_that_still_owe_something_are_found(backend: Backend) -> None:
    store = await backend.open()
    owed_files = (await add_run(store, worker_id="w1")).id
    await store.update_run(owed_files, status="completed", files_done=0)
    no_worker = (await add_run(store)).id
    await store.update_run(no_worker, status="failed", files_done=0)
    owed_final = (await add_run(store, worker_id="w2")).id
    await store.update_run(owed_final, status="failed", final_pending="failure", files_done=1)
    usage = (await add_run(store, worker_id="w3")).id
    await store.update_run(usage, status="completed", usage_json='{"a": 1}', costs_json="[]")
    assert [r.id for r in await store.runs_awaiting_files()] == [owed_files]
    assert [r.id for r in await store.runs_with_final_pending()] == [owed_final]
    stored = await store.get_run(usage)
    assert (stored.usage_json, stored.costs_json, stored.budget) == ('{"a": 1}', "[]", "standard")


async def test_uploads_are_recorded_once_per_path_and_content(backend: Backend) -> None:
    store = await backend.open()
    upload = {
        "team_id": "T1",
        "channel_id": "C1",
        "thread_ts": "1.1",
        "size": 3,
        "worker_id": "w1",
        "run_id": 1,
        "slack_file_id": "F1",
    }
    await store.record_upload(path="a.txt", sha256="aa", **upload)  # type: ignore[arg-type]
    await store.record_upload(path="a.txt", sha256="aa", **upload)  # type: ignore[arg-type]
    await store.record_upload(path="a.txt", sha256="bb", **upload)  # type: ignore[arg-type]
    await store.record_upload(path="b.txt", sha256="cc", **upload)  # type: ignore[arg-type]
    assert await store.uploaded_paths("T1", "C1", "1.1") == {"a.txt": {"aa", "bb"}, "b.txt": {"cc"}}
    assert await store.uploaded_paths("T1", "C1", "2.2") == {}


async def test_a_queued_follow_up_is_started_once_by_racing_callers(backend: Backend) -> None:
    """Two turns of a thread end at once (or two processes pump it): one starts the next."""
    first, second = await backend.open(), await backend.open()
    for n in range(5):
        thread = f"{n}.1"
        ids = [(await add_run(first, thread_ts=thread, status="queued")).id for _ in range(2)]
        started = await asyncio.gather(
            *[store.start_next_queued("T1", "C1", thread) for store in (first, second, first)]
        )
        assert [run.id for run in started if run is not None] == ids[:1]
