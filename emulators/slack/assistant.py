"""Slack's agent surfaces: assistant threads, their methods and events, App Home, stream expiry.

Web API methods (scope `assistant:write`, or `chat:write` for setStatus):
    assistant.threads.setStatus           the thread's status line (empty clears it); each
                                          status is kept, in order, for `GET` below
    assistant.threads.setSuggestedPrompts up to 4 `{title, message}` prompts, an optional title
    assistant.threads.setTitle            the thread's title (its root, subtype
                                          `assistant_app_thread`, sends `message_changed`)
    Errors: channel_not_found, invalid_thread_ts (no such assistant thread in that DM; for
    setStatus, no such message), invalid_arguments.

Events (only if the manifest subscribes to them with `assistant:write` granted):
    assistant_thread_started / assistant_thread_context_changed:
        {type, assistant_thread: {user_id, channel_id, thread_ts, context: {channel_id,
        team_id, enterprise_id}}, event_ts}
    Messages the user writes in an assistant thread are ordinary `message` events of the DM
    (`channel_type: im`, `thread_ts` the thread's root): `POST /_emulator/messages`.
    app_home_opened: {type, user, channel (the app's DM with the user), tab: "home",
        view (the published home view, if any), event_ts}

Control API
    POST /_emulator/assistant/threads  {user, team?, context_channel?, wait?, timeout?}: the user
        opens the assistant pane: a new thread root in the app's DM with them, then
        `assistant_thread_started` -> {ok, channel, thread_ts, event_ids[, acked]}
    POST /_emulator/assistant/context  {channel, thread_ts, context_channel, team?, wait?}:
        the user looks at another channel -> `assistant_thread_context_changed`
    GET  /_emulator/assistant/threads  ?team=&user= -> {threads: [{team, channel, thread_ts,
        user, context, title, prompts, prompts_title, statuses}]}
    POST /_emulator/home               {user, team?, wait?}: the user opens the App Home
    GET  /_emulator/home               ?user=&team= -> {view} (the last `views.publish`)
    POST /_emulator/home/actions       {user, action_id, value?, team?}: the user clicks an element
        of their App Home: `block_actions` with `container: {type: "view", view_id}`, the
        `view`, and no channel -> {ok, acked, ack_ms, status, error, action}
    POST /_emulator/streams/expire     {channel?, ts?, team?}: streams still open end now, as
        when Slack expires them server-side: later appends and stops answer
        `message_not_in_streaming_state` -> {ok, expired: [ts…]}
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .calls import Call, Handler
from .control_common import channel_of, installed, need, route, workspace_of
from .emulator import Emulator
from .errors import ApiError
from .interactions import _action, _deliver, _elements, _matches
from .methods_chat import dm_channel
from .methods_stream import set_status
from .state import APP_ID, JSON, VERIFICATION_TOKEN, Channel, Message, User, Workspace
from .validate import json_arg

MAX_PROMPTS = 4
MAX_LOADING_MESSAGES = 10


@dataclass
class AssistantThread:
    team: str
    channel: str
    thread_ts: str
    user: str
    context: JSON
    title: str | None = None
    prompts: list[JSON] = field(default_factory=list)
    prompts_title: str | None = None
    statuses: list[str] = field(default_factory=list)

    def as_json(self) -> JSON:
        return {
            "team": self.team,
            "channel": self.channel,
            "thread_ts": self.thread_ts,
            "user": self.user,
            "context": self.context,
            "title": self.title,
            "prompts": self.prompts,
            "prompts_title": self.prompts_title,
            "statuses": self.statuses,
        }


def threads_of(emu: Emulator) -> dict[tuple[str, str], AssistantThread]:
    """The assistant threads of the current world (a reset makes a new world, and forgets them)."""
    return emu.world.assistant_threads


def _thread(call: Call) -> AssistantThread:
    channel = call.channel("channel_id")
    found = threads_of(call.emu).get((channel.id, call.text("thread_ts") or ""))
    if found is None:
        raise ApiError("invalid_thread_ts")
    return found


# ---- Web API ----------------------------------------------------------------------------------


def set_status_kept(call: Call) -> JSON:
    """`assistant.threads.setStatus` (methods_stream), remembering each status in order."""
    result = set_status(call)
    channel = call.channel("channel_id")
    found = threads_of(call.emu).get((channel.id, call.text("thread_ts") or ""))
    if found is not None:
        found.statuses.append(call.text("status") or "")
    return result


def set_suggested_prompts(call: Call) -> JSON:
    thread = _thread(call)
    raw: Any = json_arg(call.params.get("prompts"), "prompts")
    if not isinstance(raw, list) or not raw or len(raw) > MAX_PROMPTS:
        raise ApiError("invalid_arguments")
    prompts: list[JSON] = []
    for prompt in raw:
        if not isinstance(prompt, dict):
            raise ApiError("invalid_arguments")
        title, message = prompt.get("title"), prompt.get("message")
        if not isinstance(title, str) or not title or not isinstance(message, str) or not message:
            raise ApiError("invalid_arguments")
        prompts.append({"title": title, "message": message})
    thread.prompts = prompts
    thread.prompts_title = call.text("title")
    return {}


def set_title(call: Call) -> JSON:
    thread = _thread(call)
    title = call.text("title")
    if not title:
        raise ApiError("invalid_arguments")
    thread.title = title
    channel = call.world.channels[thread.channel]
    root = channel.messages[thread.thread_ts]
    previous = call.emu.snapshot(root)
    root.text = title
    edit_ts = call.world.record_version(root, call.method)
    call.emu.changed(root, previous, edit_ts)
    return {}


METHODS: dict[str, Handler] = {
    "assistant.threads.setStatus": set_status_kept,
    "assistant.threads.setSuggestedPrompts": set_suggested_prompts,
    "assistant.threads.setTitle": set_title,
}


# ---- control API --------------------------------------------------------------------------------


def _context(emu: Emulator, workspace: Workspace, channel: Any) -> JSON:
    if channel is None:
        return {}
    found = channel_of(emu, str(channel), workspace)
    return {"channel_id": found.id, "team_id": workspace.id, "enterprise_id": None}


def _assistant_event(kind: str, thread: AssistantThread, event_ts: str) -> JSON:
    return {
        "type": kind,
        "assistant_thread": {
            "user_id": thread.user,
            "channel_id": thread.channel,
            "thread_ts": thread.thread_ts,
            "context": thread.context,
        },
        "event_ts": event_ts,
    }


def _emit(emu: Emulator, workspace: Workspace, event: JSON) -> list[str]:
    if not workspace.installed or not emu.subscribed(workspace, event):
        return []
    return [emu.delivery.emit(workspace, event)]


async def _waited(emu: Emulator, body: JSON, out: JSON, event_ids: list[str]) -> JSON:
    out["event_ids"] = event_ids
    if body.get("wait"):
        out["acked"] = await emu.delivery.wait(event_ids, float(body.get("timeout", 10)))
    return out


def _person(emu: Emulator, body: JSON) -> tuple[Workspace, User]:
    """The workspace (`team`, else the user's) and the user a control call acts as."""
    team = workspace_of(emu, body)
    ident = need(body, "user")
    found = emu.world.user(ident, team.id if team else None)
    if found is None:
        raise ApiError("user_not_found", status=404)
    return installed(emu.world.workspaces[found.team]), found


def _dm(emu: Emulator, workspace: Workspace, user_id: str) -> Channel:
    call = Call(emu, "assistant", {}, workspace)
    return dm_channel(call, user_id)


@route
async def open_thread(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    workspace, user = _person(emu, body)
    channel = _dm(emu, workspace, user.id)
    root = Message(
        ts=emu.world.new_ts(),
        channel=channel.id,
        team=workspace.id,
        user=workspace.bot_user_id,
        text="New chat",
        bot_id=workspace.bot_id,
        subtype="assistant_app_thread",
        client_msg_id=str(uuid.uuid4()),
    )
    emu.world.add_message(root, "assistant")
    thread = AssistantThread(
        workspace.id,
        channel.id,
        root.ts,
        user.id,
        _context(emu, workspace, body.get("context_channel")),
    )
    threads_of(emu)[(channel.id, root.ts)] = thread
    event = _assistant_event("assistant_thread_started", thread, emu.world.new_ts())
    out: JSON = {"ok": True, "channel": channel.id, "thread_ts": root.ts}
    # `repeat`: Slack delivering the event again (a retry, a reopened pane), each time anew
    repeat = max(1, int(body.get("repeat", 1)))
    ids = [i for _ in range(repeat) for i in _emit(emu, workspace, event)]
    return await _waited(emu, body, out, ids)


@route
async def change_context(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    team = workspace_of(emu, body)
    channel = channel_of(emu, need(body, "channel"), team)
    workspace = installed(emu.world.workspaces[channel.team])
    thread = threads_of(emu).get((channel.id, need(body, "thread_ts")))
    if thread is None:
        raise ApiError("thread_not_found", status=404)
    thread.context = _context(emu, workspace, need(body, "context_channel"))
    event = _assistant_event("assistant_thread_context_changed", thread, emu.world.new_ts())
    return await _waited(emu, body, {"ok": True}, _emit(emu, workspace, event))


@route
async def list_threads(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    team, user = request.query.get("team"), request.query.get("user")
    threads = [
        t.as_json()
        for t in threads_of(emu).values()
        if (team is None or t.team == team) and (user is None or t.user == user)
    ]
    return {"ok": True, "threads": threads}


@route
async def open_home(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    workspace, user = _person(emu, body)
    channel = _dm(emu, workspace, user.id)
    event: JSON = {
        "type": "app_home_opened",
        "user": user.id,
        "channel": channel.id,
        "tab": "home",
        "event_ts": emu.world.new_ts(),
    }
    view = emu.interactions.home.get(user.id)
    if view is not None:
        event["view"] = view
    return await _waited(emu, body, {"ok": True}, _emit(emu, workspace, event))


@route
async def home_view(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    user = request.query.get("user", "")
    view = emu.interactions.home.get(user)
    team = request.query.get("team")
    if view is not None and team is not None and view.get("team_id") != team:
        view = None
    return {"ok": True, "view": view}


@route
async def click_home(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    workspace, user = _person(emu, body)
    view = emu.interactions.home.get(user.id)
    if view is None or view.get("team_id") != workspace.id:
        raise ApiError("view_not_found", status=404)
    action_id, value = need(body, "action_id"), body.get("value")
    value = None if value is None else str(value)
    hit = next(
        ((b, e) for b, e in _elements(view.get("blocks") or []) if _matches(e, action_id, value)),
        None,
    )
    if hit is None:
        raise ApiError("action_not_found", status=404)
    payload: JSON = {
        "type": "block_actions",
        "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": workspace.id},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "view", "view_id": view["id"]},
        "trigger_id": emu.interactions.new_trigger(emu.clock.wall(), workspace.id, user.id),
        "team": {"id": workspace.id, "domain": workspace.domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": view,
        "actions": [_action(hit[1], hit[0], value, emu.world.new_ts())],
    }
    _, out = await _deliver(emu, "interactive", workspace.id, payload, "block_actions", 1)
    out["action"] = payload["actions"][0]
    return out


@route
async def expire_streams(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    team = workspace_of(emu, body)
    wanted_channel = body.get("channel")
    wanted_ts = body.get("ts")
    expired: list[str] = []
    for channel in list(emu.world.channels.values()):
        if team is not None and channel.team != team.id:
            continue
        if wanted_channel is not None and channel.id != wanted_channel:
            continue
        for message in channel.messages.values():
            if message.stream_state != "streaming":
                continue
            if wanted_ts is not None and message.ts != wanted_ts:
                continue
            message.stream_state = "completed"
            emu.world.record_version(message, "stream_expired")
            expired.append(message.ts)
    return {"ok": True, "expired": expired}


def add_routes(app: web.Application) -> None:
    app.router.add_post("/_emulator/assistant/threads", open_thread)
    app.router.add_get("/_emulator/assistant/threads", list_threads)
    app.router.add_post("/_emulator/assistant/context", change_context)
    app.router.add_post("/_emulator/home", open_home)
    app.router.add_get("/_emulator/home", home_view)
    app.router.add_post("/_emulator/home/actions", click_home)
    app.router.add_post("/_emulator/streams/expire", expire_streams)
