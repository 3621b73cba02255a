"""The Slack side of the inbox (`bot/slack/inbox.py`), on both engines: a request taken over
from a process that died is dispatched to Bolt again and completed when its listener is done;
one no listener takes is completed at once; one that every process taking it over died with
is given up, so it cannot take every replica down in turn."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult

from bot.slack.inbox import MAX_TAKEOVERS, Inbox
from bot.slack.inflight import InflightListeners
from emulators.credentials import SIGNING_SECRET
from tests.slack_requests import mention
from tests.stores import Backend, Clock

LEASE = 30.0


def bolt_app(seen: list[str]) -> AsyncApp:
    async def authorize(**_: Any) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=None, team_id="T0001", bot_token="xoxb-test")

    app = AsyncApp(signing_secret=SIGNING_SECRET, authorize=authorize)

    @app.event("app_mention")
    async def mentioned(event: dict[str, Any]) -> None:
        seen.append(str(event["text"]))

    return app


def envelope(event_id: str, event: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "event_callback",
        "team_id": "T0001",
        "api_app_id": "A0001",
        "event_id": event_id,
        "event": event,
    }


async def test_requests_of_a_dead_process_are_handled_once_or_given_up(backend: Backend) -> None:
    clock = Clock(1000.0)
    store = await backend.open(clock)
    seen: list[str] = []
    app = bolt_app(seen)
    inbox = Inbox(app, store, "B", LEASE)
    inflight = InflightListeners(inbox.listener_started, inbox.listener_finished)
    inflight.install(app)
    handled = envelope("Ev1", mention("<@U0BOT> handled"))
    unrouted = envelope("Ev2", {"type": "reaction_added", "user": "U1"})
    poison = envelope("Ev3", mention("<@U0BOT> poison"))
    assert await store.receive_request("event:Ev3", "event", poison, "A", LEASE)
    for _ in range(MAX_TAKEOVERS):  # Ev3 killed every process that took it over
        clock.now += LEASE + 1
        assert len(await store.take_orphan_requests("dead", LEASE)) == 1
    for key, body in (("event:Ev1", handled), ("event:Ev2", unrouted)):
        assert await store.receive_request(key, "event", body, "A", LEASE)  # A then dies
    clock.now += LEASE + 1

    assert await inbox.take_over() == 3
    assert await asyncio.wait_for(inflight.drain(10), 10) == 0
    assert seen == ["<@U0BOT> handled"]  # Ev2 has no listener; Ev3 is given up
    assert await store.request_owners() == set()  # nothing left pending
    clock.now += LEASE + 1
    assert await inbox.take_over() == 0
