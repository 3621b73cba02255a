"""Queries of schedules made from Slack, and of the schedule a starting run will attach."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from .records import (
    SCHEDULE_FIELDS,
    PendingSchedule,
    Schedule,
    pending_schedule_from_row,
    schedule_from_row,
)
from .sql import Database, Sql, upsert


class ScheduleQueries:
    """The `schedules` and `pending_schedules` tables, for `Store`, which opens `db`."""

    db: Database

    async def add_schedule(self, schedule: Schedule) -> Schedule:
        record = {name: getattr(schedule, name) for name in SCHEDULE_FIELDS}
        await self.db.execute(*upsert("schedules", record, ("id",)))
        return schedule

    async def get_schedule(self, schedule_id: str) -> Schedule | None:
        rows = await self.db.fetch("SELECT * FROM schedules WHERE id = ?", [schedule_id])
        return schedule_from_row(rows[0]) if rows else None

    async def update_schedule(self, schedule_id: str, **changes: Any) -> Schedule:
        unknown = set(changes) - SCHEDULE_FIELDS
        if unknown:
            raise ValueError(f"unknown schedule fields: {sorted(unknown)}")
        assignments = ", ".join(f"{name} = ?" for name in changes)
        rows = await self.db.fetch(
            f"UPDATE schedules SET {assignments} WHERE id = ? RETURNING *",
            [*changes.values(), schedule_id],
        )
        if not rows:
            raise KeyError(f"no schedule {schedule_id}")
        return schedule_from_row(rows[0])

    async def active_schedules(self) -> list[Schedule]:
        return await self._schedules("status = 'active' ORDER BY next_run_at NULLS FIRST", [])

    async def channel_schedules(self, team_id: str, channel_id: str) -> list[Schedule]:
        return await self._schedules(
            "team_id = ? AND channel_id = ? AND status = 'active' ORDER BY created_at",
            [team_id, channel_id],
        )

    async def worker_schedules(self, worker_id: str) -> list[Schedule]:
        """Every schedule ever made on a worker, newest first (digests name the latest)."""
        return await self._schedules("worker_id = ? ORDER BY created_at DESC", [worker_id])

    async def add_pending_schedule(self, pending: PendingSchedule) -> None:
        record = {name.name: getattr(pending, name.name) for name in fields(PendingSchedule)}
        await self.db.execute(*upsert("pending_schedules", record, ("run_id",)))

    async def pending_schedule(self, run_id: int) -> PendingSchedule | None:
        rows = await self.db.fetch("SELECT * FROM pending_schedules WHERE run_id = ?", [run_id])
        return pending_schedule_from_row(rows[0]) if rows else None

    async def pending_schedule_created(self, run_id: int, schedule_id: str) -> None:
        await self.db.execute(
            "UPDATE pending_schedules SET schedule_id = ? WHERE run_id = ?", [schedule_id, run_id]
        )

    async def drop_pending_schedule(self, run_id: int) -> None:
        await self.db.execute("DELETE FROM pending_schedules WHERE run_id = ?", [run_id])

    async def _schedules(
        self, where: str, params: list[Any], sql: Sql | None = None
    ) -> list[Schedule]:
        rows = await (sql or self.db).fetch(f"SELECT * FROM schedules WHERE {where}", params)
        return [schedule_from_row(row) for row in rows]
