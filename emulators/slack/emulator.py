"""The emulator object: settings, clock, world, limiter, logs and delivery, wired together.

Handlers get this one object; it also decides which changes produce events for the app
(`post`, `changed`, `deleted`), so the Events API stays consistent no matter which method or
control route made the change.
"""

from __future__ import annotations

import copy
import dataclasses

from aiohttp import web

from .app_config import delivers, load_app, subscription
from .clock import Clock
from .config import Settings
from .delivery import Delivery
from .events import (
    events_for_post,
    message_changed_event,
    message_deleted_event,
)
from .faults import Faults
from .http_delivery import HttpSender
from .interactions_state import InteractionState
from .limits import RateLimiter
from .records import Records
from .render import api_message
from .seed import seed_default
from .socket_mode import SocketHub
from .state import JSON, Message, Workspace, World


class Emulator:
    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.startup = settings.copy()
        self.settings = settings
        self.clock = clock or Clock(settings.time_scale)
        self.base_url = ""
        self.records = Records()
        self.limiter = RateLimiter(self.clock, settings.rate_limits)
        self.socket = SocketHub(settings)
        self.http = HttpSender(settings)
        self.delivery = Delivery(settings, self.clock, self.records, self.socket, self.http)
        self.interactions = InteractionState()
        self.faults = Faults()
        self.uploads: dict[str, str] = {}  # upload_url key → file id
        self.app = load_app(settings.manifest)
        self.world = self._new_world()

    def _new_world(self) -> World:
        world = World(self.clock, self.settings.app_token, self.base_url)
        seed_default(world, self.settings.bot_token, self.app.bot_scopes)
        return world

    def set_base_url(self, base_url: str) -> None:
        self.base_url = base_url
        self.world.base_url = base_url

    def reset(self) -> None:
        """Back to the state at startup; open Socket Mode connections stay open."""
        self.delivery.reset()
        self.socket.reset()
        for f in dataclasses.fields(Settings):
            setattr(self.settings, f.name, copy.deepcopy(getattr(self.startup, f.name)))
        self.clock.set_scale(self.settings.time_scale)
        self.limiter.mode = self.settings.rate_limits
        self.limiter.reset()
        self.records = Records()
        self.delivery.records = self.records
        self.interactions = InteractionState()
        self.faults.clear()
        self.uploads = {}
        self.world = self._new_world()

    # events that follow changes ------------------------------------------------------------

    def _wants(self, message: Message) -> bool:
        """Nothing reaches an app that is not installed; its own posts come back to it only
        with `--bot-events on` (Slack's behaviour)."""
        workspace = self.world.workspaces[message.team]
        if not workspace.installed:
            return False
        return self.settings.bot_events or message.user != workspace.bot_user_id

    def posted(self, message: Message, subtype: str | None = None) -> list[str]:
        """Emit `message` (and `app_mention`) events for a new message; returns event ids."""
        if not self._wants(message):
            return []
        workspace = self.world.workspaces[message.team]
        return [
            self.delivery.emit(workspace, event)
            for event in events_for_post(self.world, message, subtype)
            if self.subscribed(workspace, event)
        ]

    def subscribed(self, workspace: Workspace, event: JSON) -> bool:
        """Whether the app's manifest subscribes to `event` (with its scope granted)."""
        channel = self.world.channels.get(str(event.get("channel", "")))
        name = subscription(event, channel.kind if channel is not None else None)
        return delivers(self.app, workspace, name)

    def snapshot(self, message: Message) -> JSON:
        """The API shape before a change, for `previous_message`."""
        return api_message(self.world, message)

    def changed(self, message: Message, previous: JSON, event_ts: str) -> list[str]:
        if not self._in_channel(message) or not self._wants(message):
            return []
        workspace = self.world.workspaces[message.team]
        event = message_changed_event(self.world, message, previous, event_ts)
        return [self.delivery.emit(workspace, event)] if self.subscribed(workspace, event) else []

    def deleted(self, message: Message, previous: JSON, event_ts: str) -> list[str]:
        if not self._in_channel(message) or not self._wants(message):
            return []
        workspace = self.world.workspaces[message.team]
        event = message_deleted_event(self.world, message, previous, event_ts)
        return [self.delivery.emit(workspace, event)] if self.subscribed(workspace, event) else []

    def _in_channel(self, message: Message) -> bool:
        channel = self.world.channels[message.channel]
        return self.world.workspaces[channel.team].bot_user_id in channel.members


#: Where the aiohttp application keeps its emulator.
EMULATOR = web.AppKey("emulator", Emulator)
