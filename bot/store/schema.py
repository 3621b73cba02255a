"""The database schema, as migrations applied in order; the database records how many ran."""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils


def _migration_1(db: sqlite_utils.Database) -> None:
    db.table("threads").create(
        {
            "team_id": str,
            "channel_id": str,
            "thread_ts": str,
            "worker_id": str,
            "user_id": str,
            "created_at": float,
        },
        pk=("team_id", "channel_id", "thread_ts"),
        not_null={"worker_id"},
    )
    db.table("threads").create_index(["worker_id"])
    db.table("runs").create(
        {
            "id": int,
            "team_id": str,
            "channel_id": str,
            "thread_ts": str,
            "kind": str,
            "input": str,
            "budget": str,
            "user_id": str,
            "status": str,
            "created_at": float,
            "worker_id": str,
            "message_ts": str,
            "trigger_ts": str,
            "response_url": str,
            "error": str,
            "started_at": float,
            "finished_at": float,
            "messages_before": int,
        },
        pk="id",
        not_null={"team_id", "channel_id", "kind", "input", "status"},
    )
    db.table("runs").create_index(["status"])
    db.table("runs").create_index(["team_id", "channel_id", "thread_ts"])
    db.table("handled_events").create({"key": str, "handled_at": float}, pk="key")


def _migration_2(db: sqlite_utils.Database) -> None:
    """Files uploaded into threads: once per (thread, path, content), across restarts."""
    db.table("uploads").create(
        {
            "team_id": str,
            "channel_id": str,
            "thread_ts": str,
            "path": str,
            "sha256": str,
            "size": int,
            "worker_id": str,
            "run_id": int,
            "slack_file_id": str,
            "uploaded_at": float,
        },
        pk=("team_id", "channel_id", "thread_ts", "path", "sha256"),
    )
    db.table("runs").add_column("files_done", int)
    db.execute("UPDATE runs SET files_done = 1")  # runs from before files were delivered


def _migration_3(db: sqlite_utils.Database) -> None:
    """Schedules, the digests posted for them, and how much of each worker's history was seen."""
    db.table("schedules").create(
        {
            "id": str,
            "team_id": str,
            "channel_id": str,
            "worker_id": str,
            "creator_id": str,
            "input": str,
            "budget": str,
            "type": str,
            "description": str,
            "status": str,
            "created_at": float,
            "next_run_at": float,
            "cancelled_by": str,
        },
        pk="id",
    )
    db.table("schedules").create_index(["team_id", "channel_id", "status"])
    db.table("schedules").create_index(["worker_id"])
    db.table("pending_schedules").create(
        {
            "run_id": int,
            "when_json": str,
            "input": str,
            "budget": str,
            "description": str,
            "schedule_id": str,
        },
        pk="run_id",
    )
    db.table("worker_marks").create(
        {"worker_id": str, "messages_seen": int, "updated_at": float}, pk="worker_id"
    )
    db.table("digests").create(
        {
            "key": str,
            "worker_id": str,
            "schedule_id": str,
            "run_id": int,
            "message_index": int,
            "late": int,
            "created_at": float,
        },
        pk="key",
    )


def _migration_4(db: sqlite_utils.Database) -> None:
    """What a restart needs to resume a run whose request may have reached Handinger unanswered.

    `ref` is a random reference of the run: the `Idempotency-Key` of its create/continue and the
    id its Slack message carries in metadata. `request_sent_at` is set just before that request
    is sent. Runs from before have no `ref`; those that may have sent theirs are marked sent.
    """
    db.table("runs").add_column("ref", str)
    db.table("runs").add_column("request_sent_at", float)
    db.execute(
        "UPDATE runs SET request_sent_at = created_at WHERE status IN ('starting', 'running') "
        "AND (kind = 'new' OR messages_before IS NOT NULL)"
    )


def _migration_5(db: sqlite_utils.Database) -> None:
    """Finished runs whose message does not show their outcome yet (Slack or Handinger kept
    failing when they ended): `final_pending` says what to show once they answer again."""
    db.table("runs").add_column("final_pending", str)


def _migration_6(db: sqlite_utils.Database) -> None:
    """What a finished turn cost (`usage_json`, `costs_json`: the API's `usage` and `costs` while
    the turn was the worker's latest), so its message can show them after later turns ran."""
    db.table("runs").add_column("usage_json", str)
    db.table("runs").add_column("costs_json", str)


def _migration_7(db: sqlite_utils.Database) -> None:
    """Context (issue 19): `runs.prompt` is the instruction sent when it is more than `input`
    (thread history and file text before the request; `input` stays what the card shows), and
    `reply_modes` is who a worker answers in a thread, when someone switched it from the
    workspace default."""
    db.table("runs").add_column("prompt", str)
    db.table("reply_modes").create(
        {
            "team_id": str,
            "channel_id": str,
            "thread_ts": str,
            "mode": str,
            "set_by": str,
            "set_at": float,
        },
        pk=("team_id", "channel_id", "thread_ts"),
        not_null={"mode"},
    )


def _migration_8(db: sqlite_utils.Database) -> None:
    """Slack's agent surfaces: the assistant pane's threads (with the channel the user looks
    at), and one vote per person on each run's answer."""
    db.table("assistant_threads").create(
        {
            "team_id": str,
            "channel_id": str,
            "thread_ts": str,
            "user_id": str,
            "context_channel_id": str,
            "created_at": float,
        },
        pk=("team_id", "channel_id", "thread_ts"),
    )
    db.table("feedback").create(
        {"run_id": int, "user_id": str, "vote": str, "at": float}, pk=("run_id", "user_id")
    )


def _migration_9(db: sqlite_utils.Database) -> None:
    """Leases: which process owns a piece of in-flight work (`name`, e.g. `run:12`) and until
    when, so several processes on one database never do the same work twice."""
    db.table("leases").create(
        {"name": str, "owner": str, "expires_at": float},
        pk="name",
        not_null={"owner", "expires_at"},
    )
    db.table("leases").create_index(["owner"])


def _migration_10(db: sqlite_utils.Database) -> None:
    """Slack's rate limits shared by all processes: each scope's lock row, the calls of its
    last window, and the finals each process keeps room for (`rates.py`)."""
    db.table("rate_scopes").create({"scope": str, "touched_at": float}, pk="scope")
    db.table("rate_calls").create(
        {"scope": str, "at": float, "owner": str}, not_null={"scope", "at"}
    )
    db.table("rate_calls").create_index(["scope", "at"])
    db.table("rate_reserves").create(
        {"scope": str, "owner": str, "reserved": int, "at": float}, pk=("scope", "owner")
    )


def _migration_11(db: sqlite_utils.Database) -> None:
    """Workspaces the app left, in order, so every process stops its work there
    (`departures.py`)."""
    db.execute(
        "CREATE TABLE departures (id INTEGER PRIMARY KEY AUTOINCREMENT, team_id TEXT NOT NULL, "
        "at FLOAT NOT NULL)"
    )


def _migration_12(db: sqlite_utils.Database) -> None:
    """A 429 one process got pauses its scope for every process (`rates.py`); PostgreSQL's
    migration also adds the function that takes a call in one round trip."""
    db.table("rate_scopes").add_column("paused_until", float)


def _migration_13(db: sqlite_utils.Database) -> None:
    """The inbox: a Slack request's body kept with its claim until its work is recorded, and
    which process owns it until when (`inbox.py`)."""
    for column, kind in INBOX_COLUMNS:
        db.execute(f"ALTER TABLE handled_events ADD COLUMN {column} {kind}")
    db.execute(INBOX_INDEX)


INBOX_COLUMNS = (
    ("request", "TEXT"),
    ("kind", "TEXT"),
    ("body", "TEXT"),
    ("owner", "TEXT"),
    ("expires_at", "FLOAT"),
    ("takeovers", "INTEGER"),
)
INBOX_INDEX = (
    "CREATE INDEX idx_handled_events_pending ON handled_events (expires_at) WHERE body IS NOT NULL"
)


def _migration_14(db: sqlite_utils.Database) -> None:
    """Indexes for the heartbeat's takeover scan (`store/takeover.py`) and the hourly prune:
    the runs and digests tables grow forever, so every beat must read only the rows in flight."""
    for statement in HEARTBEAT_INDEXES:
        db.execute(statement)


HEARTBEAT_INDEXES = (
    "CREATE INDEX idx_runs_owed ON runs (status) WHERE status IN ('completed', 'failed') "
    "AND ((files_done = 0 AND worker_id IS NOT NULL) OR final_pending IS NOT NULL)",
    "CREATE INDEX idx_runs_unposted ON runs (message_ts, status) "
    "WHERE message_ts IS NULL AND status = 'completed'",
    "CREATE INDEX idx_digests_run_id ON digests (run_id)",
    "CREATE INDEX idx_handled_events_handled_at ON handled_events (handled_at)",
)
"""The same statements on both engines (`pg_schema.py`'s migration 14). The partial indexes
hold only the finished runs that still owe something, which stay few; keyed on the columns the
scan compares for equality, so SQLite (no statistics) picks them over `idx_runs_status`."""


def _migration_15(db: sqlite_utils.Database) -> None:
    """The permalink of a run's message, fetched once for every process: a permalink never
    changes, and each replica fetching its own would multiply `chat.getPermalink`."""
    db.table("runs").add_column("permalink", str)


def _migration_16(db: sqlite_utils.Database) -> None:
    """A process whose progress call was refused is queued until its turn (`rates.py`), so
    the others are told later openings instead of all asking again at once."""
    db.table("rate_reserves").add_column("waiting_until", float)


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
    _migration_5,
    _migration_6,
    _migration_7,
    _migration_8,
    _migration_9,
    _migration_10,
    _migration_11,
    _migration_12,
    _migration_13,
    _migration_14,
    _migration_15,
    _migration_16,
]
"""Schema changes in order; the database records how many it has applied."""
