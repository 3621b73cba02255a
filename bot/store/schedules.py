"""Queries of schedules made from Slack, and of the schedule a starting run will attach."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import sqlite_utils

from .records import (
    SCHEDULE_FIELDS,
    PendingSchedule,
    Schedule,
    pending_schedule_from_row,
    schedule_from_row,
)


class ScheduleQueries:
    """The `schedules` and `pending_schedules` tables, for `Store`, which opens `db`."""

    db: sqlite_utils.Database

    async def add_schedule(self, schedule: Schedule) -> Schedule:
        record = {name: getattr(schedule, name) for name in SCHEDULE_FIELDS}
        self.db.table("schedules").insert(record, replace=True)
        return schedule

    async def get_schedule(self, schedule_id: str) -> Schedule | None:
        rows = list(self.db.query("SELECT * FROM schedules WHERE id = ?", [schedule_id]))
        return schedule_from_row(rows[0]) if rows else None

    async def update_schedule(self, schedule_id: str, **changes: Any) -> Schedule:
        unknown = set(changes) - SCHEDULE_FIELDS
        if unknown:
            raise ValueError(f"unknown schedule fields: {sorted(unknown)}")
        self.db.table("schedules").update(schedule_id, changes)
        found = await self.get_schedule(schedule_id)
        assert found is not None
        return found

    async def active_schedules(self) -> list[Schedule]:
        return self._schedules("status = 'active' ORDER BY next_run_at", [])

    async def channel_schedules(self, team_id: str, channel_id: str) -> list[Schedule]:
        return self._schedules(
            "team_id = ? AND channel_id = ? AND status = 'active' ORDER BY created_at",
            [team_id, channel_id],
        )

    async def worker_schedules(self, worker_id: str) -> list[Schedule]:
        """Every schedule ever made on a worker, newest first (digests name the latest)."""
        return self._schedules("worker_id = ? ORDER BY created_at DESC", [worker_id])

    async def add_pending_schedule(self, pending: PendingSchedule) -> None:
        self.db.table("pending_schedules").insert(
            {name.name: getattr(pending, name.name) for name in fields(PendingSchedule)},
            replace=True,
        )

    async def pending_schedule(self, run_id: int) -> PendingSchedule | None:
        rows = list(self.db.query("SELECT * FROM pending_schedules WHERE run_id = ?", [run_id]))
        return pending_schedule_from_row(rows[0]) if rows else None

    async def pending_schedule_created(self, run_id: int, schedule_id: str) -> None:
        self.db.table("pending_schedules").update(run_id, {"schedule_id": schedule_id})

    async def drop_pending_schedule(self, run_id: int) -> None:
        self.db.execute("DELETE FROM pending_schedules WHERE run_id = ?", [run_id])

    def _schedules(self, where: str, params: list[Any]) -> list[Schedule]:
        query = f"SELECT * FROM schedules WHERE {where}"
        return [schedule_from_row(row) for row in self.db.query(query, params)]
