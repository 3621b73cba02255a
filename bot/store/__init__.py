"""The app's state, in SQLite or PostgreSQL: schema, migrations and every query the app makes.

Knows nothing of Slack or HTTP. What lives here is what must survive a restart (ARCHITECTURE.md,
rule 5): which worker belongs to which thread, every run the app started and where its
message is, queued follow-ups, and which Slack events and commands were already handled.
`Store` is one object for its callers; its queries are grouped by table in `threads`, `runs`,
`schedules` and `digests`, written once for both engines (`sql.Database`: `sqlite.py`,
`postgres.py`). `open_store` picks the engine: `DATABASE_URL=postgresql://…`, else the SQLite
file `HANDINGER_DB`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from .agent import AgentQueries, AssistantThread, Feedback, Vote
from .departures import DepartureQueries
from .digests import DigestQueries
from .inbox import InboxQueries, PendingRequest, RequestOwner, RequestTaken
from .leases import LeaseQueries, LeaseTo
from .postgres import open_postgres
from .rates import RateQueries
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
from .sql import Database, now_sql
from .sqlite import SqliteDatabase
from .takeover import Takeover, TakeoverQueries
from .threads import ThreadQueries

log = logging.getLogger(__name__)

__all__ = [
    "MIGRATIONS",
    "AssistantThread",
    "Database",
    "Feedback",
    "ForgottenWorkspace",
    "LeaseTo",
    "PendingRequest",
    "PendingSchedule",
    "RequestOwner",
    "RequestTaken",
    "Run",
    "RunKind",
    "RunStatus",
    "Schedule",
    "ScheduleStatus",
    "Store",
    "Takeover",
    "Thread",
    "Vote",
    "is_postgres_url",
    "open_side_store",
    "open_store",
]


class Store(
    ThreadQueries,
    RunQueries,
    ScheduleQueries,
    DigestQueries,
    AgentQueries,
    LeaseQueries,
    RateQueries,
    DepartureQueries,
    InboxQueries,
    TakeoverQueries,
):
    """All reads and writes of the app's database.

    Built on an open, migrated `Database` (see `open_store`), or on a SQLite file path, which
    it opens and migrates at once. The methods are coroutines: on PostgreSQL every call is a
    network round trip; SQLite's calls stay synchronous inside them (a local file).
    """

    def __init__(
        self, target: str | Path | Database, *, clock: Callable[[], float] | None = None
    ) -> None:
        self.db: Database = target if not isinstance(target, str | Path) else SqliteDatabase(target)
        self._clock = clock or time.time
        server = clock is None and self.db.dialect == "postgresql"
        # leases and Slack's allowances compare times written by several hosts: on
        # PostgreSQL they read the server's clock (a None parameter, `sql.now_sql`)
        self._now = (lambda: None) if server else self._clock
        self._sql_now = now_sql(self.db.dialect)

    async def close(self) -> None:
        await self.db.close()

    async def schema_version(self) -> int:
        return await self.db.schema_version()

    async def migrate(self) -> int:
        """Apply pending migrations, each in its own transaction; return the new version."""
        return await self.db.migrate()

    # ---- events ---------------------------------------------------------------------------

    async def claim_event(self, *keys: str, request: str | None = None) -> bool:
        """Record Slack request keys as handled; False if any of them was handled before.

        For an event, pass the `event_id` and a `channel:ts` key together, so that Slack's
        retries and the app_mention + message double delivery of one post are both caught.
        Commands, clicks and modal submissions are claimed by their `trigger_id`, under a
        prefix of their own (`command:…`, `action:…`, `view:…`), so a replay of one does
        nothing. `request`: the inbox key of the request claiming them (`inbox.py`); keys that
        request claimed before count as its own, so a request taken over from a process that
        died is handled again.
        """
        unique = sorted(set(keys))  # one order for every claimer: no deadlock between them
        rows = ", ".join("(?, ?, ?)" for _ in unique)
        now = self._clock()
        try:
            async with self.db.transaction() as tx:
                claimed = await tx.execute(
                    f"INSERT INTO handled_events (key, handled_at, request) VALUES {rows} "
                    "ON CONFLICT (key) DO UPDATE SET handled_at = handled_events.handled_at "
                    "WHERE handled_events.request = excluded.request",
                    [value for key in unique for value in (key, now, request)],
                )
                if claimed < len(unique):
                    raise _Seen
        except _Seen:
            return False
        return True

    async def prune_events(self, older_than: float) -> int:
        """Forget handled requests older than `older_than` seconds (Slack retries events within
        minutes; a signed request is refused as stale after 5)."""
        return await self.db.execute(
            "DELETE FROM handled_events WHERE handled_at < ?", [self._clock() - older_than]
        )

    # ---- a workspace the app was uninstalled from ----------------------------------------

    async def forget_workspace(self, team_id: str, reason: str) -> ForgottenWorkspace:
        """Everything the app was doing in a workspace stops, in one transaction.

        Queued and in-flight runs fail with `reason` (no files are owed any more), active
        schedules are marked `gone`, and the workspace's threads are forgotten: the links to
        their workers, the record of uploads into them, and the runs' place in them, so no
        reply there continues a worker again. Runs and schedules stay as history.
        """
        async with self.db.transaction() as tx:
            failed = await self._runs(
                "team_id = ? AND status IN ('queued', 'starting', 'running') ORDER BY id",
                [team_id],
                tx,
            )
            schedules = await self._schedules("team_id = ? AND status = 'active'", [team_id], tx)
            now = self._clock()
            await tx.execute(  # every other process stops its work there too (`departures`)
                "INSERT INTO departures (team_id, at) VALUES (?, ?)", [team_id, now]
            )
            await tx.execute(
                "UPDATE runs SET status = 'failed', error = ?, finished_at = ? WHERE team_id = ? "
                "AND status IN ('queued', 'starting', 'running')",
                [reason, now, team_id],
            )
            await tx.execute(  # digests claimed but not posted yet: never posted now
                "UPDATE runs SET status = 'failed', error = ? WHERE team_id = ? "
                "AND kind = 'digest' AND message_ts IS NULL",
                [reason, team_id],
            )
            await tx.execute(
                "DELETE FROM pending_schedules WHERE run_id IN "
                "(SELECT id FROM runs WHERE team_id = ?)",
                [team_id],
            )
            await tx.execute(
                "UPDATE schedules SET status = 'gone' WHERE team_id = ? AND status = 'active'",
                [team_id],
            )
            threads = await tx.execute("DELETE FROM threads WHERE team_id = ?", [team_id])
            await tx.execute("DELETE FROM uploads WHERE team_id = ?", [team_id])
            await tx.execute("DELETE FROM reply_modes WHERE team_id = ?", [team_id])
            await tx.execute("DELETE FROM assistant_threads WHERE team_id = ?", [team_id])
            await tx.execute(
                "UPDATE runs SET thread_ts = NULL, files_done = 1 WHERE team_id = ?", [team_id]
            )
        return ForgottenWorkspace(team_id, failed, schedules, threads)


class _Seen(Exception):
    """A claimed key was handled before: the claim's transaction rolls back."""


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and str(url).startswith(("postgresql://", "postgres://"))


async def open_side_store(database_url: str | None, sqlite_path: str | Path) -> Store:
    """A second, small connection to the app's database, for a thread with an event loop of
    its own (the HTTP ingress's inbox writes, `slack/inbox.py`): already migrated by the app;
    on SQLite a lock is waited out for one second at most, so a busy file fails fast."""
    if database_url is not None and is_postgres_url(database_url):
        return Store(await open_postgres(database_url, max_size=2, migrate=False))
    return Store(SqliteDatabase(sqlite_path, migrate=False, busy_timeout=1.0))


async def open_store(
    database_url: str | None,
    sqlite_path: str | Path,
    *,
    clock: Callable[[], float] | None = None,
) -> Store:
    """The store the settings choose: PostgreSQL at `database_url` when it is one, else the
    SQLite file `sqlite_path`; connected and migrated. `clock` (tests) replaces the wall
    clock, the PostgreSQL server's included."""
    if database_url is not None and is_postgres_url(database_url):
        store = Store(await open_postgres(database_url), clock=clock)
    else:
        store = Store(sqlite_path, clock=clock)
    version = await store.db.schema_version()
    if version > len(MIGRATIONS):  # both engines count their migrations alike
        log.warning(
            "the %s has schema version %d, newer than this release knows (%d): a newer release "
            "migrated it, and an older one may misread it; run that release (or newer), or "
            "restore the backup taken before the upgrade",
            store.db.describe(),
            version,
            len(MIGRATIONS),
        )
    return store
