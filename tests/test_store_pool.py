"""A busy pool is not an outage: with every connection of the process in use, a statement
waits its turn (no "does not answer" line, no backoff that loses its place), and the
heartbeat's lease renewals go ahead of the bulk work on a connection kept for them, so a
process under load does not lose its leases."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest

from bot.core.ownership import Ownership
from bot.store import Store
from bot.store.postgres import ACQUIRE_TIMEOUT, PostgresDatabase, open_postgres

WAIT = 30.0
"""A generous bound for what must finish: only waiting, never a measure."""


@asynccontextmanager
async def held(db: PostgresDatabase, count: int) -> AsyncIterator[list[asyncio.Task[None]]]:
    """`count` transactions that each hold a connection until the block ends."""
    release = asyncio.Event()
    holding = asyncio.Semaphore(0)

    async def hold() -> None:
        async with db.transaction() as tx:
            await tx.execute("SELECT 1")
            holding.release()
            await release.wait()

    tasks = [asyncio.create_task(hold()) for _ in range(count)]
    for _ in range(count):
        await asyncio.wait_for(holding.acquire(), WAIT)
    try:
        yield tasks
    finally:
        release.set()
        await asyncio.wait_for(asyncio.gather(*tasks), WAIT)


def outage_lines(caplog: pytest.LogCaptureFixture) -> Iterator[str]:
    return (r.getMessage() for r in caplog.records if r.name == "bot.store.outage")


async def test_a_statement_waits_its_turn_behind_a_busy_pool(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.store.outage")
    db = await open_postgres(postgres_url, max_size=1, migrate=False)
    try:
        async with held(db, 1):
            waiting = asyncio.create_task(db.fetch("SELECT 2 AS n"))
            done, _ = await asyncio.wait([waiting], timeout=ACQUIRE_TIMEOUT * 2)
            assert not done  # the one connection is in use: it waits its turn
        assert (await asyncio.wait_for(waiting, WAIT))[0]["n"] == 2
        assert list(outage_lines(caplog)) == []
        assert db.outage.down_since is None
    finally:
        await db.close()


async def test_the_heartbeat_renews_its_leases_under_a_saturated_pool(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.store.outage")
    db = await open_postgres(postgres_url, max_size=2)
    store = Store(db)
    ownership = Ownership(store, "me", 30.0)
    try:
        assert await ownership.take("run:1")
        async with held(db, 2):
            bulk = [asyncio.create_task(store.lease_owners()) for _ in range(5)]
            lost = await asyncio.wait_for(ownership.beat(), WAIT)
            assert lost == set() and ownership.held == {"run:1"}
            assert not any(task.done() for task in bulk)  # the renewal went ahead of them
        for owners in await asyncio.wait_for(asyncio.gather(*bulk), WAIT):
            assert owners == {"me"}
        assert list(outage_lines(caplog)) == []
    finally:
        await store.close()
