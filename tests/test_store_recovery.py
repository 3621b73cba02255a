"""Migrations on both engines: a database of an older schema keeps its rows, and what a
restart needs of runs recorded by a version from before (migration 4) is filled in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.store import MIGRATIONS, Store
from bot.store.sql import values_list
from bot.store.sqlite import SqliteDatabase
from tests.stores import Backend


async def test_in_flight_runs_of_an_older_version_count_as_maybe_sent(backend: Backend) -> None:
    old = await backend.unmigrated()
    assert await old.migrate(up_to=3) == 3
    base: dict[str, Any] = {
        "team_id": "T1",
        "channel_id": "C1",
        "budget": "standard",
        "user_id": "U1",
        "created_at": 7.0,
    }
    rows: dict[str, dict[str, Any]] = {
        "new, no worker": {"kind": "new", "status": "starting"},
        "continue, sent": {"kind": "continue", "status": "starting", "messages_before": 2},
        "continue, queued": {"kind": "continue", "status": "queued"},
        "continue, done": {"kind": "continue", "status": "completed", "messages_before": 2},
    }
    for name, row in rows.items():
        record = {**base, **row, "input": name}
        await old.execute(f"INSERT INTO runs {values_list(list(record))}", list(record.values()))
    await old.close()

    store = await backend.open()
    assert await store.schema_version() == len(MIGRATIONS)
    found = {r["input"]: r for r in await store.db.fetch("SELECT * FROM runs")}
    assert found["new, no worker"]["request_sent_at"] == 7.0
    assert found["continue, sent"]["request_sent_at"] == 7.0
    assert found["continue, queued"]["request_sent_at"] is None
    assert found["continue, done"]["request_sent_at"] is None
    assert all(r["ref"] is None for r in found.values())  # no key was ever sent for them
    assert [r.input for r in await store.active_runs()] == ["new, no worker", "continue, sent"]


async def test_a_sqlite_file_is_in_wal_mode(tmp_path: Path) -> None:
    """Readers do not block the writer (and `doctor` can read the file while the app runs)."""
    store = Store(tmp_path / "state" / "app.db")
    assert isinstance(store.db, SqliteDatabase)
    assert store.db.db.journal_mode == "wal"
    await store.close()
