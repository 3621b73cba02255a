"""`handinger-slack migrate-db`: copy the app's state from its SQLite file into PostgreSQL.

For moving a single-process install to `DATABASE_URL` (README, "Running several replicas").
The app must be stopped while it runs (a file it still holds runs in is refused, as is anything
but the app's SQLite file, or one of a newer release). The SQLite file is then brought to this
release's schema (as the app would at start), the PostgreSQL database is migrated to the same
version, and every table is copied in one transaction (the installations too), so an
interrupted copy leaves nothing behind.
Run ids are kept (cards in Slack carry them), and the id sequence continues after them. OAuth
installations come along from the installations file beside it, when there is one. The target
must hold no state yet: a copy never merges.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from slack_sdk.oauth.installation_store import Bot

from .config import installations_file
from .slack.installations import latest_bot_rows
from .slack.installations_db import DatabaseInstallationStore, bot_of, create_tables
from .store.postgres import PostgresDatabase, open_postgres
from .store.schema import MIGRATIONS
from .store.sql import Sql
from .store.sqlite import SqliteDatabase

TABLES = (
    "threads",
    "runs",
    "handled_events",
    "uploads",
    "schedules",
    "pending_schedules",
    "worker_marks",
    "digests",
    "reply_modes",
    "assistant_threads",
    "feedback",
)
"""Every table of the store's schema but `schema_version` (each side keeps its own) and
`leases`, the `rate_*` tables and `departures` (the app is stopped: nothing is held, Slack's
rate windows of a minute ago no longer count, and no process is left to tell)."""
BATCH = 500


class CopyRefused(Exception):
    """The copy cannot start; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Copied:
    rows: dict[str, int]
    installations: int


def sqlite_path(url: str) -> Path:
    """`sqlite:///abs/path.db` (or SQLAlchemy's `sqlite:////abs/path.db`), `sqlite:rel/path.db`,
    or a plain path → the file."""
    for prefix in ("sqlite:///", "sqlite://", "sqlite:"):
        if url.startswith(prefix):
            rest = url.removeprefix(prefix)
            return Path("/" + rest.lstrip("/")) if prefix == "sqlite:///" else Path(rest)
    return Path(url)


def copy_database(source: Path, target_url: str) -> Copied:
    """Copy every table of `source` (and the bots in the installations file beside it) into
    the PostgreSQL database at `target_url`."""
    if not source.exists():
        raise CopyRefused(f"{source} does not exist: pass the app's HANDINGER_DB file as --from")
    version = _source_version(source)
    if version > len(MIGRATIONS):
        raise CopyRefused(
            f"{source} has schema version {version}, newer than this release knows "
            f"({len(MIGRATIONS)}): copy it with the release that wrote it"
        )
    return asyncio.run(_copy(source, target_url, installations_file(source)))


def _source_version(source: Path) -> int:
    """The schema version of the app's SQLite file, read without writing to it; refuses
    anything else (a directory, another program's database), which the copy would otherwise
    migrate into an empty app database and copy nothing from."""
    wrong = "pass the app's HANDINGER_DB file as --from"
    if not source.is_file():
        raise CopyRefused(f"{source} is not a file: {wrong}")
    connection = sqlite3.connect(source.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        row = connection.execute("SELECT version FROM schema_version").fetchone()
    except sqlite3.Error as exc:
        raise CopyRefused(f"{source} is not the app's SQLite database ({exc}): {wrong}") from exc
    finally:
        connection.close()
    return int(row[0]) if row else 0


async def _copy(source: Path, target_url: str, installations: Path) -> Copied:
    sqlite = SqliteDatabase(source)
    try:
        await _refuse_if_in_use(sqlite, source)
        target = await open_postgres(target_url)
    except Exception:
        await sqlite.close()
        raise
    try:
        bots = legacy_bots(installations)
        if bots:
            await create_tables(target)
        await _refuse_unless_empty(target)
        rows: dict[str, int] = {}
        async with target.transaction() as tx:
            for table in TABLES:
                rows[table] = await _copy_table(sqlite, tx, table)
            await tx.execute(
                "SELECT setval(pg_get_serial_sequence('runs', 'id'), "
                "COALESCE((SELECT MAX(id) FROM runs), 1), "
                "(SELECT MAX(id) FROM runs) IS NOT NULL)"
            )
            for client_id, bot in bots:
                await DatabaseInstallationStore(tx, client_id).async_save_bot(bot)
        return Copied(rows, len(bots))
    finally:
        await sqlite.close()
        await target.close()


async def _refuse_if_in_use(sqlite: SqliteDatabase, source: Path) -> None:
    """A process that holds a lease in the file is running (or was killed moments ago): what
    it does after the copy would be lost, and the runs it holds would be run twice."""
    held = await sqlite.fetch(
        "SELECT COUNT(*) AS n, MAX(expires_at) AS until FROM leases WHERE expires_at > ?",
        [time.time()],
    )
    if held[0]["n"]:
        wait = float(held[0]["until"]) - time.time()
        raise CopyRefused(
            f"{source} is in use: a running app holds {held[0]['n']} lease(s) on work in it. "
            "Stop every process of the app first (a stopped one lets go at once; a killed "
            f"one's hold ends within {wait:.0f} s), then copy again"
        )


async def _refuse_unless_empty(target: PostgresDatabase) -> None:
    """Refuse a target holding the app's state, or an installation (the app ran on it
    already): copying would mix two histories, or replace a newer token with an older one."""
    present = await target.fetch("SELECT to_regclass('slack_bots') IS NOT NULL AS present")
    for table in (*TABLES, "slack_bots") if present[0]["present"] else TABLES:
        if await target.fetch(f"SELECT 1 FROM {table} LIMIT 1"):
            raise CopyRefused(
                f"{target.describe()} already holds the app's data (table {table} has rows): "
                "copy into a new, empty database, or drop this one's tables first"
            )


async def _copy_table(source: SqliteDatabase, target: Sql, table: str) -> int:
    rows = await source.fetch(f"SELECT * FROM {table}")
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        columns = list(batch[0])
        one = f"({', '.join('?' for _ in columns)})"
        await target.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([one] * len(batch))}",
            [row[column] for row in batch for column in columns],
        )
    return len(rows)


def legacy_bots(path: Path) -> list[tuple[str, Bot]]:
    """The newest bot of each workspace in slack_sdk's SQLite installations file, with the
    client id it was installed under; none when there is no such file or table."""
    return [(str(row["client_id"]), bot_of(dict(row))) for row in latest_bot_rows(path)]
