"""Large tables for the heartbeat's queries, and the statements a store sends: shared by the
index tests (`tests/test_store_takeover.py`) and `bench/heartbeat.py`."""

from __future__ import annotations

from typing import Any

from bot.store import Store
from bot.store.sql import Params, Row


class Recorder:
    """The statements a store sends while `on`, by wrapping its database's two calls."""

    def __init__(self, store: Store) -> None:
        self.on = False
        self.sent: list[tuple[str, list[Any]]] = []
        db = store.db
        fetch, execute = db.fetch, db.execute

        async def recording_fetch(query: str, params: Params = ()) -> list[Row]:
            if self.on:
                self.sent.append((query, list(params)))
            return await fetch(query, params)

        async def recording_execute(query: str, params: Params = ()) -> int:
            if self.on:
                self.sent.append((query, list(params)))
            return await execute(query, params)

        db.fetch = recording_fetch  # type: ignore[method-assign]
        db.execute = recording_execute  # type: ignore[method-assign]


async def populate(store: Store, runs: int) -> None:
    """`runs` finished runs (a tenth of them digests), a handful in flight, queued or owing
    something, as many handled Slack requests, and another process's leases on three runs."""
    series = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
    await store.db.execute(
        series + "INSERT INTO runs (id, team_id, channel_id, thread_ts, kind, input, status, "
        "created_at, worker_id, message_ts, files_done) "
        "SELECT i, 'T' || CAST(i % 20 AS TEXT), 'C' || CAST(i % 50 AS TEXT), CAST(i AS TEXT), "
        "'new', 'question', CASE WHEN i % 100 = 0 THEN 'failed' ELSE 'completed' END, i, "
        "'w' || CAST(i AS TEXT), CAST(i AS TEXT), 1 FROM n",
        [runs],
    )
    await store.db.execute(
        series + "INSERT INTO digests (key, worker_id, run_id, message_index, late, created_at) "
        "SELECT 'd' || CAST(i AS TEXT), 'w' || CAST(i AS TEXT), i, 1, 0, i FROM n "
        "WHERE i % 10 = 0",
        [runs],
    )
    await store.db.execute(
        series + "INSERT INTO handled_events (key, handled_at) "
        "SELECT 'event:' || CAST(i AS TEXT), i FROM n",
        [runs],
    )
    for n, status in enumerate(["starting", "running", "running", "queued", "queued"]):
        await store.db.execute(
            "UPDATE runs SET status = ?, files_done = NULL WHERE id = ?", [status, runs - n]
        )
    await store.db.execute("UPDATE runs SET files_done = 0 WHERE id = ?", [runs - 10])
    await store.db.execute("UPDATE runs SET final_pending = 'answer' WHERE id = ?", [runs - 11])
    await store.db.execute("UPDATE runs SET message_ts = NULL WHERE id = ?", [runs - 20])
    for n in range(3):
        await store.take_lease(f"run:{runs - n}", "other:1:live", 30.0)
    if store.db.dialect == "postgresql":
        await store.db.execute("ANALYZE")


async def plan(store: Store, query: str, params: list[Any], *, seqscan: bool = False) -> str:
    """How the engine would run `query`: SQLite's query plan, or PostgreSQL's, by default
    with sequential scans off (so an index is used if one can be, whatever the table's size)."""
    if store.db.dialect == "sqlite":
        rows = await store.db.fetch("EXPLAIN QUERY PLAN " + query, params)
        return "\n".join(str(row["detail"]) for row in rows)
    async with store.db.transaction() as tx:
        if not seqscan:
            await tx.execute("SET LOCAL enable_seqscan = off")
        rows = await tx.fetch("EXPLAIN " + query, params)
    return "\n".join(str(next(iter(row.values()))) for row in rows)
