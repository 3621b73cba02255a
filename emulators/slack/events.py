"""Events API payloads, built the way Slack builds them (see the package docstring for shapes).

Pure functions: they turn stored messages into `event` objects and wrap them in the
`event_callback` envelope. Deciding *whether* an event is due (membership, mentions, DMs) is
`should_notify`'s job; sending is `delivery`'s.
"""

from __future__ import annotations

import re
from typing import Any

from .render import api_message
from .state import APP_ID, JSON, VERIFICATION_TOKEN, Channel, Message, Workspace, World

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def channel_type(channel: Channel) -> str:
    """The `channel_type` field: Slack calls private channels `group`."""
    return {"public": "channel", "private": "group", "im": "im", "mpim": "mpim"}[channel.kind]


def mentions(text: str, user_id: str) -> bool:
    return any(match.group(1) == user_id for match in MENTION.finditer(text))


def _typed(text: str) -> str:
    """What the person typed: `text` escapes &, < and >, the rich_text block does not."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def rich_text(text: str) -> list[JSON]:
    """The `rich_text` block Slack clients attach to what a user types (mentions split out)."""
    elements: list[JSON] = []
    position = 0
    for match in MENTION.finditer(text):
        if match.start() > position:
            elements.append({"type": "text", "text": _typed(text[position : match.start()])})
        elements.append({"type": "user", "user_id": match.group(1)})
        position = match.end()
    if position < len(text):
        elements.append({"type": "text", "text": _typed(text[position:])})
    section = {"type": "rich_text_section", "elements": elements}
    return [{"type": "rich_text", "block_id": "emu", "elements": [section]}]


def message_event(world: World, message: Message, subtype: str | None = None) -> JSON:
    """`message` for a new post (user or bot), including `thread_ts` and `channel_type`."""
    channel = world.channels[message.channel]
    event = api_message(world, message)
    for noisy in ("reply_count", "reply_users", "reply_users_count", "latest_reply"):
        event.pop(noisy, None)
    if not message.is_reply:
        event.pop("thread_ts", None)
    if subtype:
        event["subtype"] = subtype
    if message.files:
        event["upload"] = True
    event["channel"] = channel.id
    event["event_ts"] = message.ts
    event["channel_type"] = channel_type(channel)
    return event


def app_mention_event(world: World, message: Message) -> JSON:
    event = api_message(world, message)
    keep = {"type", "user", "text", "ts", "team", "blocks", "client_msg_id", "thread_ts", "files"}
    event = {k: v for k, v in event.items() if k in keep}
    event["type"] = "app_mention"
    if message.files:
        event["upload"] = False
    if message.is_reply:
        root = world.channels[message.channel].messages.get(message.thread_ts or "")
        if root is not None:
            event["parent_user_id"] = root.user
    else:
        event.pop("thread_ts", None)
    event["channel"] = message.channel
    event["event_ts"] = message.ts
    return event


def message_changed_event(world: World, message: Message, previous: JSON, event_ts: str) -> JSON:
    channel = world.channels[message.channel]
    return {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "message": api_message(world, message),
        "previous_message": previous,
        "channel": channel.id,
        "ts": event_ts,
        "event_ts": event_ts,
        "channel_type": channel_type(channel),
    }


def message_deleted_event(world: World, message: Message, previous: JSON, event_ts: str) -> JSON:
    channel = world.channels[message.channel]
    event: JSON = {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "deleted_ts": message.ts,
        "previous_message": previous,
        "channel": channel.id,
        "ts": event_ts,
        "event_ts": event_ts,
        "channel_type": channel_type(channel),
    }
    if message.is_reply:
        event["thread_ts"] = message.thread_ts
    return event


def event_callback(
    workspace: Workspace, event: JSON, event_id: str, event_time: int, *, authorized: bool = True
) -> JSON:
    """The outer Events API body (HTTP body, or Socket Mode `payload`).

    `authorized=False` leaves out `authorizations`, as in Slack's `app_uninstalled` and
    `tokens_revoked` payloads: there is no installation left to authorize.
    """
    body: JSON = {
        "token": VERIFICATION_TOKEN,
        "team_id": workspace.id,
        "context_team_id": workspace.id,
        "context_enterprise_id": None,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": workspace.id,
                "user_id": workspace.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{event.get('type')}-{workspace.id}-{event.get('channel', '')}",
    }
    if not authorized:
        for key in ("authorizations", "is_ext_shared_channel", "event_context"):
            del body[key]
    return body


def events_for_post(world: World, message: Message, subtype: str | None = None) -> list[JSON]:
    """Which events a new message produces for the app, in Slack's order."""
    channel = world.channels[message.channel]
    workspace = world.workspaces[channel.team]
    if workspace.bot_user_id not in channel.members:
        return []
    events = [message_event(world, message, subtype)]
    is_own = message.user == workspace.bot_user_id
    if not is_own and channel.kind != "im" and mentions(message.text, workspace.bot_user_id):
        events.append(app_mention_event(world, message))
    return events


def url_verification(challenge: str) -> dict[str, Any]:
    return {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
