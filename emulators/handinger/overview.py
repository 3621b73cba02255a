"""`GET /_emulator/overview`: every worker and schedule in one answer, for the sandbox page.

The page's Handinger panel shows what this emulator holds (workers, their latest answer, their
schedules and the emulated clock) without one request per worker, and without the API key.
Each worker lists the `Idempotency-Key`s of the requests that started its turns (`keys`): a
client that also marks its own messages with the key (the app's Slack messages carry it in
their `handinger_run` metadata) can be joined to its worker while the turn still runs.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .control import EMU_KEY
from .render import schedule_json
from .state import Worker, iso_ms

EXCERPT = 280
"""Characters of a worker's latest answer the panel shows."""


def _worker(worker: Worker, keys: list[str]) -> dict[str, Any]:
    latest = worker.turns[-1] if worker.turns else None
    return {
        "id": worker.id,
        "status": "running" if worker.busy else "completed",
        "turns": len(worker.turns),
        "inputs": [turn.input for turn in worker.turns],
        "output_excerpt": (latest.text[:EXCERPT] if latest else ""),
        "failed": bool(latest and latest.error),
        "files": sorted(worker.files),
        "email": worker.email,
        "created_at": worker.created_at,
        "keys": keys,
    }


async def get_overview(request: web.Request) -> web.Response:
    emu = request.app[EMU_KEY]
    workers = sorted(emu.workers.values(), key=lambda w: w.created_at)
    keys: dict[str, list[str]] = {}
    for key, remembered in emu.idempotency.items():
        keys.setdefault(remembered.worker_id, []).append(key)
    schedules = [
        {**schedule_json(schedule), "workerId": worker.id, "next_run": schedule.next_run}
        for worker in workers
        for schedule in worker.schedules.values()
    ]
    schedules.sort(key=lambda s: float(s["next_run"]))
    now = emu.clock.now()
    return web.json_response(
        {
            "now": iso_ms(now),
            "now_unix": now,
            "workers": [_worker(w, keys.get(w.id, [])) for w in workers],
            "schedules": schedules,
        }
    )


def add_overview_route(app: web.Application) -> None:
    app.router.add_get("/_emulator/overview", get_overview)
