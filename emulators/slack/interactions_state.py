"""Short-lived handles Slack gives an app: response URLs, trigger ids, open views."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field
from typing import Any

RESPONSE_URL_USES = 5
RESPONSE_URL_LIFETIME = 30 * 60.0  # emulated seconds
TRIGGER_LIFETIME = 3.0  # real seconds, like an ack deadline


@dataclass
class ResponseUrl:
    """Where `respond()` posts: tied to the command or click that produced it."""

    id: str
    kind: str  # "slash", "action" or "shortcut"
    team: str
    channel: str
    user: str
    created: float  # emulated time
    message_ts: str | None = None
    is_ephemeral: bool = False
    thread_ts: str | None = None
    uses: int = 0


@dataclass
class InteractionState:
    response_urls: dict[str, ResponseUrl] = field(default_factory=dict)
    triggers: dict[str, tuple[float, str, str]] = field(
        default_factory=dict
    )  # id→(real, team, user)
    used_triggers: set[str] = field(default_factory=set)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    openers: dict[str, str] = field(default_factory=dict)  # modal id→the user who sees it
    home: dict[str, dict[str, Any]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_number(self) -> int:
        return next(self._ids)

    def new_trigger(self, real_now: float, team: str, user: str) -> str:
        n = self.next_number()
        trigger = f"{n}.{int(real_now)}.{secrets.token_hex(16)}"
        self.triggers[trigger] = (real_now, team, user)
        return trigger

    def close_view(self, view_id: str) -> bool:
        """The modal is gone (submitted, cancelled or dismissed); whether it was open."""
        self.openers.pop(view_id, None)
        return self.views.pop(view_id, None) is not None

    def modals_of(self, team: str, user: str) -> list[dict[str, Any]]:
        """The modals open for one user, oldest first: a modal is shown only to the person
        whose click or command opened it, never to the rest of the workspace."""
        return [
            view
            for view_id, view in self.views.items()
            if view.get("type") == "modal"
            and view.get("team_id") == team
            and self.openers.get(view_id) == user
        ]

    def new_response_url(self, base_url: str, entry: ResponseUrl) -> str:
        self.response_urls[entry.id] = entry
        return f"{base_url}/_emulator/response/{entry.id}"
