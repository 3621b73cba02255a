"""Shared helpers for the Slack emulator tests: control-API clients, polling, and the smallest
Bolt app that drives the emulator."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
import pytest
from slack_bolt.async_app import AsyncApp
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.clients import FixedToken, TeamClients
from bot.store import Run, Store
from emulators.credentials import BOT_TOKEN, SIGNING_SECRET, TEAM
from emulators.harness import SLACK, Child, running
from tests.stores import add_run

T = TypeVar("T")
Seen = dict[str, list[Any]]
"""What the Bolt app of `make_app` received, by kind (command, app_mention, message, action)."""


@contextmanager
def emulator(*args: str) -> Iterator[Child]:
    """One emulator process; fails the module if the emulator printed a traceback."""
    with running(SLACK, list(args)) as server:
        yield server
    output = "\n".join(server.output)
    assert "Traceback" not in output, output


class Control:
    """The `/_emulator/` API from synchronous tests."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.http.get(path, params=params)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def post(self, path: str, body: dict[str, Any] | None = None, ok: bool = True) -> Any:
        response = self.http.post(path, json=body or {})
        if ok:
            response.raise_for_status()
        return response.json()

    def messages(self, channel: str = "C0001") -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.get(f"/_emulator/channels/{channel}/messages")[
            "messages"
        ]
        return result

    def calls(self, **params: Any) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.get("/_emulator/calls", **params)["calls"]
        return result

    def reset(self) -> None:
        self.post("/_emulator/reset")


def fresh_control(server: Child, *, rate_limits: bool = True) -> Control:
    """The control API of `server`, reset to its start state; Web API rate limits turned off
    unless `rate_limits`."""
    control = Control(server.url)
    control.reset()
    if not rate_limits:
        control.post("/_emulator/rate-limits", {"mode": "off"})
    return control


def web_client(server: Child) -> WebClient:
    """slack_sdk's client with the emulator's bot token."""
    return WebClient(token=BOT_TOKEN, base_url=f"{server.url}/api/")


def bot_clients(url: str) -> TeamClients:
    """The app's Slack clients for the emulator at `url`, with its seeded workspace's bot token."""
    return TeamClients(FixedToken(BOT_TOKEN), url + "/api/")


async def seeded_run(store: Store, **fields: Any) -> Run:
    """A running run in the emulator's seeded workspace, channel and user, where
    `bot_clients` may post: a test names only the fields it checks."""
    seeded = {"team_id": TEAM, "channel_id": "C0001", "user_id": "U0001"}
    return await add_run(store, **{"input": "q", "status": "running", **seeded, **fields})


def error_of(call: Callable[..., Any]) -> dict[str, Any]:
    """The body of the Slack error `call` raises."""
    with pytest.raises(SlackApiError) as info:
        call()
    data: dict[str, Any] = info.value.response.data
    return data


class AsyncControl:
    """The `/_emulator/` API from async tests, so the event loop keeps serving the app."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def request(self, verb: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            if verb == "GET":
                response = await http.get(path, params=body)
            else:
                response = await http.post(path, json=body or {})
        return response.json()

    async def get(self, path: str, **params: Any) -> Any:
        return await self.request("GET", path, params)

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return await self.request("POST", path, body)

    async def messages(self, channel: str = "C0001") -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = (await self.get(f"/_emulator/channels/{channel}/messages"))[
            "messages"
        ]
        return result


async def eventually(
    check: Callable[[], Awaitable[T | None]], within: float = 15.0, what: str = "condition"
) -> T:
    """Poll until `check` returns something truthy; fail (not flake) after a generous limit."""
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def make_app(url: str) -> tuple[AsyncApp, Seen]:
    """The smallest Bolt app that uses a command, events, a button and respond()."""
    seen: Seen = defaultdict(list)
    app = AsyncApp(
        client=AsyncWebClient(token=BOT_TOKEN, base_url=url + "/api/"),
        signing_secret=SIGNING_SECRET,
    )

    @app.command("/handinger")
    async def command(ack: Any, respond: Any, say: Any, command: dict[str, Any]) -> None:
        seen["command"].append(command)
        await ack(text=f"working on {command['text']}")
        await respond(text="done privately")
        await say(
            text=f"posted: {command['text']}",
            blocks=[
                {"type": "section", "text": {"type": "mrkdwn", "text": "Approve?"}},
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "approve",
                            "value": "yes",
                            "text": {"type": "plain_text", "text": "Approve"},
                        }
                    ],
                },
            ],
        )

    @app.event("app_mention")
    async def mention(event: dict[str, Any], say: Any) -> None:
        seen["app_mention"].append(event)
        await say(text="mentioned", thread_ts=event["ts"])

    @app.event("message")
    async def message(event: dict[str, Any]) -> None:
        seen["message"].append(event)

    @app.action("approve")
    async def approve(ack: Any, body: dict[str, Any], respond: Any) -> None:
        seen["action"].append(body)
        await ack()
        await respond(replace_original=True, text="approved")

    return app, seen
