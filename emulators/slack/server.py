"""The aiohttp application: Web API, upload/download URLs, the Socket Mode socket, control API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import traceback

from aiohttp import web
from aiohttp.typedefs import Handler

from . import assistant, control, control_holds, control_query, oauth, shortcuts, view_submission
from .config import Settings
from .emulator import EMULATOR, Emulator
from .methods_files import MAX_FILE_SIZE, upload
from .user_files import download_private
from .web import add_web, wants_page
from .webapi import handle

log = logging.getLogger("emulators.slack")


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """An emulator bug answers like a Slack outage (500 JSON) and is printed, never hidden."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except web.HTTPException:
        raise
    except Exception:
        traceback.print_exc()
        return web.json_response({"ok": False, "error": "internal_error"}, status=500)


async def _index(request: web.Request) -> web.Response:
    if wants_page(request):
        raise web.HTTPFound("/sandbox/")
    emu = request.app[EMULATOR]
    return web.json_response(
        {
            "ok": True,
            "emulator": "slack",
            "api": f"{emu.base_url}/api/",
            "mode": "http" if emu.settings.request_url else "socket",
        }
    )


async def _websocket(request: web.Request) -> web.StreamResponse:
    return await request.app[EMULATOR].socket.handle(request)


async def _shutdown(app: web.Application) -> None:
    emu = app[EMULATOR]
    emu.delivery.reset()
    for conn in list(emu.socket.connections):
        with contextlib.suppress(Exception):
            await conn.ws.close(code=1001, message=b"emulator shutting down")
    await emu.http.close()


def build_app(emu: Emulator) -> web.Application:
    app = web.Application(client_max_size=MAX_FILE_SIZE + 1024 * 1024, middlewares=[_errors])
    app[EMULATOR] = emu
    app.router.add_get("/", _index)
    app.router.add_route("*", "/api/{method}", handle)
    app.router.add_post("/upload/v1/{key}", upload)
    app.router.add_get("/files-pri/{ref}/{name}", download_private)
    app.router.add_get("/files-pri/{ref}/download/{name}", download_private)
    app.router.add_get("/link/", _websocket)
    app.router.add_get("/link", _websocket)
    control.add_routes(app)
    assistant.add_routes(app)
    control_query.add_routes(app)
    control_holds.add_routes(app)
    oauth.add_routes(app)
    shortcuts.add_routes(app)
    view_submission.add_routes(app)
    add_web(app)
    app.on_shutdown.append(_shutdown)
    return app


async def serve(settings: Settings) -> None:
    """Listen, print `listening on http://HOST:PORT`, run until SIGTERM/SIGINT."""
    emu = Emulator(settings)
    runner = web.AppRunner(build_app(emu), access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    port = runner.addresses[0][1]
    reachable = "127.0.0.1" if settings.host in ("0.0.0.0", "", "::") else settings.host
    emu.set_base_url(f"http://{reachable}:{port}")
    print(f"listening on http://{settings.host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
