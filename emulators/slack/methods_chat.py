"""chat.postMessage, chat.update, chat.delete, chat.postEphemeral, chat.getPermalink."""

from __future__ import annotations

from .calls import Call, Handler
from .content import Content, read_content
from .errors import ApiError
from .render import api_message
from .state import JSON, Channel, Message


def resolve_thread(channel: Channel, thread_ts: str | None) -> str | None:
    """A reply's ts means its root's thread; an unknown ts posts to the channel (unverified)."""
    if not thread_ts:
        return None
    root = channel.messages.get(thread_ts)
    if root is None or root.deleted:
        return None
    return root.thread_ts if root.is_reply else root.ts


def dm_channel(call: Call, user_id: str) -> Channel:
    """`channel=U…` posts into the app's DM with that user, creating it if needed."""
    if call.world.user(user_id, call.workspace.id) is None:
        raise ApiError("channel_not_found")
    found = call.world.dm_between(call.workspace.id, user_id, call.bot_user)
    if found is not None:
        return found
    ident = call.world.new_id("D")
    created = int(call.emu.clock.wall())
    channel = Channel(
        ident, call.workspace.id, ident, "im", [user_id, call.bot_user], created, user_id
    )
    call.world.add_channel(channel)
    return channel


def post_channel(call: Call) -> Channel:
    ident = call.text("channel") or ""
    if ident[:1] in ("U", "W") and ident not in call.world.channels:
        return dm_channel(call, ident)
    return call.channel()


def new_bot_message(
    call: Call, channel: Channel, content: Content, thread_ts: str | None
) -> Message:
    return Message(
        ts=call.world.new_ts(),
        channel=channel.id,
        team=channel.team,
        user=call.bot_user,
        text=content.text or "",
        blocks=content.blocks,
        attachments=content.attachments,
        bot_id=call.workspace.bot_id,
        thread_ts=thread_ts,
        metadata=content.metadata,
        username=call.text("username"),
        icon=_icon(call),
    )


def _icon(call: Call) -> JSON | None:
    emoji, url = call.text("icon_emoji"), call.text("icon_url")
    if emoji:
        return {"emoji": emoji}
    if url:
        return {"image_48": url}
    return None


def post_message(call: Call) -> JSON:
    channel = call.open_channel(post_channel(call))
    content = read_content(call.params, call.emu.settings.long_text)
    if content.empty:
        raise ApiError("no_text")
    call.warnings += content.warnings
    message = new_bot_message(
        call, channel, content, resolve_thread(channel, call.text("thread_ts"))
    )
    call.world.add_message(message, call.method)
    call.emu.posted(message)
    return {"channel": channel.id, "ts": message.ts, "message": api_message(call.world, message)}


def own_message(call: Call, channel: Channel, error: str) -> Message:
    message = call.message(channel, call.text("ts"))
    if message.user != call.bot_user or message.bot_id != call.workspace.bot_id:
        raise ApiError(error)
    return message


def update(call: Call) -> JSON:
    channel = call.open_channel(call.channel(), "is_inactive")
    message = own_message(call, channel, "cant_update_message")
    if message.stream_state == "streaming":
        raise ApiError("streaming_state_conflict")
    content = read_content(call.params, call.emu.settings.long_text)
    if not content.given:
        raise ApiError("no_text")
    call.warnings += content.warnings
    previous = call.emu.snapshot(message)
    if "text" in content.given:
        message.text = content.text or ""
        if "blocks" not in content.given:
            message.blocks = None  # documented: text without blocks removes the blocks
    if "blocks" in content.given:
        message.blocks = content.blocks or None
    if "attachments" in content.given:
        message.attachments = content.attachments or None
    if "metadata" in content.given:
        message.metadata = content.metadata or None
    edit_ts = call.world.record_version(message, call.method)
    message.edited = {"user": call.bot_user, "ts": edit_ts}
    call.emu.changed(message, previous, edit_ts)
    return {
        "channel": channel.id,
        "ts": message.ts,
        "text": message.text,
        "message": api_message(call.world, message),
    }


def delete(call: Call) -> JSON:
    channel = call.channel()
    message = own_message(call, channel, "cant_delete_message")
    previous = call.emu.snapshot(message)
    message.deleted = True
    call.emu.deleted(message, previous, call.world.new_ts())
    return {"channel": channel.id, "ts": message.ts}


def post_ephemeral(call: Call) -> JSON:
    channel = call.open_channel(call.channel())
    user = call.required("user", "user_not_in_channel")
    if call.world.user(user, call.workspace.id) is None or user not in channel.members:
        raise ApiError("user_not_in_channel")
    content = read_content(call.params, call.emu.settings.long_text)
    if content.empty:
        raise ApiError("no_text")
    call.warnings += content.warnings
    ts = call.world.new_ts()
    call.emu.records.add_ephemeral(
        {
            "ts": ts,
            "time": call.emu.clock.wall(),
            "team": channel.team,
            "channel": channel.id,
            "user": user,
            "text": content.text or "",
            "blocks": content.blocks,
            "attachments": content.attachments,
            "thread_ts": resolve_thread(channel, call.text("thread_ts")),
            "source": call.method,
            "response_type": "ephemeral",
        }
    )
    return {"message_ts": ts}


def get_permalink(call: Call) -> JSON:
    channel = call.visible_channel()
    message = call.message(channel, call.text("message_ts"))
    domain = call.workspace.domain
    link = f"https://{domain}.slack.com/archives/{channel.id}/p{message.ts.replace('.', '')}"
    if message.is_reply:
        link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
    return {"channel": channel.id, "permalink": link}


METHODS: dict[str, Handler] = {
    "chat.postMessage": post_message,
    "chat.update": update,
    "chat.delete": delete,
    "chat.postEphemeral": post_ephemeral,
    "chat.getPermalink": get_permalink,
}
