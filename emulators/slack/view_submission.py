"""Submitting a modal: the `view_submission` interaction Slack sends when a user presses Submit.

`POST /_emulator/views/{view_id}/submit` `{user, values, repeat?=1}` fills the open modal's inputs
(`values` is `{block_id: {action_id: <state value>}}`, the shape Slack puts in
`view.state.values`, e.g. `{"type": "plain_text_input", "value": "every 1d"}`) and delivers the
submission. The app's ack decides what happens, as on Slack: an empty ack closes the modal;
`{"response_action": "errors", "errors": {block_id: text}}` keeps it open with those errors.
Only the user whose click opened the modal can submit it (`view_not_yours`, 403, otherwise).
The result reports the ack and, under `response`, what the app answered. `repeat` delivers the
very same submission that many times (a replay); `replays` has the ack of each one after the first.
"""

from __future__ import annotations

from aiohttp import web

from .control_common import need, repeat_of, route, user_of
from .emulator import Emulator
from .errors import ApiError
from .state import APP_ID, JSON, VERIFICATION_TOKEN


@route
async def submit_view(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    view = emu.interactions.views.get(request.match_info["view_id"])
    if view is None or view.get("type") != "modal":
        raise ApiError("view_not_found", status=404)
    workspace = emu.world.workspaces[str(view["team_id"])]
    user = user_of(emu, need(body, "user"), workspace.id)
    opener = emu.interactions.openers.get(str(view["id"]))
    if opener is not None and opener != user.id:
        raise ApiError("view_not_yours", status=403)  # only its opener sees a modal
    values = body.get("values") or {}
    if not isinstance(values, dict):
        raise ApiError("invalid_values", status=400)
    submitted = {**view, "state": {"values": values}}
    payload: JSON = {
        "type": "view_submission",
        "team": {"id": workspace.id, "domain": workspace.domain},
        "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": workspace.id},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": emu.interactions.new_trigger(emu.clock.wall(), workspace.id, user.id),
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    repeat = repeat_of(body)
    result = await emu.delivery.request("interactive", workspace.id, payload, "view_submission")
    replays = [
        await emu.delivery.request("interactive", workspace.id, payload, "view_submission")
        for _ in range(repeat - 1)
    ]
    response = result.payload if isinstance(result.payload, dict) else None
    closed = result.acked and not (response and response.get("response_action") == "errors")
    if closed:
        emu.interactions.close_view(str(view["id"]))
    out: JSON = {
        "ok": result.acked,
        "acked": result.acked,
        "ack_ms": None if result.ack_ms is None else round(result.ack_ms, 3),
        "error": result.error,
        "response": response,
        "closed": closed,
    }
    if replays:
        out["replays"] = [
            {"acked": r.acked, "status": r.status, "error": r.error, "response": r.payload}
            for r in replays
        ]
    return out


def add_routes(app: web.Application) -> None:
    app.router.add_post("/_emulator/views/{view_id}/submit", submit_view)
