"""Both engines behind one fixture, for the store's contract tests (tests/test_store*.py):
every test that takes `backend` runs once on a SQLite file and once on a PostgreSQL database
of its own, opened through `open_store` as the app opens it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.store import Run, Store, open_store
from bot.store.postgres import open_postgres
from bot.store.sql import Database
from bot.store.sqlite import SqliteDatabase


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


A_RUN: dict[str, Any] = {
    "team_id": "T1",
    "channel_id": "C1",
    "kind": "new",
    "input": "hi",
    "budget": "standard",
    "user_id": "U1",
    "status": "starting",
}
"""The fields of a run a store test does not care about (`add_run` fills them in)."""


async def add_run(store: Store, **fields: Any) -> Run:
    """Record a run with `fields`, and `A_RUN`'s for the rest: a test names only what it
    checks."""
    return await store.add_run(**{**A_RUN, **fields})


class Backend:
    """One database on one engine; `open()` may be called again (a restart, a second
    replica), and every store opened is closed when the test ends."""

    def __init__(self, kind: str, sqlite_path: Path, postgres_url: str | None) -> None:
        self.kind = kind
        self.sqlite_path = sqlite_path
        self.url = postgres_url if kind == "postgresql" else None
        self._opened: list[Store] = []
        self._raw: list[Database] = []

    async def open(self, clock: Callable[[], float] | None = None) -> Store:
        store = await open_store(self.url, self.sqlite_path, **({"clock": clock} if clock else {}))
        self._opened.append(store)
        return store

    async def unmigrated(self) -> Database:
        """The database with no migration applied yet (for migration tests)."""
        database: Database
        if self.url is not None:
            database = await open_postgres(self.url, migrate=False)
        else:
            database = SqliteDatabase(self.sqlite_path, migrate=False)
        self._raw.append(database)
        return database

    async def close(self) -> None:
        for store in self._opened:
            await store.close()
        for database in self._raw:
            await database.close()
