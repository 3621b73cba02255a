"""The inbox's contract, on both engines: a Slack request written down before its ack is its
replay claim, stays pending until its run's insert (or its listener) completes it, and is
taken over by one live process once its owner's lease expired; never answered twice."""

from __future__ import annotations

import pytest

from bot.store import RequestOwner, RequestTaken
from tests.stores import Backend, Clock, add_run

BODY = {"event_id": "Ev1", "event": {"type": "app_mention", "text": "<@U0BOT> hi"}}
LEASE = 30.0


async def test_a_request_is_claimed_once_and_pending_until_its_run(backend: Backend) -> None:
    store = await backend.open(Clock())
    assert await store.receive_request("event:Ev1", "event", BODY, "A", LEASE)
    assert not await store.receive_request("event:Ev1", "event", BODY, "B", LEASE)  # a replay
    assert not await store.claim_event("event:Ev1")  # the old claim sees it as handled too
    assert await store.request_owners() == {"A"}
    await add_run(store, request=RequestOwner("event:Ev1", "A"))
    assert await store.request_owners() == set()  # completed with the run, in one transaction
    with pytest.raises(RequestTaken):  # a second run for it is refused
        await add_run(store, request=RequestOwner("event:Ev1", "A"))
    assert len(await store.active_runs()) == 1


async def test_an_expired_request_is_taken_over_by_one_process(backend: Backend) -> None:
    clock = Clock()
    a, b, c = [await backend.open(clock) for _ in range(3)]
    assert await a.receive_request("event:Ev1", "event", BODY, "A", LEASE)
    assert await b.take_orphan_requests("B", LEASE) == []  # A is alive
    clock.now += LEASE / 2
    assert await a.renew_requests("A", LEASE) == 1  # A's heartbeat
    clock.now += LEASE / 2 + 1
    assert await b.take_orphan_requests("B", LEASE) == []
    clock.now += LEASE  # A was killed: no more heartbeats
    [taken] = await b.take_orphan_requests("B", LEASE)
    assert (taken.key, taken.kind, taken.body, taken.takeovers) == ("event:Ev1", "event", BODY, 1)
    assert await c.take_orphan_requests("C", LEASE) == []  # B holds it now
    with pytest.raises(RequestTaken):  # A, alive after all, must not record it too
        await add_run(a, request=RequestOwner("event:Ev1", "A"))
    await add_run(b, request=RequestOwner("event:Ev1", "B"))
    assert len(await b.active_runs()) == 1


async def test_a_request_released_on_a_clean_stop_is_taken_at_once(backend: Backend) -> None:
    store = await backend.open(Clock())
    assert await store.receive_request("command:t1", "command", {"text": "hi"}, "A", LEASE)
    assert await store.release_requests("A") == 1
    [taken] = await store.take_orphan_requests("B", LEASE)
    assert taken.body == {"text": "hi"}
    assert await store.complete_request(RequestOwner("command:t1", "B"))  # it needed no run
    assert not await store.complete_request(RequestOwner("command:t1", "B"))
    assert await store.take_orphan_requests("C", LEASE) == []


async def test_a_request_taken_over_finds_its_own_claims(backend: Backend) -> None:
    """The listener claims the message too; handled again elsewhere, those claims are its
    own, while another request's claim of the same message (the double delivery) is not."""
    store = await backend.open(Clock())
    assert await store.receive_request("event:Ev1", "event", BODY, "A", LEASE)
    keys = ("msg:C1:1.0", "event:Ev1")
    assert await store.claim_event(*keys, request="event:Ev1")
    assert await store.claim_event(*keys, request="event:Ev1")  # taken over: its own
    assert await store.receive_request("event:Ev2", "event", BODY, "A", LEASE)
    assert not await store.claim_event("msg:C1:1.0", "event:Ev2", request="event:Ev2")
    assert not await store.claim_event("msg:C1:1.0")
