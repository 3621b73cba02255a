"""Queries of the `runs` table: every turn the app started, its status and its Slack message."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import sqlite_utils

from ..budgets import Budget
from .records import ACTIVE, RUN_FIELDS, Run, RunKind, RunStatus, run_from_row


class RunQueries:
    """The run half of `Store`, which opens `db` and sets `_clock`."""

    db: sqlite_utils.Database
    _clock: Callable[[], float]

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
    ) -> Run:
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
        row_id = self.db.table("runs").insert(record).last_rowid
        assert row_id is not None
        return await self.get_run(row_id)

    async def get_run(self, run_id: int) -> Run:
        rows = list(self.db.query("SELECT * FROM runs WHERE id = ?", [run_id]))
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
        self.db.table("runs").update(run_id, changes)
        return await self.get_run(run_id)

    async def active_runs(self) -> list[Run]:
        """Runs that were starting or running: what recovery must finish after a restart."""
        return self._runs("status IN ('starting', 'running') ORDER BY id", [])

    async def runs_awaiting_files(self) -> list[Run]:
        """Finished runs whose worker files were not delivered yet (the app stopped first)."""
        return self._runs(
            "status IN ('completed', 'failed') AND files_done = 0 AND worker_id IS NOT NULL "
            "ORDER BY id",
            [],
        )

    async def runs_with_final_pending(self) -> list[Run]:
        """Finished runs whose message does not show their outcome yet (see `final_pending`)."""
        return self._runs(
            "status IN ('completed', 'failed') AND final_pending IS NOT NULL ORDER BY id", []
        )

    async def thread_runs(self, team_id: str, channel_id: str, thread_ts: str) -> list[Run]:
        return self._runs(
            "team_id = ? AND channel_id = ? AND thread_ts = ? ORDER BY id",
            [team_id, channel_id, thread_ts],
        )

    async def thread_busy(self, team_id: str, channel_id: str, thread_ts: str) -> bool:
        return any(
            run.status in ACTIVE for run in await self.thread_runs(team_id, channel_id, thread_ts)
        )

    async def next_queued(self, team_id: str, channel_id: str, thread_ts: str) -> Run | None:
        queued = [
            run
            for run in await self.thread_runs(team_id, channel_id, thread_ts)
            if run.status == "queued"
        ]
        return queued[0] if queued else None

    async def threads_with_queued_runs(self) -> list[tuple[str, str, str]]:
        rows = self.db.execute(
            "SELECT DISTINCT team_id, channel_id, thread_ts FROM runs WHERE status = 'queued'"
        ).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    async def recent_workers(
        self, team_id: str, channel_id: str, user_id: str, limit: int = 10
    ) -> list[Run]:
        """The runs that started the user's workers in a channel, newest first."""
        return self._runs(
            "team_id = ? AND channel_id = ? AND user_id = ? AND kind = 'new' "
            "ORDER BY id DESC LIMIT ?",
            [team_id, channel_id, user_id, limit],
        )

    async def active_run_for_worker(self, worker_id: str) -> Run | None:
        runs = self._runs(
            "worker_id = ? AND status IN ('starting', 'running') LIMIT 1", [worker_id]
        )
        return runs[0] if runs else None

    def _runs(self, where: str, params: list[Any]) -> list[Run]:
        return [
            run_from_row(row) for row in self.db.query(f"SELECT * FROM runs WHERE {where}", params)
        ]
