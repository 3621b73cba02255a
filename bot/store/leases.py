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
from dataclasses import dataclass

from .sql import Database


@dataclass(frozen=True, slots=True)
class LeaseTo:
    """The process that takes a run's lease (`run:<id>`) in the statement that creates or
    starts the run, and for how many seconds: a run is never in flight and unleased, so no
    other process's takeover scan takes it up as one whose owner stopped."""

    owner: str
    seconds: float


def lease_runs(source: str, sql_now: str, *, unless_held: bool = False) -> str:
    """Lease every run `source` yields (a FROM clause naming it `r`) to one owner: the
    parameters are the owner, the time now, the seconds, `source`'s own, and with
    `unless_held` the time now again: then a run another owner holds unexpired is left out.
    Without it the runs are new, or just started by the caller in the same statement or
    transaction, so no other process can hold them."""
    return (
        "INSERT INTO leases (name, owner, expires_at) "
        f"SELECT 'run:' || CAST(r.id AS TEXT), CAST(? AS TEXT), {sql_now} + ? FROM {source}"
        + _taking(sql_now, unless_held=unless_held)
    )


def _taking(sql_now: str, *, unless_held: bool) -> str:
    """The conflict clause of an insert into `leases`: the row becomes the new owner's, and
    with `unless_held` only where it is already theirs or has expired."""
    clause = (
        " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at"
    )
    if unless_held:
        clause += f" WHERE leases.owner = excluded.owner OR leases.expires_at <= {sql_now}"
    return clause


class LeaseQueries:
    """The `leases` table, for `Store`, which opens `db` and sets `_now` and `_sql_now`."""

    db: Database
    _now: Callable[[], float | None]
    _sql_now: str

    async def take_lease(self, name: str, owner: str, seconds: float) -> bool:
        """Hold `name` for `seconds` from now; False if another owner holds it unexpired."""
        now = self._now()
        taken = await self.db.execute(
            f"INSERT INTO leases (name, owner, expires_at) VALUES (?, ?, {self._sql_now} + ?)"
            + _taking(self._sql_now, unless_held=True),
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

    async def others_present(self, owner: str) -> bool:
        """Whether a process other than `owner` holds an unexpired presence lease
        (`process:<owner>`): one is running, or was killed less than a lease ago."""
        rows = await self.db.fetch(
            "SELECT 1 FROM leases WHERE name LIKE 'process:%' AND owner <> ? "
            f"AND expires_at > {self._sql_now} LIMIT 1",
            [owner, self._now()],
        )
        return bool(rows)

    async def lease_owners(self) -> set[str]:
        """Every owner with a lease in the table, expired or not."""
        rows = await self.db.fetch("SELECT DISTINCT owner FROM leases")
        return {str(row["owner"]) for row in rows}

    async def lease_owner(self, name: str) -> str | None:
        """Who holds `name` now (None when nobody does, or the lease expired)."""
        rows = await self.db.fetch(
            f"SELECT owner FROM leases WHERE name = ? AND expires_at > {self._sql_now}",
            [name, self._now()],
        )
        return str(rows[0]["owner"]) if rows else None
