"""`/_emulator/` routes that look or build: listings for assertions, and creating extra
workspaces, channels and users (benchmarks use 20 workspaces)."""

from __future__ import annotations

from typing import cast

from aiohttp import web

from .control_common import Route, channel_of, need, route, since, user_of, workspace_of
from .emulator import Emulator
from .errors import ApiError
from .methods_files import download_control
from .records import select
from .render import control_message
from .seed import WorkspaceSpec, add_workspace, describe_workspace
from .state import JSON, Channel, ChannelKind, User

KINDS = {"public": "C", "private": "G", "im": "D", "mpim": "G"}


@route
async def channel_messages(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    team = workspace_of(emu, dict(request.query))
    channel = channel_of(emu, request.match_info["channel"], team)
    include_deleted = request.query.get("include_deleted", "1") not in ("0", "false")
    listed = [
        control_message(emu.world, m)
        for m in channel.top_level()
        if include_deleted or not m.deleted
    ]
    return {"ok": True, "channel": channel.id, "team": channel.team, "messages": listed}


LOGS = {
    "calls": ("method", "team", "status"),
    "ephemeral": ("channel", "user", "team", "source"),
    "acks": ("type", "team", "event_type"),
}
"""Each log of `Records` listed at `/_emulator/<name>`, filtered by these query fields."""


def _log_listing(name: str, fields: tuple[str, ...]) -> Route:
    async def listing(emu: Emulator, request: web.Request, body: JSON) -> JSON:
        entries: list[JSON] = getattr(emu.records, name)
        found = select(entries, since(request), **{f: request.query.get(f) for f in fields})
        return {"ok": True, name: found}

    return listing


@route
async def connections(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    """Open Socket Mode connections; `?min=1&timeout=5` waits until that many are open."""
    minimum = int(request.query.get("min", "0"))
    if minimum:
        await emu.socket.wait_connected(minimum, float(request.query.get("timeout", "10")))
    return {
        "ok": True,
        "open": len(emu.socket.connections),
        "connections": emu.socket.history,
    }


@route
async def views(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    state = emu.interactions
    return {
        "ok": True,
        "views": list(state.views.values()),
        "home": state.home,
        "openers": state.openers,  # modal id → the user it is open for (who alone sees it)
    }


@route
async def workspaces(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    world = emu.world
    if request.method == "POST":
        spec = WorkspaceSpec(
            id=body.get("id"),
            name=body.get("name"),
            domain=body.get("domain"),
            bot_token=body.get("bot_token"),
            installed=body.get("installed", True) is not False,
        )
        try:
            created = add_workspace(world, spec, emu.settings.bot_token, emu.app.bot_scopes)
        except ValueError as exc:
            raise ApiError("already_exists", status=409, detail=str(exc)) from exc
        return {"ok": True, "workspace": describe_workspace(world, created)}
    listed = [describe_workspace(world, w) for w in world.workspaces.values()]
    return {"ok": True, "workspaces": listed}


@route
async def channels(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    workspace = workspace_of(emu, body) or emu.world.workspaces["T0001"]
    kind = str(body.get("type", "private" if body.get("is_private") else "public"))
    if kind not in KINDS:
        raise ApiError("invalid_type", status=400)
    ident = str(body.get("id") or emu.world.new_id(KINDS[kind]))
    if emu.world.id_taken(ident):
        raise ApiError("already_exists", status=409)
    members = [user_of(emu, str(u), workspace.id).id for u in body.get("members", [])]
    if body.get("bot_member", True) and workspace.bot_user_id not in members:
        members.append(workspace.bot_user_id)
    if kind == "im" and len(members) != 2:
        raise ApiError("im_needs_two_members", status=400)
    name = ident if kind == "im" else str(body.get("name") or ident.lower())
    creator = members[0] if members else workspace.bot_user_id
    created = int(emu.clock.wall())
    channel = Channel(ident, workspace.id, name, cast(ChannelKind, kind), members, created, creator)
    emu.world.add_channel(channel)
    return {
        "ok": True,
        "channel": {
            "id": ident,
            "team": workspace.id,
            "name": name,
            "type": kind,
            "members": members,
        },
    }


@route
async def archive(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    """Archive a channel (`/archive`) or bring it back (`/unarchive`), as a member would."""
    channel = channel_of(emu, request.match_info["channel"], workspace_of(emu, body))
    if channel.kind in ("im", "mpim"):
        raise ApiError("method_not_supported_for_channel_type", status=400)
    channel.archived = request.match_info["action"] == "archive"
    return {"ok": True, "channel": channel.id, "archived": channel.archived}


@route
async def users(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    workspace = workspace_of(emu, body) or emu.world.workspaces["T0001"]
    ident = str(body.get("id") or emu.world.new_id("U"))
    if emu.world.id_taken(ident):
        raise ApiError("already_exists", status=409)
    name = str(body.get("name") or ident.lower())
    user = User(
        ident, workspace.id, name, str(body.get("real_name") or name), bool(body.get("is_admin"))
    )
    emu.world.add_user(user)
    for channel_id in body.get("channels", []):
        channel = channel_of(emu, str(channel_id), workspace)
        channel.members.append(ident)
    return {"ok": True, "user": {"id": ident, "team": workspace.id, "name": name}}


@route
async def join(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    """Add users (or the bot, `user: "bot"`) to a channel; `leave: true` removes them."""
    team = workspace_of(emu, body)
    channel = channel_of(emu, need(body, "channel"), team)
    workspace = emu.world.workspaces[channel.team]
    who = need(body, "user")
    user_id = workspace.bot_user_id if who == "bot" else user_of(emu, who, workspace.id).id
    if body.get("leave"):
        if user_id in channel.members:
            channel.members.remove(user_id)
    elif user_id not in channel.members:
        channel.members.append(user_id)
    return {"ok": True, "channel": channel.id, "members": list(channel.members)}


@route
async def scopes(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    """`{team?, scopes: [...]}`: the bot scopes the workspace granted. Web API responses then
    report them in `x-oauth-scopes`, as Slack does (none are reported while the list is empty)."""
    workspace = workspace_of(emu, body) or emu.world.workspaces["T0001"]
    granted = body.get("scopes")
    if not isinstance(granted, list) or not all(isinstance(s, str) for s in granted):
        raise ApiError("invalid_scopes", status=400)
    workspace.bot_scopes = sorted(set(granted))
    return {"ok": True, "team": workspace.id, "scopes": workspace.bot_scopes}


def add_routes(app: web.Application) -> None:
    app.router.add_get("/_emulator/channels/{channel}/messages", channel_messages)
    for name, fields in LOGS.items():
        app.router.add_get(f"/_emulator/{name}", route(_log_listing(name, fields)))
    app.router.add_post("/_emulator/scopes", scopes)
    app.router.add_get("/_emulator/connections", connections)
    app.router.add_get("/_emulator/views", views)
    app.router.add_get("/_emulator/files/{file_id}", download_control)
    app.router.add_route("*", "/_emulator/workspaces", workspaces)
    app.router.add_post("/_emulator/channels", channels)
    app.router.add_post("/_emulator/channels/{channel}/{action:archive|unarchive}", archive)
    app.router.add_post("/_emulator/users", users)
    app.router.add_post("/_emulator/members", join)
