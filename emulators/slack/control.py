"""`/_emulator/` routes that act: people typing, clicking, and the knobs tests turn.

Names and required fields are fixed by the issue; every extra field is optional and listed in
the package docstring.
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from .control_common import (
    channel_of,
    installed,
    need,
    repeat_of,
    route,
    user_of,
    workspace_of,
    writable,
)
from .emulator import Emulator
from .errors import ApiError
from .events import rich_text, url_verification
from .faults import faulted, parse_fault
from .interactions import post_to_response_url, run_action, run_slash
from .state import JSON, Message
from .user_files import share_files

LIMIT_SCOPES = ("workspace", "channel")
HISTORY_METHODS = ("conversations.replies", "conversations.history")


@route
async def slash(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    team = workspace_of(emu, body)
    channel = writable(channel_of(emu, need(body, "channel"), team))
    workspace = installed(emu.world.workspaces[channel.team])
    user = user_of(emu, need(body, "user"), workspace.id)
    command = str(body.get("command") or "/handinger")
    if not command.startswith("/"):
        raise ApiError("invalid_command", status=400)
    text = str(body.get("text", ""))
    return await run_slash(emu, workspace, channel, user, command, text, repeat_of(body))


@route
async def messages(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    team = workspace_of(emu, body)
    channel = writable(channel_of(emu, need(body, "channel"), team))
    user = user_of(emu, need(body, "user"), channel.team)
    if user.id not in channel.members:
        raise ApiError("user_not_in_channel", status=400)
    thread_ts = body.get("thread_ts")
    if thread_ts:
        root = channel.messages.get(str(thread_ts))
        if root is None or root.deleted:
            raise ApiError("thread_not_found", status=404)
        thread_ts = root.thread_ts if root.is_reply else root.ts
    text = str(body.get("text", ""))
    files = share_files(emu, channel, user, body["files"]) if body.get("files") else []
    message = Message(
        ts=emu.world.new_ts(),
        channel=channel.id,
        team=channel.team,
        user=user.id,
        text=text,
        blocks=rich_text(text) if text or not files else None,
        thread_ts=thread_ts or None,
        subtype="file_share" if files else None,
        files=files,
        client_msg_id=str(uuid.uuid4()),
    )
    emu.world.add_message(message, "user")
    event_ids = emu.posted(message)
    out: JSON = {
        "ok": True,
        "ts": message.ts,
        "channel": channel.id,
        "thread_ts": message.thread_ts,
    }
    out["event_ids"] = event_ids
    if files:
        out["files"] = files
    if body.get("wait"):
        timeout = float(body.get("timeout", 10))
        out["acked"] = await emu.delivery.wait(event_ids, timeout)
    return out


@route
async def actions(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    team = workspace_of(emu, body)
    channel = channel_of(emu, need(body, "channel"), team)
    workspace = installed(emu.world.workspaces[channel.team])
    user = user_of(emu, need(body, "user"), workspace.id)
    value = body.get("value")  # a list for checkboxes and multi-selects: all chosen now
    chosen = [str(v) for v in value] if isinstance(value, list) else value
    if chosen is not None and not isinstance(chosen, list):
        chosen = str(chosen)
    return await run_action(
        emu,
        workspace,
        channel,
        user,
        need(body, "message_ts"),
        need(body, "action_id"),
        chosen,
        repeat_of(body),
    )


@route
async def response_url(emu: Emulator, request: web.Request, body: JSON) -> web.StreamResponse:
    """A POST to a `response_url`; faults name it `response_url`."""
    url_id = request.match_info["url_id"]
    entry = emu.interactions.response_urls.get(url_id)

    async def post() -> web.StreamResponse:
        return web.json_response(post_to_response_url(emu, url_id, body))

    team = entry.team if entry is not None else None
    return await faulted(emu.faults, request, "response_url", team, body, post, emu.clock.wall())


@route
async def rate_limits(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    if request.method == "POST":
        mode = body.get("mode")
        if mode is not None:
            if mode not in ("strict", "off"):
                raise ApiError("invalid_mode", status=400)
            emu.settings.rate_limits = mode
            emu.limiter.mode = mode
        if body.get("time_scale") is not None:
            scale = float(body["time_scale"])
            if scale <= 0:
                raise ApiError("invalid_time_scale", status=400)
            emu.settings.time_scale = scale
            emu.clock.set_scale(scale)
        overrides: dict[str, Any] = body.get("overrides") or {}
        for method, spec in overrides.items():
            scope = spec.get("scope", "workspace")
            if scope not in LIMIT_SCOPES:
                raise ApiError("invalid_scope", status=400)
            emu.limiter.override(method, float(spec["per_minute"]), float(spec["burst"]), scope)
        if body.get("refill"):
            emu.limiter.refill()
    return {
        "ok": True,
        "mode": emu.limiter.mode,
        "time_scale": emu.clock.scale,
        "limits": emu.limiter.describe(),
    }


@route
async def faults(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    if request.method == "DELETE":
        emu.faults.clear()
    elif request.method == "POST":
        try:
            emu.faults.add(parse_fault(body, need(body, "method")))
        except (TypeError, ValueError) as exc:
            raise ApiError("invalid_fault", status=400, detail=str(exc)) from exc
    return {"ok": True, **emu.faults.describe()}


@route
async def config(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    settings = emu.settings
    if request.method == "POST":
        if "request_url" in body:
            settings.request_url = body["request_url"] or None
        if body.get("signing_secret"):
            settings.signing_secret = str(body["signing_secret"])
        if body.get("ack_timeout") is not None:
            settings.ack_timeout = float(body["ack_timeout"])
        if body.get("long_text") in ("truncate", "reject"):
            settings.long_text = body["long_text"]
        if body.get("bot_events") is not None:
            settings.bot_events = bool(body["bot_events"])
        if body.get("retry_delays") is not None:
            settings.retry_delays = [float(d) for d in body["retry_delays"]]
        if body.get("redirect_urls") is not None:
            settings.redirect_urls = [str(url) for url in body["redirect_urls"]]
        if body.get("history") is not None:
            set_history(emu, body["history"])
    return {
        "ok": True,
        "request_url": settings.request_url,
        "mode": "http" if settings.request_url else "socket",
        "ack_timeout": settings.ack_timeout,
        "long_text": settings.long_text,
        "bot_events": settings.bot_events,
        "retry_delays": settings.retry_delays,
        "client_id": settings.client_id,
        "redirect_urls": settings.redirect_urls,
        "rate_limits": emu.limiter.mode,
        "time_scale": emu.clock.scale,
        "history": settings.history,
    }


def set_history(emu: Emulator, tier: object) -> None:
    """`internal`: the history methods at Tier 3; `limited`: Tier 1 (one call a minute)."""
    if tier not in ("internal", "limited"):
        raise ApiError("invalid_history", status=400)
    emu.settings.history = "limited" if tier == "limited" else "internal"
    per_minute = 1.0 if tier == "limited" else 50.0
    for method in HISTORY_METHODS:
        emu.limiter.override(method, per_minute, per_minute, "workspace")


@route
async def disconnect(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    drop = body.get("drop")
    if drop is True:
        drop = "close"
    if drop not in (None, False, "close", "reset"):
        raise ApiError("invalid_drop", status=400)
    grace = emu.clock.to_real(float(body.get("grace", 10.0)))
    count = await emu.socket.disconnect(body.get("reason"), drop or None, grace)
    return {"ok": True, "connections": count}


@route
async def reset(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    emu.reset()
    return {"ok": True}


@route
async def verify_url(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    """Send Slack's `url_verification` challenge to the request URL, as app config does."""
    url = emu.settings.request_url
    if not url:
        raise ApiError("no_request_url", status=400)
    challenge = uuid.uuid4().hex
    result = await emu.http.post_json(url_verification(challenge))
    answer = result.payload or {}
    return {
        "ok": answer.get("challenge") == challenge,
        "status": result.status,
        "error": result.error,
        "challenge": challenge,
    }


def add_routes(app: web.Application) -> None:
    app.router.add_post("/_emulator/slash", slash)
    app.router.add_post("/_emulator/messages", messages)
    app.router.add_post("/_emulator/actions", actions)
    app.router.add_post("/_emulator/response/{url_id}", response_url)
    app.router.add_route("*", "/_emulator/rate-limits", rate_limits)
    app.router.add_route("*", "/_emulator/faults", faults)
    app.router.add_route("*", "/_emulator/config", config)
    app.router.add_post("/_emulator/disconnect", disconnect)
    app.router.add_post("/_emulator/reset", reset)
    app.router.add_post("/_emulator/url-verification", verify_url)
