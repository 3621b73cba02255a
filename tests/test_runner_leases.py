"""Two processes on one database (both engines), as in a rolling deploy: a run another process
holds is left alone; it is taken over at once when that process stops cleanly, and once its
lease expires when it was killed. Either way: one worker, one final message."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from typing import NamedTuple

import httpx

from bot.core.ownership import Ownership
from bot.core.runner import Runner
from bot.handinger import HandingerClient
from bot.store import Run, Store
from tests.runner_helpers import FAST, RecordingSurface
from tests.stores import Backend, Clock

HANDINGER_ARGS = ["--turn-seconds", "0.5", "--chunks", "10"]


def leased(store: Store, client: HandingerClient, surface: RecordingSurface, owner: str) -> Runner:
    """A runner as one process of several: its leases under `owner`."""
    return Runner(
        store, client, surface, policy=FAST, ownership=Ownership(store, owner, FAST.lease)
    )


def creates(client: HandingerClient) -> int:
    log = httpx.get(str(client.base_url) + "_emulator/requests").json()
    return sum(1 for r in log if r["method"] == "POST" and r["path"] == "/api/workers")


async def started(store: Store, run_id: int) -> None:
    for _ in range(400):
        if (await store.get_run(run_id)).worker_id:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the worker was not created")


class HeldRun(NamedTuple):
    """Processes A and B on one database, A working on `run`; each tells its own surface."""

    a: Runner
    b: Runner
    old: RecordingSurface
    new: RecordingSurface
    run: Run


async def a_holds_a_run(
    backend: Backend, handinger: HandingerClient, seconds: int, clock: Clock | None = None
) -> HeldRun:
    old, new = RecordingSurface(), RecordingSurface()
    a = leased(await backend.open(clock), handinger, old, "A")
    b = leased(await backend.open(clock), handinger, new, "B")
    run = await a.start_new(
        team_id="T1", channel_id="C1", user_id="U1", instruction=f"slow [[duration={seconds}]]"
    )
    await started(a.store, run.id)
    return HeldRun(a, b, old, new, run)


async def test_a_held_run_is_taken_over_when_its_process_stops(
    backend: Backend, handinger: HandingerClient
) -> None:
    a, b, old, new, run = await a_holds_a_run(backend, handinger, 3)

    assert await b.recover() == 1  # B starts while A still works on it
    await b.keep_watch()
    await asyncio.wait_for(b.wait_idle(), 5)
    assert new.opened == [] and new.finals == {}  # B left it alone

    await a.aclose()  # SIGTERM: A stops mid-turn and lets go
    await b.keep_watch()
    await asyncio.wait_for(b.wait_idle(), 20)
    [final] = new.finals[run.id]
    assert final.state == "completed" and run.id not in old.finals
    assert creates(handinger) == 1  # B re-read the worker; no second one
    assert (await b.store.get_run(run.id)).status == "completed"
    await b.aclose()


async def test_a_killed_process_s_run_is_taken_over_once_its_lease_expires(
    backend: Backend, handinger: HandingerClient
) -> None:
    clock = Clock(time.time())
    a, b, _, new, run = await a_holds_a_run(backend, handinger, 2, clock)
    await a.store.close()  # SIGKILL: A's process is gone; its lease stays in the database
    await a.aclose()

    await b.recover()
    await b.keep_watch()
    await asyncio.wait_for(b.wait_idle(), 5)
    assert new.finals == {}  # not before the lease expires
    clock.now += FAST.lease + 1
    await b.keep_watch()
    await asyncio.wait_for(b.wait_idle(), 20)
    [final] = new.finals[run.id]
    assert final.state == "completed" and creates(handinger) == 1
    await b.aclose()


async def test_a_process_that_lost_its_lease_stops_its_turn(
    backend: Backend, handinger: HandingerClient
) -> None:
    """A's heartbeat could not reach the database for longer than the lease; B took over,
    also the worker's digests A was looking for (the digests share the runs' leases)."""
    clock = Clock(time.time())
    a, b, old, new, run = await a_holds_a_run(backend, handinger, 3, clock)
    assert await a.ownership.take("digests:w1")  # A is looking for its scheduled turns
    clock.now += FAST.lease + 1
    assert await b.store.take_lease("digests:w1", "B", FAST.lease)
    await b.keep_watch()  # B takes the expired run over
    for _ in range(100):
        if await b.store.lease_owner(f"run:{run.id}") == "B":
            break
        await asyncio.sleep(0.05)
    await a.keep_watch()  # A's heartbeat finds it lost, and stops relaying
    await asyncio.wait_for(a.wait_idle(), 5)
    await asyncio.wait_for(b.wait_idle(), 20)
    assert run.id not in old.finals and len(new.finals[run.id]) == 1
    assert creates(handinger) == 1
    await a.aclose()
    await b.aclose()


async def test_a_restart_on_the_same_host_frees_the_leases_of_the_dead_process(
    backend: Backend, handinger: HandingerClient
) -> None:
    """The app crashed and came back on the same host: its runs go on at once, not after the
    lease expires; a live process's leases, and another host's, are kept."""
    store = await backend.open()
    host = socket.gethostname()
    exited = subprocess.Popen(["true"])  # a process that has exited: its pid is free
    exited.wait()
    gone = f"{host}:{exited.pid}:old"
    alive = f"{host}:{os.getppid()}:live"
    elsewhere = "other-host:1:remote"
    for n, owner in enumerate((gone, alive, elsewhere)):
        assert await store.take_lease(f"run:{n}", owner, 600)
    new = leased(store, handinger, RecordingSurface(), f"{host}:{os.getpid()}:new")
    await new.recover()
    assert await store.lease_owners() == {alive, elsewhere}
    await new.aclose()


async def test_a_new_run_is_never_in_flight_without_its_lease(
    backend: Backend, handinger: HandingerClient
) -> None:
    """The run holds its creator's lease from the insert's commit, not from when its turn
    begins: another replica's takeover pass in between must not take it up as a run whose
    process stopped (a recovery: an extra look in Slack for a card never recorded)."""
    a = leased(await backend.open(), handinger, RecordingSurface(), "A")
    other = await backend.open()
    run = await a.start_new(team_id="T1", channel_id="C1", user_id="U1", instruction="hi")
    assert (await other.takeover_scan()).active == []  # its turn has not begun yet
    assert await other.lease_owner(f"run:{run.id}") == "A"
    assert f"run:{run.id}" in a.ownership.held  # renewed by A's heartbeat, not taken again
    await asyncio.wait_for(a.wait_idle(), 20)
    assert (await other.get_run(run.id)).status == "completed"
    assert await other.lease_owner(f"run:{run.id}") is None  # let go of when it ended
    await a.aclose()


async def test_a_new_run_refused_lets_go_of_its_lease(
    backend: Backend, handinger: HandingerClient
) -> None:
    """A run recorded while its workspace is being left is not seen through here: its lease,
    taken with it, is let go of at once rather than renewed with nothing behind it."""
    store = await backend.open()
    a = leased(store, handinger, RecordingSurface(), "A")
    a.stop_workspace("T1")
    run = await a.start_new(team_id="T1", channel_id="C1", user_id="U1", instruction="hi")
    assert await store.lease_owner(f"run:{run.id}") is None
    assert a.ownership.held == set()
    await a.aclose()
