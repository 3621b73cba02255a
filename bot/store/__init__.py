"""SQLite state through sqlite-utils: schema, migrations and every query the app makes.

Knows nothing of Slack or HTTP. What lives here is what must survive a restart (DESIGN.md
principle 5): which worker belongs to which thread, every run the app started and where its
message is, queued follow-ups, and which Slack events were already handled.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any

import sqlite_utils

from .records import (
    ACTIVE,
    RUN_FIELDS,
    SCHEDULE_FIELDS,
    ForgottenWorkspace,
    PendingSchedule,
    Run,
    RunKind,
    RunStatus,
    Schedule,
    ScheduleStatus,
    Thread,
    run_from_row,
    schedule_from_row,
)
from .schema import MIGRATIONS

__all__ = [
    "MIGRATIONS",
    "ForgottenWorkspace",
    "PendingSchedule",
    "Run",
    "RunKind",
    "RunStatus",
    "Schedule",
    "ScheduleStatus",
    "Store",
    "Thread",
]


class Store:
    """All reads and writes of the app's SQLite database."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        if str(path) == ":memory:":
            self.db = sqlite_utils.Database(memory=True)
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite_utils.Database(path)
            self.db.enable_wal()
        self.db.execute("PRAGMA busy_timeout = 5000")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.migrate()

    def close(self) -> None:
        self.db.close()

    # ---- schema ---------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        if "schema_version" not in self.db.table_names():
            return 0
        row = self.db.execute("SELECT version FROM schema_version").fetchone()
        return int(row[0]) if row else 0

    def migrate(self) -> int:
        """Apply pending migrations, each in its own transaction; return the new version."""
        if "schema_version" not in self.db.table_names():
            self.db.table("schema_version").create({"version": int})
            self.db.table("schema_version").insert({"version": 0})
        for number, migration in enumerate(MIGRATIONS, start=1):
            if number <= self.schema_version:
                continue
            with self.db.atomic():
                migration(self.db)
                self.db.execute("UPDATE schema_version SET version = ?", [number])
        return self.schema_version

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.db.atomic():
            yield

    # ---- events ---------------------------------------------------------------------------

    def claim_event(self, *keys: str) -> bool:
        """Record Slack event keys as handled; False if any of them was handled before.

        Pass the `event_id` and a `channel:ts` key together, so that Slack's retries and the
        app_mention + message double delivery of one post are both caught.
        """
        now = self._clock()
        with self.db.atomic():
            placeholders = ",".join("?" for _ in keys)
            seen = self.db.execute(
                f"SELECT 1 FROM handled_events WHERE key IN ({placeholders}) LIMIT 1", list(keys)
            ).fetchone()
            if seen:
                return False
            self.db.table("handled_events").insert_all(
                [{"key": key, "handled_at": now} for key in keys], ignore=True
            )
        return True

    def prune_events(self, older_than: float) -> int:
        """Forget handled events older than `older_than` seconds (Slack retries within minutes)."""
        cursor = self.db.execute(
            "DELETE FROM handled_events WHERE handled_at < ?", [self._clock() - older_than]
        )
        return cursor.rowcount

    # ---- threads --------------------------------------------------------------------------

    def link_thread(
        self, team_id: str, channel_id: str, thread_ts: str, worker_id: str, user_id: str
    ) -> None:
        self.db.table("threads").insert(
            {
                "team_id": team_id,
                "channel_id": channel_id,
                "thread_ts": thread_ts,
                "worker_id": worker_id,
                "user_id": user_id,
                "created_at": self._clock(),
            },
            replace=True,
        )

    def find_thread(self, team_id: str, channel_id: str, thread_ts: str) -> Thread | None:
        rows = list(
            self.db.query(
                "SELECT * FROM threads WHERE team_id = ? AND channel_id = ? AND thread_ts = ?",
                [team_id, channel_id, thread_ts],
            )
        )
        return Thread(**rows[0]) if rows else None

    # ---- runs -----------------------------------------------------------------------------

    def add_run(
        self,
        *,
        team_id: str,
        channel_id: str,
        kind: RunKind,
        input: str,
        budget: str,
        user_id: str,
        status: RunStatus,
        thread_ts: str | None = None,
        worker_id: str | None = None,
        trigger_ts: str | None = None,
        response_url: str | None = None,
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
        }
        row_id = self.db.table("runs").insert(record).last_rowid
        assert row_id is not None
        return self.get_run(row_id)

    def get_run(self, run_id: int) -> Run:
        rows = list(self.db.query("SELECT * FROM runs WHERE id = ?", [run_id]))
        if not rows:
            raise KeyError(f"no run {run_id}")
        return run_from_row(rows[0])

    def update_run(self, run_id: int, **changes: Any) -> Run:
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
        return self.get_run(run_id)

    def active_runs(self) -> list[Run]:
        """Runs that were starting or running: what recovery must finish after a restart."""
        return self._runs("status IN ('starting', 'running') ORDER BY id", [])

    def runs_awaiting_files(self) -> list[Run]:
        """Finished runs whose worker files were not delivered yet (the app stopped first)."""
        return self._runs(
            "status IN ('completed', 'failed') AND files_done = 0 AND worker_id IS NOT NULL "
            "ORDER BY id",
            [],
        )

    def thread_runs(self, team_id: str, channel_id: str, thread_ts: str) -> list[Run]:
        return self._runs(
            "team_id = ? AND channel_id = ? AND thread_ts = ? ORDER BY id",
            [team_id, channel_id, thread_ts],
        )

    def thread_busy(self, team_id: str, channel_id: str, thread_ts: str) -> bool:
        return any(run.status in ACTIVE for run in self.thread_runs(team_id, channel_id, thread_ts))

    def next_queued(self, team_id: str, channel_id: str, thread_ts: str) -> Run | None:
        queued = [
            run
            for run in self.thread_runs(team_id, channel_id, thread_ts)
            if run.status == "queued"
        ]
        return queued[0] if queued else None

    def threads_with_queued_runs(self) -> list[tuple[str, str, str]]:
        rows = self.db.execute(
            "SELECT DISTINCT team_id, channel_id, thread_ts FROM runs WHERE status = 'queued'"
        ).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    # ---- uploads --------------------------------------------------------------------------

    def uploaded_paths(self, team_id: str, channel_id: str, thread_ts: str) -> dict[str, set[str]]:
        """Every file path uploaded into a thread, with the content hashes uploaded for it."""
        rows = self.db.execute(
            "SELECT path, sha256 FROM uploads WHERE team_id = ? AND channel_id = ? "
            "AND thread_ts = ?",
            [team_id, channel_id, thread_ts],
        ).fetchall()
        found: dict[str, set[str]] = {}
        for path, digest in rows:
            found.setdefault(path, set()).add(digest)
        return found

    def record_upload(
        self,
        *,
        team_id: str,
        channel_id: str,
        thread_ts: str,
        path: str,
        sha256: str,
        size: int,
        worker_id: str,
        run_id: int,
        slack_file_id: str | None,
    ) -> None:
        self.db.table("uploads").insert(
            {
                "team_id": team_id,
                "channel_id": channel_id,
                "thread_ts": thread_ts,
                "path": path,
                "sha256": sha256,
                "size": size,
                "worker_id": worker_id,
                "run_id": run_id,
                "slack_file_id": slack_file_id,
                "uploaded_at": self._clock(),
            },
            replace=True,
        )

    def recent_workers(
        self, team_id: str, channel_id: str, user_id: str, limit: int = 10
    ) -> list[Run]:
        """The runs that started the user's workers in a channel, newest first."""
        return self._runs(
            "team_id = ? AND channel_id = ? AND user_id = ? AND kind = 'new' "
            "ORDER BY id DESC LIMIT ?",
            [team_id, channel_id, user_id, limit],
        )

    def latest_run_of_thread(self, team_id: str, channel_id: str, thread_ts: str) -> Run | None:
        runs = self.thread_runs(team_id, channel_id, thread_ts)
        return runs[-1] if runs else None

    def active_run_for_worker(self, worker_id: str) -> Run | None:
        runs = self._runs(
            "worker_id = ? AND status IN ('starting', 'running') LIMIT 1", [worker_id]
        )
        return runs[0] if runs else None

    # ---- schedules ------------------------------------------------------------------------

    def add_schedule(self, schedule: Schedule) -> Schedule:
        record = {name: getattr(schedule, name) for name in SCHEDULE_FIELDS}
        self.db.table("schedules").insert(record, replace=True)
        return schedule

    def get_schedule(self, schedule_id: str) -> Schedule | None:
        rows = list(self.db.query("SELECT * FROM schedules WHERE id = ?", [schedule_id]))
        return schedule_from_row(rows[0]) if rows else None

    def update_schedule(self, schedule_id: str, **changes: Any) -> Schedule:
        unknown = set(changes) - SCHEDULE_FIELDS
        if unknown:
            raise ValueError(f"unknown schedule fields: {sorted(unknown)}")
        self.db.table("schedules").update(schedule_id, changes)
        found = self.get_schedule(schedule_id)
        assert found is not None
        return found

    def active_schedules(self) -> list[Schedule]:
        return self._schedules("status = 'active' ORDER BY next_run_at", [])

    def channel_schedules(self, team_id: str, channel_id: str) -> list[Schedule]:
        return self._schedules(
            "team_id = ? AND channel_id = ? AND status = 'active' ORDER BY created_at",
            [team_id, channel_id],
        )

    def worker_schedules(self, worker_id: str) -> list[Schedule]:
        """Every schedule ever made on a worker, newest first (digests name the latest)."""
        return self._schedules("worker_id = ? ORDER BY created_at DESC", [worker_id])

    def _schedules(self, where: str, params: list[Any]) -> list[Schedule]:
        query = f"SELECT * FROM schedules WHERE {where}"
        return [schedule_from_row(row) for row in self.db.query(query, params)]

    def add_pending_schedule(self, pending: PendingSchedule) -> None:
        self.db.table("pending_schedules").insert(
            {name.name: getattr(pending, name.name) for name in fields(PendingSchedule)},
            replace=True,
        )

    def pending_schedule(self, run_id: int) -> PendingSchedule | None:
        rows = list(self.db.query("SELECT * FROM pending_schedules WHERE run_id = ?", [run_id]))
        return PendingSchedule(**rows[0]) if rows else None

    def pending_schedule_created(self, run_id: int, schedule_id: str) -> None:
        self.db.table("pending_schedules").update(run_id, {"schedule_id": schedule_id})

    def drop_pending_schedule(self, run_id: int) -> None:
        self.db.execute("DELETE FROM pending_schedules WHERE run_id = ?", [run_id])

    # ---- what of a worker's history has been shown ----------------------------------------

    def messages_seen(self, worker_id: str) -> int | None:
        row = self.db.execute(
            "SELECT messages_seen FROM worker_marks WHERE worker_id = ?", [worker_id]
        ).fetchone()
        return int(row[0]) if row else None

    def see_messages(self, worker_id: str, count: int) -> None:
        """Everything before message `count` of this worker has been shown in Slack."""
        self.db.execute(
            "INSERT INTO worker_marks (worker_id, messages_seen, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(worker_id) DO UPDATE SET "
            "messages_seen = MAX(messages_seen, excluded.messages_seen), "
            "updated_at = excluded.updated_at",
            [worker_id, count, self._clock()],
        )

    def claim_digest(
        self, *, worker_id: str, message_index: int, schedule_id: str, run_id: int, late: bool
    ) -> bool:
        """Record that a scheduled turn gets a digest; False if it already has one."""
        key = f"{worker_id}:{message_index}"
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO digests "
            "(key, worker_id, schedule_id, run_id, message_index, late, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [key, worker_id, schedule_id, run_id, message_index, int(late), self._clock()],
        )
        return cursor.rowcount == 1

    def unposted_digests(self) -> list[tuple[Run, int, bool]]:
        """Digests claimed but never posted (the app stopped in between): run, index, late."""
        rows = self.db.execute(
            "SELECT d.run_id, d.message_index, d.late FROM digests d JOIN runs r "
            "ON r.id = d.run_id WHERE r.message_ts IS NULL AND r.status = 'completed' "
            "ORDER BY d.created_at"
        ).fetchall()
        return [(self.get_run(int(r[0])), int(r[1]), bool(r[2])) for r in rows]

    # ---- a workspace the app was uninstalled from ----------------------------------------

    def forget_workspace(self, team_id: str, reason: str) -> ForgottenWorkspace:
        """Everything the app was doing in a workspace stops, in one transaction.

        Queued and in-flight runs fail with `reason` (no files are owed any more), active
        schedules are marked `gone`, and the workspace's threads are forgotten: the links to
        their workers, the record of uploads into them, and the runs' place in them, so no
        reply there continues a worker again. Runs and schedules stay as history.
        """
        with self.db.atomic():
            failed = self._runs(
                "team_id = ? AND status IN ('queued', 'starting', 'running') ORDER BY id",
                [team_id],
            )
            schedules = self._schedules("team_id = ? AND status = 'active'", [team_id])
            now = self._clock()
            self.db.execute(
                "UPDATE runs SET status = 'failed', error = ?, finished_at = ? WHERE team_id = ? "
                "AND status IN ('queued', 'starting', 'running')",
                [reason, now, team_id],
            )
            self.db.execute(  # digests claimed but not posted yet: never posted now
                "UPDATE runs SET status = 'failed', error = ? WHERE team_id = ? "
                "AND kind = 'digest' AND message_ts IS NULL",
                [reason, team_id],
            )
            self.db.execute(
                "DELETE FROM pending_schedules WHERE run_id IN "
                "(SELECT id FROM runs WHERE team_id = ?)",
                [team_id],
            )
            self.db.execute(
                "UPDATE schedules SET status = 'gone' WHERE team_id = ? AND status = 'active'",
                [team_id],
            )
            threads = self.db.execute("DELETE FROM threads WHERE team_id = ?", [team_id]).rowcount
            self.db.execute("DELETE FROM uploads WHERE team_id = ?", [team_id])
            self.db.execute(
                "UPDATE runs SET thread_ts = NULL, files_done = 1 WHERE team_id = ?", [team_id]
            )
        return ForgottenWorkspace(team_id, failed, schedules, threads)

    def _runs(self, where: str, params: list[Any]) -> list[Run]:
        return [
            run_from_row(row) for row in self.db.query(f"SELECT * FROM runs WHERE {where}", params)
        ]
