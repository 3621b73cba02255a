"""What the bots cost PostgreSQL, measured on the server's side: statements and CPU.

The benchmark's cluster (`emulators.postgres.Cluster(count_statements=True)`) loads
`pg_stat_statements` with utility statements counted, so BEGIN and COMMIT are statements too.
The bot's driver (psycopg, outside pipeline mode) sends one statement per round trip, so the
statements a database saw are its round trips, whichever code the bot runs and whether or not
it counts them itself. The server's CPU is the postmaster's own, its live backends' and that of
the backends that already exited (the postmaster's `cutime` + `cstime`), from `/proc`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from emulators.postgres import Cluster

from .scenarios import row
from .stack import JSON
from .usage import CLOCK_TICKS

TOP = 12
"""How many of the most frequent statements each snapshot keeps (by calls)."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One database's statement counts and the server's CPU at one moment."""

    statements: int
    by_query: dict[str, int]
    server_cpu_s: float
    evicted: int
    """`pg_stat_statements_info.dealloc`: entries dropped for room (then counts are low)."""

    def since(self, before: Snapshot) -> dict[str, Any]:
        """What happened between `before` and this snapshot."""
        grown = {q: n - before.by_query.get(q, 0) for q, n in self.by_query.items()}
        top = sorted(((n, q) for q, n in grown.items() if n > 0), reverse=True)[:TOP]
        return {
            "statements": self.statements - before.statements,
            "server_cpu_s": round(self.server_cpu_s - before.server_cpu_s, 2),
            "evicted": self.evicted - before.evicted,
            "top": [{"calls": n, "query": " ".join(q.split())[:160]} for n, q in top],
        }


class Database:
    """The benchmark's PostgreSQL server: a new database per measured load."""

    def __init__(self) -> None:
        self.cluster = Cluster(count_statements=True)

    def fresh(self) -> tuple[str, str]:
        """A new, empty database: its name and URL."""
        url = self.cluster.database()
        return url.rsplit("/", 1)[1], url

    async def snapshot(self, name: str) -> Snapshot:
        return await asyncio.to_thread(self._snapshot, name)

    def _snapshot(self, name: str) -> Snapshot:
        with psycopg.connect(self.cluster.url(), autocommit=True) as conn:
            rows = conn.execute(
                "SELECT s.query, sum(s.calls)::bigint FROM pg_stat_statements s "
                "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = %s GROUP BY s.query",
                [name],
            ).fetchall()
            evicted = conn.execute("SELECT dealloc FROM pg_stat_statements_info").fetchone()
        by_query = {str(query): int(calls) for query, calls in rows}
        return Snapshot(
            sum(by_query.values()),
            by_query,
            server_cpu(self.cluster.server_pid()),
            int(evicted[0]) if evicted else 0,
        )

    def close(self) -> None:
        self.cluster.stop()


def server_cpu(postmaster: int) -> float:
    """CPU seconds of the postmaster, its live children and its reaped children."""
    total = _ticks(postmaster, reaped=True)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _parent(entry) == postmaster:
            total += _ticks(int(entry.name), reaped=False)
    return total / CLOCK_TICKS


def _fields(pid: int) -> list[str]:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces


def _parent(entry: Path) -> int | None:
    try:
        return int(_fields(int(entry.name))[1])
    except (OSError, ValueError, IndexError):
        return None  # gone meanwhile


def _ticks(pid: int, *, reaped: bool) -> int:
    """utime + stime (fields 14, 15), and with `reaped` also cutime + cstime (16, 17)."""
    try:
        fields = _fields(pid)
    except OSError:
        return 0
    own = int(fields[11]) + int(fields[12])
    return own + (int(fields[13]) + int(fields[14]) if reaped else 0)


def database_rows(name: str, used: dict[str, Any] | None, runs: int, wall: float) -> list[JSON]:
    """PostgreSQL's side of the load: statements (round trips) per run, and its CPU."""
    if used is None:
        return []
    top = ", ".join(f"{t['query'][:40]} {t['calls'] / runs:.1f}" for t in used["top"][:5])
    return [
        row(
            name,
            "database round trips per run",
            round(used["statements"] / runs, 1),
            "",
            target="report",
            note=f"statements PostgreSQL ran for this database (pg_stat_statements, BEGIN and "
            f"COMMIT included) from the first command to the last final; most frequent per "
            f"run: {top}"
            + (f"; {used['evicted']} entries evicted (a lower bound)" if used["evicted"] else ""),
        ),
        row(
            name,
            "PostgreSQL server CPU seconds for the whole load",
            used["server_cpu_s"],
            "s",
            target="report",
            note=f"{used['server_cpu_s'] / wall:.2f} of a core on average; "
            f"{used['server_cpu_s'] / runs * 1000:.0f} ms per run",
        ),
    ]
