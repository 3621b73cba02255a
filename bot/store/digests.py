"""Queries of what of a worker's history was shown in Slack, and of the digests posted for it."""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from .records import Run, run_from_row


class DigestQueries:
    """The `worker_marks` and `digests` tables, for `Store`, which opens `db` and sets `_clock`."""

    db: sqlite_utils.Database
    _clock: Callable[[], float]

    async def messages_seen(self, worker_id: str) -> int | None:
        row = self.db.execute(
            "SELECT messages_seen FROM worker_marks WHERE worker_id = ?", [worker_id]
        ).fetchone()
        return int(row[0]) if row else None

    async def see_messages(self, worker_id: str, count: int) -> None:
        """Everything before message `count` of this worker has been shown in Slack."""
        self.db.execute(
            "INSERT INTO worker_marks (worker_id, messages_seen, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(worker_id) DO UPDATE SET "
            "messages_seen = MAX(messages_seen, excluded.messages_seen), "
            "updated_at = excluded.updated_at",
            [worker_id, count, self._clock()],
        )

    async def claim_digest(
        self, *, worker_id: str, message_index: int, schedule_id: str, run_id: int, late: bool
    ) -> bool:
        """Record that a scheduled turn gets a digest; False if it already has one."""
        key = f"{worker_id}:{message_index}"
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO digests "
            "(key, worker_id, schedule_id, run_id, message_index, late, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [key, worker_id, schedule_id, run_id, message_index, int(late), self._clock()],
        )
        return cursor.rowcount == 1

    async def digest_of(self, run_id: int) -> tuple[str, int, bool] | None:
        """The turn a digest run shows: its schedule, the turn's message index, and whether it
        was posted late; None if the run is not a claimed digest."""
        row = self.db.execute(
            "SELECT schedule_id, message_index, late FROM digests WHERE run_id = ?", [run_id]
        ).fetchone()
        return (str(row[0]), int(row[1]), bool(row[2])) if row else None

    async def unposted_digests(self) -> list[tuple[Run, int, bool]]:
        """Digests claimed but never posted (the app stopped in between): run, index, late."""
        rows = self.db.query(
            "SELECT r.*, d.message_index AS digest_index, d.late AS digest_late "
            "FROM digests d JOIN runs r ON r.id = d.run_id "
            "WHERE r.message_ts IS NULL AND r.status = 'completed' ORDER BY d.created_at"
        )
        return [
            (run_from_row(row), int(row["digest_index"]), bool(row["digest_late"])) for row in rows
        ]
