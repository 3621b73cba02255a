"""What the sandbox page is sent: the emulator's stored state in the shapes the page draws.

Every value here is read from the emulator (world, records, limiter, open views) at the moment
it is sent; the page keeps no state of its own beyond what it was last sent. A `Watcher` holds,
for one open page, a fingerprint of everything it has already been sent, so each push carries
only what changed since.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..emulator import Emulator
from ..render import control_file
from ..state import JSON, Channel, Message, World

CALLS_KEPT = 300
"""Web API calls sent to a page that just opened (the newest); later ones all follow."""


def user_view(world: World, user_id: str) -> JSON:
    user = world.users[user_id]
    return {
        "id": user.id,
        "name": user.name,
        "real_name": user.real_name,
        "is_admin": user.is_admin,
        "is_bot": user.is_bot,
    }


def channel_view(channel: Channel) -> JSON:
    return {
        "id": channel.id,
        "name": channel.name,
        "kind": channel.kind,
        "members": list(channel.members),
    }


def message_view(world: World, message: Message) -> JSON:
    """One message as the page draws it; replies are separate messages with `thread_ts`."""
    channel = world.channels[message.channel]
    live = [
        ts for ts in message.replies if ts in channel.messages and not channel.messages[ts].deleted
    ]
    return {
        "ts": message.ts,
        "channel": message.channel,
        "user": message.user,
        "bot_id": message.bot_id,
        "username": message.username,
        "text": message.text,
        "blocks": message.blocks,
        "attachments": message.attachments,
        "thread_ts": message.thread_ts,
        "is_reply": message.is_reply,
        "subtype": message.subtype,
        "deleted": message.deleted,
        "edited": message.edited is not None,
        "edits": len(message.versions) - 1,
        "files": [control_file(world, world.files[f]) for f in message.files if f in world.files],
        "reactions": [
            {"name": name, "users": list(users), "count": len(users)}
            for name, users in message.reactions.items()
        ],
        "reply_count": len(live),
        "reply_users": sorted({channel.messages[ts].user for ts in live}),
        "latest_reply": live[-1] if live else None,
        "stream_state": message.stream_state,
        "tasks": _tasks(message),
        "assistant_status": message.assistant_status,
        "metadata": message.metadata,
    }


def _tasks(message: Message) -> list[JSON]:
    """A streamed message's task timeline: each task's latest `task_update`, in order."""
    latest: dict[str, JSON] = {}
    for chunk in message.chunks:
        if chunk.get("type") == "task_update":
            latest[str(chunk.get("id"))] = {**latest.get(str(chunk.get("id")), {}), **chunk}
    return list(latest.values())


def _message_print(channel: Channel, message: Message) -> tuple[Any, ...]:
    """Changes whenever anything `message_view` shows changes (cheap: no rendering)."""
    live = sum(
        1 for ts in message.replies if ts in channel.messages and not channel.messages[ts].deleted
    )
    return (
        len(message.versions),
        message.deleted,
        live,
        tuple((name, len(users)) for name, users in message.reactions.items()),
        tuple(message.files),
        message.stream_state,
        len(message.chunks),
        message.assistant_status,
    )


def history_view(message: Message) -> list[JSON]:
    """Every stored state of a message, oldest first, with when it was stored and by what."""
    first = message.versions[0].time if message.versions else 0.0
    return [
        {
            "ts": v.ts,
            "time": v.time,
            "after": round(v.time - first, 3),
            "text": v.text,
            "blocks": v.blocks,
            "source": v.source,
        }
        for v in message.versions
    ]


@dataclass
class Watcher:
    """What one open page has been sent so far, so that the next push is only the difference."""

    emu: Emulator
    team: str
    world: World | None = None
    messages: dict[tuple[str, str], tuple[Any, ...]] = field(default_factory=dict)
    ephemeral: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    calls_seq: int = 0
    directory: str = ""
    views: dict[str, str] = field(default_factory=dict)

    def delta(self) -> JSON | None:
        """Everything that changed since the last call (all of it the first time, or after an
        emulator reset, flagged `full`), or None when nothing did."""
        emu, world = self.emu, self.emu.world
        out: JSON = {}
        if world is not self.world:
            self.__init__(emu, self.team)  # type: ignore[misc]
            self.world = world
            out["full"] = True
        directory = self._directory(world)
        encoded = json.dumps(directory, sort_keys=True)
        if encoded != self.directory:
            self.directory = encoded
            out["directory"] = directory
        messages = self._messages(world)
        if messages:
            out["messages"] = messages
        ephemeral = self._ephemeral()
        if ephemeral:
            out["ephemeral"] = ephemeral
        calls = [c for c in emu.records.calls if c["seq"] > self.calls_seq]
        if calls:
            self.calls_seq = calls[-1]["seq"]
            out["calls"] = calls[-CALLS_KEPT:]
            out["limits"] = emu.limiter.levels()
        views = self._views()
        if views is not None:
            out["views"] = views
        return out or None

    def _directory(self, world: World) -> JSON:
        workspace = world.workspaces[self.team]
        return {
            "team": {"id": workspace.id, "name": workspace.name, "domain": workspace.domain},
            "bot_user": workspace.bot_user_id,
            "users": [user_view(world, u.id) for u in world.users.values() if u.team == self.team]
            + [
                {
                    "id": workspace.bot_user_id,
                    "name": "Handinger",
                    "real_name": "Handinger",
                    "is_admin": False,
                    "is_bot": True,
                }
            ],
            "channels": [channel_view(c) for c in world.channels.values() if c.team == self.team],
        }

    def _messages(self, world: World) -> list[JSON]:
        changed = []
        for channel in world.channels.values():
            if channel.team != self.team:
                continue
            for message in channel.messages.values():
                key = (channel.id, message.ts)
                fingerprint = _message_print(channel, message)
                if self.messages.get(key) != fingerprint:
                    self.messages[key] = fingerprint
                    changed.append(message_view(world, message))
        return changed

    def _ephemeral(self) -> list[JSON]:
        changed = []
        for record in self.emu.records.ephemeral:
            if record.get("team") != self.team:
                continue
            fingerprint = (len(record.get("edits", [])), bool(record.get("deleted")))
            if self.ephemeral.get(record["seq"]) != fingerprint:
                self.ephemeral[record["seq"]] = fingerprint
                changed.append(record)
        return changed

    def _views(self) -> list[JSON] | None:
        """The open modals of this workspace, each with the `user` it is open for (the page
        shows a person only their own), all of them whenever any changed."""
        state = self.emu.interactions
        current = {
            str(view_id): json.dumps(
                {**view, "user": state.openers.get(view_id)}, sort_keys=True, default=str
            )
            for view_id, view in state.views.items()
            if view.get("type") == "modal" and view.get("team_id") == self.team
        }
        if current == self.views:
            return None
        self.views = current
        return [json.loads(encoded) for encoded in current.values()]
