"""One Web API call as handlers see it: typed argument access and Slack's access rules.

Arguments arrive as JSON values, form strings or query strings depending on the client
(see reference §11), so every accessor accepts all three spellings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .emulator import Emulator
from .errors import ApiError
from .state import JSON, Channel, Message, Workspace, World

TRUE = {"1", "true", "True", "yes"}


@dataclass
class Call:
    emu: Emulator
    method: str
    params: dict[str, Any]
    workspace: Workspace
    warnings: list[str] = field(default_factory=list)

    @property
    def world(self) -> World:
        return self.emu.world

    @property
    def bot_user(self) -> str:
        return self.workspace.bot_user_id

    # arguments ------------------------------------------------------------------------------

    def text(self, name: str) -> str | None:
        value = self.params.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else str(value)

    def required(self, name: str, error: str = "invalid_arguments") -> str:
        value = self.text(name)
        if not value:
            raise ApiError(error, response_metadata={"messages": [f"[ERROR] missing {name}"]})
        return value

    def flag(self, name: str) -> bool:
        value = self.params.get(name)
        if isinstance(value, bool):
            return value
        return value is not None and str(value) in TRUE

    def number(self, name: str, default: int, low: int = 1, high: int = 1000) -> int:
        value = self.params.get(name)
        if value in (None, ""):
            return default
        try:
            number = int(str(value))
        except ValueError as exc:
            raise ApiError("invalid_limit") from exc
        return max(low, min(high, number))

    # access rules ---------------------------------------------------------------------------

    def channel(self, name: str = "channel") -> Channel:
        """Resolve a conversation the bot may use.

        Reading or writing a public channel the bot is not in gives `not_in_channel`; a
        private channel or DM it is not in does not exist as far as the bot can tell.
        """
        return self.channel_by_id(self.required(name, "channel_not_found"))

    def channel_by_id(self, ident: str) -> Channel:
        channel = self.world.channel(ident, self.workspace.id)
        if channel is None:
            raise ApiError("channel_not_found")
        if self.bot_user not in channel.members:
            raise ApiError("not_in_channel" if channel.kind == "public" else "channel_not_found")
        return channel

    def visible_channel(self, name: str = "channel") -> Channel:
        """For conversations.info/join: public channels are visible without membership."""
        ident = self.required(name, "channel_not_found")
        channel = self.world.channel(ident, self.workspace.id)
        if channel is None or (channel.is_private and self.bot_user not in channel.members):
            raise ApiError("channel_not_found")
        return channel

    def open_channel(self, channel: Channel, error: str = "is_archived") -> Channel:
        """`channel` unless it is archived: then `error` (`is_inactive` for chat.update)."""
        if channel.archived:
            raise ApiError(error)
        return channel

    def message(
        self, channel: Channel, ts: str | None, error: str = "message_not_found"
    ) -> Message:
        found = channel.messages.get(ts or "")
        if found is None or found.deleted:
            raise ApiError(error)
        return found


Handler = Callable[[Call], JSON]
