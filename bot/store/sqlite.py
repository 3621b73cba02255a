"""The embedded engine: one SQLite file (WAL mode) through sqlite-utils, for one process.

Calls run synchronously on the event loop: the file is local and each statement takes
microseconds, less than handing it to a thread would. So no statement, and no transaction
of statements without a real wait inside, lets another task in halfway.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import sqlite_utils

from .schema import MIGRATIONS
from .sql import Dialect, Params, Row, Sql, Tally


class SqliteDatabase:
    """`Database` on a SQLite file (or `:memory:`), migrated when opened."""

    dialect: Dialect = "sqlite"

    def __init__(
        self, path: str | Path, *, migrate: bool = True, busy_timeout: float = 5.0
    ) -> None:
        self.path = str(path)
        if self.path == ":memory:":
            self.db = sqlite_utils.Database(memory=True)
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite_utils.Database(path)
            self.db.enable_wal()
        self.db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self._in_transaction = False
        self.tally = Tally()
        if migrate:
            self._migrate()

    async def execute(self, query: str, params: Params = ()) -> int:
        return self._run(query, params, rows=False)[0]

    async def fetch(self, query: str, params: Params = ()) -> list[Row]:
        return self._run(query, params, rows=True)[1]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Sql]:
        if self._in_transaction:
            raise RuntimeError("transactions do not nest")
        self.tally.statements += 2  # BEGIN, then COMMIT or ROLLBACK
        with self.db.atomic():
            self._in_transaction = True
            try:
                yield self
            finally:
                self._in_transaction = False

    async def schema_version(self) -> int:
        return self._schema_version()

    async def migrate(self, up_to: int | None = None) -> int:
        return self._migrate(up_to)

    def describe(self) -> str:
        return f"SQLite file {self.path}"

    async def ping(self) -> None:
        self.db.execute("SELECT 1").fetchone()

    def stop_waiting(self) -> None:
        """Nothing waits: a local file has no outages (a lock waits `busy_timeout` at most)."""

    async def close(self) -> None:
        self.db.close()

    def _run(self, query: str, params: Params, *, rows: bool) -> tuple[int, list[Row]]:
        """One statement, committed on its own unless a transaction is open."""
        self.tally.statements += 1
        if self._in_transaction:
            return _results(self.db.conn.execute(query, list(params)), rows)
        with self.db.atomic():
            return _results(self.db.conn.execute(query, list(params)), rows)

    def _schema_version(self) -> int:
        if "schema_version" not in self.db.table_names():
            return 0
        row = self.db.execute("SELECT version FROM schema_version").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self, up_to: int | None = None) -> int:
        if "schema_version" not in self.db.table_names():
            self.db.table("schema_version").create({"version": int})
            self.db.table("schema_version").insert({"version": 0})
        for number, migration in enumerate(MIGRATIONS[:up_to], start=1):
            if number <= self._schema_version():
                continue
            with self.db.atomic():
                migration(self.db)
                self.db.execute("UPDATE schema_version SET version = ?", [number])
        return self._schema_version()


def _results(cursor: sqlite3.Cursor, rows: bool) -> tuple[int, list[Row]]:
    if not rows:
        return int(cursor.rowcount), []
    names = [column[0] for column in cursor.description]
    return int(cursor.rowcount), [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
