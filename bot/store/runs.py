"""Queries of the `runs` table: every turn the app started, its status and its Slack message."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from ..budgets import Budget
from .inbox import RequestOwner, RequestTaken, complete
from .leases import LeaseTo, lease_runs
from .records import ACTIVE, RUN_FIELDS, Run, RunKind, RunStatus, run_from_row
from .sql import Database, Row, Sql, values_list


class RunQueries:
    """The run half of `Store`, which opens `db` and sets `_clock`, `_now` and `_sql_now`."""

    db: Database
    _clock: Callable[[], float]
    _now: Callable[[], float | None]
    _sql_now: str

    async def add_run(
        self,
        *,
        team_id: str,
        channel_id: str,
        kind: RunKind,
        input: str,
        budget: Budget,
        user_id: str,
        status: RunStatus,
        thread_ts: str | None = None,
        worker_id: str | None = None,
        trigger_ts: str | None = None,
        response_url: str | None = None,
        prompt: str | None = None,
        request: RequestOwner | None = None,
        lease: LeaseTo | None = None,
    ) -> Run:
        """Record a new run. `request`: the Slack request it answers, completed in the same
        transaction (`inbox.py`); raises `RequestTaken` if that request is no longer this
        process's, so a request taken over elsewhere never gets a second run. `lease`: the
        process that sees the run through, which holds its lease from the same transaction."""
        record = {
            "team_id": team_id,
            "channel_id": channel_id,
            "thread_ts": thread_ts,
            "kind": kind,
            "input": input,
            "budget": budget,
            "user_id": user_id,
            "status": status,
            "created_at": self._clock(),
            "worker_id": worker_id,
            "trigger_ts": trigger_ts,
            "response_url": response_url,
            "ref": str(uuid.uuid4()),
            "prompt": prompt,
        }
        insert = f"INSERT INTO runs {values_list(list(record))} RETURNING *"
        return run_from_row((await self._leased(insert, list(record.values()), lease, request))[0])

    async def get_run(self, run_id: int) -> Run:
        rows = await self.db.fetch("SELECT * FROM runs WHERE id = ?", [run_id])
        if not rows:
            raise KeyError(f"no run {run_id}")
        return run_from_row(rows[0])

    async def update_run(self, run_id: int, **changes: Any) -> Run:
        """Change some fields of a run; `status` changes also stamp start and finish times."""
        unknown = set(changes) - RUN_FIELDS
        if unknown:
            raise ValueError(f"unknown run fields: {sorted(unknown)}")
        status = changes.get("status")
        if status == "running" and "started_at" not in changes:
            changes["started_at"] = self._clock()
        if status in ("completed", "failed") and "finished_at" not in changes:
            changes["finished_at"] = self._clock()
        if not changes:
            return await self.get_run(run_id)
        assignments = ", ".join(f"{name} = ?" for name in changes)
        rows = await self.db.fetch(
            f"UPDATE runs SET {assignments} WHERE id = ? RETURNING *", [*changes.values(), run_id]
        )
        if not rows:
            raise KeyError(f"no run {run_id}")
        return run_from_row(rows[0])

    async def active_runs(self) -> list[Run]:
        """Runs that were starting or running: what recovery must finish after a restart."""
        return await self._runs("status IN ('starting', 'running') ORDER BY id", [])

    async def runs_awaiting_files(self) -> list[Run]:
        """Finished runs whose worker files were not delivered yet (the app stopped first)."""
        return await self._runs(
            "status IN ('completed', 'failed') AND files_done = 0 AND worker_id IS NOT NULL "
            "ORDER BY id",
            [],
        )

    async def runs_with_final_pending(self) -> list[Run]:
        """Finished runs whose message does not show their outcome yet (see `final_pending`)."""
        return await self._runs(
            "status IN ('completed', 'failed') AND final_pending IS NOT NULL ORDER BY id", []
        )

    async def thread_runs(self, team_id: str, channel_id: str, thread_ts: str) -> list[Run]:
        return await self._runs(
            "team_id = ? AND channel_id = ? AND thread_ts = ? ORDER BY id",
            [team_id, channel_id, thread_ts],
        )

    async def thread_busy(self, team_id: str, channel_id: str, thread_ts: str) -> bool:
        return any(
            run.status in ACTIVE for run in await self.thread_runs(team_id, channel_id, thread_ts)
        )

    async def start_next_queued(
        self, team_id: str, channel_id: str, thread_ts: str, lease: LeaseTo | None = None
    ) -> Run | None:
        """Mark the thread's oldest queued follow-up `starting` and return it, unless a turn
        runs there; `lease`: who sees it through, holding its lease from then on. Of two
        callers at the same moment (tasks, or processes on one database) only one gets the
        run; the other's update finds it no longer queued (or its lease another's)."""
        thread = "team_id = ? AND channel_id = ? AND thread_ts = ?"
        idle = (
            f"NOT EXISTS (SELECT 1 FROM runs WHERE {thread} AND status IN ('starting', 'running'))"
        )
        oldest = f"(SELECT id FROM runs WHERE {thread} AND status = 'queued' ORDER BY id LIMIT 1)"
        where, params = (
            f"status = 'queued' AND id = {oldest} AND {idle}",
            [team_id, channel_id, thread_ts] * 2,
        )
        if lease is not None and self.db.dialect == "sqlite":
            return await self._lease_then_start(where, params, lease)
        start = f"UPDATE runs SET status = 'starting' WHERE {where} RETURNING *"
        rows = await self._leased(start, params, lease)
        return run_from_row(rows[0]) if rows else None

    async def _lease_then_start(self, where: str, params: list[Any], lease: LeaseTo) -> Run | None:
        """`start_next_queued` on SQLite without a transaction's BEGIN and COMMIT (a thread
        with nothing queued costs one statement): lease the run first, then start it only
        under that lease. A queued run's lease matters to no scan, and one left by a process
        that stopped in between expires and is taken as any other."""
        leased = await self.db.fetch(
            lease_runs(f"runs r WHERE {where}", self._sql_now, unless_held=True)
            + " RETURNING name",
            [lease.owner, self._now(), lease.seconds, *params, self._now()],
        )
        if not leased:
            return None
        name = str(leased[0]["name"])
        rows = await self.db.fetch(
            f"UPDATE runs SET status = 'starting' WHERE {where} AND id = ? RETURNING *",
            [*params, int(name.removeprefix("run:"))],
        )
        if not rows:  # started or ended meanwhile: the lease keeps nothing from anyone
            await self.db.execute(
                "DELETE FROM leases WHERE name = ? AND owner = ?", [name, lease.owner]
            )
            return None
        return run_from_row(rows[0])

    async def _leased(
        self,
        statement: str,
        params: list[Any],
        lease: LeaseTo | None,
        request: RequestOwner | None = None,
    ) -> list[Row]:
        """The runs `statement` inserts or updates (`RETURNING *`), each leased to `lease` and
        answering `request` (`add_run`) in the same transaction. On PostgreSQL the lease goes
        in the statement itself (a data-modifying WITH): one round trip, fewer than taking the
        lease after. SQLite has no such WITH: a transaction of two statements on a local file."""
        if lease is not None and self.db.dialect == "postgresql":
            statement = (
                f"WITH r AS ({statement}), leased AS ({lease_runs('r', self._sql_now)}) "
                "SELECT * FROM r"
            )
            params = [*params, lease.owner, self._now(), lease.seconds]
            lease = None
        if lease is None and request is None:
            return await self.db.fetch(statement, params)
        async with self.db.transaction() as tx:
            if request is not None and not await complete(tx, request):
                raise RequestTaken(request.key)
            rows = await tx.fetch(statement, params)
            if lease is not None:
                for row in rows:
                    await tx.execute(
                        lease_runs("runs r WHERE r.id = ?", self._sql_now),
                        [lease.owner, self._now(), lease.seconds, row["id"]],
                    )
            return rows

    async def threads_with_queued_runs(self) -> list[tuple[str, str, str]]:
        rows = await self.db.fetch(
            "SELECT DISTINCT team_id, channel_id, thread_ts FROM runs WHERE status = 'queued'"
        )
        return [(r["team_id"], r["channel_id"], r["thread_ts"]) for r in rows]

    async def recent_workers(
        self, team_id: str, channel_id: str, user_id: str, limit: int = 10
    ) -> list[Run]:
        """The runs that started the user's workers in a channel, newest first."""
        return await self._runs(
            "team_id = ? AND channel_id = ? AND user_id = ? AND kind = 'new' "
            "ORDER BY id DESC LIMIT ?",
            [team_id, channel_id, user_id, limit],
        )

    async def active_run_for_worker(self, worker_id: str) -> Run | None:
        runs = await self._runs(
            "worker_id = ? AND status IN ('starting', 'running') LIMIT 1", [worker_id]
        )
        return runs[0] if runs else None

    async def _runs(self, where: str, params: list[Any], sql: Sql | None = None) -> list[Run]:
        rows = await (sql or self.db).fetch(f"SELECT * FROM runs WHERE {where}", params)
        return [run_from_row(row) for row in rows]
