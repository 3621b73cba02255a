"""The test-facing side: request log, fault injection, JSON errors, auth, and `/_emulator/*`.

Middlewares run in this order: log -> faults -> errors -> auth -> handler, so a faulted request
is still logged but never reaches a handler (it has no effect), and every error is JSON.
"""

from __future__ import annotations

import hmac
import json
import re
import time
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from .holds import arm, release, wait_if_held
from .schedules import Scheduler
from .state import (
    IDLE_STREAM_MODES,
    STREAM_FORMATS,
    Config,
    Emulator,
    Fault,
    ScriptedAnswer,
    StreamFault,
    Turn,
    iso_ms,
)
from .validate import ApiError

EMU_KEY: web.AppKey[Emulator] = web.AppKey("emulator", Emulator)
SCHEDULER_KEY: web.AppKey[Scheduler] = web.AppKey("scheduler", Scheduler)
CONTROL_PREFIX = "/_emulator/"


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def _authorization(request: web.Request, api_key: str) -> str:
    header = request.headers.get("Authorization")
    if header is None:
        return "none"
    scheme, _, token = header.partition(" ")
    ok = scheme.lower() == "bearer" and hmac.compare_digest(token.strip(), api_key)
    return "valid" if ok else "invalid"


async def _json_or_none(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


@web.middleware
async def log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Record every non-control request (key never stored: only valid/invalid/none), and when
    its handler returned (`finished`; for an SSE response, when the stream was closed)."""
    if request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    emu = request.app[EMU_KEY]
    entry: dict[str, Any] = {
        "time": time.time(),
        "method": request.method,
        "path": request.path,
        "raw_path": request.raw_path,
        "query": dict(request.query),
        "host": request.headers.get("Host"),
        "authorization": _authorization(request, emu.config.api_key),
        "idempotency_key": request.headers.get("Idempotency-Key"),
        "body": await _json_or_none(request),
        "status": None,
        "finished": None,
    }
    emu.requests.append(entry)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        entry["status"] = exc.status
        raise
    finally:
        entry["finished"] = time.time()
    entry["status"] = None if request.get("closed") else response.status
    return response


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Fire the first matching pending fault instead of handling the request; a `hold` fault
    handles it, then holds the response until released (`holds.py`)."""
    if request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    emu = request.app[EMU_KEY]
    for fault in emu.faults:
        if fault.method and fault.method.upper() != request.method:
            continue
        if fault.path and not re.search(fault.path, request.path):
            continue
        if fault.after > 0:
            fault.after -= 1
            break  # this one goes through
        fault.count -= 1
        if fault.count <= 0:
            emu.faults.remove(fault)
        if fault.action == "hold":
            arm(request)
            response = await handler(request)
            await wait_if_held(request, emu.held)  # a stream has waited before its headers
            return response
        if fault.action == "close":
            await request.read()
            request["closed"] = True
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=599)  # never written: the transport is gone
        if fault.action == "redirect":
            return web.Response(status=302, headers={"Location": str(fault.location)})
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
        return error_response(fault.status, fault.error, headers)
    return await handler(request)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn ApiError and aiohttp's own 404/405 into `{"error": ...}` bodies."""
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        message = f"{exc.reason}: {request.method} {request.path}"
        return error_response(exc.status, message, allow)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/api/"):
        verdict = _authorization(request, request.app[EMU_KEY].config.api_key)
        if verdict == "none":
            raise ApiError(401, "Missing Authorization header (expected `Bearer <api key>`)")
        if verdict == "invalid":
            raise ApiError(401, "Invalid API key")
    return await handler(request)


async def _body(request: web.Request) -> dict[str, Any]:
    body = await _json_or_none(request)
    if body is None and request.can_read_body is False:
        return {}
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object")
    return body


async def post_fault(request: web.Request) -> web.Response:
    body = await _body(request)
    action = body.get("action", "respond")
    if action not in ("respond", "close", "hold", "redirect"):
        raise ApiError(400, "`action` must be respond, close, hold or redirect")
    if action == "redirect" and not body.get("location"):
        raise ApiError(400, "A redirect needs a `location`")
    try:
        retry_after = body.get("retry_after")
        fault = Fault(
            status=int(body.get("status", 503)),
            count=int(body.get("count", 1)),
            retry_after=None if retry_after is None else str(retry_after),
            method=body.get("method"),
            path=body.get("path"),
            error=str(body.get("error") or "Injected fault"),
            action=action,
            after=_count(body, "after"),
            location=body.get("location"),
        )
        if fault.path:
            re.compile(fault.path)
    except (TypeError, ValueError, re.error) as exc:
        raise ApiError(400, f"Invalid fault: {exc}") from None
    request.app[EMU_KEY].faults.append(fault)
    return web.json_response({"ok": True})


def _count(body: dict[str, Any], name: str) -> int:
    """A non-negative integer field (0 when absent)."""
    value = int(body.get(name, 0))
    if value < 0:
        raise ValueError(f"`{name}` must be >= 0")
    return value


async def post_stream_fault(request: web.Request) -> web.Response:
    body = await _body(request)
    try:
        fault = StreamFault(count=int(body.get("count", 1)), after=_count(body, "after"))
        if "cut_after" in body:
            fault.cut_after = int(body["cut_after"])
        if "stall_after" in body:
            fault.stall_after = int(body["stall_after"])
            fault.stall_seconds = float(body.get("stall_seconds", 1.0))
        if "inject_after" in body:
            fault.inject_after = int(body["inject_after"])
            fault.inject = str(body.get("inject", ""))
    except (TypeError, ValueError) as exc:
        raise ApiError(400, f"Invalid stream fault: {exc}") from None
    if fault.cut_after is None and fault.stall_after is None and fault.inject_after is None:
        raise ApiError(400, "Give `cut_after`, `stall_after` or `inject_after`")
    request.app[EMU_KEY].stream_faults.append(fault)
    return web.json_response({"ok": True})


async def post_answer(request: web.Request) -> web.Response:
    """`{text, sources?: [{url, title}], match?, count=1}`: what the next matching turns say."""
    body = await _body(request)
    text, sources = body.get("text"), body.get("sources")
    if not isinstance(text, str):
        raise ApiError(400, "`text` must be a string")
    if sources is not None and not (
        isinstance(sources, list)
        and all(isinstance(s, dict) and {"url", "title"} <= s.keys() for s in sources)
    ):
        raise ApiError(400, "`sources` must be a list of {url, title}")
    try:
        answer = ScriptedAnswer(
            text=text,
            sources=None
            if sources is None
            else [{k: str(s[k]) for k in ("url", "title")} for s in sources],
            match=str(body.get("match", "")),
            count=int(body.get("count", 1)),
        )
    except (TypeError, ValueError) as exc:
        raise ApiError(400, f"Invalid answer: {exc}") from None
    request.app[EMU_KEY].answers.append(answer)
    return web.json_response({"ok": True})


async def get_held(request: web.Request) -> web.Response:
    """The requests performed whose responses are held (oldest first)."""
    return web.json_response([hold.as_json() for hold in request.app[EMU_KEY].held])


async def post_release(request: web.Request) -> web.Response:
    """Send the held responses: all of them, or the oldest `count`."""
    body = await _body(request)
    count = body.get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ApiError(400, "`count` must be a positive integer")
    return web.json_response({"released": release(request.app[EMU_KEY].held, count)})


async def get_requests(request: web.Request) -> web.Response:
    return web.json_response(request.app[EMU_KEY].requests)


async def delete_requests(request: web.Request) -> web.Response:
    request.app[EMU_KEY].requests.clear()
    return web.json_response({"ok": True})


def turn_times(turn: Turn) -> dict[str, Any]:
    """When a turn started, showed its first text and ended, and when each text delta was
    emitted (Unix seconds), with the length of the turn's text after each delta."""
    deltas = [event for event in turn.events if event.kind == "text_delta"]
    last = turn.events[-1] if turn.events else None
    return {
        "number": turn.number,
        "started_at": turn.events[0].time if turn.events else None,
        "first_text_at": deltas[0].time if deltas else None,
        "ended_at": last.time if last is not None and last.kind in ("finish", "error") else None,
        "deltas": [event.time for event in deltas],
        "chars": [event.text_len for event in deltas],
    }


async def get_workers(request: web.Request) -> web.Response:
    """Every worker; with `?times=true`, also each turn's measured times (`turn_times`)."""
    times = request.query.get("times", "").lower() in ("true", "1")
    workers = []
    for worker in request.app[EMU_KEY].workers.values():
        entry: dict[str, Any] = {
            "id": worker.id,
            "status": "running" if worker.busy else "completed",
            "turns": len(worker.turns),
            "inputs": [turn.input for turn in worker.turns],
        }
        if times:
            entry["turn_times"] = [turn_times(turn) for turn in worker.turns]
        workers.append(entry)
    return web.json_response(workers)


async def get_worker_events(request: web.Request) -> web.Response:
    """Every event of every turn of one worker, in order, with the time it happened."""
    worker = request.app[EMU_KEY].workers.get(request.match_info["worker_id"])
    if worker is None:
        raise ApiError(404, "Worker not found")
    events = [
        {"turn": turn.number, "kind": event.kind, "time": event.time, "chars": event.text_len}
        for turn in worker.turns
        for event in turn.events
    ]
    return web.json_response(events)


async def get_stats(request: web.Request) -> web.Response:
    streams = request.app[EMU_KEY].streams
    return web.json_response(
        {"open_streams": streams.open, "peak_open_streams": streams.peak, "streams": streams.total}
    )


def _config_value(key: str, value: Any) -> Any:
    """Validate one runtime config change; return the value to store."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if key in ("done_sentinel", "blocking", "idempotency_keys") and isinstance(value, bool):
        return value
    if key == "stream_format" and value in STREAM_FORMATS:
        return value
    if key == "idle_stream" and value in IDLE_STREAM_MODES:
        return value
    if key == "turn_seconds" and number and value >= 0:
        return float(value)
    if key == "time_scale" and number and value > 0:
        return float(value)
    if key == "chunks" and number and isinstance(value, int) and value >= 1:
        return value
    if key not in Config.MUTABLE:
        raise ApiError(400, f"Unknown config key {key!r}")
    raise ApiError(400, f"Bad value for {key!r}: {value!r}")


async def post_config(request: web.Request) -> web.Response:
    """Change config at runtime (all keys validated before any is applied)."""
    emu = request.app[EMU_KEY]
    changes = {key: _config_value(key, value) for key, value in (await _body(request)).items()}
    for key, value in changes.items():
        if key == "time_scale":
            emu.clock.set_scale(value)
        setattr(emu.config, key, value)
    emu.on_schedules_changed()
    return web.json_response(emu.config.public())


async def get_clock(request: web.Request) -> web.Response:
    return web.json_response({"now": iso_ms(request.app[EMU_KEY].clock.now())})


async def post_clock(request: web.Request) -> web.Response:
    """Advance the clock; due schedules have started their turns when this returns."""
    emu = request.app[EMU_KEY]
    body = await _body(request)
    advance = body.get("advance", 0)
    if isinstance(advance, bool) or not isinstance(advance, int | float) or advance < 0:
        raise ApiError(400, "`advance` must be a non-negative number of seconds")
    emu.clock.advance(float(advance))
    request.app[SCHEDULER_KEY].fire_due()
    emu.on_schedules_changed()
    return web.json_response({"now": iso_ms(emu.clock.now())})


async def post_reset(request: web.Request) -> web.Response:
    await request.app[EMU_KEY].reset()
    return web.json_response({"ok": True})


def add_control_routes(app: web.Application) -> None:
    app.router.add_post("/_emulator/faults", post_fault)
    app.router.add_post("/_emulator/stream-faults", post_stream_fault)
    app.router.add_post("/_emulator/answers", post_answer)
    app.router.add_get("/_emulator/held", get_held)
    app.router.add_post("/_emulator/release", post_release)
    app.router.add_get("/_emulator/requests", get_requests)
    app.router.add_delete("/_emulator/requests", delete_requests)
    app.router.add_get("/_emulator/workers", get_workers)
    app.router.add_get("/_emulator/workers/{worker_id}/events", get_worker_events)
    app.router.add_get("/_emulator/stats", get_stats)
    app.router.add_post("/_emulator/config", post_config)
    app.router.add_get("/_emulator/clock", get_clock)
    app.router.add_post("/_emulator/clock", post_clock)
    app.router.add_post("/_emulator/reset", post_reset)
