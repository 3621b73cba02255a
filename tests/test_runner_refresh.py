"""The card's Refresh in the core: a finished run shows its own turn (answer and sources, not a
later turn's); a run in flight is left to whoever relays it, or taken up if nothing does, so a
message is never left saying "working".

Against the Handinger emulator, through a surface that records what the core asks it to show;
`test_bot_e2e_cards.py` runs the same through the Slack adapter and the Slack emulator.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.core.ports import Mark, Notice
from bot.core.runner import Runner, RunnerPolicy
from bot.core.views import LiveView, RunView
from bot.handinger import HandingerClient
from bot.store import Run, Store

FAST = RunnerPolicy(tick=0.2, poll_initial=0.05, poll_max=0.2)


class Surface:
    """Records the progress and final views of each run."""

    def __init__(self) -> None:
        self.progress_views: dict[int, list[RunView]] = {}
        self.finals: dict[int, list[RunView]] = {}

    async def open(self, run: Run, view: RunView) -> str:
        return f"{run.id}.0001"

    async def find(self, run: Run) -> str | None:
        return None

    def progress(self, run: Run, live: LiveView) -> None:
        self.progress_views.setdefault(run.id, []).append(live.build())

    async def finish(self, run: Run, view: RunView) -> None:
        self.finals.setdefault(run.id, []).append(view)

    async def mark(self, run: Run, mark: Mark) -> None:
        pass

    async def tell(self, run: Run, notice: Notice) -> None:
        pass


HANDINGER_ARGS = ["--turn-seconds", "0.3", "--chunks", "4"]


@pytest.fixture
async def runner(tmp_path: Path, handinger: HandingerClient) -> AsyncIterator[Runner]:
    runner = Runner(Store(tmp_path / "s.db"), handinger, Surface(), policy=FAST)
    yield runner
    await runner.aclose()


def surface_of(runner: Runner) -> Surface:
    assert isinstance(runner.surface, Surface)
    return runner.surface


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(400):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def start(runner: Runner, instruction: str) -> Run:
    return await runner.start_new(
        team_id="T1", channel_id="C1", user_id="U1", instruction=instruction
    )


async def test_a_finished_run_shows_its_own_turn_while_a_later_one_runs(
    runner: Runner, handinger: HandingerClient
) -> None:
    run = await start(runner, "what is new")
    await asyncio.wait_for(runner.wait_idle(), 20)
    [shown] = surface_of(runner).finals[run.id]
    worker_id = (await runner.store.get_run(run.id)).worker_id or ""
    await handinger.continue_worker(worker_id, "something else [[duration=5]]")
    progress_before = len(surface_of(runner).progress_views[run.id])
    finished_at = (await runner.store.get_run(run.id)).finished_at

    refreshed_as = await runner.refresh(await runner.store.get_run(run.id))
    assert (await handinger.get_worker(worker_id)).is_running  # the later turn still runs
    assert len(surface_of(runner).progress_views[run.id]) == progress_before  # never "working"
    [_, refreshed] = surface_of(runner).finals[run.id]
    assert refreshed.state == "completed" and refreshed.text == shown.text
    assert shown.usage is not None and shown.costs is not None
    assert (refreshed.usage, refreshed.costs) == (shown.usage, shown.costs)  # its own cost
    urls = [source.url for source in refreshed.sources]
    assert urls and all("/what-is-new/" in url for url in urls)
    assert (await runner.store.get_run(run.id)).finished_at == finished_at  # its duration stays
    assert refreshed_as == "shown"


async def test_refresh_leaves_a_turn_in_flight_to_its_relay(runner: Runner) -> None:
    run = await start(runner, "take your time [[duration=2]]")

    async def running() -> bool:
        return (await runner.store.get_run(run.id)).status == "running"

    await eventually(running, "the turn")
    refreshed_as = await runner.refresh(await runner.store.get_run(run.id))
    assert run.id not in surface_of(runner).finals  # nothing drawn over the live message
    assert refreshed_as == "running"
    await asyncio.wait_for(runner.wait_idle(), 20)
    [final] = surface_of(runner).finals[run.id]
    assert final.state == "completed"


async def test_refresh_takes_up_a_run_in_flight_that_nothing_relays(
    runner: Runner, handinger: HandingerClient
) -> None:
    """A run recorded in flight that no task sees through (its relay is gone): Refresh sees it
    through to its final message instead of drawing a "working" state no one would end."""
    worker = await handinger.create_worker("long job [[duration=1.5]]")
    run = await runner.store.add_run(
        team_id="T1",
        channel_id="C1",
        kind="new",
        input="long job [[duration=1.5]]",
        budget="standard",
        user_id="U1",
        status="starting",
        worker_id=worker.id,
    )
    run = await runner.store.update_run(
        run.id, status="running", message_ts="1.0001", thread_ts="1.0001", messages_before=0
    )
    refreshed_as = await runner.refresh(run)
    await asyncio.wait_for(runner.wait_idle(), 20)
    [final] = surface_of(runner).finals.get(run.id, [None])
    assert final is not None, "left showing its state at the click, which no one ends"
    done = await handinger.get_worker(worker.id)
    assert final.state == "completed" and final.text == done.text
    assert (await runner.store.get_run(run.id)).status == "completed"
    assert refreshed_as == "running"


async def test_a_follow_up_that_failed_before_its_instruction_was_sent_stays_as_it_is(
    runner: Runner, handinger: HandingerClient
) -> None:
    """It has no turn of its own in the worker's history: redrawing it would show another
    turn's answer on it."""
    worker = await handinger.create_worker("first")
    for _ in range(400):
        if not (await handinger.get_worker(worker.id)).is_running:
            break
        await asyncio.sleep(0.05)
    run = await runner.store.add_run(
        team_id="T1",
        channel_id="C1",
        thread_ts="1.0001",
        kind="continue",
        input="second",
        budget="standard",
        user_id="U1",
        status="starting",
        worker_id=worker.id,
    )
    run = await runner.store.update_run(
        run.id, status="failed", error="Handinger did not answer", message_ts="1.0002"
    )
    assert await runner.refresh(run) == "unchanged"
    assert run.id not in surface_of(runner).finals
