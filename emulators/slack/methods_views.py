"""views.open / push / update / publish: modals and the App Home tab, with trigger rules."""

from __future__ import annotations

import json
import secrets
from typing import Any

from .calls import Call, Handler
from .errors import ApiError
from .interactions_state import TRIGGER_LIFETIME
from .state import APP_ID, JSON
from .validate import json_arg
from .view_schema import view_problems

MAX_VIEW_BYTES = 250 * 1024
PUSH_LIMIT = 3


def _view_arg(call: Call, kind: str) -> JSON:
    raw: Any = json_arg(call.params.get("view"), "view")
    if not isinstance(raw, dict):
        raise _invalid(["view is required [json-pointer:/view]"])
    if len(json.dumps(raw)) > MAX_VIEW_BYTES:
        raise ApiError("view_too_large")
    problems = view_problems(raw, kind)
    if problems:
        raise _invalid(problems)
    return raw


def _invalid(problems: list[str]) -> ApiError:
    messages = [f"[ERROR] {problem}" for problem in problems]
    return ApiError("invalid_arguments", response_metadata={"messages": messages})


def _use_trigger(call: Call) -> str:
    """Spend the trigger; returns the user whose click or command it came from."""
    trigger = call.text("trigger_id") or call.text("interactivity_pointer") or ""
    state = call.emu.interactions
    if trigger in state.used_triggers:
        raise ApiError("exchanged_trigger_id")
    issued = state.triggers.get(trigger)
    if issued is None or issued[1] != call.workspace.id:
        raise ApiError("invalid_trigger_id")
    if call.emu.clock.wall() - issued[0] > TRIGGER_LIFETIME:
        raise ApiError("expired_trigger_id")
    state.used_triggers.add(trigger)
    return issued[2]


def _stored(
    call: Call, raw: JSON, root: str | None, previous: str | None, opener: str | None = None
) -> JSON:
    state = call.emu.interactions
    view_id = f"V{state.next_number():08d}"
    view = {
        "id": view_id,
        "team_id": call.workspace.id,
        "app_id": APP_ID,
        "bot_id": call.workspace.bot_id,
        "app_installed_team_id": call.workspace.id,
        "type": raw["type"],
        "title": raw.get("title"),
        "blocks": raw.get("blocks", []),
        "close": raw.get("close"),
        "submit": raw.get("submit"),
        "private_metadata": raw.get("private_metadata", ""),
        "callback_id": raw.get("callback_id", ""),
        "external_id": raw.get("external_id", ""),
        "clear_on_close": bool(raw.get("clear_on_close", False)),
        "notify_on_close": bool(raw.get("notify_on_close", False)),
        "state": {"values": {}},
        "hash": f"{int(call.emu.clock.wall())}.{secrets.token_hex(4)}",
        "root_view_id": root or view_id,
        "previous_view_id": previous,
    }
    state.views[view_id] = view
    if opener is not None:
        state.openers[view_id] = opener
    return view


def views_open(call: Call) -> JSON:
    raw = _view_arg(call, "modal")
    opener = _use_trigger(call)
    return {"view": _stored(call, raw, None, None, opener)}


def views_push(call: Call) -> JSON:
    raw = _view_arg(call, "modal")
    opener = _use_trigger(call)
    state = call.emu.interactions
    views = state.views
    open_modals = state.modals_of(call.workspace.id, opener)  # the stack of this user only
    top = open_modals[-1] if open_modals else None
    root = top["root_view_id"] if top else None
    if root and sum(1 for v in views.values() if v["root_view_id"] == root) >= PUSH_LIMIT:
        raise ApiError("push_limit_reached")
    return {"view": _stored(call, raw, root, top["id"] if top else None, opener)}


def views_update(call: Call) -> JSON:
    views = call.emu.interactions.views
    view_id, external = call.text("view_id"), call.text("external_id")
    current = views.get(view_id or "") if view_id else None
    if current is None and external:
        current = next((v for v in views.values() if v["external_id"] == external), None)
    if current is None or current["team_id"] != call.workspace.id:
        raise ApiError("not_found")
    if call.text("hash") and call.text("hash") != current["hash"]:
        raise ApiError("hash_conflict")
    raw = _view_arg(call, current["type"])
    updated = {**current, **{k: v for k, v in raw.items() if k != "type"}}
    updated["hash"] = f"{int(call.emu.clock.wall())}.{secrets.token_hex(4)}"
    views[current["id"]] = updated
    return {"view": updated}


def views_publish(call: Call) -> JSON:
    user = call.world.user(call.text("user_id") or "", call.workspace.id)
    if user is None:
        raise ApiError("user_not_found")
    raw = _view_arg(call, "home")
    home = call.emu.interactions.home
    current = home.get(user.id)
    if current and call.text("hash") and call.text("hash") != current["hash"]:
        raise ApiError("hash_conflict")
    view = _stored(call, raw, None, None)
    home[user.id] = view
    return {"view": view}


METHODS: dict[str, Handler] = {
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "views.publish": views_publish,
}
