"""`/healthz` reports the database: `ok` while it answers; while it is down, 503 with why
(after at most `HEALTH_TIMEOUT`, not the pool's 30 s wait for a connection); ok again after."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.main import Parts
from bot.store import open_store
from emulators.postgres import Cluster


def parts_with(store: Any) -> Parts:
    """The parts `health` reads: the settings (HTTP mode) and the store."""
    settings = Settings.model_construct(slack_app_token=None)
    return Parts(settings, store, *([None] * 12))  # type: ignore[arg-type]


async def test_health_follows_the_database_down_and_back(tmp_path: Path) -> None:
    cluster = await asyncio.to_thread(Cluster)  # a server of its own, to stop
    try:
        store = await open_store(cluster.url(), tmp_path / "unused.db")
        parts = parts_with(store)
        sent = store.db.tally.statements
        assert await parts.health() == {
            "ok": True, "mode": "http", "active_runs": 0, "database": "ok",
            "database_statements": sent,
        }  # fmt: skip
        assert (await parts.health())["database_statements"] == sent + 1  # the first check's
        await asyncio.to_thread(cluster.halt)
        down = await parts.health()  # after at most HEALTH_TIMEOUT seconds
        assert down["ok"] is False and down["database"].startswith("unreachable")
        await asyncio.to_thread(cluster.start)
        for _ in range(50):  # the pool replaces its broken connections
            if (await parts.health())["ok"]:
                break
            await asyncio.sleep(0.2)
        assert (await parts.health())["database"] == "ok"
        await store.close()
    finally:
        await asyncio.to_thread(cluster.stop)
