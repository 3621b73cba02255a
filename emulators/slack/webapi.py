"""`/api/{method}`: parameters from JSON, form or query; auth; faults; rate limits; logging.

The order matches what a client observes from Slack: unknown method, then token problems, then
a 429, then the method's own errors. Every call, including refused ones, is logged for
`GET /_emulator/calls` with its tokens redacted.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn
from urllib.parse import parse_qsl

from aiohttp import web

from . import oauth
from .app_config import require_scopes
from .assistant import METHODS as ASSISTANT
from .calls import Call, Handler
from .emulator import EMULATOR, Emulator
from .errors import ApiError, ConnectionDropped
from .faults import Fault, drop_connection
from .methods_chat import METHODS as CHAT
from .methods_conversations import METHODS as CONVERSATIONS
from .methods_files import METHODS as FILES
from .methods_stream import METHODS as STREAM
from .methods_views import METHODS as VIEWS
from .state import JSON, ChannelKind
from .user_files import METHODS as USER_FILES
from .validate import WARNING_MESSAGES

METHODS: dict[str, Handler] = {
    **CHAT,
    **STREAM,
    **ASSISTANT,
    **CONVERSATIONS,
    **FILES,
    **USER_FILES,
    **VIEWS,
}
APP_TOKEN_METHODS = {"apps.connections.open"}
TOKENLESS_METHODS = {"oauth.v2.access"}  # the client authenticates with its id and secret
RETIRED = {"files.upload": "method_deprecated"}
FAULT = "fault"  # where `_gate` leaves a `hold` or `performed` fault, to act after the call
CHANNEL_ARGS = {"chat.postMessage": "channel", "assistant.threads.setStatus": "channel_id"}


async def read_params(request: web.Request) -> dict[str, Any]:
    """Merge the query string and the body, whatever its encoding."""
    params: dict[str, Any] = dict(request.query)
    body = await request.read()
    if not body:
        return params
    content_type = request.content_type
    if "json" in content_type:
        try:
            parsed = json.loads(body)
        except json.JSONDecodeError as exc:
            raise ApiError("invalid_json") from exc
        if not isinstance(parsed, dict):
            raise ApiError("invalid_json")
        params.update(parsed)
    elif content_type.startswith("multipart/"):
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    else:
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def _token(request: web.Request, params: dict[str, Any]) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        params.pop("token", None)
        return header.removeprefix("Bearer ").strip() or None
    token = params.pop("token", None)
    return str(token) if token else None


def _reply(
    body: JSON, status: int = 200, retry_after: int | None = None, scopes: list[str] | None = None
) -> web.Response:
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if scopes:  # Slack reports the token's granted scopes on every Web API response
        headers["x-oauth-scopes"] = ",".join(scopes)
    return web.json_response(body, status=status, headers=headers or None)


async def handle(request: web.Request) -> web.StreamResponse:
    emu = request.app[EMULATOR]
    method = request.match_info["method"]
    entry: JSON = {
        "time": emu.clock.wall(),
        "method": method,
        "http_verb": request.method,
        "team": None,
        "args": {},
    }
    status, retry_after = 200, None
    try:
        params = await read_params(request)
        if method in TOKENLESS_METHODS:
            entry["args"] = dict(params)
            body = oauth.access(emu, request.headers.get("Authorization", ""), params, entry)
        else:
            token = _token(request, params)
            entry["args"] = dict(params)
            body = _dispatch(emu, request, method, params, token, entry)
    except ApiError as error:
        body, status, retry_after = error.body(), error.status, error.retry_after
    except ConnectionDropped:
        entry.update(ok=False, error="connection_closed", status=None, fault="close")
        emu.records.add_call(entry)
        drop_connection(request.transport)
        return web.Response(status=599)  # never written: the connection is gone
    entry.update(ok=bool(body.get("ok")), error=body.get("error"), status=status)
    fault: Fault | None = request.get(FAULT)
    if fault is not None:
        entry["fault"] = fault.action
    emu.records.add_call(entry)
    workspace = emu.world.workspaces.get(str(entry.get("team"))) if status == 200 else None
    scopes = workspace.bot_scopes if workspace is not None else None
    if fault is not None and fault.action == "hold":
        await emu.faults.hold(method, entry.get("team"), emu.clock.wall())
    return _reply(body, status, retry_after, scopes)


def _dispatch(
    emu: Emulator,
    request: web.Request,
    method: str,
    params: dict[str, Any],
    token: str | None,
    entry: JSON,
) -> JSON:
    if method in RETIRED:
        raise ApiError(RETIRED[method])
    if method not in METHODS and method not in APP_TOKEN_METHODS:
        raise ApiError("unknown_method", req_method=method)
    if not token:
        raise ApiError("not_authed")
    if method in APP_TOKEN_METHODS:
        if token != emu.settings.app_token:
            known = emu.world.workspace_for_token(token) is not None
            raise ApiError("not_allowed_token_type" if known else "invalid_auth")
        _gate(emu, request, method, "app", None, params)
        url = emu.socket.issue_url(emu.base_url)
        _fail_after_effect(request)
        return {"ok": True, "url": url}
    workspace = emu.world.workspace_for_token(token)
    if workspace is None:
        if token in emu.world.revoked_tokens:
            entry["team"] = emu.world.revoked_tokens[token]
            raise ApiError("token_revoked")
        raise ApiError(
            "not_allowed_token_type" if token == emu.settings.app_token else "invalid_auth"
        )
    entry["team"] = workspace.id
    require_scopes(workspace, method, _conversation_kind(emu, params, workspace.id))
    channel = _limit_channel(emu, method, params, workspace.id)
    _gate(emu, request, method, workspace.id, channel, params)
    params.pop("team_id", None)  # Bolt's per-request client adds it to every call
    call = Call(emu, method, params, workspace)
    result = METHODS[method](call)
    _fail_after_effect(request)
    body: JSON = {"ok": True, **result}
    if call.warnings:
        body["warning"] = ",".join(call.warnings)
        metadata: JSON = {"warnings": list(call.warnings)}
        messages = [WARNING_MESSAGES[w] for w in call.warnings if w in WARNING_MESSAGES]
        if messages:
            metadata["messages"] = messages
        body["response_metadata"] = {**body.get("response_metadata", {}), **metadata}
    return body


def _conversation_kind(emu: Emulator, params: dict[str, Any], team: str) -> ChannelKind | None:
    """The type of the conversation a call is about, for scopes that depend on it."""
    found = emu.world.channel(str(params.get("channel", "")), team)
    return found.kind if found is not None else None


def _limit_channel(emu: Emulator, method: str, params: dict[str, Any], team: str) -> str | None:
    """The channel a per-channel limit is keyed on (names and ids share one bucket)."""
    arg = CHANNEL_ARGS.get(method)
    if arg is None:
        return None
    value = str(params.get(arg, ""))
    found = emu.world.channel(value, team)
    return found.id if found is not None else value


def _gate(
    emu: Emulator,
    request: web.Request,
    method: str,
    team: str,
    channel: str | None,
    params: dict[str, Any],
) -> None:
    """Injected faults first, then the rate limiter; both answer like Slack would. A `hold`
    or `performed` fault is left on the request, to be carried out once the call took effect."""
    fault = emu.faults.take(method, team, params)
    if fault is not None and (fault.action == "hold" or fault.performed):
        request[FAULT] = fault
    elif fault is not None:
        _fail(fault)
    wait = emu.limiter.check(method, team, channel)
    if wait is not None:
        raise ApiError("ratelimited", status=429, retry_after=emu.clock.retry_after(wait))
    return None


def _fail_after_effect(request: web.Request) -> None:
    """A `performed` fault fails the call now that it took effect (Slack acted, then failed)."""
    fault: Fault | None = request.get(FAULT)
    if fault is not None and fault.action != "hold":
        _fail(fault)


def _fail(fault: Fault) -> NoReturn:
    if fault.action == "close":
        raise ConnectionDropped
    retry_after = fault.retry_after
    if fault.status == 429 and retry_after is None:
        retry_after = 1
    raise ApiError(fault.error, status=fault.status, retry_after=retry_after)
