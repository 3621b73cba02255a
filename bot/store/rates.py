"""Slack's rate limits shared by every process on one database.

Slack counts `chat.update` per workspace and `chat.postMessage` per channel (and per
workspace), whichever process calls. Each call first records itself in a shared sliding window
(`rate_calls`: one row per call of the last `window` seconds, per `scope`), so N replicas
together stay inside one allowance. Every caller also publishes how many final edits its
streaming messages will need (`rate_reserves`); progress calls leave that room for all of them,
so finals keep going first across processes. A refused progress call queues its process
(`rate_reserves.waiting_until`): the next one refused is told a later opening, so the
processes do not all ask again at once and all but one be refused again. A 429 one process
gets pauses the scope for all (`rate_scopes.paused_until`).

A take locks its scopes' rows first (in sorted order, so takers never deadlock), then counts:
on PostgreSQL that row lock lets one taker count at a time, on SQLite the file's write lock.
On PostgreSQL the whole take is one statement, the function `take_rate_call` (`pg_schema.py`),
so a Slack call costs one round trip; its time is the server's clock, read after the locks.
On SQLite (a local file) it is the same steps in one transaction, with the process's clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .sql import Database, Sql

MIN_WAIT = 0.001
"""Seconds: the shortest "ask again later" (a wait rounded to nothing would count the call)."""


@dataclass(frozen=True, slots=True)
class Allowance:
    """At most `limit` calls in any `window` seconds in `scope`, by all processes together."""

    scope: str
    limit: int
    window: float


@dataclass(frozen=True, slots=True)
class CallTerms:
    """The terms of one call (`RateQueries.take_call` says what each means), as one value:
    the store and its ports (`slack/shared_rates.py`, `slack/home.py`) then name a new term
    in one place. `limit` calls in any `window` seconds in the call's own scope."""

    limit: int
    window: float
    final: bool = True
    reserve: int = 0
    reserve_cap: int = 0
    more: tuple[Allowance, ...] = ()
    book: bool = False


class RateQueries:
    """The `rate_scopes`, `rate_calls` and `rate_reserves` tables, for `Store`."""

    db: Database
    _clock: Callable[[], float]
    _now: Callable[[], float | None]
    _sql_now: str

    async def take_call(self, scope: str, owner: str, terms: CallTerms) -> float:
        """Count one call in `scope` if the last `terms.window` seconds leave room for it (and
        in each of `terms.more`, which must all have room too); return 0.0 when counted, else
        how many seconds until asking again may succeed. A paused scope has no room until its
        pause ends.

        `terms.reserve`: finals `owner`'s streaming messages still need, published for the
        others. A call that is not `final` must leave the sum of every owner's reserves free,
        at most `terms.reserve_cap` of them.

        `terms.book` (a call that will be made whatever happens, such as a post): always
        counted, at the earliest time from now that leaves room after every call counted so
        far; returns the seconds until then, when the caller makes it without asking again.
        Waiting callers are so served in turn, one round trip each, instead of all asking
        again together.
        """
        allowances = sorted(
            [Allowance(scope, terms.limit, terms.window), *terms.more], key=lambda a: a.scope
        )
        if self.db.dialect == "postgresql":
            rows = await self.db.fetch(
                "SELECT take_rate_call(?, ?, ?, ?, ?, ?, ?, ?, ?) AS wait",
                [
                    [a.scope for a in allowances],
                    [a.limit for a in allowances],
                    [float(a.window) for a in allowances],
                    owner,
                    terms.final,
                    terms.reserve,
                    terms.reserve_cap,
                    terms.book,
                    self._now(),
                ],
            )
            return float(rows[0]["wait"])
        async with self.db.transaction() as sql:
            paused: list[float | None] = []
            for allowance in allowances:  # the write lock first (SQLite: of the whole file)
                rows = await sql.fetch(
                    "INSERT INTO rate_scopes (scope, touched_at) VALUES (?, ?) "
                    "ON CONFLICT (scope) DO UPDATE SET touched_at = excluded.touched_at "
                    "RETURNING paused_until",
                    [allowance.scope, self._clock()],
                )
                paused.append(rows[0]["paused_until"])
            now = self._clock()  # read after the lock: calls are counted in the order let through
            wait = 0.0
            for allowance, until in zip(allowances, paused, strict=True):
                if until is not None and until > now:
                    wait = max(wait, until - now)
                await _forget_old(sql, allowance, owner, now, terms.reserve)
                if not terms.book:
                    room = await _room(sql, allowance, owner, now, terms.final, terms.reserve_cap)
                    wait = max(wait, room)
            if terms.book:
                wait = await _booking(sql, allowances, now + wait) - now
            elif wait > 0:
                if not terms.final:  # in the queue until then
                    for allowance in allowances:
                        await sql.execute(
                            "UPDATE rate_reserves SET waiting_until = ? "
                            "WHERE scope = ? AND owner = ?",
                            [now + wait, allowance.scope, owner],
                        )
                return wait
            for allowance in allowances:
                await sql.execute(
                    "INSERT INTO rate_calls (scope, at, owner) VALUES (?, ?, ?)",
                    [allowance.scope, now + wait, owner],
                )
        return wait

    async def pause_scope(self, scope: str, seconds: float) -> None:
        """Slack answered a call in `scope` with a 429: no process takes a call there for
        `seconds` from now (an earlier, longer pause stays)."""
        now = self._now()
        await self.db.execute(
            "INSERT INTO rate_scopes (scope, touched_at, paused_until) "
            f"VALUES (?, {self._sql_now}, {self._sql_now} + ?) "
            "ON CONFLICT (scope) DO UPDATE SET paused_until = CASE "
            "WHEN rate_scopes.paused_until > excluded.paused_until "
            "THEN rate_scopes.paused_until ELSE excluded.paused_until END",
            [scope, now, now, seconds],
        )

    async def prune_rates(self, older_than: float) -> int:
        """Forget what no window needs any more, `older_than` seconds after it was last
        used: the reserves of processes gone (each process has an owner of its own), calls and
        idle scopes of channels nobody posts in now. Returns how many rows went."""
        now = self._now()
        removed = await self.db.execute(
            f"DELETE FROM rate_reserves WHERE at < {self._sql_now} - ?", [now, older_than]
        )
        removed += await self.db.execute(
            f"DELETE FROM rate_calls WHERE at < {self._sql_now} - ?", [now, older_than]
        )
        return removed + await self.db.execute(
            f"DELETE FROM rate_scopes WHERE touched_at < {self._sql_now} - ? "
            f"AND (paused_until IS NULL OR paused_until < {self._sql_now})",
            [now, older_than, now],
        )


async def _forget_old(sql: Sql, allowance: Allowance, owner: str, now: float, reserve: int) -> None:
    """Drop the calls that left the window, and publish `owner`'s reserve."""
    since = now - allowance.window
    await sql.execute(
        "DELETE FROM rate_calls WHERE scope = ? AND at <= ?", [allowance.scope, since]
    )
    await sql.execute(
        "INSERT INTO rate_reserves (scope, owner, reserved, at, waiting_until) "
        "VALUES (?, ?, ?, ?, NULL) ON CONFLICT (scope, owner) DO UPDATE SET "
        "reserved = excluded.reserved, at = excluded.at, waiting_until = NULL",
        [allowance.scope, owner, reserve, now],
    )


async def _calls(sql: Sql, scope: str) -> list[float]:
    rows = await sql.fetch("SELECT at FROM rate_calls WHERE scope = ? ORDER BY at", [scope])
    return [float(row["at"]) for row in rows]


async def _room(
    sql: Sql, allowance: Allowance, owner: str, now: float, final: bool, reserve_cap: int
) -> float:
    """0.0 if `allowance`'s window has room for one more call at `now`, else the seconds until
    it may (SQLite's steps of `take_rate_call`, inside the take's transaction). A refused
    progress call is told the opening after those of the other processes already told to
    wait, one each, so they do not all ask again at the same moment."""
    scope, limit, window = allowance.scope, allowance.limit, allowance.window
    keep = ahead = 0
    if not final:
        rows = await sql.fetch(
            "SELECT COALESCE(SUM(reserved), 0) AS reserved, "
            "COALESCE(SUM(CASE WHEN owner <> ? AND waiting_until > ? THEN 1 END), 0) AS ahead "
            "FROM rate_reserves WHERE scope = ? AND at > ?",
            [owner, now, scope, now - window],
        )
        keep = min(int(rows[0]["reserved"]), reserve_cap)
        ahead = int(rows[0]["ahead"])
    calls = await _calls(sql, scope)
    over = len(calls) + 1 + keep - limit
    if over > len(calls):  # the reserves alone fill the window: ask again later
        return window / max(limit, 1)
    if over > 0:
        return max(calls[min(over - 1 + ahead, len(calls) - 1)] + window - now, MIN_WAIT)
    return 0.0


async def _booking(sql: Sql, allowances: Sequence[Allowance], start: float) -> float:
    """The earliest time from `start` that fits every allowance's window."""
    calls = {a.scope: await _calls(sql, a.scope) for a in allowances}
    at, moved = start, True
    while moved:  # each fit only moves it later, up to after every window: it ends
        moved = False
        for allowance in allowances:
            later = fit(calls[allowance.scope], allowance.limit, allowance.window, at)
            if later > at:
                at, moved = later, True
    return at


def fit(calls: Sequence[float], limit: int, window: float, start: float) -> float:
    """The earliest time from `start` at which one more call keeps `calls` at most `limit` in
    any `window` seconds: every `limit` + 1 consecutive calls then span `window` or more. It
    is `start`, a call's time, or a call's time plus `window` (after the last call's window it
    always fits). The SQL function `rate_fit` (`pg_schema.py`) is the same."""
    candidates = sorted({start, *calls, *(at + window for at in calls)})
    for candidate in (c for c in candidates if c >= start):
        merged = sorted([*calls, candidate])
        if all(merged[j + limit] - merged[j] >= window for j in range(len(merged) - limit)):
            return candidate
    return start
