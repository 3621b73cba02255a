"""What one idle process's heartbeat costs the database when the tables are large (issue 15):
the statements of one beat, each one's query plan, and the beat's time, with 100,000 runs.

    python -m bench.heartbeat                # both engines, 100,000 runs
    python -m bench.heartbeat --runs 10000 --engines sqlite

The runs table grows forever (every run ever started), and so do `digests`; `handled_events`
keeps a day. Every process sends its heartbeat every ≤ 5 s, so its queries must read only the
rows in flight, through an index, never the whole table. PostgreSQL comes from a throwaway
cluster (`tests/postgres.py`), SQLite from a temporary file.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.store import Store, open_store
from bot.store.sql import Params, Row
from tests.postgres import Cluster

OWNER = "bench:1:idle"
BEATS = 20


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


async def beat(store: Store) -> None:
    """The store's side of one idle process's heartbeat (`core/heartbeat.py`): no lease or
    Slack request of its own to renew."""
    await store.takeover_scan()
    await store.take_orphan_requests(OWNER, 30.0)
    await store.departures_after(0)


async def populate(store: Store, runs: int) -> None:
    """`runs` finished runs (a tenth of them digests), a handful in flight, queued or owing
    something, a day's worth of handled Slack requests, and other processes' leases."""
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
    for n in range(3):
        await store.take_lease(f"run:{runs - n}", "other:1:live", 30.0)


async def explain(store: Store, query: str, params: list[Any]) -> str:
    prefix = "EXPLAIN QUERY PLAN " if store.db.dialect == "sqlite" else "EXPLAIN "
    rows = await store.db.fetch(prefix + query, params)
    if store.db.dialect == "sqlite":
        return "\n".join(f"    {row['detail']}" for row in rows)
    return "\n".join(f"    {next(iter(row.values()))}" for row in rows)


async def measure(store: Store, runs: int, run_beat: Callable[[Store], Awaitable[None]]) -> str:
    recorder = Recorder(store)
    await populate(store, runs)
    if store.db.dialect == "postgresql":
        await store.db.execute("ANALYZE")
    await run_beat(store)  # warm
    recorder.on = True
    before = store.db.tally.statements
    await run_beat(store)
    statements = store.db.tally.statements - before
    recorder.on = False
    lines = [f"## {store.db.dialect}, {runs} runs: {statements} statement(s) a beat"]
    for query, params in recorder.sent:
        lines.append(f"  {' '.join(query.split())[:160]}")
        lines.append(await explain(store, query, params))
    times = []
    for _ in range(BEATS):
        start = time.perf_counter()
        await run_beat(store)
        times.append(time.perf_counter() - start)
    lines.append(
        f"  beat: median {statistics.median(times) * 1000:.2f} ms, "
        f"max {max(times) * 1000:.2f} ms over {BEATS} beats"
    )
    return "\n".join(lines)


async def main(runs: int, engines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for engine in engines:
            cluster = Cluster() if engine == "postgresql" else None
            try:
                url = cluster.database() if cluster is not None else None
                store = await open_store(url, Path(tmp) / f"{engine}.db")
                try:
                    print(await measure(store, runs, beat))
                finally:
                    await store.close()
            finally:
                if cluster is not None:
                    cluster.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.heartbeat", description=__doc__)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.runs, arguments.engines.split(",")))
