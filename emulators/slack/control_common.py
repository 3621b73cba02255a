"""Helpers shared by the `/_emulator/` routes: JSON in/out, errors, resolving ids."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .emulator import EMULATOR, Emulator
from .errors import ApiError
from .state import JSON, Channel, User, Workspace

Route = Callable[[Emulator, web.Request, JSON], Awaitable[Any]]
log = logging.getLogger("emulators.slack")


def route(fn: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Wrap a control handler: parse the JSON body, turn ApiError into a 4xx JSON answer."""

    async def handler(request: web.Request) -> web.StreamResponse:
        emu = request.app[EMULATOR]
        body: JSON = {}
        raw = await request.read()
        if raw.strip():
            try:
                parsed = json.loads(raw)
            except json.JSONDecodeError:
                return web.json_response({"ok": False, "error": "invalid_json"}, status=400)
            if not isinstance(parsed, dict):
                return web.json_response({"ok": False, "error": "invalid_json"}, status=400)
            body = parsed
        try:
            result = await fn(emu, request, body)
        except ApiError as error:
            status = error.status if error.status >= 400 else 400
            return web.json_response(error.body(), status=status)
        if isinstance(result, web.StreamResponse):
            return result
        return web.json_response(result)

    return handler


def need(body: JSON, name: str) -> str:
    value = body.get(name)
    if value is None or value == "":
        raise ApiError("invalid_arguments", status=400, missing=name)
    return str(value)


def workspace_of(emu: Emulator, body: JSON) -> Workspace | None:
    team = body.get("team")
    if team is None:
        return None
    workspace = emu.world.workspaces.get(str(team))
    if workspace is None:
        raise ApiError("team_not_found", status=404)
    return workspace


def installed(workspace: Workspace) -> Workspace:
    """Slash commands and clicks reach the app only where it is installed."""
    if not workspace.installed:
        raise ApiError("app_not_installed", status=409)
    return workspace


def channel_of(emu: Emulator, ident: str, team: Workspace | None) -> Channel:
    channel = emu.world.channel(ident, team.id if team else None)
    if channel is None:
        raise ApiError("channel_not_found", status=404)
    return channel


def writable(channel: Channel) -> Channel:
    """Nobody types a message or a command in an archived channel."""
    if channel.archived:
        raise ApiError("is_archived", status=400)
    return channel


def user_of(emu: Emulator, ident: str, team: str) -> User:
    user = emu.world.user(ident, team)
    if user is None:
        raise ApiError("user_not_found", status=404)
    return user


def since(request: web.Request) -> int:
    try:
        return int(request.query.get("since", "0"))
    except ValueError as exc:
        raise ApiError("invalid_since", status=400) from exc


def repeat_of(body: JSON) -> int:
    """How many times to deliver the same payload (`repeat`, 1 to 10): replays, for tests."""
    try:
        repeat = int(body.get("repeat", 1))
    except (TypeError, ValueError):
        raise ApiError("invalid_repeat", status=400) from None
    if not 1 <= repeat <= 10:
        raise ApiError("invalid_repeat", status=400)
    return repeat
