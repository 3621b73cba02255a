"""The HTTP ingress answers Slack on its own thread: an ack never waits for the app's loop.

The app's event loop here is the test's; it is held still (a synchronous wait, as a loop busy
relaying a thousand streams is) while another thread sends Slack's requests. Each answer must
come back while the loop is still held; the listeners see the requests once it runs again.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.authorization import AuthorizeResult

from bot.config import Settings
from bot.core.service import Rules
from bot.slack.app import web_app
from bot.slack.at_once import AtOnce, command_answer
from bot.slack.inbox import Inbox, Receive
from bot.slack.ingress import Checks, Gate, SlackEndpoint
from bot.slack.ingress_thread import Core, IngressThread
from bot.slack.payloads import Kind
from bot.slack.wording import NOT_TAKEN
from bot.store import Store
from emulators.credentials import SIGNING_SECRET as SECRET
from tests.slack_requests import (
    FORM,
    block_actions,
    command_body,
    event_body,
    interaction_body,
    mention,
    signed,
)

SETTINGS = Settings(_env_file=None)  # max budget high
SENT = 10.0
"""Seconds the sending thread waits for an answer before it gives up (the loop is then let go
anyway, so a test of broken code fails instead of hanging)."""


class Seen:
    """What the listeners received, on the app's loop."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.changed = asyncio.Event()

    def add(self, text: str) -> None:
        self.texts.append(text)
        self.changed.set()


def bolt_app(settings: Settings, seen: Seen) -> AsyncApp:
    """A Bolt app with a command, a mention and a click listener that ack as the app's do."""

    async def authorize(**_: Any) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=None, team_id="T0001", bot_token="xoxb-test")

    app = AsyncApp(signing_secret=SECRET, authorize=authorize, process_before_response=False)
    rules = Rules.of(settings)

    @app.command("/handinger")
    async def command(ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack(**(command_answer(command["text"], settings, rules) or {}))
        seen.add(f"command {command['text']}")

    @app.event("app_mention")
    async def mentioned(event: dict[str, Any]) -> None:
        seen.add(f"mention {event['text']}")

    @app.action("run_actions")
    async def clicked(ack: AsyncAck) -> None:
        await ack()
        seen.add("click")

    return app


async def fresh(key: str, kind: Kind, body: dict[str, Any]) -> bool:
    """Every request is new (the store's `receive_request` for requests never seen)."""
    return True


async def healthy() -> dict[str, Any]:
    return {"ok": True}


@asynccontextmanager
async def serving(
    write: Receive = fresh, receive: Receive = fresh
) -> AsyncIterator[tuple[str, Seen]]:
    """The ingress on its thread in front of `bolt_app`; requests written down with `write` on
    the ingress's thread (the `IngressWriter` in the app), or with `receive` on this loop when
    that failed (the app's store). Yields the request URL and what was seen."""
    seen = Seen()
    app = bolt_app(SETTINGS, seen)
    core = Core(asyncio.get_running_loop())
    inbox = Inbox(app, Store(":memory:"), "this process", 30.0)
    endpoint = SlackEndpoint(
        inbox,
        SECRET,
        Checks("/slack/events"),
        writer=write,
        replays=Gate(receive, "/slack/events"),
        at_once=AtOnce(SETTINGS, Rules.of(SETTINGS)),
        core=core,
    )
    server = IngressThread(
        lambda: web_app(app, endpoint=endpoint, health=healthy, core=core), "127.0.0.1", 0
    )
    port = await server.start()
    try:
        yield f"http://127.0.0.1:{port}/slack/events", seen
    finally:
        await server.stop()


@pytest.fixture
async def ingress() -> AsyncIterator[tuple[str, Seen]]:
    async with serving() as served:
        yield served


def send_while_held(requests: list[tuple[bytes, str]], url: str) -> list[httpx.Response | str]:
    """Hold the calling event loop still while another thread posts each signed request;
    let it go once every answer came back (or did not come within `SENT` seconds)."""
    answers: list[httpx.Response | str] = []
    done = threading.Event()

    def slack() -> None:
        try:
            for body, content_type in requests:
                headers = signed(body, content_type=content_type)
                try:
                    answers.append(httpx.post(url, content=body, headers=headers, timeout=SENT))
                except httpx.TimeoutException:
                    answers.append("no answer while the app's loop was held")
        finally:
            done.set()

    threading.Thread(target=slack).start()
    done.wait()  # synchronous: nothing else runs on this loop meanwhile
    return answers


async def test_slack_is_answered_while_the_apps_loop_is_held(ingress: tuple[str, Seen]) -> None:
    url, seen = ingress
    requests = [
        (command_body("help"), FORM),
        (command_body("--budget unlimited compare vendors"), FORM),
        (command_body("summarise the incidents"), FORM),
        (event_body(mention("<@U0BOT> hello")), "application/json"),
        (interaction_body(block_actions()), FORM),
    ]
    answers = send_while_held(requests, url)
    assert all(isinstance(a, httpx.Response) and a.status_code == 200 for a in answers), answers
    help_answer, refused, run, event, click = (
        a.json() if isinstance(a, httpx.Response) and a.content else None for a in answers
    )
    rules = Rules.of(SETTINGS)
    for answer, text in ((help_answer, "help"), (refused, "--budget unlimited compare vendors")):
        expected = command_answer(text, SETTINGS, rules)
        assert expected is not None and answer is not None
        assert answer["response_type"] == "ephemeral"
        assert (answer["text"], answer["blocks"]) == (expected["text"], expected["blocks"])
    assert (run, event, click) == (None, None, None)  # empty 200s: the work comes after

    while len(seen.texts) < len(requests):  # the listeners run once the loop is free
        seen.changed.clear()
        await asyncio.wait_for(seen.changed.wait(), SENT)
    assert sorted(seen.texts) == sorted(
        [
            "command help",
            "command --budget unlimited compare vendors",
            "command summarise the incidents",
            "mention <@U0BOT> hello",
            "click",
        ]
    )


@asynccontextmanager
async def response_url() -> AsyncIterator[tuple[str, list[dict[str, Any]], asyncio.Event]]:
    """A `response_url` on this loop: its URL, what was posted to it, and an event set when
    something was."""
    told: list[dict[str, Any]] = []
    arrived = asyncio.Event()

    async def receive(request: web.Request) -> web.Response:
        told.append(await request.json())
        arrived.set()
        return web.Response(text="ok")

    receiver = web.Application()
    receiver.router.add_post("/respond", receive)
    runner = web.AppRunner(receiver)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/respond", told, arrived
    finally:
        await runner.cleanup()


async def command_acked(url: str, where: str) -> httpx.Response:
    body = command_body("summarise the incidents", response_url=where)
    headers = signed(body, content_type=FORM)
    async with httpx.AsyncClient() as client:
        return await client.post(url, content=body, headers=headers)


async def test_whoever_asked_is_told_when_the_app_cannot_take_what_was_acked() -> None:
    """Slack saw a 200, so it shows nothing: the app says so through the `response_url`."""

    async def broken(key: str, kind: Kind, body: dict[str, Any]) -> bool:
        raise RuntimeError("database is locked")  # the store failing, on both threads

    async with response_url() as (where, told, arrived), serving(broken, broken) as (url, seen):
        acked = await command_acked(url, where)
        assert (acked.status_code, acked.content) == (200, b"")
        await asyncio.wait_for(arrived.wait(), SENT)
    assert told == [{"text": NOT_TAKEN, "response_type": "ephemeral", "replace_original": False}]
    assert seen.texts == []  # the listener never ran


async def post_signed(url: str, body: bytes, content_type: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(
            url, content=body, headers=signed(body, content_type=content_type), timeout=SENT
        )


async def test_a_request_is_written_down_before_slack_is_answered() -> None:
    """The ack follows the inbox's write (its key, its body), never the other way round."""
    written: list[str] = []

    async def write(key: str, kind: Kind, body: dict[str, Any]) -> bool:
        written.append(f"{key} {kind} {body.get('text') or body['event']['text']}")
        return True

    async with serving(write) as (url, seen):
        command = await post_signed(url, command_body("summarise"), FORM)
        assert command.status_code == 200 and len(written) == 1
        event = await post_signed(url, event_body(mention("<@U0BOT> hi")), "application/json")
        assert event.status_code == 200 and len(written) == 2
        while len(seen.texts) < 2:
            seen.changed.clear()
            await asyncio.wait_for(seen.changed.wait(), SENT)
    assert written[0].startswith("command:") and written[0].endswith("command summarise")
    assert written[1] == "event:Ev_test_1 event <@U0BOT> hi"


async def test_a_replay_is_answered_and_dropped() -> None:
    async def seen_before(key: str, kind: Kind, body: dict[str, Any]) -> bool:
        return False

    async with serving(seen_before) as (url, seen):
        answer = await post_signed(url, command_body("help"), FORM)
        event = await post_signed(url, event_body(mention()), "application/json")
        await asyncio.sleep(0.1)  # a listener would have run by now (none may)
    expected = command_answer("help", SETTINGS, Rules.of(SETTINGS))
    assert expected is not None and answer.json()["text"] == expected["text"]
    assert event.status_code == 200 and seen.texts == []


async def test_the_database_out_slack_sends_an_event_again_and_a_command_waits() -> None:
    """An event not written down is not acknowledged (Slack's retry is the copy); a command,
    which Slack never sends again, is acknowledged and written down from the app's loop."""
    from_app: list[str] = []

    async def down(key: str, kind: Kind, body: dict[str, Any]) -> bool:
        raise OSError("connection refused")

    async def app_store(key: str, kind: Kind, body: dict[str, Any]) -> bool:
        from_app.append(kind)
        return True

    async with serving(down, app_store) as (url, seen):
        event = await post_signed(url, event_body(mention()), "application/json")
        command = await post_signed(url, command_body("summarise"), FORM)
        await asyncio.wait_for(seen.changed.wait(), SENT)
    assert event.status_code == 503 and command.status_code == 200
    assert seen.texts == ["command summarise"] and from_app == ["command"]


async def test_a_write_slower_than_slack_waits_is_answered_and_still_handled_once() -> None:
    """The write outlives `INBOX_WAIT`: the command is acknowledged and the event refused
    (Slack sends it again) before the write lands; once it lands, both are handled, once."""
    landed = threading.Event()

    async def slow(key: str, kind: Kind, body: dict[str, Any]) -> bool:
        await asyncio.to_thread(landed.wait, SENT)
        return True

    async with serving(slow) as (url, seen):
        command = await post_signed(url, command_body("summarise"), FORM)
        event = await post_signed(url, event_body(mention("<@U0BOT> late")), "application/json")
        assert (command.status_code, event.status_code) == (200, 503)
        assert seen.texts == []
        landed.set()
        while len(seen.texts) < 2:
            seen.changed.clear()
            await asyncio.wait_for(seen.changed.wait(), SENT)
    assert sorted(seen.texts) == ["command summarise", "mention <@U0BOT> late"]
