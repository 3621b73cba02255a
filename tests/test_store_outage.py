"""A PostgreSQL outage (the server stops, then comes back): statements wait and go through once
it is back, instead of failing the runs they belong to, and the log says so once."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from bot.store import open_store
from bot.store.outage import LONGEST_WAIT
from emulators.postgres import Cluster
from tests.stores import add_run


async def test_statements_wait_out_a_server_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cluster = await asyncio.to_thread(Cluster)  # a server of its own, to stop
    try:
        store = await open_store(cluster.url(), tmp_path / "unused.db")
        run = await add_run(store, status="running")
        await asyncio.to_thread(cluster.halt, "fast")  # a restart: every connection breaks
        caplog.set_level(logging.INFO, logger="bot.store.outage")
        waiting: list[asyncio.Task[Any]] = [
            asyncio.create_task(store.update_run(run.id, status="completed")),
            asyncio.create_task(store.claim_event("Ev1")),
            asyncio.create_task(store.active_runs()),
        ]
        for _ in range(100):  # until every statement has met the outage
            if store.db.outage.down_since is not None:  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0.05)
        assert not any(task.done() for task in waiting)
        await asyncio.to_thread(cluster.start)
        done, claimed, _ = await asyncio.wait_for(asyncio.gather(*waiting), 60)
        assert done.status == "completed" and claimed
        assert (await store.get_run(run.id)).status == "completed"
        assert not await store.claim_event("Ev1")  # claimed once, while it was down
        lines = [r.getMessage() for r in caplog.records if r.name == "bot.store.outage"]
        assert len([line for line in lines if "does not answer" in line]) == 1, lines
        assert len([line for line in lines if "is back after" in line]) == 1, lines
        await store.close()
    finally:
        await asyncio.to_thread(cluster.stop)


async def test_a_lost_server_is_tried_again_every_few_seconds(
    tmp_path: Path, postgres_url: str
) -> None:
    """psycopg's pool, left to its default, doubles its wait between connection attempts for
    5 minutes (1, 2, 4 … 128 s): after an outage of a minute the runs would stall for another
    minute once the server is back. The app's pool gives a lost connection up after the
    longest outage wait, and a statement still waiting starts a fresh attempt."""
    store = await open_store(postgres_url, tmp_path / "unused.db")
    assert store.db.pool.reconnect_timeout <= LONGEST_WAIT  # type: ignore[attr-defined]
    await store.close()
