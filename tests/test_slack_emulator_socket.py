"""Socket Mode against the emulator: a tiny slack_bolt AsyncApp on the default aiohttp adapter,
and slack_sdk's raw SocketModeClient for redelivery and keep-alive."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from emulators.credentials import APP_TOKEN, BOT_TOKEN
from emulators.harness import Child
from tests.slack_emulator import AsyncControl, Control, Seen, emulator, eventually, make_app


@pytest.fixture(scope="module")
def server() -> Iterator[Child]:
    with emulator() as proc:
        yield proc


@pytest.fixture
def ctl(server: Child) -> AsyncControl:
    Control(server.url).reset()
    return AsyncControl(server.url)


@pytest.fixture
async def bolt(server: Child, ctl: AsyncControl) -> AsyncIterator[Seen]:
    app, seen = make_app(server.url)
    handler = AsyncSocketModeHandler(app, APP_TOKEN)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    await ctl.get("/_emulator/connections", min=1, timeout=10)
    yield seen
    await handler.close_async()  # type: ignore[no-untyped-call]


async def all_acked(ctl: AsyncControl) -> bool:
    acks = (await ctl.get("/_emulator/acks"))["acks"]
    return bool(acks) and all(a["acked"] for a in acks)


async def test_slash_command_over_socket_mode(ctl: AsyncControl, bolt: Seen) -> None:
    result = await ctl.post("/_emulator/slash", {"channel": "C0001", "user": "U0001", "text": "go"})
    assert result["ok"] and result["acked"] and result["ack_ms"] is not None
    assert result["response"] == {"text": "working on go"}
    [command] = bolt["command"]
    assert command["response_url"].startswith(ctl.url + "/_emulator/response/")
    assert (command["team_id"], command["channel_id"], command["user_id"]) == (
        "T0001",
        "C0001",
        "U0001",
    )

    async def private() -> list[str]:
        found = (await ctl.get("/_emulator/ephemeral", user="U0001"))["ephemeral"]
        return [e["text"] for e in found]

    texts = await eventually(
        lambda: _when(private(), lambda t: "done privately" in t), what="respond()"
    )
    assert sorted(texts) == ["done privately", "working on go"]
    messages = await eventually(ctl.messages, what="say()")
    assert messages[0]["text"] == "posted: go" and messages[0]["bot_id"] == "B0001"
    await eventually(lambda: all_acked(ctl), what="own message event acked")


async def _when(value: Any, test: Any) -> Any:
    result = await value
    return result if test(result) else None


async def test_message_events_mention_dm_and_own_posts(ctl: AsyncControl, bolt: Seen) -> None:
    posted = await ctl.post(
        "/_emulator/messages",
        {"channel": "C0001", "user": "U0002", "text": "<@U0BOT> summarise", "wait": True},
    )
    assert posted["acked"] and len(posted["event_ids"]) == 2
    [mention] = await eventually(lambda: _value(bolt["app_mention"]), what="app_mention")
    assert mention["text"] == "<@U0BOT> summarise" and mention["channel"] == "C0001"
    [message] = bolt["message"]
    assert message["channel_type"] == "channel" and message["user"] == "U0002"
    assert "thread_ts" not in message

    async def reply_in_thread() -> list[dict[str, Any]] | None:
        root = (await ctl.messages())[0]
        return root["replies"] or None

    [reply] = await eventually(reply_in_thread, what="threaded say()")
    assert reply["text"] == "mentioned" and reply["thread_ts"] == posted["ts"]

    threaded = await ctl.post(
        "/_emulator/messages",
        {"channel": "C0001", "user": "U0001", "text": "more", "thread_ts": posted["ts"]},
    )
    await ctl.post("/_emulator/messages", {"channel": "D0001", "user": "U0001", "text": "dm"})
    await eventually(lambda: _value(bolt["message"][2:]), what="two more messages")
    in_thread, dm = bolt["message"][1:3]
    assert in_thread["thread_ts"] == posted["ts"] and in_thread["ts"] == threaded["ts"]
    assert dm["channel_type"] == "im" and len(bolt["app_mention"]) == 1
    # Outside the bot's channels nothing is delivered.
    outside = await ctl.post(
        "/_emulator/messages", {"channel": "C0002", "user": "U0001", "text": "x"}
    )
    assert outside["event_ids"] == []
    await eventually(lambda: all_acked(ctl), what="every event acked")
    acks = (await ctl.get("/_emulator/acks", type="events_api"))["acks"]
    kinds = {a["event_type"] for a in acks}
    assert {"message", "app_mention"} <= kinds  # the bot's own reply came back too, and was acked


async def _value(items: list[Any]) -> list[Any] | None:
    return list(items) if items else None


async def test_button_click_and_response_url_replace(ctl: AsyncControl, bolt: Seen) -> None:
    await ctl.post("/_emulator/slash", {"channel": "C0001", "user": "U0001", "text": "card"})
    [card] = await eventually(ctl.messages, what="card")
    clicked = await ctl.post(
        "/_emulator/actions",
        {"channel": "C0001", "message_ts": card["ts"], "action_id": "approve", "user": "U0002"},
    )
    assert clicked["ok"] and clicked["action"]["value"] == "yes"
    [body] = bolt["action"]
    assert body["container"]["message_ts"] == card["ts"] and body["user"]["id"] == "U0002"

    async def replaced() -> dict[str, Any] | None:
        [message] = await ctl.messages()
        return message if message["text"] == "approved" else None

    message = await eventually(replaced, what="replace_original")
    assert [e["source"] for e in message["edits"]] == ["chat.postMessage", "response_url"]


async def test_disconnect_and_reconnect(ctl: AsyncControl, bolt: Seen) -> None:
    await ctl.post("/_emulator/disconnect", {"reason": "refresh_requested"})

    async def reconnected() -> bool:
        state = await ctl.get("/_emulator/connections")
        return len(state["connections"]) >= 2 and state["open"] >= 1

    await eventually(reconnected, what="Bolt to reconnect")
    result = await ctl.post("/_emulator/slash", {"channel": "C0001", "user": "U0001", "text": "1"})
    assert result["acked"]
    await ctl.post("/_emulator/disconnect", {"drop": True})
    await eventually(
        lambda: _when(
            ctl.get("/_emulator/connections"),
            lambda s: s["open"] >= 1 and len(s["connections"]) >= 3,
        ),
        what="reconnect after a dropped socket",
    )
    result = await ctl.post("/_emulator/slash", {"channel": "C0001", "user": "U0001", "text": "2"})
    assert result["acked"]


async def test_unacked_events_are_redelivered(server: Child, ctl: AsyncControl) -> None:
    await ctl.post("/_emulator/config", {"ack_timeout": 1.0})
    client = SocketModeClient(
        app_token=APP_TOKEN, web_client=AsyncWebClient(base_url=server.url + "/api/")
    )
    attempts: list[tuple[Any, Any]] = []

    async def listener(sm: Any, request: SocketModeRequest) -> None:
        attempts.append((request.retry_attempt, request.retry_reason))
        if request.retry_attempt:  # ignore the first delivery, ack the retry
            await sm.send_socket_mode_response(SocketModeResponse(request.envelope_id))

    client.socket_mode_request_listeners.append(listener)
    await client.connect()  # type: ignore[no-untyped-call]
    try:
        await ctl.get("/_emulator/connections", min=1, timeout=10)
        await ctl.post("/_emulator/messages", {"channel": "G0001", "user": "U0001", "text": "hi"})
        await eventually(lambda: _value(attempts[1:]), what="a retry")
        assert attempts[:2] == [(0, ""), (1, "timeout")]
        acks = (await ctl.get("/_emulator/acks"))["acks"]
        assert [(a["attempt"], a["acked"], a["error"]) for a in acks] == [
            (0, False, "timeout"),
            (1, True, None),
        ]
    finally:
        await client.close()  # type: ignore[no-untyped-call]


async def test_keepalive_ping_pong(server: Child, ctl: AsyncControl) -> None:
    client = SocketModeClient(
        app_token=APP_TOKEN,
        web_client=AsyncWebClient(base_url=server.url + "/api/"),
        ping_interval=0.1,
    )
    await client.connect()  # type: ignore[no-untyped-call]
    try:
        started = time.time()

        async def ponged() -> bool:
            last = client.last_ping_pong_time
            return last is not None and last > started + 0.25

        await eventually(ponged, what="a PONG echoing a later sdk-ping-pong")
        assert await client.is_connected()
        assert len((await ctl.get("/_emulator/connections"))["connections"]) == 1
    finally:
        await client.close()  # type: ignore[no-untyped-call]


async def test_click_on_an_ephemeral_message(ctl: AsyncControl, bolt: Seen, server: Child) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=server.url + "/api/")
    button = {
        "type": "button",
        "action_id": "approve",
        "value": "yes",
        "text": {"type": "plain_text", "text": "Cancel"},
    }
    sent = await client.chat_postEphemeral(
        channel="C0001",
        user="U0002",
        text="schedules",
        blocks=[{"type": "actions", "elements": [button]}],
    )
    clicked = await ctl.post(
        "/_emulator/actions",
        {
            "channel": "C0001",
            "message_ts": sent["message_ts"],
            "action_id": "approve",
            "user": "U0002",
        },
    )
    assert clicked["acked"]
    [body] = bolt["action"]
    assert body["container"]["is_ephemeral"] is True and "message" not in body

    async def replaced() -> dict[str, Any] | None:
        [record] = (await ctl.get("/_emulator/ephemeral", user="U0002"))["ephemeral"]
        return record if record["text"] == "approved" else None

    record = await eventually(replaced, what="ephemeral replaced")
    assert record["edits"][0]["text"] == "schedules"
    someone_else = await ctl.post(
        "/_emulator/actions",
        {
            "channel": "C0001",
            "message_ts": sent["message_ts"],
            "action_id": "approve",
            "user": "U0001",
        },
    )
    assert someone_else["error"] == "message_not_found"


async def test_commands_fail_fast_without_an_app(ctl: AsyncControl) -> None:
    await ctl.post("/_emulator/config", {"ack_timeout": 0.2})
    result = await ctl.post("/_emulator/slash", {"channel": "C0001", "user": "U0001", "text": "x"})
    assert not result["ok"] and result["error"] == "dispatch_failed"
    outsider = await ctl.post(
        "/_emulator/slash", {"channel": "G0001", "user": "U0002", "text": "x"}
    )
    assert outsider["error"] == "user_not_in_channel"


async def test_response_url_rules(ctl: AsyncControl, bolt: Seen) -> None:
    result = await ctl.post("/_emulator/slash", {"channel": "C0001", "user": "U0001", "text": "x"})
    assert result["acked"]
    await eventually(lambda: _value(bolt["command"]), what="the command")
    await eventually(ctl.messages, what="say()")  # respond() ran before say()
    url = result["response_url"]
    async with httpx.AsyncClient() as http:
        shown = await http.post(url, json={"response_type": "in_channel", "text": "public answer"})
        assert shown.json() == {"ok": True}
        statuses = [(await http.post(url, json={"text": "again"})).status_code for _ in range(4)]
    # respond() in the app used one post; ours used five in all, so the last one is refused.
    assert statuses == [200, 200, 200, 404]
    shown_in_channel = [m for m in await ctl.messages() if m["text"] == "public answer"]
    assert shown_in_channel[0]["bot_id"] == "B0001"


async def test_cut_connection_is_noticed_and_replaced(server: Child, ctl: AsyncControl) -> None:
    client = SocketModeClient(
        app_token=APP_TOKEN,
        web_client=AsyncWebClient(base_url=server.url + "/api/"),
        ping_interval=0.1,
    )
    await client.connect()  # type: ignore[no-untyped-call]
    try:
        await ctl.get("/_emulator/connections", min=1, timeout=10)
        cut = await ctl.post("/_emulator/disconnect", {"drop": "reset"})
        assert cut["connections"] == 1

        async def replaced() -> bool:
            state = await ctl.get("/_emulator/connections")
            return state["open"] == 1 and len(state["connections"]) == 2

        await eventually(replaced, what="a new connection after a TCP reset")
    finally:
        await client.close()  # type: ignore[no-untyped-call]
