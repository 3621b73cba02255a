"""A process's leases under load (both engines): found by the replicas benchmark, where a busy
database pool makes every statement slow, so that heartbeats and new runs overlap.

- A lease taken while a heartbeat's renewal is on its way back is not "lost": the renewal
  answered for the leases held when it was sent.
- A run whose lease was lost before its turn began (cancelled while its turn was being set up)
  is taken over again, by this process too: with one process nobody else would."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.core.ownership import Ownership
from bot.core.runner import Runner
from bot.handinger import HandingerClient
from tests.runner_helpers import FAST, RecordingSurface
from tests.stores import Backend


async def test_a_lease_taken_while_a_heartbeat_is_in_flight_is_not_lost(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await backend.open()
    ownership = Ownership(store, "A", 30)
    assert await ownership.take("run:1")
    answered, go_on = asyncio.Event(), asyncio.Event()
    renew = store.renew_leases

    async def slow_renew(owner: str, seconds: float) -> set[str]:
        renewed = await renew(owner, seconds)  # the database answered for run:1 alone…
        answered.set()
        await go_on.wait()  # …and the answer is still on its way back when…
        return renewed

    monkeypatch.setattr(store, "renew_leases", slow_renew)
    beat = asyncio.create_task(ownership.beat())
    await answered.wait()
    assert await ownership.take("run:2")  # …the process starts another run
    go_on.set()

    assert await beat == set()
    assert ownership.held == {"run:1", "run:2"}
    assert await store.lease_owner("run:2") == "A"


async def test_a_run_whose_lease_was_lost_before_its_turn_began_is_taken_over_again(
    backend: Backend, handinger: HandingerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await backend.open()
    surface = RecordingSurface()
    runner = Runner(store, handinger, surface, policy=FAST, ownership=Ownership(store, "A", 30))
    setting_up, go_on = asyncio.Event(), asyncio.Event()
    pending = store.pending_schedule

    async def slow_set_up(run_id: int) -> Any:
        if not go_on.is_set():  # the first turn's set-up waits for a pooled connection
            setting_up.set()
            await go_on.wait()
        return await pending(run_id)

    monkeypatch.setattr(store, "pending_schedule", slow_set_up)
    run = await runner.start_new(
        team_id="T1", channel_id="C1", user_id="U1", instruction="hello [[duration=0.2]]"
    )
    await asyncio.wait_for(setting_up.wait(), 5)
    await store.release_leases("A")  # the lease is gone, as if it had expired and been taken
    await runner.keep_watch()  # the heartbeat finds it lost and stops the turn being set up
    go_on.set()
    await asyncio.wait_for(runner.wait_idle(), 20)  # the stopped turn lets go of the run

    await runner.keep_watch()  # nobody holds it: this process takes it over (if not yet)
    await asyncio.wait_for(runner.wait_idle(), 20)
    [final] = surface.finals[run.id]  # once
    assert final.state == "completed"
    assert (await store.get_run(run.id)).status == "completed"
    await runner.aclose()
