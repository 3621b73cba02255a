"""The emulated Handinger workers API (`/api/workers/...`) and the app factory.

Handlers only validate, mutate state synchronously and render: the scripted agent plays turns in
background tasks, so a dropped connection never stops a turn (as on the real service).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from .agent import start_turn
from .control import (
    EMU_KEY,
    SCHEDULER_KEY,
    add_control_routes,
    auth_middleware,
    error_middleware,
    fault_middleware,
    log_middleware,
)
from .files import file_blocks, file_length
from .idempotency import fingerprint, remember, replay, request_key
from .overview import add_overview_route
from .render import schedule_json, worker_json
from .schedules import Scheduler
from .state import Config, Emulator, PublishedFile, Turn, Worker, new_ulid
from .streams import serve_stream
from .validate import ApiError, schedule_body, turn_body


def _emu(request: web.Request) -> Emulator:
    return request.app[EMU_KEY]


def _worker(request: web.Request) -> Worker:
    worker = _emu(request).workers.get(request.match_info["worker_id"])
    if worker is None:
        raise ApiError(404, "Worker not found")
    return worker


async def _json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(400, "Request body is not valid JSON") from None


def _wants_stream(request: web.Request) -> bool:
    flag = request.query.get("stream", "").lower() in ("true", "1")
    return flag or "text/event-stream" in request.headers.get("Accept", "")


async def _turn_response(
    request: web.Request, worker: Worker, turn: Turn, stream: bool, *, replayed: bool = False
) -> web.StreamResponse:
    emu = _emu(request)
    headers = {"X-Worker-Id": worker.id}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    if stream:
        return await serve_stream(request, emu, worker, only=turn, headers=headers)
    if emu.config.blocking:
        await turn.wait_done()
    return web.json_response(worker_json(worker), headers=headers)


async def create_worker(request: web.Request) -> web.StreamResponse:
    return await _start(request, await _json(request), None)


async def continue_worker(request: web.Request) -> web.StreamResponse:
    worker = _worker(request)
    return await _start(request, await _json(request), worker)


async def _start(request: web.Request, body: Any, worker: Worker | None) -> web.StreamResponse:
    """A turn on `worker` (a new worker when None), or the answer already given to a request
    with the same idempotency key and body."""
    emu = _emu(request)
    text, budget, stream = turn_body(body)
    key, print_ = request_key(request, emu), fingerprint(request, body)
    earlier = replay(emu, key, print_) if key is not None else None
    if earlier is not None:
        return await _turn_response(request, *earlier, stream, replayed=True)
    if worker is None:
        worker = Worker(id=f"t_org_emu_w_{new_ulid()}", created_at=int(time.time()))
        emu.workers[worker.id] = worker
    elif worker.busy:
        raise ApiError(409, "Worker is busy with another turn")
    turn = start_turn(emu, worker, text, budget)
    if key is not None:
        remember(emu, key, print_, worker, turn)
    return await _turn_response(request, worker, turn, stream)


async def get_worker(request: web.Request) -> web.StreamResponse:
    worker = _worker(request)
    if _wants_stream(request):
        return await serve_stream(request, _emu(request), worker)
    return web.json_response(worker_json(worker))


async def stream_worker(request: web.Request) -> web.StreamResponse:
    return await serve_stream(request, _emu(request), _worker(request))


async def get_email(request: web.Request) -> web.Response:
    return web.json_response(_worker(request).email)


def _tail_of_raw_path(request: web.Request, segments_before: int) -> str:
    """The rest of the path after N segments, decoded once, so `a%2Fb` and `a/b` are equal.

    Read from the raw path rather than trusting the router's decoding, which differs between
    aiohttp versions (newer ones keep `%2F` encoded while routing).
    """
    raw = request.raw_path.split("?", 1)[0]
    parts = raw.split("/", segments_before + 1)
    return unquote(parts[-1]) if len(parts) == segments_before + 2 else ""


async def _send_file(request: web.Request, published: PublishedFile) -> web.StreamResponse:
    headers = {"Content-Type": published.media_type}
    if published.size is None:
        return web.Response(body=b"".join(file_blocks(published)), headers=headers)
    response = web.StreamResponse(headers=headers)
    response.content_length = file_length(published)
    await response.prepare(request)
    try:
        if request.method != "HEAD":
            for block in file_blocks(published):
                await response.write(block)
        await response.write_eof()
    except ConnectionError:  # the client stopped reading (a size cap, a test): nothing is wrong
        pass
    return response


async def _published_file(request: web.Request, segments_before: int) -> web.StreamResponse:
    published = _worker(request).files.get(_tail_of_raw_path(request, segments_before))
    if published is None:
        raise ApiError(404, "File not found")
    return await _send_file(request, published)


async def get_file(request: web.Request) -> web.StreamResponse:
    return await _published_file(request, 4)


async def get_foreign_file(request: web.Request) -> web.StreamResponse:
    """A published file on a different origin, served without auth (a leak would be logged)."""
    return await _published_file(request, 2)


async def list_schedules(request: web.Request) -> web.Response:
    worker = _worker(request)
    schedules = [schedule_json(s) for s in worker.schedules.values()]
    return web.json_response({"schedules": schedules, "workerId": worker.id})


async def create_schedule(request: web.Request) -> web.Response:
    emu = _emu(request)
    worker = _worker(request)
    schedule = schedule_body(await _json(request), emu.clock.now())
    worker.schedules[schedule.id] = schedule
    emu.on_schedules_changed()
    return web.json_response(schedule_json(schedule))


async def cancel_schedule(request: web.Request) -> web.Response:
    worker = _worker(request)
    cancelled = worker.schedules.pop(request.match_info["schedule_id"], None) is not None
    _emu(request).on_schedules_changed()
    return web.json_response({"cancelled": cancelled})


async def _background(app: web.Application) -> AsyncIterator[None]:
    """Run the scheduler for the app's lifetime; end all turns (and their streams) on exit."""
    task = asyncio.get_running_loop().create_task(app[SCHEDULER_KEY].run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await app[EMU_KEY].reset()


def create_app(config: Config) -> web.Application:
    emu = Emulator(config)
    app = web.Application(
        middlewares=[log_middleware, fault_middleware, error_middleware, auth_middleware],
        client_max_size=16 * 1024 * 1024,
    )
    app[EMU_KEY] = emu
    app[SCHEDULER_KEY] = Scheduler(emu)
    app.cleanup_ctx.append(_background)
    worker = "/api/workers/{worker_id}"
    app.router.add_post("/api/workers", create_worker)
    app.router.add_get(worker, get_worker)
    app.router.add_post(worker, continue_worker)
    app.router.add_get(worker + "/stream", stream_worker)
    app.router.add_get(worker + "/email", get_email)
    app.router.add_get(worker + "/files/{file_path:.+}", get_file)
    app.router.add_get(worker + "/schedules", list_schedules)
    app.router.add_post(worker + "/schedules", create_schedule)
    app.router.add_delete(worker + "/schedules/{schedule_id}", cancel_schedule)
    app.router.add_get("/_foreign/{worker_id}/{file_path:.+}", get_foreign_file)
    add_control_routes(app)
    add_overview_route(app)
    return app
