"""What the queries need of a database, whichever engine it is: run a statement, read rows,
group statements in a transaction.

The queries are written once, in the SQL that SQLite and PostgreSQL share (`?` placeholders,
`INSERT … ON CONFLICT`, `RETURNING`); each engine's module adapts them (`sqlite.py`,
`postgres.py`). A statement outside `transaction()` commits on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Row = dict[str, Any]
Params = Sequence[Any]
Dialect = Literal["sqlite", "postgresql"]


@dataclass(slots=True)
class Tally:
    """Statements this process sent to its database since it started: each statement is
    one, and a transaction adds two (BEGIN and COMMIT or ROLLBACK). On PostgreSQL each is a
    network round trip; SQLite counts the same way, so the engines compare (`/healthz`)."""

    statements: int = 0


class Sql(Protocol):
    """Statements against one database, or inside one of its transactions."""

    async def execute(self, query: str, params: Params = ()) -> int:
        """Run a statement; return how many rows it changed."""
        ...

    async def fetch(self, query: str, params: Params = ()) -> list[Row]:
        """Run a query (or a statement with `RETURNING`); return its rows by column name."""
        ...


class Database(Sql, Protocol):
    """A database the store can use: statements, transactions, its schema, and closing."""

    dialect: Dialect
    tally: Tally

    def transaction(self) -> AbstractAsyncContextManager[Sql]:
        """Statements that commit together, or not at all (when the block raises)."""
        ...

    async def schema_version(self) -> int:
        """How many of the engine's migrations the database has applied."""
        ...

    async def migrate(self, up_to: int | None = None) -> int:
        """Apply pending migrations (up to number `up_to`), each in its own transaction;
        return the new version."""
        ...

    def describe(self) -> str:
        """Where the data is, for logs and `doctor` (never with a password)."""
        ...

    async def ping(self) -> None:
        """Raise if the database cannot be reached right now (`/healthz`)."""
        ...

    def stop_waiting(self) -> None:
        """The process is stopping: statements fail during an outage instead of waiting it
        out, so a SIGTERM never hangs on a database that is away."""
        ...

    async def close(self) -> None: ...


SERVER_NOW = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)"
"""PostgreSQL's own clock, in seconds since the epoch, read when the statement reaches it."""


def now_sql(dialect: Dialect) -> str:
    """The time in a query, as one `?` parameter: on PostgreSQL a NULL parameter stands for
    the server's clock (`SERVER_NOW`), so processes on hosts whose clocks differ agree on
    time; SQLite (one host) takes the process's clock, and tests pass a clock of their own."""
    if dialect == "sqlite":
        return "?"
    return f"COALESCE(CAST(? AS DOUBLE PRECISION), {SERVER_NOW})"


def values_list(columns: Sequence[str]) -> str:
    """`(a, b) VALUES (?, ?)` for an insert of `columns`."""
    return f"({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"


def upsert(table: str, record: dict[str, Any], key: Sequence[str]) -> tuple[str, list[Any]]:
    """An insert of `record` that replaces every other column of the row with the same `key`."""
    columns = list(record)
    changed = [column for column in columns if column not in key] or list(key)[:1]
    updates = ", ".join(f"{column} = excluded.{column}" for column in changed)
    query = (
        f"INSERT INTO {table} {values_list(columns)} "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    )
    return query, list(record.values())
