"""The Bolt app: Slack clients, listeners, and the HTTP endpoints (`/slack/events`, `/healthz`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from ..config import Settings
from ..core.runner import Runner
from .listeners import actions, commands, messages
from .listeners.schedules import ScheduleCommands

EVENTS_PATH = "/slack/events"


def web_clients(settings: Settings) -> tuple[AsyncWebClient, AsyncWebClient]:
    """Two clients for one token: the general one waits out 429s itself; the one for edits
    does not, because the edit scheduler owns the pacing of `chat.update`."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    general = AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=5),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )
    edits = AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=2)],
    )
    return general, edits


def build_app(
    settings: Settings,
    runner: Runner,
    client: AsyncWebClient,
    schedules_changed: Callable[[], None] = lambda: None,
) -> AsyncApp:
    secret = settings.slack_signing_secret
    app = AsyncApp(
        client=client,
        signing_secret=secret.get_secret_value() if secret is not None else "",
        process_before_response=False,
    )
    schedule_commands = ScheduleCommands(runner, settings, schedules_changed)
    schedule_commands.register(app)
    commands.register(app, runner, settings, schedule_commands)
    messages.register(app, runner, settings)
    actions.register(app, runner, schedule_commands)
    return app


def web_app(app: AsyncApp, *, http_mode: bool, health: Any) -> web.Application:
    """The process's HTTP server: Slack's request URL in HTTP mode, and a health check."""

    async def events(request: web.Request) -> web.StreamResponse:
        response = await app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    async def healthz(request: web.Request) -> web.StreamResponse:
        status: dict[str, Any] = health()
        return web.json_response(status, status=200 if status.get("ok") else 503)

    server = web.Application()
    server.router.add_get("/healthz", healthz)
    if http_mode:
        server.router.add_post(EVENTS_PATH, events)
    return server
