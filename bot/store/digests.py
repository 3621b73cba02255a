"""Queries of what of a worker's history was shown in Slack, and of the digests posted for it."""

from __future__ import annotations

from collections.abc import Callable

from .records import Run, run_from_row
from .sql import Database


class DigestQueries:
    """The `worker_marks` and `digests` tables, for `Store`, which opens `db` and sets `_clock`."""

    db: Database
    _clock: Callable[[], float]
    _now: Callable[[], float | None]
    _sql_now: str

    async def messages_seen(self, worker_id: str) -> int | None:
        rows = await self.db.fetch(
            "SELECT messages_seen FROM worker_marks WHERE worker_id = ?", [worker_id]
        )
        return int(rows[0]["messages_seen"]) if rows else None

    async def see_messages(self, worker_id: str, count: int) -> None:
        """Everything before message `count` of this worker has been shown in Slack."""
        await self.db.execute(
            "INSERT INTO worker_marks (worker_id, messages_seen, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (worker_id) DO UPDATE SET messages_seen = CASE "
            "WHEN excluded.messages_seen > worker_marks.messages_seen "
            "THEN excluded.messages_seen ELSE worker_marks.messages_seen END, "
            "updated_at = excluded.updated_at",
            [worker_id, count, self._clock()],
        )

    async def claim_digest(
        self, *, worker_id: str, message_index: int, schedule_id: str, run_id: int, late: bool
    ) -> bool:
        """Record that a scheduled turn gets a digest; False if it already has one."""
        key = f"{worker_id}:{message_index}"
        inserted = await self.db.execute(
            "INSERT INTO digests "
            "(key, worker_id, schedule_id, run_id, message_index, late, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
            [key, worker_id, schedule_id, run_id, message_index, int(late), self._clock()],
        )
        return inserted == 1

    async def digest_of(self, run_id: int) -> tuple[str, int, bool] | None:
        """The turn a digest run shows: its schedule, the turn's message index, and whether it
        was posted late; None if the run is not a claimed digest."""
        rows = await self.db.fetch(
            "SELECT schedule_id, message_index, late FROM digests WHERE run_id = ?", [run_id]
        )
        if not rows:
            return None
        return str(rows[0]["schedule_id"]), int(rows[0]["message_index"]), bool(rows[0]["late"])

    async def unposted_digests(self, *, unleased: bool = False) -> list[tuple[Run, int, bool]]:
        """Digests claimed but never posted (the app stopped in between): run, index, late.
        `unleased`: only those whose run no process holds (`run:<id>` released or expired),
        for a live process's takeover pass; a poster holds it from before the claim."""
        lease = (
            "LEFT JOIN leases l ON l.name = 'run:' || CAST(r.id AS TEXT) "
            f"AND l.expires_at > {self._sql_now} "
            if unleased
            else ""
        )
        rows = await self.db.fetch(
            "SELECT r.*, d.message_index AS digest_index, d.late AS digest_late "
            f"FROM digests d JOIN runs r ON r.id = d.run_id {lease}"
            "WHERE r.message_ts IS NULL AND r.status = 'completed' "
            f"{'AND l.name IS NULL ' if unleased else ''}ORDER BY d.created_at",
            [self._now()] if unleased else [],
        )
        return [
            (run_from_row(row), int(row["digest_index"]), bool(row["digest_late"])) for row in rows
        ]
