"""Wire the parts together and run until stopped: store, Handinger client, runner, Slack."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncApp

from .config import Settings
from .core.digests import Digests
from .core.files import FileDelivery
from .core.ports import Surface
from .core.runner import Runner
from .core.schedules import ScheduleWatcher
from .core.service import Rules, Service
from .core.workspaces import WorkspaceCleanup
from .handinger.client import HandingerClient
from .logs import configured_secrets
from .redact import Redactor
from .slack.app import EVENTS_PATH, bolt_client, build_app, web_app
from .slack.at_once import AtOnce
from .slack.clients import FixedToken, InstalledTokens, TeamClients, TokenSource
from .slack.home import HomePublisher
from .slack.ingress import CheckedSocketModeHandler, Checks, Gate, SlackEndpoint
from .slack.ingress_thread import Core, IngressThread
from .slack.installations import InstallationStore, oauth_settings
from .slack.publisher import SlackSurface
from .slack.streaming import NativeStreams
from .store import Store

log = logging.getLogger("handinger_slack")


@dataclass(slots=True)
class Parts:
    """The wired app: what `serve` starts, and closes in the reverse order."""

    settings: Settings
    store: Store
    handinger: HandingerClient
    surface: Surface
    watcher: ScheduleWatcher
    runner: Runner
    app: AsyncApp
    gate: Gate
    core: Core
    endpoint: SlackEndpoint | None
    socket: CheckedSocketModeHandler | None = None

    async def health(self) -> dict[str, Any]:
        connected = self.socket is None or bool(self.socket.client.current_session is not None)
        return {
            "ok": connected,
            "mode": self.settings.mode,
            "active_runs": len(await self.store.active_runs()),
        }


async def serve(settings: Settings, *, host: str = "0.0.0.0") -> None:
    """Run the app until SIGINT/SIGTERM. Prints `listening on http://HOST:PORT` when ready."""
    parts = _assemble(settings)
    server = IngressThread(
        lambda: web_app(parts.app, endpoint=parts.endpoint, health=parts.health, core=parts.core),
        host,
        settings.port,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    pruning = asyncio.create_task(_prune_events(parts.store))
    watching: asyncio.Task[None] | None = None
    try:
        recovered = await parts.runner.recover()
        if recovered:
            log.info("recovering %d run(s) that were in flight", recovered)
        await parts.watcher.startup()
        watching = asyncio.create_task(parts.watcher.run())
        if settings.mode == "socket":
            assert settings.slack_app_token is not None
            token = settings.slack_app_token.get_secret_value()
            parts.socket = CheckedSocketModeHandler(parts.app, token, parts.gate)
            await parts.socket.connect_async()  # type: ignore[no-untyped-call]
        _announce(settings, host, await server.start())
        await stop.wait()
    finally:
        log.info("shutting down")
        pruning.cancel()
        if watching is not None:
            watching.cancel()
        await _close(parts, server)


def _assemble(settings: Settings) -> Parts:
    """Build every part from the settings, the store and clients first, Slack's app last."""
    store = Store(settings.handinger_db)
    api_key = settings.handinger_api_key.get_secret_value() if settings.handinger_api_key else ""
    handinger = HandingerClient(
        api_key,
        settings.handinger_base_url,
        stream_idle_timeout=settings.handinger_stream_idle_timeout,
    )
    installations, tokens = _tokens(settings)
    clients = TeamClients(tokens, settings.slack_api_url)
    if installations is not None:
        installations.listeners.append(clients.forget)
    home = HomePublisher(clients)
    streams = NativeStreams(clients) if settings.slack_native_streaming else None
    surface: Surface = SlackSurface(
        clients,
        redactor=Redactor(configured_secrets(settings)),
        streams=streams,
        finished=home.run_finished,
        is_assistant=partial(_is_assistant, store),
    )
    files = FileDelivery(store, handinger, surface, max_bytes=settings.handinger_max_file_bytes)
    digests = Digests(store, surface, files)
    watcher = ScheduleWatcher(
        store,
        handinger,
        digests,
        safety_interval=settings.handinger_schedule_check_seconds,
    )
    runner = Runner(
        store,
        handinger,
        surface,
        default_budget=settings.handinger_default_budget,
        files=files,
        digests=digests,
        schedules_changed=watcher.wake,
        reply_mode=settings.handinger_reply_mode,
    )
    cleanup = WorkspaceCleanup(
        runner, handinger, watcher=watcher, forgets=[surface], schedules_changed=watcher.wake
    )
    service = Service(runner, store, handinger, Rules.of(settings), schedules_changed=watcher.wake)
    home.attach(service.home)
    app = build_app(
        settings,
        service,
        bolt_client(settings),
        oauth=oauth_settings(settings, installations) if installations is not None else None,
        gone=cleanup.uninstalled,
        home=home,
    )
    core = Core(asyncio.get_running_loop())
    at_once = AtOnce(settings, service.rules)
    gate, endpoint = _ingress(settings, app, store, core, at_once)
    return Parts(settings, store, handinger, surface, watcher, runner, app, gate, core, endpoint)


def _tokens(settings: Settings) -> tuple[InstallationStore | None, TokenSource]:
    """Each workspace's own token from its installation (OAuth), or the one configured."""
    if settings.oauth:
        assert settings.slack_client_id is not None
        installations = InstallationStore(settings.installations_db, settings.slack_client_id)
        if settings.slack_bot_token is not None:
            log.warning("SLACK_BOT_TOKEN is ignored: OAuth mode uses each workspace's own token")
        return installations, InstalledTokens(installations)
    bot_token = settings.slack_bot_token
    return None, FixedToken(bot_token.get_secret_value() if bot_token is not None else None)


def _ingress(
    settings: Settings, app: AsyncApp, store: Store, core: Core, at_once: AtOnce
) -> tuple[Gate, SlackEndpoint | None]:
    """The gate every Slack request passes on the app's loop (claimed once), and HTTP mode's
    checked endpoint, which answers on the ingress thread with a gate of its own."""
    http_mode = settings.mode == "http"
    where = EVENTS_PATH if http_mode else "the Socket Mode connection"
    gate = Gate(store.claim_event, where)
    if not http_mode:
        return gate, None
    assert settings.slack_signing_secret is not None
    secret = settings.slack_signing_secret.get_secret_value()
    endpoint = SlackEndpoint(app, secret, Checks(where), replays=gate, at_once=at_once, core=core)
    return gate, endpoint


def _announce(settings: Settings, host: str, port: int) -> None:
    print(f"listening on http://{host}:{port}", flush=True)
    log.info(
        "handinger-slack ready (%s mode%s)",
        settings.mode,
        f", OAuth installs stored in {settings.installations_db}" if settings.oauth else "",
    )


async def _close(parts: Parts, server: IngressThread) -> None:
    """Stop taking work first (schedules, Slack, the web server), then finish and close."""
    await parts.watcher.aclose()
    if parts.socket is not None:
        await parts.socket.close_async()  # type: ignore[no-untyped-call]
    await server.stop()
    await parts.runner.aclose()
    await parts.surface.aclose()
    await parts.handinger.aclose()
    await parts.store.close()


EVENT_MEMORY = 24 * 3600.0
"""How long handled Slack events, commands and clicks are remembered; Slack retries events
within minutes, and a replayed request is refused as stale after 5."""


async def _prune_events(store: Store) -> None:
    while True:
        removed = await store.prune_events(older_than=EVENT_MEMORY)
        if removed:
            log.info("forgot %d handled Slack request id(s) older than a day", removed)
        await asyncio.sleep(3600)


async def _is_assistant(store: Store, team_id: str, channel_id: str, thread_ts: str) -> bool:
    """Whether a thread is the assistant pane's, as its stored record says."""
    return await store.find_assistant_thread(team_id, channel_id, thread_ts) is not None
