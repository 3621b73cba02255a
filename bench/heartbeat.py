"""What one idle process's heartbeat costs the database when the tables are large (issue 15):
the statements of one beat, each one's query plan, and the beat's time, with 100,000 runs.

    python -m bench.heartbeat                # both engines, 100,000 runs
    python -m bench.heartbeat --runs 10000 --engines sqlite

The runs table grows forever (every run ever started), and so do `digests`; `handled_events`
keeps a day. Every process sends its heartbeat every ≤ 5 s, so its queries must read only the
rows in flight, through an index, never the whole table. PostgreSQL comes from a throwaway
cluster (`emulators/postgres.py`), SQLite from a temporary file.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from textwrap import indent

from bot.store import Store, open_store
from emulators.postgres import Cluster
from tests.heartbeat_helpers import Recorder, plan, populate

OWNER = "bench:1:idle"
BEATS = 20


async def beat(store: Store) -> None:
    """The store's side of one idle process's heartbeat (`core/heartbeat.py`): no lease or
    Slack request of its own to renew."""
    await store.takeover_scan()
    await store.take_orphan_requests(OWNER, 30.0)
    await store.departures_after(0)


async def measure(store: Store, runs: int, run_beat: Callable[[Store], Awaitable[None]]) -> str:
    recorder = Recorder(store)
    await populate(store, runs)
    await run_beat(store)  # warm
    recorder.on = True
    before = store.db.tally.statements
    await run_beat(store)
    statements = store.db.tally.statements - before
    recorder.on = False
    lines = [f"## {store.db.dialect}, {runs} runs: {statements} statement(s) a beat"]
    for query, params in recorder.sent:
        lines.append(f"  {' '.join(query.split())[:160]}")
        lines.append(indent(await plan(store, query, params, seqscan=True), "    "))
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
