"""What a person does in Slack that needs the app: slash commands and button clicks, plus
what the app sends back through the ack or the `response_url`.

Slack never retries these: if the app misses the ack deadline the user sees an error. The
control API returns how long the ack took and what immediate response (if any) came with it.
"""

from __future__ import annotations

import secrets
from typing import Any

from .content import Content, read_content
from .emulator import Emulator
from .errors import ApiError
from .interactions_state import (
    RESPONSE_URL_LIFETIME,
    RESPONSE_URL_USES,
    ResponseUrl,
)
from .methods_chat import resolve_thread
from .render import api_message
from .state import APP_ID, JSON, VERIFICATION_TOKEN, Channel, Message, User, Workspace
from .transport import AckResult


def _ack_summary(result: AckResult) -> JSON:
    """How the delivery went, as the control API reports it (`ok` means acked in time)."""
    return {
        "ok": result.acked,
        "acked": result.acked,
        "ack_ms": None if result.ack_ms is None else round(result.ack_ms, 3),
        "status": result.status,
        "error": result.error,
    }


def _response_url(emu: Emulator, kind: str, channel: Channel, user: User, **more: Any) -> str:
    entry = ResponseUrl(
        id=secrets.token_hex(12),
        kind=kind,
        team=channel.team,
        channel=channel.id,
        user=user.id,
        created=emu.clock.now(),
        **more,
    )
    return emu.interactions.new_response_url(emu.base_url, entry)


def _channel_name(channel: Channel) -> str:
    if channel.kind == "im":
        return "directmessage"
    if channel.kind == "mpim":
        return "mpdm"
    return channel.name


async def run_slash(
    emu: Emulator,
    workspace: Workspace,
    channel: Channel,
    user: User,
    command: str,
    text: str,
    repeat: int = 1,
) -> JSON:
    """Deliver `/command text` typed by `user` in `channel`; wait for the ack. With `repeat`,
    the very same payload is delivered that many times (a replay; Slack itself never retries a
    command), each re-signed, and `replays` reports the ack of each delivery after the first."""
    if user.id not in channel.members:
        raise ApiError("user_not_in_channel", status=400)
    response_url = _response_url(emu, "slash", channel, user)
    trigger_id = emu.interactions.new_trigger(emu.clock.wall(), workspace.id, user.id)
    payload = {
        "token": VERIFICATION_TOKEN,
        "team_id": workspace.id,
        "team_domain": workspace.domain,
        "channel_id": channel.id,
        "channel_name": _channel_name(channel),
        "user_id": user.id,
        "user_name": user.name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
    result, out = await _deliver(emu, "slash_commands", workspace.id, payload, command, repeat)
    out.update(response=None, response_url=response_url, trigger_id=trigger_id)
    if result.acked and result.payload:
        out["response"] = result.payload
        entry = emu.interactions.response_urls[response_url.rsplit("/", 1)[-1]]
        apply_response(emu, entry, result.payload, "ack", count_use=False)
    return out


# clicks ------------------------------------------------------------------------------------


def _elements(blocks: list[JSON]) -> list[tuple[str | None, JSON]]:
    found: list[tuple[str | None, JSON]] = []
    for block in blocks:
        block_id = block.get("block_id")
        if isinstance(block.get("elements"), list) and block.get("type") in (
            "actions",
            "context_actions",
        ):
            found += [(block_id, e) for e in block["elements"] if isinstance(e, dict)]
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                found.append((block_id, block[key]))
    return found


def _options(element: JSON) -> list[JSON]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options", [])
    return [o for o in options if isinstance(o, dict)]


MULTI_OPTIONS = {"checkboxes", "multi_static_select", "multi_external_select"}
PICKED = {
    "users_select": "selected_user",
    "conversations_select": "selected_conversation",
    "channels_select": "selected_channel",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
}
Value = str | list[str] | None
"""What a click chose: a button's or option's value, a picked id, date or time, or (for the
multi-select elements and checkboxes) every value chosen now."""


def _action(element: JSON, block_id: str | None, value: Value, ts: str) -> JSON:
    """The `actions[0]` object for a click on `element`, as Slack shapes it per element type."""
    kind = str(element.get("type"))
    action: JSON = {
        "action_id": element.get("action_id"),
        "block_id": block_id or "",
        "type": kind,
        "action_ts": ts,
    }
    values = value if isinstance(value, list) else [] if value is None else [value]
    single = values[0] if values else None
    if kind == "button":
        action.update(text=element.get("text"), value=element.get("value", single))
        if element.get("style"):
            action["style"] = element["style"]
    elif kind in MULTI_OPTIONS:
        action["selected_options"] = [o for o in _options(element) if o.get("value") in values]
    elif _options(element):
        options = _options(element)
        action["selected_option"] = next(
            (o for o in options if o.get("value") == single), options[0]
        )
    elif kind.startswith("multi_") and kind.removeprefix("multi_") in PICKED:
        action[PICKED[kind.removeprefix("multi_")] + "s"] = values
    elif kind in PICKED:
        action[PICKED[kind]] = single
    elif kind == "datetimepicker":
        action["selected_date_time"] = int(single) if single and single.isdigit() else None
    else:
        action["value"] = single
    return action


def _matches(element: JSON, action_id: str, value: Value) -> bool:
    if element.get("action_id") != action_id:
        return False
    if value is None or element.get("type") != "button" or "value" not in element:
        return True
    return bool(element.get("value") == value)


def _clicked(
    emu: Emulator, channel: Channel, user: User, message_ts: str
) -> tuple[Message | None, JSON | None]:
    """The message being clicked: a channel message, or one of `user`'s ephemeral messages."""
    message = channel.messages.get(message_ts)
    if message is not None and not message.deleted:
        if user.id not in channel.members:
            raise ApiError("user_not_in_channel", status=400)
        return message, None
    for record in emu.records.ephemeral:
        if (
            record["ts"] == message_ts
            and record["channel"] == channel.id
            and record["user"] == user.id
            and not record.get("deleted")
        ):
            return None, record
    raise ApiError("message_not_found", status=404)


async def run_action(
    emu: Emulator,
    workspace: Workspace,
    channel: Channel,
    user: User,
    message_ts: str,
    action_id: str,
    value: Value,
    repeat: int = 1,
) -> JSON:
    """Click the element `action_id` of a message (or of an ephemeral message for `user`);
    `repeat` delivers the very same click that many times, as `run_slash` does."""
    message, ephemeral = _clicked(emu, channel, user, message_ts)
    if message is not None:
        blocks, thread_ts = message.blocks or [], message.thread_ts
    else:
        assert ephemeral is not None
        blocks, thread_ts = ephemeral.get("blocks") or [], ephemeral.get("thread_ts")
    hit = next(((b, e) for b, e in _elements(blocks) if _matches(e, action_id, value)), None)
    if hit is None:
        raise ApiError("action_not_found", status=404)
    response_url = _response_url(
        emu,
        "action",
        channel,
        user,
        message_ts=message_ts,
        is_ephemeral=ephemeral is not None,
        thread_ts=thread_ts,
    )
    container: JSON = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel.id,
        "is_ephemeral": ephemeral is not None,
        **({"thread_ts": thread_ts} if thread_ts else {}),
    }
    payload: JSON = {
        "type": "block_actions",
        "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": workspace.id},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": emu.interactions.new_trigger(emu.clock.wall(), workspace.id, user.id),
        "team": {"id": workspace.id, "domain": workspace.domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel.id, "name": _channel_name(channel)},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [_action(hit[1], hit[0], value, emu.world.new_ts())],
    }
    if message is not None:
        payload["message"] = api_message(emu.world, message)
    _, out = await _deliver(emu, "interactive", workspace.id, payload, "block_actions", repeat)
    out.update(
        response_url=response_url, trigger_id=payload["trigger_id"], action=payload["actions"][0]
    )
    return out


async def _deliver(
    emu: Emulator, kind: str, team: str, payload: JSON, label: str, repeat: int
) -> tuple[AckResult, JSON]:
    """Deliver `payload` `repeat` times, as a replay would: the first ack and a summary of all."""
    result = await emu.delivery.request(kind, team, payload, label)
    replays = [await emu.delivery.request(kind, team, payload, label) for _ in range(repeat - 1)]
    out = _ack_summary(result)
    if replays:
        out["replays"] = [
            {**_ack_summary(replay), "response": replay.payload} for replay in replays
        ]
    return result, out


# response_url ------------------------------------------------------------------------------


def post_to_response_url(emu: Emulator, url_id: str, body: JSON) -> JSON:
    """A POST to `/_emulator/response/{id}`: Slack allows 5 uses within 30 minutes."""
    entry = emu.interactions.response_urls.get(url_id)
    if entry is None:
        raise ApiError("invalid_url", status=404)
    if emu.clock.now() - entry.created > RESPONSE_URL_LIFETIME:
        raise ApiError("expired_url", status=404)
    if entry.uses >= RESPONSE_URL_USES:
        raise ApiError("used_url", status=404)
    apply_response(emu, entry, body, "response_url", count_use=True)
    return {"ok": True}


def apply_response(
    emu: Emulator, entry: ResponseUrl, body: JSON, source: str, count_use: bool
) -> None:
    """Show what the app answered: replace/delete the original, post in channel, or ephemeral."""
    if count_use:
        entry.uses += 1
    world = emu.world
    channel = world.channels.get(entry.channel)
    if channel is None:
        raise ApiError("channel_not_found", status=404)
    if body.get("response_action") is not None:
        return  # a modal answer, not a message
    original = channel.messages.get(entry.message_ts or "") if not entry.is_ephemeral else None
    if body.get("delete_original") in (True, "true"):
        _delete_original(emu, entry, original)
        return
    content = read_content(body, emu.settings.long_text)
    if content.empty:
        if source == "ack":
            return  # e.g. `ack(response_type="in_channel")` alone shows nothing
        raise ApiError("no_text", status=400)
    replace = body.get("replace_original") in (True, "true") and entry.message_ts
    if replace and _replaced(emu, entry, channel, original, content, source):
        return
    _post_response(emu, entry, channel, body, content, source)


def _replaced(
    emu: Emulator,
    entry: ResponseUrl,
    channel: Channel,
    original: Message | None,
    content: Content,
    source: str,
) -> bool:
    """Edit the message (or the ephemeral one) the response URL belongs to, if it is still there."""
    world = emu.world
    if original is not None and not original.deleted:
        previous = emu.snapshot(original)
        original.text = content.text or ""
        original.blocks = content.blocks
        edit_ts = world.record_version(original, source)
        original.edited = {"user": world.workspaces[channel.team].bot_user_id, "ts": edit_ts}
        emu.changed(original, previous, edit_ts)
        return True
    if entry.is_ephemeral:
        for record in emu.records.ephemeral:
            if record["ts"] == entry.message_ts and record["channel"] == channel.id:
                record.setdefault("edits", []).append(
                    {"time": emu.clock.wall(), "text": record["text"], "blocks": record["blocks"]}
                )
                record.update(text=content.text or "", blocks=content.blocks, source=source)
                return True
    return False


def _post_response(
    emu: Emulator,
    entry: ResponseUrl,
    channel: Channel,
    body: JSON,
    content: Content,
    source: str,
) -> None:
    """A new message: in the channel (`response_type: in_channel`), else ephemeral to the user."""
    world = emu.world
    thread_ts = body.get("thread_ts") or entry.thread_ts
    workspace = world.workspaces[channel.team]
    if body.get("response_type") == "in_channel":
        message = Message(
            ts=world.new_ts(),
            channel=channel.id,
            team=channel.team,
            user=workspace.bot_user_id,
            text=content.text or "",
            blocks=content.blocks,
            attachments=content.attachments,
            bot_id=workspace.bot_id,
            thread_ts=resolve_thread(channel, None if thread_ts is None else str(thread_ts)),
        )
        world.add_message(message, source)
        emu.posted(message)
        return
    emu.records.add_ephemeral(
        {
            "ts": world.new_ts(),
            "time": emu.clock.wall(),
            "team": channel.team,
            "channel": channel.id,
            "user": entry.user,
            "text": content.text or "",
            "blocks": content.blocks,
            "attachments": content.attachments,
            "thread_ts": thread_ts,
            "source": source,
            "response_type": "ephemeral",
        }
    )


def _delete_original(emu: Emulator, entry: ResponseUrl, original: Message | None) -> None:
    if original is not None and not original.deleted:
        previous = emu.snapshot(original)
        original.deleted = True
        emu.deleted(original, previous, emu.world.new_ts())
        return
    for record in emu.records.ephemeral:
        if record["ts"] == entry.message_ts:
            record["deleted"] = True
