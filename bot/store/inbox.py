"""The inbox: Slack requests written down before they are acknowledged, until their work is.

Slack never sends an acknowledged request again, so a process killed between the ack and the
first record of the request's work (its run) would lose it. So a request is inserted first,
in one statement that is also its replay claim: a row of `handled_events` under the request's
own key (`event:<event_id>`, `command:<trigger_id>`, …) with its kind, its body, the process
that owns it and until when (the same lease rules as runs: renewed by the owner's heartbeat,
released on a clean stop, expired after a crash). The row stays pending (`body` set) until
its work is recorded: the run's insert completes it in the same transaction (`RunQueries
.add_run`), and a request that starts no run is completed when its listener is done. A live
process takes over a pending row whose lease expired and handles the request again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .sql import Database, Sql


@dataclass(frozen=True, slots=True)
class PendingRequest:
    """A request whose work is not recorded yet, as the ingress read it."""

    key: str
    kind: str
    body: dict[str, Any]
    takeovers: int
    """How many times a process took it over from one that stopped before finishing it."""


@dataclass(frozen=True, slots=True)
class RequestOwner:
    """The request a piece of work comes from, and the process that must still own it."""

    key: str
    owner: str


class RequestTaken(Exception):
    """The request's row is no longer this process's (another took it over after its lease
    expired, or it was completed): its work must not be recorded twice."""


async def complete(sql: Sql, request: RequestOwner) -> bool:
    """The request's work is recorded (or it needed none): it is no longer pending. False if
    it was not pending under this owner."""
    done = await sql.execute(
        "UPDATE handled_events SET body = NULL, owner = NULL, expires_at = NULL "
        "WHERE key = ? AND owner = ? AND body IS NOT NULL",
        [request.key, request.owner],
    )
    return done == 1


class InboxQueries:
    """The inbox half of `handled_events`, for `Store`, which opens `db` and sets `_clock`,
    `_now` and `_sql_now` (expiries on the database's clock, as for leases)."""

    db: Database
    _clock: Callable[[], float]
    _now: Callable[[], float | None]
    _sql_now: str

    async def receive_request(
        self, key: str, kind: str, body: dict[str, Any], owner: str, seconds: float
    ) -> bool:
        """Write a request down and claim it, in one statement; False if its key was claimed
        before (a replay: Slack's retry, or a second delivery)."""
        inserted = await self.db.execute(
            "INSERT INTO handled_events (key, handled_at, request, kind, body, owner, expires_at) "
            f"VALUES (?, ?, ?, ?, ?, ?, {self._sql_now} + ?) ON CONFLICT (key) DO NOTHING",
            [key, self._clock(), key, kind, json.dumps(body), owner, self._now(), seconds],
        )
        return inserted == 1

    async def complete_request(self, request: RequestOwner) -> bool:
        """The request needed no run, and its listener is done (see `complete`)."""
        return await complete(self.db, request)

    async def renew_requests(self, owner: str, seconds: float) -> int:
        """The heartbeat: extend the lease of every request `owner` still has pending."""
        return await self.db.execute(
            f"UPDATE handled_events SET expires_at = {self._sql_now} + ? "
            "WHERE owner = ? AND body IS NOT NULL",
            [self._now(), seconds, owner],
        )

    async def release_requests(self, owner: str) -> int:
        """`owner` stopped (cleanly, or it was found dead): its pending requests may be taken
        over at once."""
        return await self.db.execute(
            "UPDATE handled_events SET expires_at = 0 WHERE owner = ? AND body IS NOT NULL",
            [owner],
        )

    async def take_orphan_requests(self, owner: str, seconds: float) -> list[PendingRequest]:
        """Take over every pending request whose lease expired or was released; one statement,
        so of several processes taking at once each request goes to one."""
        now = self._now()
        rows = await self.db.fetch(
            f"UPDATE handled_events SET owner = ?, expires_at = {self._sql_now} + ?, "
            "takeovers = COALESCE(takeovers, 0) + 1 "
            f"WHERE body IS NOT NULL AND expires_at <= {self._sql_now} "
            "RETURNING key, kind, body, handled_at, takeovers",
            [owner, now, seconds, now],
        )
        return [
            PendingRequest(
                str(row["key"]), str(row["kind"]), json.loads(row["body"]), int(row["takeovers"])
            )
            for row in sorted(rows, key=lambda row: float(row["handled_at"]))
        ]

    async def request_owners(self) -> set[str]:
        """Every process with a request pending, alive or not."""
        rows = await self.db.fetch(
            "SELECT DISTINCT owner FROM handled_events WHERE body IS NOT NULL"
        )
        return {str(row["owner"]) for row in rows}
