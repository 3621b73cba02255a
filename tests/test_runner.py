"""The core runner against the Handinger emulator, shown through a recording surface.

The surface here stands in for Slack only to observe what the core asks it to show; the
end-to-end tests run the same logic through the real Slack adapter and the Slack emulator.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from bot.handinger import HandingerClient
from bot.slack.wording import failure_text
from bot.store import Store
from tests.runner_helpers import RecordingSurface, make_runner

HANDINGER_ARGS = ["--turn-seconds", "0.5", "--chunks", "10"]


async def test_new_run_streams_then_shows_the_fetched_answer(
    tmp_path: Path, handinger: HandingerClient
) -> None:
    surface = RecordingSurface()
    runner = make_runner(tmp_path, handinger, surface)
    run = await runner.start_new(
        team_id="T1", channel_id="C1", user_id="U1", instruction="Hello there"
    )
    await asyncio.wait_for(runner.wait_idle(), 20)
    [final] = surface.finals[run.id]
    stored = await runner.store.get_run(run.id)
    assert stored.status == "completed" and stored.worker_id
    worker = await handinger.get_worker(stored.worker_id)
    assert final.state == "completed" and final.text == worker.text
    assert len({v.text for v in surface.progress_views[run.id]}) >= 3  # it streamed
    assert final.sources and final.usage is not None
    thread = await runner.store.find_thread("T1", "C1", stored.thread_ts or "")
    assert thread is not None and thread.worker_id == stored.worker_id


async def test_follow_ups_queue_in_order_on_the_same_worker(
    tmp_path: Path, handinger: HandingerClient
) -> None:
    surface = RecordingSurface()
    runner = make_runner(tmp_path, handinger, surface)
    first = await runner.start_new(
        team_id="T1",
        channel_id="C1",
        user_id="U1",
        instruction="start [[duration=1.0]]",
        trigger_ts="100.1",
    )
    await asyncio.sleep(0.3)
    a = await runner.follow_up(
        team_id="T1",
        channel_id="C1",
        thread_ts="100.1",
        user_id="U2",
        text="second",
        trigger_ts="100.2",
    )
    b = await runner.follow_up(
        team_id="T1",
        channel_id="C1",
        thread_ts="100.1",
        user_id="U2",
        text="third",
        trigger_ts="100.3",
    )
    assert a is not None and b is not None
    assert (
        await runner.follow_up(
            team_id="T1",
            channel_id="C1",
            thread_ts="999.9",
            user_id="U2",
            text="not ours",
            trigger_ts="999.9",
        )
        is None
    )
    await asyncio.wait_for(runner.wait_idle(), 30)
    runs = [await runner.store.get_run(r.id) for r in (first, a, b)]
    assert [r.status for r in runs] == ["completed"] * 3
    assert len({r.worker_id for r in runs}) == 1
    assert runs[1].finished_at is not None and runs[2].started_at is not None
    assert runs[1].finished_at <= runs[2].started_at
    assert ("100.2", "queued") in surface.marks and ("100.3", "queued") in surface.marks
    assert surface.marks.index(("100.2", "completed")) < surface.marks.index(("100.3", "started"))
    inputs = httpx.get(str(handinger.base_url) + "_emulator/workers").json()[0]["inputs"]
    assert inputs == ["start [[duration=1.0]]", "second", "third"]


async def test_a_failed_turn_is_shown_as_failed(tmp_path: Path, handinger: HandingerClient) -> None:
    surface = RecordingSurface()
    runner = make_runner(tmp_path, handinger, surface)
    run = await runner.start_new(
        team_id="T1", channel_id="C1", user_id="U1", instruction="[[fail]]"
    )
    await asyncio.wait_for(runner.wait_idle(), 20)
    [final] = surface.finals[run.id]
    assert final.state == "failed" and final.error
    assert (await runner.store.get_run(run.id)).status == "failed"


async def test_continuing_a_deleted_worker_says_so(
    tmp_path: Path, handinger: HandingerClient
) -> None:
    surface = RecordingSurface()
    runner = make_runner(tmp_path, handinger, surface)
    await runner.store.link_thread("T1", "C1", "5.5", "t_org_emu_w_GONE", "U1")
    run = await runner.follow_up(
        team_id="T1", channel_id="C1", thread_ts="5.5", user_id="U1", text="more", trigger_ts="5.6"
    )
    assert run is not None
    await asyncio.wait_for(runner.wait_idle(), 20)
    [final] = surface.finals[run.id]
    assert final.state == "failed" and final.error
    assert "no longer exists" in failure_text(final.error)
    assert ("5.6", "failed") in surface.marks


async def test_recovery_finishes_a_run_that_was_in_flight(
    tmp_path: Path, handinger: HandingerClient
) -> None:
    worker = await handinger.create_worker("survive a restart [[duration=1.0]]")
    store = Store(tmp_path / "state.db")
    run = await store.add_run(
        team_id="T1",
        channel_id="C1",
        kind="new",
        input="survive",
        budget="standard",
        user_id="U1",
        status="running",
        worker_id=worker.id,
        thread_ts="7.7",
    )
    await store.update_run(run.id, message_ts="7.7")
    never_sent = await store.add_run(
        team_id="T1",
        channel_id="C1",
        kind="new",
        input="never sent",
        budget="standard",
        user_id="U1",
        status="starting",
    )
    await store.update_run(never_sent.id, message_ts="8.8", thread_ts="8.8")
    await store.close()
    surface = RecordingSurface()
    runner = make_runner(tmp_path, handinger, surface)
    assert await runner.recover() == 2
    await asyncio.wait_for(runner.wait_idle(), 20)
    assert surface.opened == []  # both messages already existed
    [final] = surface.finals[run.id]
    assert final.state == "completed"
    assert final.text == (await handinger.get_worker(worker.id)).text
    # The app stopped before sending the create: nothing exists on Handinger, so it is sent now.
    [started] = surface.finals[never_sent.id]
    created = await runner.store.get_run(never_sent.id)
    assert started.state == "completed" and created.worker_id not in (None, worker.id)
    assert started.text == (await handinger.get_worker(created.worker_id or "")).text
