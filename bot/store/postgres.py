"""The server engine: PostgreSQL through psycopg 3 and its connection pool, for one process or
several sharing the data.

psycopg 3 rather than asyncpg: it is typed (mypy strict checks our calls), it speaks the
same `%s` placeholders for every statement so one query text serves both engines after a
mechanical `?` → `%s`, it has a maintained pool (psycopg_pool) that re-checks and replaces
broken connections, and its sync API serves the one-shot commands (`doctor`, `migrate-db`)
with the same driver. Connections run in autocommit; `transaction()` groups statements.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from .outage import LONGEST_WAIT, Outage
from .pg_schema import PG_MIGRATIONS
from .sql import Dialect, Params, Row, Sql, Tally
from .turns import RESERVED, Turns

MIGRATION_LOCK = 0x48616E64  # "Hand": the advisory lock that lets one replica migrate at a time
POOL_SIZE = 10
"""Statements a process sends at a time; the pool holds `RESERVED` more for the heartbeat."""
CONNECT_TIMEOUT = 10.0
ACQUIRE_TIMEOUT = 2.0
"""Seconds a statement whose turn has come (a connection is free for it: `turns.py`) waits
for the pool to hand it one before it counts as an outage: the pool could not connect."""
RECONNECT_WINDOW = LONGEST_WAIT
"""Seconds the pool keeps trying one lost connection (its waits double from 1 s) before it
gives up and lets a statement still waiting start a fresh attempt. psycopg's default, 5 min,
lets the waits grow to a minute and more, so runs would stall that long after the server is
back; this keeps the server tried every few seconds however long the outage lasts."""
T = TypeVar("T")


@functools.lru_cache(maxsize=512)
def pg_query(query: str) -> str:
    """A query of the shared dialect with psycopg's placeholders (`?` → `%s`)."""
    return query.replace("%", "%%").replace("?", "%s")


class DatabaseUnavailable(Exception):
    """The app cannot use its PostgreSQL database as it opens it: the server does not answer,
    or the user may not create the tables that are still missing."""


async def may_not_create(sql: Sql, where: str, error: Exception) -> DatabaseUnavailable:
    """What to grant when the user may not create the app's tables (since PostgreSQL 15 only
    the database's owner may create tables in schema public)."""
    rows = await sql.fetch("SELECT current_user AS name, current_schema() AS schema")
    user, schema = rows[0]["name"], rows[0]["schema"] or "public"
    return DatabaseUnavailable(
        f"user {user} may not create the app's tables in the {where} "
        f"({' '.join(str(error).split())}): as the database's owner or a superuser, "
        f"GRANT CREATE ON SCHEMA {schema} TO {user} (or make {user} the database's owner), "
        "then start again"
    )


class Connection:
    """Statements on one connection: inside a transaction of `PostgresDatabase`."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], tally: Tally | None = None) -> None:
        self.conn = conn
        self.tally = tally if tally is not None else Tally()

    async def execute(self, query: str, params: Params = ()) -> int:
        self.tally.statements += 1
        async with self.conn.cursor() as cursor:
            await cursor.execute(pg_query(query), list(params))
            return cursor.rowcount

    async def fetch(self, query: str, params: Params = ()) -> list[Row]:
        self.tally.statements += 1
        async with self.conn.cursor(row_factory=dict_row) as cursor:
            await cursor.execute(pg_query(query), list(params))
            return await cursor.fetchall()


class PostgresDatabase:
    """`Database` on a PostgreSQL server, through a pool of autocommit connections, each
    statement or transaction in its turn (`turns.py`)."""

    dialect: Dialect = "postgresql"

    def __init__(self, pool: AsyncConnectionPool[Any], url: str) -> None:
        self.pool = pool
        self.url = url
        self.outage = Outage(describe_url(url))
        self._stopping = False
        self._gone_at_stop = False
        self.tally = Tally()
        self.turns = Turns(pool.max_size - RESERVED)

    async def execute(self, query: str, params: Params = ()) -> int:
        return await self._retrying(lambda sql: sql.execute(query, params))

    async def fetch(self, query: str, params: Params = ()) -> list[Row]:
        return await self._retrying(lambda sql: sql.fetch(query, params))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A transaction on one connection. Getting the connection waits out an outage; a
        connection lost inside the block fails it (it rolled back, or is lost to a crash)."""
        async with self.turns.turn():
            conn = await self._connection()
            try:
                self.tally.statements += 2  # BEGIN, then COMMIT or ROLLBACK
                async with conn.transaction():
                    yield Connection(conn, self.tally)
            finally:
                await self.pool.putconn(conn)

    def stop_waiting(self) -> None:
        """The process is stopping: from now on a statement that meets an outage fails at
        once (`DatabaseUnavailable`) instead of waiting it out, so SIGTERM does not hang
        until the server is back; the leases the process could not release then expire."""
        self._stopping = True

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        """A pooled connection, waiting (with backoff) while the server cannot be reached.
        Called in the statement's turn, when the pool has a connection free for it."""
        attempt = 0
        while True:
            if self._stopping and (self._gone_at_stop or self.outage.down_since is not None):
                raise self._gone()
            try:
                conn: psycopg.AsyncConnection[Any] = await self.pool.getconn(ACQUIRE_TIMEOUT)
            except PoolTimeout as exc:
                if self._stopping:
                    raise self._gone() from exc
                await self.outage.wait(exc, attempt)
                attempt += 1
                continue
            self.outage.over()
            return conn

    def _gone(self) -> DatabaseUnavailable:
        self._gone_at_stop = True  # the statements after this one fail without waiting
        return DatabaseUnavailable(f"the {self.describe()} does not answer, and the app stops")

    async def _retrying(self, statement: Callable[[Connection], Awaitable[T]]) -> T:
        """One statement; sent again on another connection if its own was lost (a server
        restart ends the connections it had: their statements did not commit)."""
        async with self.turns.turn():
            attempt = 0
            while True:
                conn = await self._connection()
                try:
                    return await statement(Connection(conn, self.tally))
                except psycopg.OperationalError as exc:
                    if not conn.broken:
                        raise
                    if self._stopping:
                        raise self._gone() from exc
                    await self.pool.check()  # drop the other idle connections it broke
                    await self.outage.wait(exc, attempt)
                    attempt += 1
                finally:
                    await self.pool.putconn(conn)

    async def schema_version(self) -> int:
        if not await self._has_versions():
            return 0
        rows = await self.fetch("SELECT version FROM schema_version")
        return int(rows[0]["version"]) if rows else 0

    async def migrate(self, up_to: int | None = None) -> int:
        """Apply pending migrations (up to number `up_to`), each in its own transaction under
        an advisory lock, so replicas starting together migrate once. With none pending no
        DDL is sent (two queries): a user that may only read and write the tables runs the app."""
        current = await self.schema_version()
        if current >= len(PG_MIGRATIONS[:up_to]):
            return current
        try:
            await self._apply(up_to)
        except psycopg.errors.InsufficientPrivilege as exc:
            raise await may_not_create(self, self.describe(), exc) from exc
        return await self.schema_version()

    async def _apply(self, up_to: int | None) -> None:
        for number, statements in enumerate(PG_MIGRATIONS[:up_to], start=1):
            async with self.transaction() as tx:
                await tx.execute("SELECT pg_advisory_xact_lock(?)", [MIGRATION_LOCK])
                await tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT)")
                rows = await tx.fetch("SELECT version FROM schema_version")
                if not rows:
                    await tx.execute("INSERT INTO schema_version (version) VALUES (0)")
                if rows and int(rows[0]["version"]) >= number:
                    continue
                for statement in statements:
                    await tx.execute(statement)
                await tx.execute("UPDATE schema_version SET version = ?", [number])

    def describe(self) -> str:
        return describe_url(self.url)

    async def ping(self) -> None:
        await self.fetch("SELECT 1 AS ok")

    async def close(self) -> None:
        await self.pool.close()

    async def _has_versions(self) -> bool:
        rows = await self.fetch("SELECT to_regclass('schema_version') IS NOT NULL AS present")
        return bool(rows[0]["present"])


async def _first_connection(url: str, wait: float) -> None:
    """Wait up to `wait` seconds for the server to accept a connection (it may still be
    starting, as beside the app in Compose), trying every second; if it never does, say why in
    libpq's words (a wrong password, no such database, refused), which a pool's timeout does
    not."""
    deadline = time.monotonic() + wait
    while True:
        left = deadline - time.monotonic()
        try:
            conn = await psycopg.AsyncConnection.connect(url, connect_timeout=max(1, int(left)))
        except psycopg.Error as exc:
            if time.monotonic() + 1 >= deadline:
                raise DatabaseUnavailable(
                    f"cannot connect to the {describe_url(url)} within {wait:g} s "
                    f"({' '.join(str(exc).split())}): check DATABASE_URL, that the server runs "
                    "and that it accepts this user's connections"
                ) from exc
            await asyncio.sleep(1)
            continue
        await conn.close()
        return


def describe_url(url: str) -> str:
    """`PostgreSQL database app on db.internal:5432`: the URL without user or password."""
    parts = conninfo_to_dict(url)
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    return f"PostgreSQL database {parts.get('dbname') or '(default)'} on {host}:{port}"


async def open_postgres(
    url: str, *, max_size: int = POOL_SIZE, migrate: bool = True, wait: float = CONNECT_TIMEOUT
) -> PostgresDatabase:
    """Connect (waiting up to `wait` seconds for the first connection) and migrate. At most
    `max_size` statements at a time, and the heartbeat's beside them (`turns.py`)."""
    await _first_connection(url, wait)
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url,
        kwargs={"autocommit": True},
        min_size=1,
        max_size=max_size + RESERVED,
        open=False,
        reconnect_timeout=RECONNECT_WINDOW,
    )
    try:
        await pool.open(wait=True, timeout=wait)
    except Exception as exc:
        await pool.close()
        raise DatabaseUnavailable(
            f"the {describe_url(url)} went away as the app connected ({type(exc).__name__}): "
            "check that the server runs, then start again"
        ) from exc
    database = PostgresDatabase(pool, url)
    if migrate:
        try:
            await database.migrate()
        except DatabaseUnavailable:
            await pool.close()
            raise
    return database
