"""The page's own small routes: its setup, a message's edit history, closing a modal, and the
Handinger panel's window onto the Handinger emulator (same origin, so the page needs no CORS)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml
from aiohttp import ClientError, ClientSession, ClientTimeout, web

from ..app_config import REPO_MANIFEST
from ..emulator import EMULATOR
from ..seed import DEFAULT_TEAM
from .view import history_view

log = logging.getLogger("emulators.slack.web")
HANDINGER_SESSION = web.AppKey("sandbox_handinger_session", ClientSession)
HANDINGER_PATHS = {("GET", "overview"), ("GET", "clock"), ("POST", "clock")}
"""The Handinger emulator's control routes the page may use."""


def _features(manifest: str) -> dict[str, Any]:
    """The manifest's `features`; `manifest` as `--manifest` takes it (`auto`: the
    repository's, `none`: none)."""
    path = REPO_MANIFEST if manifest == "auto" else None if manifest == "none" else Path(manifest)
    if path is None or not path.exists():
        return {}
    try:
        loaded: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        log.warning("cannot read the manifest %s: %s", path, exc)
        return {}
    features = (loaded or {}).get("features") or {}
    return features if isinstance(features, dict) else {}


def message_shortcuts(manifest: str) -> list[dict[str, str]]:
    """The manifest's message shortcuts (name, callback_id), for a message's ⚡ menu."""
    shortcuts = _features(manifest).get("shortcuts") or []
    return [
        {"name": str(s.get("name", "")), "callback_id": str(s.get("callback_id", ""))}
        for s in shortcuts
        if isinstance(s, dict) and s.get("type") == "message"
    ]


def slash_commands(manifest: str) -> list[dict[str, str]]:
    """The manifest's slash commands (command, description, usage hint), for the composer."""
    commands = _features(manifest).get("slash_commands") or []
    return [
        {
            "command": str(c.get("command", "")),
            "description": str(c.get("description", "")),
            "usage_hint": str(c.get("usage_hint", "")),
        }
        for c in commands
        if isinstance(c, dict)
    ]


async def setup(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    return web.json_response(
        {
            "ok": True,
            "team": DEFAULT_TEAM,
            "commands": slash_commands(emu.settings.manifest),
            "shortcuts": message_shortcuts(emu.settings.manifest),
            "handinger": emu.settings.handinger_url is not None,
            "time_scale": emu.clock.scale,
        }
    )


async def history(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    channel = emu.world.channels.get(request.match_info["channel"])
    message = channel.messages.get(request.match_info["ts"]) if channel else None
    if message is None:
        raise web.HTTPNotFound(text="no such message")
    return web.json_response({"ok": True, "versions": history_view(message)})


async def close_view(request: web.Request) -> web.Response:
    """The user dismissed a modal (Cancel or ×): it is no longer open in the emulator."""
    closed = request.app[EMULATOR].interactions.close_view(request.match_info["view_id"])
    return web.json_response({"ok": closed})


async def handinger(request: web.Request) -> web.Response:
    """Forward one allowed control call to the Handinger emulator and answer with its answer."""
    emu = request.app[EMULATOR]
    path = request.match_info["path"]
    base = emu.settings.handinger_url
    if base is None:
        raise web.HTTPNotFound(text="this emulator was started without --handinger-url")
    if (request.method, path) not in HANDINGER_PATHS:
        raise web.HTTPNotFound(text=f"not available to the page: {request.method} {path}")
    session = request.app[HANDINGER_SESSION]
    body = await request.read()
    try:
        async with session.request(
            request.method,
            f"{base.rstrip('/')}/_emulator/{path}",
            data=body or None,
            headers={"Content-Type": "application/json"} if body else None,
        ) as answer:
            return web.Response(
                body=await answer.read(), status=answer.status, content_type="application/json"
            )
    except (ClientError, TimeoutError) as exc:
        return web.json_response(
            {"error": f"the Handinger emulator at {base} did not answer: {exc}"}, status=502
        )


async def open_session(app: web.Application) -> None:
    app[HANDINGER_SESSION] = ClientSession(timeout=ClientTimeout(total=15))


async def close_session(app: web.Application) -> None:
    await app[HANDINGER_SESSION].close()
