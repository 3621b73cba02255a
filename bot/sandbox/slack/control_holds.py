"""`/_emulator/holds` and `/_emulator/release`: Web API calls performed now, answered later.

- `POST /_emulator/holds {method, count?=1, team?}`: the next `count` calls of `method` are
  performed as usual (the message is posted, its events are sent) but the HTTP response waits
  until released. `GET` lists `{rules, held: [{id, method, team, since}]}`; `DELETE` drops the
  rules and releases everything.
- `POST /_emulator/release {count?}` → `{ok, released}`: answers the held calls, oldest first
  (all of them without `count`). A caller that went away meanwhile just gets nothing.
- `POST /_emulator/reset` drops the rules and releases every held call.
"""

from __future__ import annotations

from aiohttp import web

from .control_common import need, route
from .emulator import Emulator
from .errors import ApiError
from .holds import HoldRule
from .state import JSON


def _listing(emu: Emulator) -> JSON:
    return {
        "ok": True,
        "rules": [vars(rule) for rule in emu.holds.rules],
        "held": [call.as_json() for call in emu.holds.held],
    }


@route
async def holds(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    if request.method == "DELETE":
        emu.holds.reset()
    elif request.method == "POST":
        count = body.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ApiError("invalid_count", status=400)
        team = None if body.get("team") is None else str(body["team"])
        emu.holds.rules.append(HoldRule(need(body, "method"), count, team))
    return _listing(emu)


@route
async def release(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    count = body.get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ApiError("invalid_count", status=400)
    return {"ok": True, "released": emu.holds.release(count)}


def add_routes(app: web.Application) -> None:
    app.router.add_route("*", "/_emulator/holds", holds)
    app.router.add_post("/_emulator/release", release)
