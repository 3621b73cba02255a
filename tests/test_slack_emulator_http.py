"""HTTP mode: the emulator signs and POSTs to a slack_bolt AsyncApp served by aiohttp, whose
signature verification must accept it (and reject a request signed with the wrong secret)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from emulators.credentials import BOT_TOKEN, SIGNING_SECRET
from emulators.harness import Child
from tests.slack_emulator import AsyncControl, Control, Seen, emulator, eventually, make_app


@pytest.fixture(scope="module")
def server() -> Iterator[Child]:
    with emulator("--signing-secret", SIGNING_SECRET) as proc:
        yield proc


@pytest.fixture
def ctl(server: Child) -> AsyncControl:
    Control(server.url).reset()
    return AsyncControl(server.url)


async def serve(app: AsyncApp) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app.web_app(path="/slack/events"))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/slack/events"


@pytest.fixture
async def bolt(server: Child, ctl: AsyncControl) -> AsyncIterator[Seen]:
    app, seen = make_app(server.url)
    runner, url = await serve(app)
    await ctl.post("/_emulator/config", {"request_url": url})
    yield seen
    await runner.cleanup()


async def test_signed_slash_command_event_and_click(ctl: AsyncControl, bolt: Seen) -> None:
    result = await ctl.post("/_emulator/slash", {"channel": "C0001", "user": "U0001", "text": "hi"})
    assert result["acked"] and result["status"] == 200
    assert result["response"] == {"text": "working on hi"}
    [card] = await eventually(ctl.messages, what="say()")
    posted = await ctl.post(
        "/_emulator/messages",
        {"channel": "C0001", "user": "U0002", "text": "hey <@U0BOT>", "wait": True},
    )
    assert posted["acked"]
    await eventually(lambda: _some(bolt["app_mention"]), what="app_mention")
    clicked = await ctl.post(
        "/_emulator/actions",
        {"channel": "C0001", "message_ts": card["ts"], "action_id": "approve", "user": "U0001"},
    )
    assert clicked["acked"] and clicked["status"] == 200
    [body] = bolt["action"]
    assert body["type"] == "block_actions" and body["actions"][0]["value"] == "yes"
    acks = (await ctl.get("/_emulator/acks"))["acks"]
    assert all(a["transport"] == "http" for a in acks)


async def _some(items: list[Any]) -> list[Any] | None:
    return list(items) if items else None


async def test_bad_signature_is_rejected(ctl: AsyncControl, bolt: Seen) -> None:
    await ctl.post("/_emulator/config", {"signing_secret": "not-the-secret"})
    result = await ctl.post("/_emulator/slash", {"channel": "C0001", "user": "U0001", "text": "x"})
    assert not result["acked"] and result["status"] == 401 and result["error"] == "http_error"
    assert bolt["command"] == []
    await ctl.post("/_emulator/messages", {"channel": "C0001", "user": "U0001", "text": "x"})

    async def rejected() -> list[Any] | None:
        acks = (await ctl.get("/_emulator/acks", type="events_api"))["acks"]
        return acks or None

    [first, *_] = await eventually(rejected, what="event delivery")
    assert first["status"] == 401 and not first["acked"]
    assert bolt["message"] == []


async def test_slow_app_gets_a_retry_with_headers(server: Child, ctl: AsyncControl) -> None:
    await ctl.post("/_emulator/config", {"ack_timeout": 1.0})
    app = AsyncApp(
        client=AsyncWebClient(token=BOT_TOKEN, base_url=server.url + "/api/"),
        signing_secret=SIGNING_SECRET,
        process_before_response=True,  # the ack waits for the listener, so it can be late
    )
    retries: list[tuple[str | None, str | None]] = []
    release = asyncio.Event()

    @app.event("message")
    async def slow(request: Any) -> None:
        number = request.headers.get("x-slack-retry-num", [None])[0]
        retries.append((number, request.headers.get("x-slack-retry-reason", [None])[0]))
        if number is None:
            await release.wait()  # never in time: the first delivery must time out

    runner, url = await serve(app)
    try:
        await ctl.post("/_emulator/config", {"request_url": url})
        await ctl.post("/_emulator/messages", {"channel": "C0001", "user": "U0001", "text": "x"})
        await eventually(lambda: _some(retries[1:]), what="the retry")
        assert retries[:2] == [(None, None), ("1", "http_timeout")]

        async def settled() -> list[Any] | None:
            acks = (await ctl.get("/_emulator/acks"))["acks"]
            return acks if len(acks) >= 2 and acks[1]["acked"] else None

        first, second = (await eventually(settled, what="retry acked"))[:2]
        assert (first["error"], second["retry_reason"], second["status"]) == (
            "http_timeout",
            "http_timeout",
            200,
        )
    finally:
        release.set()
        await runner.cleanup()


async def test_url_verification_challenge(ctl: AsyncControl, bolt: Seen) -> None:
    result = await ctl.post("/_emulator/url-verification")
    assert result["ok"] and result["status"] == 200
