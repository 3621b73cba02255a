"""Slack's rate limits shared by every process on one database.

Slack counts `chat.update` per workspace and `chat.postMessage` per channel, whichever process
calls. Each call first records itself in a shared sliding window (`rate_calls`: one row per call
of the last `window` seconds, per `scope`), so N replicas together stay inside one allowance.
Every caller also publishes how many final edits its streaming messages will need
(`rate_reserves`); progress calls leave that room for all of them, so finals keep going first
across processes. A take is one transaction whose first statement writes the scope's row: on
PostgreSQL that row lock, on SQLite the file's write lock, lets one taker count at a time.
Times are the store's wall clock (hosts need NTP, as for leases).
"""

from __future__ import annotations

from collections.abc import Callable

from .sql import Database


class RateQueries:
    """The `rate_scopes`, `rate_calls` and `rate_reserves` tables, for `Store`."""

    db: Database
    _clock: Callable[[], float]

    async def take_call(
        self,
        scope: str,
        owner: str,
        *,
        limit: int,
        window: float,
        final: bool = True,
        reserve: int = 0,
        reserve_cap: int = 0,
    ) -> float:
        """Count one call in `scope` if the last `window` seconds leave room for it; return
        0.0 when counted, else how many seconds until asking again may succeed.

        `reserve`: finals `owner`'s streaming messages still need, published for the others.
        A call that is not `final` must leave the sum of every owner's reserves free, at most
        `reserve_cap` of them.
        """
        async with self.db.transaction() as sql:
            await sql.execute(
                "INSERT INTO rate_scopes (scope, touched_at) VALUES (?, ?) "
                "ON CONFLICT (scope) DO UPDATE SET touched_at = excluded.touched_at",
                [scope, self._clock()],
            )
            # read after the lock: calls are counted in the order they are let through
            now = self._clock()
            since = now - window
            await sql.execute("DELETE FROM rate_calls WHERE scope = ? AND at <= ?", [scope, since])
            await sql.execute(
                "INSERT INTO rate_reserves (scope, owner, reserved, at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (scope, owner) DO UPDATE SET reserved = excluded.reserved, "
                "at = excluded.at",
                [scope, owner, reserve, now],
            )
            keep = 0
            if not final:
                rows = await sql.fetch(
                    "SELECT COALESCE(SUM(reserved), 0) AS reserved FROM rate_reserves "
                    "WHERE scope = ? AND at > ?",
                    [scope, since],
                )
                keep = min(int(rows[0]["reserved"]), reserve_cap)
            calls = [
                float(row["at"])
                for row in await sql.fetch(
                    "SELECT at FROM rate_calls WHERE scope = ? ORDER BY at", [scope]
                )
            ]
            over = len(calls) + 1 + keep - limit
            if over <= 0:
                await sql.execute(
                    "INSERT INTO rate_calls (scope, at, owner) VALUES (?, ?, ?)",
                    [scope, now, owner],
                )
                return 0.0
        if over > len(calls):  # the reserves alone fill the window: ask again later
            return window / max(limit, 1)
        return max(calls[over - 1] + window - now, 0.0)
