"""Workspaces the app left (uninstalled, bot token revoked), as every process learns of them.

Slack tells one process; `Store.forget_workspace` records the departure in the same
transaction that fails the workspace's runs. The other processes read the departures after
the last one they saw at each heartbeat, and stop their turns there (`core/workspaces.py`).
"""

from __future__ import annotations

from .sql import Database


class DepartureQueries:
    """The `departures` table, for `Store`."""

    db: Database

    async def last_departure(self) -> int:
        """The newest departure's id (0 if none): a process starting now follows from there."""
        rows = await self.db.fetch("SELECT COALESCE(MAX(id), 0) AS last FROM departures")
        return int(rows[0]["last"])

    async def departures_after(self, after: int) -> list[tuple[int, str]]:
        """`(id, team_id)` of the departures recorded after id `after`, oldest first."""
        rows = await self.db.fetch(
            "SELECT id, team_id FROM departures WHERE id > ? ORDER BY id", [after]
        )
        return [(int(row["id"]), str(row["team_id"])) for row in rows]
