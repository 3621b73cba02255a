"""The heartbeat's one look at the runs table: everything a live process may take over.

Every process sends it every beat (`core/heartbeat.py`), so it is one statement, and each of
its parts reads only rows in flight through an index (migration 14; the runs and digests
tables grow forever): runs starting or running, threads with queued follow-ups, finished runs
that still owe their files or their final message, and digests claimed but never posted. All
but the queued ones count only when no process holds the run (`run:<id>` released or expired).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .records import Run, run_from_row
from .sql import Database

Thread = tuple[str, str, str]
"""(team_id, channel_id, thread_ts)."""


@dataclass(frozen=True, slots=True)
class Takeover:
    """What one scan found; each list in the order it should be taken up."""

    active: list[Run] = field(default_factory=list)
    """Runs starting or running that no process holds: their turn is to be seen through."""
    queued: list[Thread] = field(default_factory=list)
    """Threads with a queued follow-up (started by whoever gets it first, `start_next_queued`)."""
    owed: list[Run] = field(default_factory=list)
    """Finished runs that no process holds and that still owe their files or final message."""
    digests: list[tuple[Run, int, bool]] = field(default_factory=list)
    """Digests claimed but never posted, whose run no process holds: run, index, late."""


class TakeoverQueries:
    """The takeover scan, for `Store`, which opens `db` and sets `_now` and `_sql_now`."""

    db: Database
    _now: Callable[[], float | None]
    _sql_now: str

    async def takeover_scan(self) -> Takeover:
        """Every run a takeover pass may take up, in one statement (see the module)."""
        unleased = (
            "NOT EXISTS (SELECT 1 FROM leases l WHERE l.name = 'run:' || CAST(r.id AS TEXT) "
            f"AND l.expires_at > {self._sql_now})"
        )
        run = (  # typed NULLs: PostgreSQL matches each column's type across the union
            "r.*, CAST(NULL AS BIGINT) AS digest_index, CAST(NULL AS BIGINT) AS digest_late, "
            "CAST(NULL AS DOUBLE PRECISION) AS digest_at"
        )
        now = self._now()
        rows = await self.db.fetch(
            f"SELECT 'active' AS part, {run} FROM runs r "
            f"WHERE r.status IN ('starting', 'running') AND {unleased} "
            f"UNION ALL SELECT 'queued' AS part, {run} FROM runs r WHERE r.status = 'queued' "
            f"UNION ALL SELECT 'owed' AS part, {run} FROM runs r "
            "WHERE r.status IN ('completed', 'failed') "
            "AND ((r.files_done = 0 AND r.worker_id IS NOT NULL) OR r.final_pending IS NOT NULL) "
            f"AND {unleased} "
            "UNION ALL SELECT 'digest' AS part, r.*, d.message_index AS digest_index, "
            "d.late AS digest_late, d.created_at AS digest_at FROM runs r "
            "JOIN digests d ON d.run_id = r.id "
            f"WHERE r.message_ts IS NULL AND r.status = 'completed' AND {unleased}",
            [now, now, now],
        )
        scan = Takeover()
        for row in sorted(rows, key=lambda row: int(row["id"])):
            part = row["part"]
            if part == "active":
                scan.active.append(run_from_row(row))
            elif part == "owed":
                scan.owed.append(run_from_row(row))
            elif part == "queued":
                thread = (str(row["team_id"]), str(row["channel_id"]), str(row["thread_ts"]))
                if thread not in scan.queued:
                    scan.queued.append(thread)
        digests = sorted((row for row in rows if row["part"] == "digest"), key=_digest_at)
        scan.digests.extend(
            (run_from_row(row), int(row["digest_index"]), bool(row["digest_late"]))
            for row in digests
        )
        return scan


def _digest_at(row: dict[str, object]) -> float:
    at = row["digest_at"]
    assert isinstance(at, int | float)
    return float(at)
