"""The store's leases, on both engines: one owner per name at a time, renewed by a heartbeat,
taken over only once expired or released."""

from __future__ import annotations

import asyncio

from bot.store import LeaseTo, RequestOwner
from tests.stores import Backend, Clock, add_run


async def test_a_lease_has_one_owner_until_it_expires_or_is_released(backend: Backend) -> None:
    clock = Clock()
    a, b = await backend.open(clock), await backend.open(clock)
    assert await a.take_lease("run:1", "A", 30)
    assert not await b.take_lease("run:1", "B", 30)  # held
    assert await a.take_lease("run:1", "A", 30)  # its owner may take it again
    assert await a.lease_owner("run:1") == "A" and await b.lease_owner("run:2") is None

    clock.now += 20
    assert await a.renew_leases("A", 30) == {"run:1"}  # the heartbeat
    clock.now += 20
    assert not await b.take_lease("run:1", "B", 30)  # renewed: still A's
    clock.now += 11
    assert await a.lease_owner("run:1") is None  # expired (A missed its heartbeats)
    assert await a.renew_leases("A", 30) == {"run:1"}  # nobody took it: still A's
    clock.now += 31
    assert await b.take_lease("run:1", "B", 30)  # expired again, and taken over
    assert await a.renew_leases("A", 30) == set()  # A learns it lost it
    assert not await a.take_lease("run:1", "A", 30)

    assert await b.take_lease("run:2", "B", 30) and await b.take_lease("run:3", "B", 30)
    assert await b.release_leases("B", ["run:2"]) == 1
    assert await a.take_lease("run:2", "A", 30)  # released: free at once
    assert await b.release_leases("B") == 2  # a clean stop lets go of everything
    assert await a.take_lease("run:3", "A", 30) and await a.take_lease("run:1", "A", 30)
    assert await a.release_leases("A", []) == 0


async def test_racing_takers_get_one_lease_each_name(backend: Backend) -> None:
    stores = [await backend.open() for _ in range(3)]
    for n in range(5):
        won = await asyncio.gather(
            *[store.take_lease(f"run:{n}", f"owner-{i}", 30) for i, store in enumerate(stores)]
        )
        assert sum(won) == 1


async def test_a_takeover_pass_sees_only_runs_nobody_holds(backend: Backend) -> None:
    clock = Clock()
    store = await backend.open(clock)
    ids = []
    for status in ("running", "starting", "running", "completed", "queued"):
        run = await add_run(store, input="x", budget="low", status=status)
        ids.append(run.id)
    assert await store.take_lease(f"run:{ids[0]}", "A", 30)
    assert await store.take_lease(f"run:{ids[1]}", "B", 5)
    assert [r.id for r in (await store.takeover_scan()).active] == [ids[2]]
    clock.now += 6  # B's lease expired
    assert [r.id for r in (await store.takeover_scan()).active] == [ids[1], ids[2]]


async def test_a_run_is_created_and_started_already_leased(backend: Backend) -> None:
    """A run in flight that nobody holds is one whose process stopped: another process's
    takeover scan takes it up (and looks in Slack for a card posted but not recorded). So a
    new run, and a queued one started, carries its creator's lease from its first commit:
    no scan in between sees it unleased (issue 15, the replicas benchmark)."""
    a, b = await backend.open(), await backend.open()  # two replicas, the database's clock
    assert await a.receive_request("event:E1", "event", {"x": 1}, "A", 30)
    request = RequestOwner("event:E1", "A")
    new = await add_run(a, status="starting", request=request, lease=LeaseTo("A", 30))
    assert (await b.takeover_scan()).active == []
    assert await b.lease_owner(f"run:{new.id}") == "A"
    assert not await b.take_lease(f"run:{new.id}", "B", 30)

    queued = await add_run(a, status="queued", thread_ts="1.1")  # a follow-up: a turn runs
    started = await a.start_next_queued("T1", "C1", "1.1", LeaseTo("A", 30))
    assert started is not None and started.id == queued.id and started.status == "starting"
    assert (await b.takeover_scan()).active == []
    assert await b.lease_owner(f"run:{started.id}") == "A"
    assert await a.renew_leases("A", 30) == {f"run:{new.id}", f"run:{started.id}"}
    assert await b.start_next_queued("T1", "C1", "1.1", LeaseTo("B", 30)) is None

    await a.release_leases("A")  # A stops: B takes both over
    assert [run.id for run in (await b.takeover_scan()).active] == [new.id, started.id]
