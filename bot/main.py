"""Wire the parts together and run until stopped: store, Handinger client, runner, Slack."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings

from .config import Settings
from .core.departures import Departures
from .core.digests import Digests
from .core.files import FileDelivery
from .core.heartbeat import Heartbeat
from .core.ownership import Ownership, new_owner
from .core.ports import Surface
from .core.runner import Runner, RunnerPolicy
from .core.schedule_stops import ScheduleStops
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
from .slack.inbox import Inbox, IngressWriter
from .slack.inflight import InflightListeners
from .slack.ingress import CheckedSocketModeHandler, Checks, Gate, SlackEndpoint
from .slack.ingress_thread import Core, IngressThread
from .slack.installations import STATE_EXPIRATION, InstallationStore, oauth_settings
from .slack.installations_db import DatabaseInstallationStore, DatabaseStateStore, create_tables
from .slack.publisher import SlackSurface
from .slack.shared_rates import SharedRates
from .slack.streaming import NativeStreams
from .store import Store, open_side_store, open_store

Installations = InstallationStore | DatabaseInstallationStore

log = logging.getLogger("handinger_slack")

LISTENERS_DRAIN = 10.0
"""Seconds a stopping app waits for the Slack requests it is handling to finish."""
HEALTH_TIMEOUT = 3.0
"""Seconds `/healthz` waits for the database (Docker's health check gives up after 5)."""


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
    inflight: InflightListeners
    departures: Departures
    inbox: Inbox
    writer: IngressWriter | None
    socket: CheckedSocketModeHandler | None = None

    def heartbeat(self) -> Heartbeat:
        """This process's heartbeat over its background duties (`core/heartbeat.py`)."""
        every = self.runner.policy.takeover_every
        return Heartbeat(self.runner, self.watcher, self.inbox, self.departures, every)

    async def health(self) -> dict[str, Any]:
        """`/healthz`: Slack's connection (Socket Mode) and the database both answer; and how
        many statements (round trips) this process sent its database so far, before this
        check's own (`database_statements`, `sql.Tally`), for benchmarks."""
        connected = self.socket is None or bool(self.socket.client.current_session is not None)
        status: dict[str, Any] = {
            "mode": self.settings.mode,
            "database_statements": self.store.db.tally.statements,
        }
        try:
            runs = await asyncio.wait_for(self.store.active_runs(), HEALTH_TIMEOUT)
            status["active_runs"] = len(runs)
            status["database"] = "ok"
        except Exception as exc:  # a driver error or no answer: it cannot serve the app now
            # Not logged: probes come every few seconds, and the store logs an outage once.
            status["database"] = f"unreachable: {_why(exc)}"
        return {"ok": connected and status["database"] == "ok", **status}


def _why(error: Exception) -> str:
    """What `/healthz` says of a database that failed it: not the driver's text, as in HTTP
    mode anyone who reaches the app's URL may ask."""
    if isinstance(error, TimeoutError):  # a statement waiting out an outage
        return f"no answer within {HEALTH_TIMEOUT:.0f} s"
    return type(error).__name__


async def serve(settings: Settings, *, host: str = "0.0.0.0") -> None:
    """Run the app until SIGINT/SIGTERM. Prints `listening on http://HOST:PORT` when ready."""
    parts = await _assemble(settings)
    server = IngressThread(
        lambda: web_app(
            parts.app,
            endpoint=parts.endpoint,
            health=parts.health,
            core=parts.core,
            writer=parts.writer,
        ),
        host,
        settings.port,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    pruning = asyncio.create_task(_prune_events(parts.store))
    watching: asyncio.Task[None] | None = None
    beating: asyncio.Task[None] | None = None
    try:
        await parts.departures.start()
        recovered = await parts.runner.recover()
        if recovered:
            log.info("%d run(s) were in flight; taking up those no other process holds", recovered)
        taken = await parts.inbox.take_over()
        if taken:
            log.info("%d Slack request(s) a stopped process did not finish are handled now", taken)
        heartbeat = parts.heartbeat()
        beating = asyncio.create_task(heartbeat.run())
        await parts.watcher.startup()
        heartbeat.digests = True
        watching = asyncio.create_task(parts.watcher.run())
        if settings.mode == "socket":
            assert settings.slack_app_token is not None
            token = settings.slack_app_token.get_secret_value()
            parts.socket = CheckedSocketModeHandler(parts.app, token, parts.gate, parts.inbox)
            await parts.socket.connect_async()  # type: ignore[no-untyped-call]
        _announce(settings, host, await server.start())
        await stop.wait()
    finally:
        log.info("shutting down")
        pruning.cancel()
        for task in (watching, beating):
            if task is not None:
                task.cancel()
        await _close(parts, server)


async def _assemble(settings: Settings) -> Parts:
    """Build every part from the settings, the store and clients first, Slack's app last."""
    store = await open_store(settings.postgres_url, settings.handinger_db)
    log.info("state in %s", store.db.describe())
    api_key = settings.handinger_api_key.get_secret_value() if settings.handinger_api_key else ""
    handinger = HandingerClient(
        api_key,
        settings.handinger_base_url,
        stream_idle_timeout=settings.handinger_stream_idle_timeout,
    )
    installations, tokens = await _tokens(settings, store)
    clients = TeamClients(tokens, settings.slack_api_url)
    if installations is not None:
        installations.listeners.append(clients.forget)
    owner = new_owner()  # names this process in leases and in the shared Slack allowances
    home = HomePublisher(clients, store, owner)
    rates = SharedRates(store, owner)
    streams = NativeStreams(clients, rates=rates) if settings.slack_native_streaming else None
    surface: Surface = SlackSurface(
        clients,
        redactor=Redactor(configured_secrets(settings)),
        streams=streams,
        finished=home.run_finished,
        rates=rates,
        is_assistant=partial(_is_assistant, store),
    )
    engine = _engine(settings, store, handinger, surface, owner)
    service = engine.service
    home.attach(service.home)
    app = build_app(
        settings,
        service,
        bolt_client(settings),
        oauth=_oauth(settings, store, installations) if installations is not None else None,
        gone=engine.cleanup.uninstalled,
        home=home,
    )
    core = Core(asyncio.get_running_loop())
    at_once = AtOnce(settings, service.rules)
    lease = settings.handinger_lease_seconds
    pending = engine.runner.ownership.request_pending  # the heartbeat renews what is pending
    inbox = Inbox(app, store, owner, lease, pending)  # requests written down before their ack
    writer = (
        IngressWriter(
            partial(open_side_store, settings.postgres_url, settings.handinger_db),
            owner,
            lease,
            pending,
        )
        if settings.mode == "http"
        else None
    )
    gate, endpoint = _ingress(settings, inbox, writer, core, at_once)
    inflight = InflightListeners(inbox.listener_started, inbox.listener_finished)
    inflight.install(app)
    return Parts(
        settings,
        store,
        handinger,
        surface,
        engine.watcher,
        engine.runner,
        app,
        gate,
        core,
        endpoint,
        inflight,
        engine.departures,
        inbox,
        writer,
    )


@dataclass(frozen=True, slots=True)
class Engine:
    """The app's core, which knows nothing of Slack's wire: runs, schedules and their digests,
    and what happens when a workspace leaves."""

    runner: Runner
    watcher: ScheduleWatcher
    service: Service
    cleanup: WorkspaceCleanup
    departures: Departures


def _engine(
    settings: Settings, store: Store, handinger: HandingerClient, surface: Surface, owner: str
) -> Engine:
    files = FileDelivery(store, handinger, surface, max_bytes=settings.handinger_max_file_bytes)
    lease = settings.handinger_lease_seconds
    ownership = Ownership(store, owner, lease)  # this process's leases on work in flight
    stops = ScheduleStops(store, handinger, surface)
    digests = Digests(store, surface, files, ownership, stops)
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
        policy=RunnerPolicy(lease=lease, takeover_every=min(5.0, lease / 3)),
        ownership=ownership,
    )
    cleanup = WorkspaceCleanup(
        runner, handinger, watcher=watcher, forgets=[surface], schedules_changed=watcher.wake
    )
    service = Service(runner, store, handinger, Rules.of(settings), schedules_changed=watcher.wake)
    departures = Departures(store, cleanup)
    return Engine(runner, watcher, service, cleanup, departures)


async def _tokens(settings: Settings, store: Store) -> tuple[Installations | None, TokenSource]:
    """Each workspace's own token from its installation (OAuth), or the one configured.
    Installations live in the PostgreSQL database with `DATABASE_URL`, else in a SQLite file
    beside `HANDINGER_DB`."""
    if settings.oauth:
        assert settings.slack_client_id is not None
        installations: Installations
        if store.db.dialect == "postgresql":
            await create_tables(store.db)
            installations = DatabaseInstallationStore(store.db, settings.slack_client_id)
        else:
            installations = InstallationStore(settings.installations_db, settings.slack_client_id)
        if settings.slack_bot_token is not None:
            log.warning("SLACK_BOT_TOKEN is ignored: OAuth mode uses each workspace's own token")
        return installations, InstalledTokens(installations)
    bot_token = settings.slack_bot_token
    return None, FixedToken(bot_token.get_secret_value() if bot_token is not None else None)


def _oauth(settings: Settings, store: Store, installations: Installations) -> AsyncOAuthSettings:
    if isinstance(installations, DatabaseInstallationStore):
        return oauth_settings(
            settings, installations, DatabaseStateStore(store.db, STATE_EXPIRATION)
        )
    return oauth_settings(settings, installations)


def _ingress(
    settings: Settings, inbox: Inbox, writer: IngressWriter | None, core: Core, at_once: AtOnce
) -> tuple[Gate, SlackEndpoint | None]:
    """The gate every Slack request passes on the app's loop (written down and claimed once),
    and HTTP mode's checked endpoint, which writes and answers on the ingress thread."""
    where = EVENTS_PATH if writer is not None else "the Socket Mode connection"
    gate = Gate(inbox.receive, where)
    if writer is None:
        return gate, None
    assert settings.slack_signing_secret is not None
    secret = settings.slack_signing_secret.get_secret_value()
    endpoint = SlackEndpoint(
        inbox, secret, Checks(where), writer=writer, replays=gate, at_once=at_once, core=core
    )
    return gate, endpoint


def _announce(settings: Settings, host: str, port: int) -> None:
    print(f"listening on http://{host}:{port}", flush=True)
    log.info(
        "handinger-slack ready (%s mode%s)",
        settings.mode,
        _installs_where(settings) if settings.oauth else "",
    )


def _installs_where(settings: Settings) -> str:
    where = "the database" if settings.postgres_url else str(settings.installations_db)
    return f", OAuth installs stored in {where}"


async def _close(parts: Parts, server: IngressThread) -> None:
    """Stop taking work first (schedules, Slack, the web server), then finish and close;
    during a database outage without waiting for it (the leases then expire instead)."""
    parts.store.db.stop_waiting()
    await parts.watcher.aclose()
    if parts.socket is not None:
        await parts.socket.close_async()  # type: ignore[no-untyped-call]
    await server.stop()
    left = await parts.inflight.drain(LISTENERS_DRAIN)  # requests already claimed finish
    if left:
        log.warning("%d Slack request(s) still being handled at shutdown", left)
    await parts.runner.aclose()  # lets go of every lease: other processes take over at once
    await parts.surface.aclose()
    await parts.handinger.aclose()
    log.info("database statements sent since start: %d", parts.store.db.tally.statements)
    await parts.store.close()


EVENT_MEMORY = 24 * 3600.0
"""How long handled Slack events, commands and clicks are remembered; Slack retries events
within minutes, and a replayed request is refused as stale after 5."""


async def _prune_events(store: Store) -> None:
    """Hourly: forget handled Slack requests older than a day, and the shared Slack
    allowances' rows that no window of the last hour used (`Store.prune_rates`)."""
    while True:
        removed = await store.prune_events(older_than=EVENT_MEMORY)
        if removed:
            log.info("forgot %d handled Slack request id(s) older than a day", removed)
        await store.prune_rates(older_than=3600)
        await asyncio.sleep(3600)


async def _is_assistant(store: Store, team_id: str, channel_id: str, thread_ts: str) -> bool:
    """Whether a thread is the assistant pane's, as its stored record says."""
    return await store.find_assistant_thread(team_id, channel_id, thread_ts) is not None
