"""The emulated Slack world: workspaces, users, conversations, messages with full edit history.

Plain dataclasses and lookups only; no HTTP and no events, so the rules about who may see or
change what live in the method handlers, and this module stays easy to reason about.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

from .clock import Clock

ChannelKind = Literal["public", "private", "im", "mpim"]
JSON = dict[str, Any]

APP_ID = "A0001"
VERIFICATION_TOKEN = "emulator-verification-token"


@dataclass
class Workspace:
    id: str
    name: str
    domain: str
    bot_token: str
    bot_user_id: str
    bot_id: str
    installed: bool = True
    """Whether the app is installed here: its bot token works and events are delivered."""
    bot_scopes: list[str] = field(default_factory=list)
    """Bot scopes granted: the manifest's for a seeded installation, else those of the OAuth
    installs (`oauth.v2.access`); `/_emulator/scopes` sets them."""


@dataclass
class User:
    id: str
    team: str
    name: str
    real_name: str
    is_admin: bool = False
    is_bot: bool = False
    bot_id: str | None = None


@dataclass
class Version:
    """One state of a message: the original post, then one per edit or stream append."""

    time: float
    text: str
    blocks: list[JSON] | None
    source: str
    ts: str


@dataclass
class Message:
    ts: str
    channel: str
    team: str
    user: str
    text: str
    blocks: list[JSON] | None = None
    attachments: list[JSON] | None = None
    bot_id: str | None = None
    thread_ts: str | None = None
    subtype: str | None = None
    metadata: JSON | None = None
    username: str | None = None
    icon: JSON | None = None
    replies: list[str] = field(default_factory=list)
    reactions: dict[str, list[str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    versions: list[Version] = field(default_factory=list)
    edited: JSON | None = None
    deleted: bool = False
    stream_state: str | None = None
    chunks: list[JSON] = field(default_factory=list)
    assistant_status: str | None = None
    client_msg_id: str | None = None

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts


@dataclass
class Channel:
    id: str
    team: str
    name: str
    kind: ChannelKind
    members: list[str]
    created: int
    creator: str
    messages: dict[str, Message] = field(default_factory=dict)
    archived: bool = False
    """Archived (`POST /_emulator/channels/{id}/archive`): nobody can post, join or react."""

    @property
    def is_private(self) -> bool:
        return self.kind != "public"

    def top_level(self) -> list[Message]:
        return sorted((m for m in self.messages.values() if not m.is_reply), key=lambda m: m.ts)


@dataclass
class FileObject:
    id: str
    team: str
    user: str
    name: str
    title: str
    mimetype: str
    filetype: str
    length: int
    created: int
    alt_txt: str | None = None
    content: bytes | None = None
    channels: list[str] = field(default_factory=list)
    completed: bool = False
    url_private: str | None = None
    """Where the file says it lives, when not on this emulator (a test's foreign host)."""


@dataclass
class Grant:
    """An OAuth authorization a user approved: its `code` is exchanged once by `oauth.v2.access`."""

    code: str
    team: str
    user: str
    scopes: list[str]
    user_scopes: list[str]
    redirect_uri: str | None
    created: float
    used: bool = False


class World:
    """All state that `/_emulator/reset` throws away."""

    def __init__(self, clock: Clock, app_token: str, base_url: str = "") -> None:
        self.clock = clock
        self.app_token = app_token
        self.base_url = base_url  # http://HOST:PORT of this emulator, for URLs it hands out
        self.workspaces: dict[str, Workspace] = {}
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.files: dict[str, FileObject] = {}
        self.bot_tokens: dict[str, str] = {}
        self.revoked_tokens: dict[str, str] = {}  # token → team, after an uninstall
        self.grants: dict[str, Grant] = {}  # OAuth code → what was approved
        self.assistant_threads: dict[tuple[str, str], Any] = {}  # (DM, root ts) → `assistant`
        self._last_ts_us = 0
        self._counters: dict[str, itertools.count[int]] = {}

    # ids and timestamps -------------------------------------------------------------------

    def new_id(self, prefix: str, width: int = 4) -> str:
        """The next free id such as `C0003`; skips ids taken by seeds or explicit requests."""
        counter = self._counters.setdefault(prefix, itertools.count(1))
        while True:
            candidate = f"{prefix}{next(counter):0{width}d}"
            if not self.id_taken(candidate):
                return candidate

    def id_taken(self, ident: str) -> bool:
        return (
            ident in self.workspaces
            or ident in self.users
            or ident in self.channels
            or ident in self.files
            or any(w.bot_id == ident for w in self.workspaces.values())
        )

    def new_ts(self) -> str:
        """Slack-style `seconds.micros`, strictly increasing across the whole emulator."""
        now_us = int(self.clock.wall() * 1_000_000)
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    # lookups ------------------------------------------------------------------------------

    def workspace_for_token(self, token: str) -> Workspace | None:
        team = self.bot_tokens.get(token)
        return self.workspaces.get(team) if team else None

    def channel(self, channel_id: str, team: str | None = None) -> Channel | None:
        """By id, or by `#name`/`name` within a workspace (chat.postMessage accepts names)."""
        found = self.channels.get(channel_id)
        if found is not None:
            return found if team is None or found.team == team else None
        name = channel_id.removeprefix("#")
        for candidate in self.channels.values():
            if (
                candidate.name == name
                and candidate.kind in ("public", "private")
                and (team is None or candidate.team == team)
            ):
                return candidate
        return None

    def user(self, user_id: str, team: str | None = None) -> User | None:
        found = self.users.get(user_id)
        if found is None or (team is not None and found.team != team):
            return None
        return found

    def dm_between(self, team: str, user_a: str, user_b: str) -> Channel | None:
        for candidate in self.channels.values():
            if (
                candidate.team == team
                and candidate.kind == "im"
                and set(candidate.members) == {user_a, user_b}
            ):
                return candidate
        return None

    def find_message(self, ts: str) -> Message | None:
        for candidate in self.channels.values():
            if ts in candidate.messages:
                return candidate.messages[ts]
        return None

    # mutations ----------------------------------------------------------------------------

    def add_workspace(self, workspace: Workspace) -> None:
        self.workspaces[workspace.id] = workspace
        if workspace.installed:
            self.bot_tokens[workspace.bot_token] = workspace.id

    def install(self, workspace: Workspace, scopes: list[str]) -> None:
        """The app is (re)installed: the bot token works again (a new one after a revocation)
        and the granted scopes add up, as on Slack."""
        if workspace.bot_token in self.revoked_tokens:
            base = workspace.bot_token.rsplit(".r", 1)[0]
            generation = 2
            while f"{base}.r{generation}" in self.revoked_tokens:
                generation += 1
            workspace.bot_token = f"{base}.r{generation}"
        workspace.installed = True
        workspace.bot_scopes = sorted({*workspace.bot_scopes, *scopes})
        self.bot_tokens[workspace.bot_token] = workspace.id

    def uninstall(self, workspace: Workspace) -> None:
        """The app is removed: its bot token is revoked (`token_revoked` from now on)."""
        self.bot_tokens.pop(workspace.bot_token, None)
        self.revoked_tokens[workspace.bot_token] = workspace.id
        workspace.installed = False
        workspace.bot_scopes = []

    def add_user(self, user: User) -> None:
        self.users[user.id] = user

    def add_channel(self, channel: Channel) -> None:
        self.channels[channel.id] = channel

    def add_message(self, message: Message, source: str) -> None:
        """Store a new message, record version 0, and link a reply to its thread root."""
        message.versions.append(
            Version(self.clock.wall(), message.text, message.blocks, source, message.ts)
        )
        channel = self.channels[message.channel]
        channel.messages[message.ts] = message
        if message.is_reply and message.thread_ts is not None:
            root = channel.messages[message.thread_ts]
            root.replies.append(message.ts)
            if root.thread_ts is None:
                root.thread_ts = root.ts

    def record_version(self, message: Message, source: str) -> str:
        """Append the message's current state to its history; returns the edit's own ts."""
        ts = self.new_ts()
        message.versions.append(
            Version(self.clock.wall(), message.text, message.blocks, source, ts)
        )
        return ts
