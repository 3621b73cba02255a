"""Message shortcuts: a person picks one of the app's shortcuts in a message's ⋯ menu.

Slack sends a `message_action` interaction (https://api.slack.com/reference/interaction-payloads/
shortcuts#message_actions) with the message, its channel, a `trigger_id` for a modal and a
`response_url`; like every interaction it is never retried. Only shortcuts the app's manifest
declares (`features.shortcuts` of type `message`) appear in the menu.
"""

from __future__ import annotations

from aiohttp import web

from .control_common import channel_of, installed, need, route, user_of, workspace_of
from .emulator import Emulator
from .errors import ApiError
from .interactions import _channel_name, _deliver, _response_url
from .render import api_message
from .state import APP_ID, JSON, VERIFICATION_TOKEN


@route
async def shortcut(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    """`POST /_emulator/shortcuts {channel, message_ts, user, callback_id, team?}`."""
    team = workspace_of(emu, body)
    channel = channel_of(emu, need(body, "channel"), team)
    workspace = installed(emu.world.workspaces[channel.team])
    user = user_of(emu, need(body, "user"), workspace.id)
    callback_id = need(body, "callback_id")
    known = emu.app.message_shortcuts
    if known is not None and callback_id not in known:
        raise ApiError("shortcut_not_found", status=404)
    if user.id not in channel.members:
        raise ApiError("user_not_in_channel", status=400)
    message = channel.messages.get(need(body, "message_ts"))
    if message is None or message.deleted:
        raise ApiError("message_not_found", status=404)
    response_url = _response_url(
        emu, "shortcut", channel, user, message_ts=message.ts, thread_ts=message.thread_ts
    )
    trigger_id = emu.interactions.new_trigger(emu.clock.wall(), workspace.id, user.id)
    payload: JSON = {
        "type": "message_action",
        "token": VERIFICATION_TOKEN,
        "action_ts": emu.world.new_ts(),
        "team": {"id": workspace.id, "domain": workspace.domain},
        "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": workspace.id},
        "channel": {"id": channel.id, "name": _channel_name(channel)},
        "is_enterprise_install": False,
        "enterprise": None,
        "api_app_id": APP_ID,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "response_url": response_url,
        "message_ts": message.ts,
        "message": api_message(emu.world, message),
    }
    _, out = await _deliver(emu, "interactive", workspace.id, payload, "message_action", 1)
    out.update(response_url=response_url, trigger_id=trigger_id)
    return out


def add_routes(app: web.Application) -> None:
    app.router.add_post("/_emulator/shortcuts", shortcut)
