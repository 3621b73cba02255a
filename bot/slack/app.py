"""The Bolt app: listeners, and the HTTP endpoints (`/slack/events`, `/healthz`, `/livez`, and
in OAuth mode `/slack/install` and `/slack/oauth_redirect`)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from ..config import Settings
from ..core.service import Service
from ..store import RequestTaken
from . import respond
from .ask_view import ASK_MODAL, ASK_SHORTCUT
from .clients import general_client
from .home import HOME_CANCEL, HomePublisher
from .inbox import IngressWriter
from .ingress import MAX_BODY, SlackEndpoint
from .ingress_thread import Core
from .listeners import actions, agent, commands, deps, lifecycle, messages, schedules, shortcuts
from .listeners.deps import Gone
from .render import FEEDBACK, RUN_ACTIONS
from .schedule_views import CANCEL_SCHEDULE, SCHEDULE_MODAL

EVENTS_PATH = "/slack/events"
NOT_INSTALLED = (
    "Handinger is not installed in this workspace (any more). A workspace admin can add it "
    "again from the app's install page (`/slack/install` on the app's address)."
)
"""What a user sees (OAuth mode) when their workspace has no installation in the store."""


def bolt_client(settings: Settings) -> AsyncWebClient:
    """The client Bolt copies for each request. In OAuth mode it has no token: Bolt puts in the
    token of the workspace the request comes from."""
    token = settings.slack_bot_token if not settings.oauth else None
    return general_client(token.get_secret_value() if token else None, settings.slack_api_url)


BOLT_FALLBACKS = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
)
"""Variables Bolt reads from the environment when an argument is missing or empty."""


@contextmanager
def _settings_only() -> Iterator[None]:
    """Hide Bolt's environment fallbacks while it is built: `Settings` already decided each one.

    Given a client, Bolt still reads `SLACK_BOT_TOKEN` and, finding one, logs "As you gave
    `client` as well, `token` will be unused" on every start (the client's token is used either
    way). Construction is synchronous, so nothing else runs while the variables are away."""
    saved = {name: os.environ.pop(name) for name in BOLT_FALLBACKS if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def build_app(
    settings: Settings,
    service: Service,
    client: AsyncWebClient,
    *,
    oauth: AsyncOAuthSettings | None = None,
    gone: Gone,
    home: HomePublisher | None = None,
) -> AsyncApp:
    """The app's listeners on a Bolt app; with `oauth`, installs into many workspaces and
    authorizes each request with its workspace's bot token from the installation store.
    `gone(team_id)` stops the app's work in a workspace that removed it."""
    secret = settings.slack_signing_secret
    with _settings_only():
        app = AsyncApp(
            client=client,
            signing_secret=secret.get_secret_value() if secret is not None else "",
            process_before_response=False,
            oauth_settings=oauth,
            user_facing_authorize_error_message=NOT_INSTALLED,
        )
    respond.install(app)
    app.error(_listener_failed)
    installations = oauth.installation_store if oauth is not None else None
    deps.install(app, deps.Deps(service, settings, installations, gone, home))
    register(app)
    return app


async def _listener_failed(error: Exception, logger: logging.Logger) -> None:
    """A listener's error, logged as Bolt does; but a request another process took over
    (this one's lease on it expired: `store/inbox.py`) is that process's to finish."""
    if isinstance(error, RequestTaken):
        logger.warning("a Slack request is finished by the process that took it over")
        return
    logger.exception(f"Failed to run listener function (error: {error})")


def register(app: AsyncApp) -> None:
    """Every listener, one module per surface."""
    app.command(commands.COMMAND)(commands.on_command)
    app.event("message")(messages.on_message)
    app.event("app_mention")(messages.on_mention)
    app.action(RUN_ACTIONS)(actions.on_run_action)
    app.action(CANCEL_SCHEDULE)(schedules.on_cancel_button)
    app.view(SCHEDULE_MODAL)(schedules.on_modal_submit)
    app.shortcut(ASK_SHORTCUT)(shortcuts.on_ask_shortcut)
    app.view(ASK_MODAL)(shortcuts.on_ask_submit)
    app.event("assistant_thread_started")(agent.on_thread_started)
    app.event("assistant_thread_context_changed")(agent.on_context_changed)
    app.event("app_home_opened")(agent.on_home_opened)
    app.action(FEEDBACK)(agent.on_feedback)
    app.action(HOME_CANCEL)(agent.on_home_cancel)
    app.event("tokens_revoked")(lifecycle.on_tokens_revoked)
    app.event("app_uninstalled")(lifecycle.on_app_uninstalled)


def web_app(
    app: AsyncApp,
    *,
    endpoint: SlackEndpoint | None,
    health: Callable[[], Coroutine[Any, Any, dict[str, Any]]],
    core: Core,
    writer: IngressWriter | None = None,
) -> web.Application:
    """The process's HTTP server, served on the ingress thread (`ingress_thread`): a health
    check, and in HTTP mode (with `endpoint`) Slack's request URL and the OAuth install pages.
    The health check and the OAuth pages run on the app's loop (`core`), where its state is.
    `writer`: the inbox's connection of this thread, opened and closed with the server."""

    async def healthz(request: web.Request) -> web.StreamResponse:
        status = await core.run(health())
        return web.json_response(status, status=200 if status.get("ok") else 503)

    async def livez(request: web.Request) -> web.StreamResponse:
        """Liveness: the app's loop answers. Not the database or Slack: the app waits their
        outages out, and restarting it (a liveness probe's remedy) would not end them."""
        await core.run(asyncio.sleep(0))
        return web.json_response({"ok": True})

    server = web.Application(client_max_size=MAX_BODY)
    server.router.add_get("/healthz", healthz)
    server.router.add_get("/livez", livez)
    if writer is not None:
        server.on_startup.append(writer.open)
        server.on_cleanup.append(writer.close)
    if endpoint is None:
        return server
    server.router.add_post(EVENTS_PATH, endpoint.handle)
    flow = app.oauth_flow
    if flow is not None:

        async def install(request: web.Request) -> web.StreamResponse:
            response = await core.run(flow.handle_installation(_page_request(request)))
            return await to_aiohttp_response(response)

        async def oauth_redirect(request: web.Request) -> web.StreamResponse:
            response = await core.run(flow.handle_callback(_page_request(request)))
            return await to_aiohttp_response(response)

        server.router.add_get(flow.install_path, install)
        server.router.add_get(flow.redirect_uri_path, oauth_redirect)
    return server


def _page_request(request: web.Request) -> AsyncBoltRequest:
    """A GET of an OAuth page for Bolt: its query and headers (the cookie with the OAuth
    state); a body sent with a GET means nothing and is not read (Bolt would parse it)."""
    return AsyncBoltRequest(body="", query=request.query_string, headers=dict(request.headers))
