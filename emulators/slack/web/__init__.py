"""The sandbox as a web page: a Slack-like client drawn from this emulator's stored state.

`GET /` in a browser redirects to `/sandbox/`, a page made of plain HTML, CSS and ES modules
(no build step, nothing loaded from the internet). It shows the default workspace as Slack
would, and acts only through the emulator's own control API (`/_emulator/slash`, `messages`,
`actions`, `views/{id}/submit`), so what the app receives is exactly what Slack would send and
what the page shows is exactly what the emulator stored. Its own routes:

    GET  /_sandbox/events       server-sent events: the workspace, then what changed
    GET  /_sandbox/setup        {team, commands and shortcuts (from --manifest), handinger,
                                time_scale}
    GET  /_sandbox/history/{channel}/{ts}   a message's stored versions with timings
    POST /_sandbox/views/{id}/close         dismiss a modal
    GET|POST /_sandbox/handinger/{overview|clock}   the Handinger emulator (--handinger-url)
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from .changes import CHANGES, Changes, notify_changes
from .routes import close_session, close_view, handinger, history, open_session, setup
from .stream import events

STATIC = Path(__file__).parent / "static"


async def _page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


def wants_page(request: web.Request) -> bool:
    """A browser asking for `/` gets the page; API clients keep getting the JSON description."""
    return "text/html" in request.headers.get("Accept", "")


def add_web(app: web.Application) -> None:
    """Register the page, its routes and the change notifications on the emulator's app."""
    app[CHANGES] = Changes()
    app.middlewares.append(notify_changes)
    app.router.add_get("/sandbox/", _page)
    app.router.add_static("/sandbox/static/", STATIC, append_version=False)
    app.router.add_get("/_sandbox/events", events)
    app.router.add_get("/_sandbox/setup", setup)
    app.router.add_get("/_sandbox/history/{channel}/{ts}", history)
    app.router.add_post("/_sandbox/views/{view_id}/close", close_view)
    app.router.add_route("*", "/_sandbox/handinger/{path}", handinger)
    app.on_startup.append(open_session)
    app.on_cleanup.append(close_session)


__all__ = ["add_web", "wants_page"]
