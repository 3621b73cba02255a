"""The app as its manifest configures it: the bot scopes an install grants, and the bot events
Slack delivers to it.

The emulator reads the app's `manifest.yml` (by default the one at the root of this
repository, `--manifest PATH` for another, `--manifest none` for none). Without a manifest the
app is granted every scope in `SCOPES_BY_METHOD` and subscribed to every event, as before the
emulator checked either.

Scopes, as Slack's method pages list them: a call whose workspace lacks all of the scopes a
method accepts answers `missing_scope` with `needed` (the accepted scopes, comma-separated) and
`provided` (the granted ones). The conversations methods need the scope of the conversation's
type (`channels:history` for a public channel, `groups:history` for a private one, ...).
Events: `message` events come under `message.channels`, `message.groups`, `message.im` or
`message.mpim` by conversation type; each is delivered only if the manifest subscribes to it
and the workspace granted the scope it needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import ApiError
from .state import ChannelKind, Workspace

REPO_MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"

Scopes = tuple[str, ...]
PREFIX_BY_KIND = {"public": "channels", "private": "groups", "im": "im", "mpim": "mpim"}
HISTORY: Mapping[str, Scopes] = {k: (f"{p}:history",) for k, p in PREFIX_BY_KIND.items()}
READ: Mapping[str, Scopes] = {k: (f"{p}:read",) for k, p in PREFIX_BY_KIND.items()}

SCOPES_BY_METHOD: Mapping[str, Scopes] = {
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.startStream": ("chat:write",),
    "chat.appendStream": ("chat:write",),
    "chat.stopStream": ("chat:write",),
    "assistant.threads.setStatus": ("chat:write", "assistant:write"),
    "assistant.threads.setSuggestedPrompts": ("assistant:write",),
    "assistant.threads.setTitle": ("assistant:write",),
    "reactions.add": ("reactions:write",),
    "reactions.remove": ("reactions:write",),
    "conversations.join": ("channels:join",),
    "conversations.open": ("im:write",),
    "users.info": ("users:read",),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
    "files.info": ("files:read",),
}
"""Methods that need a scope whatever the conversation; any one of the listed scopes will do.
Methods not listed here or in `SCOPES_BY_KIND` need none (auth.test, views.*,
chat.getPermalink)."""

SCOPES_BY_KIND: Mapping[str, Mapping[str, Scopes]] = {
    "conversations.history": HISTORY,
    "conversations.replies": HISTORY,
    "conversations.info": READ,
    "conversations.members": READ,
}
"""Methods whose scope depends on the conversation's type."""

EVENT_SCOPES: Mapping[str, Scopes] = {
    "message.channels": ("channels:history",),
    "message.groups": ("groups:history",),
    "message.im": ("im:history",),
    "message.mpim": ("mpim:history",),
    "app_mention": ("app_mentions:read",),
    "assistant_thread_started": ("assistant:write",),
    "assistant_thread_context_changed": ("assistant:write",),
}
ALL_SCOPES: Scopes = tuple(
    sorted(
        {s for scopes in SCOPES_BY_METHOD.values() for s in scopes}
        | {s for table in SCOPES_BY_KIND.values() for scopes in table.values() for s in scopes}
        | {s for scopes in EVENT_SCOPES.values() for s in scopes}
        | {"commands"}
    )
)


@dataclass(frozen=True)
class AppConfig:
    """What the manifest says; `bot_events` None means every event is subscribed."""

    bot_scopes: Scopes
    bot_events: frozenset[str] | None
    source: str
    message_shortcuts: frozenset[str] | None = None
    """The `callback_id`s of the manifest's message shortcuts; None: any (no manifest)."""


def load_app(manifest: str) -> AppConfig:
    """`auto`: the repository's manifest.yml if there is one; `none`: no manifest; else a path."""
    if manifest == "none" or (manifest == "auto" and not REPO_MANIFEST.exists()):
        return AppConfig(ALL_SCOPES, None, "none")
    path = REPO_MANIFEST if manifest == "auto" else Path(manifest)
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    scopes = ((data.get("oauth_config") or {}).get("scopes") or {}).get("bot") or []
    events = ((data.get("settings") or {}).get("event_subscriptions") or {}).get("bot_events")
    shortcuts = (data.get("features") or {}).get("shortcuts") or []
    return AppConfig(
        tuple(sorted({str(s) for s in scopes})),
        frozenset(str(e) for e in events or []),
        str(path),
        frozenset(str(s.get("callback_id")) for s in shortcuts if s.get("type") == "message"),
    )


def require_scopes(workspace: Workspace, method: str, kind: ChannelKind | None) -> None:
    """Raise `missing_scope` unless the workspace granted one of the scopes `method` accepts."""
    by_kind = SCOPES_BY_KIND.get(method)
    if by_kind is not None:
        accepted = by_kind[kind] if kind else tuple(s for v in by_kind.values() for s in v)
    else:
        accepted = SCOPES_BY_METHOD.get(method, ())
    if accepted and not set(accepted) & set(workspace.bot_scopes):
        raise ApiError(
            "missing_scope", needed=",".join(accepted), provided=",".join(workspace.bot_scopes)
        )


def subscription(event: dict[str, Any], kind: ChannelKind | None) -> str:
    """The manifest's name for an event: `message.channels` for a message in a public
    channel, else the event's type."""
    name = str(event.get("type"))
    if name == "message" and kind is not None:
        return f"message.{PREFIX_BY_KIND[kind]}"
    return name


def delivers(app: AppConfig, workspace: Workspace, name: str) -> bool:
    """Whether Slack sends the app this event: subscribed to, with its scope granted."""
    if app.bot_events is not None and name not in app.bot_events:
        return False
    needed = EVENT_SCOPES.get(name, ())
    return not needed or bool(set(needed) & set(workspace.bot_scopes))
