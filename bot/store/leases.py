"""Leases: which process owns a piece of in-flight work, and until when.

A lease is a row (`name` such as `run:12`, `owner`, `expires_at`). Taking one is a single
upsert that succeeds only if the row is new, already the taker's, or expired; so of any
number of processes on one database at most one holds a name at a time. The owner renews
all its leases together (a heartbeat) and deletes them when it lets go (a clean stop), so
another process may take the work over at once; after a crash, once they expire. Times come
from the database: on PostgreSQL the server's clock, so replicas on hosts whose clocks differ
still agree on when a lease expires; on SQLite (one host) the process's clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .records import Run, run_from_row
from .sql import Database


class LeaseQueries:
    """The `leases` table, for `Store`, which opens `db` and sets `_now` and `_sql_now`."""

    db: Database
    _now: Callable[[], float | None]
    _sql_now: str

    async def take_lease(self, name: str, owner: str, seconds: float) -> bool:
        """Hold `name` for `seconds` from now; False if another owner holds it unexpired."""
        now = self._now()
        taken = await self.db.execute(
            f"INSERT INTO leases (name, owner, expires_at) VALUES (?, ?, {self._sql_now} + ?) "
            "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, "
            "expires_at = excluded.expires_at "
            f"WHERE leases.owner = excluded.owner OR leases.expires_at <= {self._sql_now}",
            [name, owner, now, seconds, now],
        )
        return taken == 1

    async def renew_leases(self, owner: str, seconds: float) -> set[str]:
        """Extend every lease `owner` still holds by `seconds` from now; return their names.
        One that expired (a heartbeat missed during a database outage) but that nobody took
        over is still the owner's: a takeover changes the owner. A name missing from the
        answer was lost to another process."""
        rows = await self.db.fetch(
            f"UPDATE leases SET expires_at = {self._sql_now} + ? WHERE owner = ? RETURNING name",
            [self._now(), seconds, owner],
        )
        return {str(row["name"]) for row in rows}

    async def release_leases(self, owner: str, names: Sequence[str] | None = None) -> int:
        """Let go of `names` (all of `owner`'s leases when None); return how many."""
        if names is None:
            return await self.db.execute("DELETE FROM leases WHERE owner = ?", [owner])
        if not names:
            return 0
        marks = ", ".join("?" for _ in names)
        return await self.db.execute(
            f"DELETE FROM leases WHERE owner = ? AND name IN ({marks})", [owner, *names]
        )

    async def lease_owners(self) -> set[str]:
        """Every owner with a lease in the table, expired or not."""
        rows = await self.db.fetch("SELECT DISTINCT owner FROM leases")
        return {str(row["owner"]) for row in rows}

    async def unleased_active_runs(self) -> list[Run]:
        """Runs starting or running that no process holds (`run:<id>` released or expired):
        what a takeover pass may take, without asking about the runs others hold."""
        rows = await self.db.fetch(
            "SELECT r.* FROM runs r LEFT JOIN leases l "
            f"ON l.name = 'run:' || CAST(r.id AS TEXT) AND l.expires_at > {self._sql_now} "
            "WHERE r.status IN ('starting', 'running') AND l.name IS NULL ORDER BY r.id",
            [self._now()],
        )
        return [run_from_row(row) for row in rows]

    async def lease_owner(self, name: str) -> str | None:
        """Who holds `name` now (None when nobody does, or the lease expired)."""
        rows = await self.db.fetch(
            f"SELECT owner FROM leases WHERE name = ? AND expires_at > {self._sql_now}",
            [name, self._now()],
        )
        return str(rows[0]["owner"]) if rows else None

    async def unleased_owed_runs(self) -> list[Run]:
        """Finished runs that still owe their files or their final message and that no
        process holds (`run:<id>` released or expired): what a process that stopped or died
        left undelivered, for a takeover pass."""
        rows = await self.db.fetch(
            "SELECT r.* FROM runs r LEFT JOIN leases l "
            f"ON l.name = 'run:' || CAST(r.id AS TEXT) AND l.expires_at > {self._sql_now} "
            "WHERE r.status IN ('completed', 'failed') AND l.name IS NULL "
            "AND ((r.files_done = 0 AND r.worker_id IS NOT NULL) OR r.final_pending IS NOT NULL) "
            "ORDER BY r.id",
            [self._now()],
        )
        return [run_from_row(row) for row in rows]
