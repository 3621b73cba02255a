"""`/_emulator/holds` and `/_emulator/release`: Web API calls performed now, answered later.

- `POST /_emulator/holds {method, count?=1, team?}`: the next `count` calls of `method` are
  performed as usual (the message is posted, its events are sent) but the HTTP response waits
  until released. It is a `hold` fault (`faults.py`); `POST /_emulator/faults` with
  `action: "hold"` does the same and can also skip calls (`after`) and `match` arguments.
  `GET` lists `{rules, held: [{id, method, team, since}]}`; `DELETE` drops the hold rules and
  releases everything.
- `POST /_emulator/release {count?}` → `{ok, released}`: answers the held calls, oldest first
  (all of them without `count`). A caller that went away meanwhile just gets nothing.
- `POST /_emulator/reset` drops every fault and releases every held call.
"""

from __future__ import annotations

from aiohttp import web

from .control_common import need, route
from .emulator import Emulator
from .errors import ApiError
from .faults import Fault
from .state import JSON


def _count(body: JSON, default: int | None) -> int | None:
    count = body.get("count", default)
    if count is None:
        return None
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ApiError("invalid_count", status=400)
    return count


def _listing(emu: Emulator) -> JSON:
    rules = [
        {"method": f.method, "count": f.count, "team": f.team}
        for f in emu.faults.pending
        if f.action == "hold"
    ]
    return {"ok": True, "rules": rules, "held": [call.as_json() for call in emu.faults.held]}


@route
async def holds(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    if request.method == "DELETE":
        emu.faults.clear(action="hold")
    elif request.method == "POST":
        count = _count(body, 1)
        assert count is not None
        team = None if body.get("team") is None else str(body["team"])
        hold = Fault(need(body, "method"), "", 200, None, count, team, action="hold")
        emu.faults.add(hold)
    return _listing(emu)


@route
async def release(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    return {"ok": True, "released": emu.faults.release(_count(body, None))}


def add_routes(app: web.Application) -> None:
    app.router.add_route("*", "/_emulator/holds", holds)
    app.router.add_post("/_emulator/release", release)
