"""A workspace that uninstalls the app: its runs, schedules and threads stop, quietly, and no
other workspace notices. The core against the Handinger emulator; the Slack listeners and the
edit scheduler in process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Hashable
from pathlib import Path
from typing import Any, cast

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.oauth.installation_store import Installation

from bot.config import Settings
from bot.core.ports import Mark, Notice
from bot.core.runner import Runner
from bot.core.schedules import create_schedule
from bot.core.service import Service
from bot.core.views import LiveView, RunView
from bot.core.workspaces import UNINSTALLED, WorkspaceCleanup
from bot.handinger import HandingerClient
from bot.handinger.models import IntervalWhen
from bot.slack.app import register
from bot.slack.edit_lane import EditPolicy
from bot.slack.edit_scheduler import EditScheduler, EditsDropped
from bot.slack.installations import InstallationStore
from bot.slack.listeners import deps
from bot.store import Run, Store
from tests.runner_helpers import FAST


class Surface:
    """Records which workspace every call of the core was for."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []
        self.forgotten: list[str] = []

    def _note(self, what: str, run: Run) -> None:
        self.calls.append((what, run.team_id, run.id))

    async def open(self, run: Run, view: RunView) -> str:
        self._note("open", run)
        return f"{run.id}.0001"

    async def find(self, run: Run) -> str | None:
        self._note("find", run)
        return None

    def progress(self, run: Run, live: LiveView) -> None:
        self._note("progress", run)

    async def finish(self, run: Run, view: RunView) -> None:
        self._note("finish", run)

    async def mark(self, run: Run, mark: Mark) -> None:
        self._note(f"mark:{mark}", run)

    async def tell(self, run: Run, notice: Notice) -> None:
        self._note("tell", run)

    def forget_workspace(self, team_id: str) -> None:
        self.forgotten.append(team_id)

    def count(self, team: str) -> int:
        return sum(1 for _, t, _ in self.calls if t == team)


class Watcher:
    def __init__(self) -> None:
        self.forgotten: set[str] = set()

    def forget_workers(self, worker_ids: set[str]) -> None:
        self.forgotten |= worker_ids


HANDINGER_ARGS = ["--turn-seconds", "1.5", "--chunks", "15"]


async def eventually(check: Callable[[], Awaitable[Any]], within: float = 15.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while not (result := await check()):
        assert asyncio.get_running_loop().time() < deadline, f"timed out: {check}"
        await asyncio.sleep(0.05)
    return result


async def scheduled(
    runner: Runner, handinger: HandingerClient, team: str, channel: str
) -> tuple[str, str]:
    """A finished worker in `team` with an hourly schedule; returns (worker id, schedule id)."""
    run = await runner.start_new(team_id=team, channel_id=channel, user_id="U1", instruction="news")

    async def done() -> bool:
        return (await runner.store.get_run(run.id)).done

    await eventually(done)
    worker_id = (await runner.store.get_run(run.id)).worker_id
    assert worker_id is not None
    schedule = await create_schedule(
        runner.store,
        handinger,
        worker_id=worker_id,
        team_id=team,
        channel_id=channel,
        creator_id="U1",
        input="news again",
        when=IntervalWhen(type="interval", interval_seconds=3600),
        budget=None,
        description="every hour",
    )
    return worker_id, schedule.id


async def test_uninstall_stops_one_workspace_quietly_and_leaves_the_other_alone(
    tmp_path: Path, handinger: HandingerClient
) -> None:
    surface = Surface()
    runner = Runner(Store(tmp_path / "state.db"), handinger, surface, policy=FAST)
    store = runner.store
    worker_one, schedule_one = await scheduled(runner, handinger, "T1", "C1")
    worker_two, schedule_two = await scheduled(runner, handinger, "T2", "C2")

    # In flight in T1: a new worker, and a reply queued behind it; and a run in T2.
    busy = await runner.start_new(
        team_id="T1", channel_id="C1", user_id="U1", instruction="long one"
    )

    async def started() -> str | None:
        return (await store.get_run(busy.id)).worker_id

    await eventually(started)
    thread_ts = (await store.get_run(busy.id)).thread_ts
    assert thread_ts is not None
    queued = await runner.follow_up(
        team_id="T1",
        channel_id="C1",
        thread_ts=thread_ts,
        user_id="U2",
        text="and then?",
        trigger_ts="99.0001",
    )
    assert queued is not None and (await store.get_run(queued.id)).status == "queued"
    other = await runner.start_new(team_id="T2", channel_id="C2", user_id="U9", instruction="hi")

    watcher = Watcher()
    changed: list[bool] = []
    cleanup = WorkspaceCleanup(
        runner,
        handinger,
        watcher=watcher,
        forgets=[surface],
        schedules_changed=lambda: changed.append(True),
    )
    farewell = await cleanup.uninstalled("T1")
    said_in_t1 = surface.count("T1")

    assert sorted(r.id for r in farewell.forgotten.failed_runs) == [busy.id, queued.id]
    for run_id in (busy.id, queued.id):
        stopped = await store.get_run(run_id)
        assert (stopped.status, stopped.error, stopped.thread_ts) == ("failed", UNINSTALLED, None)
    assert farewell.cancelled == [schedule_one] and not farewell.failed
    assert (await store.get_schedule(schedule_one)).status == "gone"  # type: ignore[union-attr]
    assert await handinger.list_schedules(worker_one) == []
    assert (await store.get_schedule(schedule_two)).status == "active"  # type: ignore[union-attr]
    assert [s.id for s in await handinger.list_schedules(worker_two)] == [schedule_two]
    assert surface.forgotten == ["T1"] and watcher.forgotten == {worker_one} and changed
    assert not await runner.is_worker_thread("T1", "C1", thread_ts)
    assert await store.db.fetch("SELECT * FROM threads WHERE team_id = 'T1'") == []
    assert await store.db.fetch("SELECT * FROM threads WHERE team_id = 'T2'")

    await asyncio.wait_for(runner.wait_idle(), 20)
    assert surface.count("T1") == said_in_t1, "nothing more was shown in the gone workspace"
    assert (await store.get_run(other.id)).status == "completed"
    assert await store.active_runs() == [] and await store.threads_with_queued_runs() == []
    assert await runner.recover() == 0

    again = await cleanup.uninstalled("T1")  # tokens_revoked and app_uninstalled both come
    assert again.forgotten.failed_runs == [] and again.cancelled == []
    await runner.aclose()
    await store.close()
    await handinger.cancel_schedule(worker_two, schedule_two)
    # Handinger has no way to stop a turn: the cancelled one ends there on its own.
    busy_worker = farewell.forgotten.failed_runs[0].worker_id
    assert busy_worker is not None
    for _ in range(100):
        if not (await handinger.get_worker(busy_worker)).is_running:
            break
        await asyncio.sleep(0.1)


async def test_dropping_a_workspace_fails_its_waiting_edits_and_spares_the_others() -> None:
    release = asyncio.Event()
    sent: list[tuple[Hashable, str]] = []

    async def sender(key: Hashable, payload: str, final: bool) -> None:
        if str(key).startswith("slow"):
            await release.wait()
        sent.append((key, payload))

    edits: EditScheduler[str, str] = EditScheduler(
        sender, EditPolicy(interval=0.01, max_in_flight=1)
    )
    in_flight = asyncio.create_task(edits.finish("T1", "slow-1", "final"))
    pending = asyncio.create_task(edits.finish("T1", "slow-2", "final"))
    await asyncio.sleep(0.05)
    assert edits.drop("T1") == 2
    for waiting in (in_flight, pending):
        with pytest.raises(EditsDropped):
            await waiting
    await asyncio.wait_for(edits.finish("T2", "fine", "final"), 5)
    release.set()
    await asyncio.sleep(0.05)
    assert sent == [("fine", "final")]
    assert edits.drop("T9") == 0
    edits.update("T1", "again", "progress")  # a reinstalled workspace gets a fresh lane
    await asyncio.wait_for(edits.finish("T1", "again", "final"), 5)
    assert sent[-1] == ("again", "final")
    await edits.aclose()


# ---- the Slack listeners ------------------------------------------------------------------


def event(kind: dict[str, Any], team: str = "T1") -> AsyncBoltRequest:
    body = {
        "token": "x",
        "team_id": team,
        "api_app_id": "A0001",
        "event": kind,
        "type": "event_callback",
        "event_id": f"Ev{kind['type']}",
        "event_time": 1,
    }
    return AsyncBoltRequest(body=json.dumps(body), headers={"content-type": ["application/json"]})


async def test_revocation_events_delete_the_installation_and_clean_up(tmp_path: Path) -> None:
    store = InstallationStore(tmp_path / "installs.db", client_id="cid")
    for team in ("T1", "T2"):
        await store.async_save(
            Installation(
                app_id="A0001",
                team_id=team,
                bot_token=f"xoxb-{team}",
                bot_id="B1",
                bot_user_id="UB",
                bot_scopes="chat:write",
                user_id="U1",
            )
        )
    gone: list[str] = []

    async def on_gone(team_id: str) -> None:
        gone.append(team_id)

    app = AsyncApp(
        token="xoxb-unused", request_verification_enabled=False, process_before_response=True
    )
    # The lifecycle listeners use only the installation store and `gone`.
    unused = deps.Deps(cast(Service, None), cast(Settings, None), store, on_gone)
    deps.install(app, unused)
    register(app)

    users_only = {"type": "tokens_revoked", "tokens": {"oauth": ["U1"], "bot": []}}
    assert (await app.async_dispatch(event(users_only))).status == 200
    assert gone == [] and await store.async_find_bot(enterprise_id=None, team_id="T1")

    bots = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UB"]}}
    assert (await app.async_dispatch(event(bots))).status == 200
    assert gone == ["T1"]
    assert await store.async_find_bot(enterprise_id=None, team_id="T1") is None
    assert await store.async_find_bot(enterprise_id=None, team_id="T2") is not None

    assert (await app.async_dispatch(event({"type": "app_uninstalled"}, "T2"))).status == 200
    assert gone == ["T1", "T2"]
    assert await store.async_find_bot(enterprise_id=None, team_id="T2") is None
