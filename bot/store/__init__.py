"""SQLite state through sqlite-utils: schema, migrations and every query the app makes.

Knows nothing of Slack or HTTP. What lives here is what must survive a restart (ARCHITECTURE.md,
rule 5): which worker belongs to which thread, every run the app started and where its
message is, queued follow-ups, and which Slack events and commands were already handled.
`Store` is one object for its callers; its queries are grouped by table in `threads`, `runs`,
`schedules` and `digests`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from .agent import AgentQueries, AssistantThread, Feedback, Vote
from .digests import DigestQueries
from .records import (
    ForgottenWorkspace,
    PendingSchedule,
    Run,
    RunKind,
    RunStatus,
    Schedule,
    ScheduleStatus,
    Thread,
)
from .runs import RunQueries
from .schedules import ScheduleQueries
from .schema import MIGRATIONS
from .threads import ThreadQueries

__all__ = [
    "MIGRATIONS",
    "AssistantThread",
    "Feedback",
    "ForgottenWorkspace",
    "PendingSchedule",
    "Run",
    "RunKind",
    "RunStatus",
    "Schedule",
    "ScheduleStatus",
    "Store",
    "Thread",
    "Vote",
]


class Store(ThreadQueries, RunQueries, ScheduleQueries, DigestQueries, AgentQueries):
    """All reads and writes of the app's SQLite database.

    The methods are coroutines so that a server database can stand behind the same interface;
    SQLite's own calls stay synchronous inside them (a local file: faster than a thread hop),
    so none of them lets another task run halfway through.
    """

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
        self._migrate()

    async def close(self) -> None:
        self.db.close()

    # ---- schema ---------------------------------------------------------------------------

    async def schema_version(self) -> int:
        return self._schema_version()

    async def migrate(self) -> int:
        """Apply pending migrations, each in its own transaction; return the new version."""
        return self._migrate()

    def _schema_version(self) -> int:
        if "schema_version" not in self.db.table_names():
            return 0
        row = self.db.execute("SELECT version FROM schema_version").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self) -> int:
        if "schema_version" not in self.db.table_names():
            self.db.table("schema_version").create({"version": int})
            self.db.table("schema_version").insert({"version": 0})
        for number, migration in enumerate(MIGRATIONS, start=1):
            if number <= self._schema_version():
                continue
            with self.db.atomic():
                migration(self.db)
                self.db.execute("UPDATE schema_version SET version = ?", [number])
        return self._schema_version()

    # ---- events ---------------------------------------------------------------------------

    async def claim_event(self, *keys: str) -> bool:
        """Record Slack request keys as handled; False if any of them was handled before.

        For an event, pass the `event_id` and a `channel:ts` key together, so that Slack's
        retries and the app_mention + message double delivery of one post are both caught.
        Commands, clicks and modal submissions are claimed by their `trigger_id`, under a
        prefix of their own (`command:…`, `action:…`, `view:…`), so a replay of one does
        nothing.
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

    async def prune_events(self, older_than: float) -> int:
        """Forget handled requests older than `older_than` seconds (Slack retries events within
        minutes; a signed request is refused as stale after 5)."""
        cursor = self.db.execute(
            "DELETE FROM handled_events WHERE handled_at < ?", [self._clock() - older_than]
        )
        return cursor.rowcount

    # ---- a workspace the app was uninstalled from ----------------------------------------

    async def forget_workspace(self, team_id: str, reason: str) -> ForgottenWorkspace:
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
            self.db.execute("DELETE FROM reply_modes WHERE team_id = ?", [team_id])
            self.db.execute("DELETE FROM assistant_threads WHERE team_id = ?", [team_id])
            self.db.execute(
                "UPDATE runs SET thread_ts = NULL, files_done = 1 WHERE team_id = ?", [team_id]
            )
        return ForgottenWorkspace(team_id, failed, schedules, threads)
