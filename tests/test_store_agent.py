"""The store's agent-surface tables: assistant threads, one vote per person and run, and the
App Home's lists across channels; on both engines (`backend`)."""

from __future__ import annotations

from bot.store import Store
from tests.stores import Backend, add_run


async def run_of(store: Store, channel: str, user: str, worker: str) -> int:
    run = await add_run(
        store, channel_id=channel, input="go", user_id=user, status="completed", worker_id=worker
    )
    return run.id


async def test_a_second_vote_replaces_the_first(backend: Backend) -> None:
    store = await backend.open()
    run = await run_of(store, "C1", "U1", "w1")
    await store.record_feedback(run, "U1", "up")
    await store.record_feedback(run, "U1", "down")
    await store.record_feedback(run, "U2", "down")
    assert await store.worker_feedback(["w1", "w2"]) == {"w1": (0, 2)}
    mine = await store.feedback_of(run, "U1")
    assert mine is not None and mine.vote == "down"


async def test_assistant_threads_keep_the_channel_looked_at(backend: Backend) -> None:
    store = await backend.open()
    await store.add_assistant_thread("T1", "D1", "1.0", "U1", "C1")
    assert await store.set_assistant_context("T1", "D1", "1.0", "C2")
    assert not await store.set_assistant_context("T1", "D1", "2.0", "C2")
    thread = await store.find_assistant_thread("T1", "D1", "1.0")
    assert thread is not None and thread.context_channel_id == "C2"
    await store.forget_workspace("T1", "uninstalled")
    assert await store.find_assistant_thread("T1", "D1", "1.0") is None


async def test_a_users_workers_across_channels_newest_first(backend: Backend) -> None:
    store = await backend.open()
    first = await run_of(store, "C1", "U1", "w1")
    await run_of(store, "C2", "U2", "w2")
    second = await run_of(store, "D1", "U1", "w3")
    assert [r.id for r in await store.user_workers("T1", "U1")] == [second, first]
    assert await store.user_schedules("T1", "U1") == []


async def test_a_thread_s_reply_mode_is_set_and_replaced(backend: Backend) -> None:
    store = await backend.open()
    assert await store.reply_mode("T1", "C1", "1.0") is None
    await store.set_reply_mode("T1", "C1", "1.0", "mention", "U1")
    await store.set_reply_mode("T1", "C1", "1.0", "auto", "U2")
    assert await store.reply_mode("T1", "C1", "1.0") == "auto"
    await store.forget_workspace("T1", "uninstalled")
    assert await store.reply_mode("T1", "C1", "1.0") is None
