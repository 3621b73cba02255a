"""A finished run whose final message could not be shown (Slack kept failing, or Handinger kept
failing the final GET) is recorded as it ended and shown later, also after a restart.

The surface stands in for Slack only to refuse on cue (as `SlackSurface` does after its retries)
and to observe; the end-to-end tests run the Slack side against the Slack emulator.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from bot.core.ports import Mark, Notice, NotShown
from bot.core.runner import Runner, RunnerPolicy
from bot.core.views import LiveView, RunView
from bot.handinger import HandingerClient
from bot.slack.wording import failure_text
from bot.store import Run, Store
from emulators.credentials import HANDINGER_KEY
from emulators.harness import Child

HEAL_SOON = RunnerPolicy(tick=0.2, poll_initial=0.05, poll_max=0.2, heal_initial=0.05)
HEAL_NEVER = RunnerPolicy(tick=0.2, poll_initial=0.05, poll_max=0.2, heal_initial=3600)


class FlakySurface:
    """Raises `NotShown` for the first `refusals` finishes; records the views it showed."""

    def __init__(self, refusals: int = 0) -> None:
        self.refusals = refusals
        self.shown: list[RunView] = []
        self.refused: list[RunView] = []

    async def open(self, run: Run, view: RunView) -> str:
        return f"{run.id}.0001"

    async def find(self, run: Run) -> str | None:
        return None

    def progress(self, run: Run, live: LiveView) -> None:
        pass

    async def finish(self, run: Run, view: RunView) -> None:
        if self.refusals > 0:
            self.refusals -= 1
            self.refused.append(view)
            raise NotShown("Slack kept answering 503")
        self.shown.append(view)

    async def mark(self, run: Run, mark: Mark) -> None:
        pass

    async def tell(self, run: Run, notice: Notice) -> None:
        pass


HANDINGER_ARGS = ["--turn-seconds", "0.3", "--chunks", "4"]


@pytest.fixture
async def handinger(
    handinger_emulator: Child, handinger_control: httpx.Client
) -> AsyncIterator[HandingerClient]:
    """No patience: a final read that fails is not retried, so a test sees it at once."""
    async with HandingerClient(HANDINGER_KEY, handinger_emulator.url, patience=0) as client:
        yield client


async def eventually(check: Callable[[], bool], what: str) -> None:
    for _ in range(400):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def start(runner: Runner) -> Run:
    return await runner.start_new(team_id="T1", channel_id="C1", user_id="U1", instruction="Hello")


async def test_a_final_message_slack_refused_is_shown_later_and_the_run_never_fails(
    tmp_path: Path, handinger: HandingerClient
) -> None:
    surface = FlakySurface(refusals=2)
    runner = Runner(Store(tmp_path / "s.db"), handinger, surface, policy=HEAL_SOON)
    run = await start(runner)
    await asyncio.wait_for(runner.wait_idle(), 20)
    assert (
        await runner.store.get_run(run.id)
    ).status == "completed"  # Slack's failure is not the run's
    await eventually(lambda: bool(surface.shown), "the final message")
    [final] = surface.shown
    stored = await runner.store.get_run(run.id)
    worker = await handinger.get_worker(stored.worker_id or "")
    assert final.state == "completed" and final.text == worker.text
    assert stored.status == "completed" and stored.final_pending is None
    assert [v.state for v in surface.refused] == ["completed", "completed"]
    await runner.aclose()


async def test_a_restart_shows_the_final_message_that_was_never_shown(
    tmp_path: Path, handinger: HandingerClient
) -> None:
    store = Store(tmp_path / "s.db")
    before = Runner(store, handinger, FlakySurface(refusals=1000), policy=HEAL_NEVER)
    run = await start(before)
    await asyncio.wait_for(before.wait_idle(), 20)
    assert (await store.get_run(run.id)).final_pending == "answer"
    await before.aclose()  # the app stops with the message still saying "working"

    surface = FlakySurface()
    after = Runner(store, handinger, surface, policy=HEAL_NEVER)
    await after.recover()
    await eventually(lambda: bool(surface.shown), "the final message after the restart")
    [final] = surface.shown
    worker = await handinger.get_worker((await store.get_run(run.id)).worker_id or "")
    assert final.state == "completed" and final.text == worker.text
    assert (await store.get_run(run.id)).final_pending is None
    await after.aclose()


async def test_a_final_read_that_kept_failing_is_healed_from_handinger(
    tmp_path: Path, handinger: HandingerClient, handinger_control: httpx.Client
) -> None:
    fault = {"status": 500, "count": 1, "method": "GET", "path": "^/api/workers/[^/]+$"}
    handinger_control.post("/_emulator/faults", json=fault).raise_for_status()
    surface = FlakySurface()
    runner = Runner(Store(tmp_path / "s.db"), handinger, surface, policy=HEAL_SOON)
    run = await start(runner)
    await asyncio.wait_for(runner.wait_idle(), 20)
    await eventually(lambda: len(surface.shown) == 2, "the healed message")
    failed, healed = surface.shown
    assert failed.state == "failed" and failed.error is not None
    shown = failure_text(failed.error)
    assert "will show the result" in shown and "(500)" in shown
    stored = await runner.store.get_run(run.id)
    worker = await handinger.get_worker(stored.worker_id or "")
    assert healed.state == "completed" and healed.text == worker.text
    assert stored.status == "completed" and stored.error is None and stored.final_pending is None
    await runner.aclose()


async def test_refresh_turns_a_failed_final_read_into_the_answer(
    tmp_path: Path, handinger: HandingerClient, handinger_control: httpx.Client
) -> None:
    fault = {"status": 503, "count": 1, "method": "GET", "path": "^/api/workers/[^/]+$"}
    handinger_control.post("/_emulator/faults", json=fault).raise_for_status()
    surface = FlakySurface()
    runner = Runner(Store(tmp_path / "s.db"), handinger, surface, policy=HEAL_NEVER)
    run = await start(runner)
    await asyncio.wait_for(runner.wait_idle(), 20)
    assert (await runner.store.get_run(run.id)).status == "failed"
    await runner.refresh(await runner.store.get_run(run.id))
    stored = await runner.store.get_run(run.id)
    assert [v.state for v in surface.shown] == ["failed", "completed"]
    assert stored.status == "completed" and stored.final_pending is None
    await runner.aclose()
