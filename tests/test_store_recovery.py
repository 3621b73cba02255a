"""What the store keeps for restart recovery: each run's ref and whether its request went out,
including for runs recorded by a version from before (migration 4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlite_utils

from bot.store import MIGRATIONS, Store


async def test_runs_get_a_unique_ref_and_start_unsent(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db")
    runs = [
        await store.add_run(
            team_id="T1",
            channel_id="C1",
            kind="new",
            input="hi",
            budget="standard",
            user_id="U1",
            status="starting",
        )
        for _ in range(3)
    ]
    assert len({run.ref for run in runs}) == 3 and all(run.ref for run in runs)
    assert all(run.request_sent_at is None for run in runs)
    sent = await store.update_run(runs[0].id, request_sent_at=5.0)
    assert sent.request_sent_at == 5.0 and sent.ref == runs[0].ref


async def test_in_flight_runs_of_an_older_version_count_as_maybe_sent(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    db.table("schema_version").create({"version": int})
    db.table("schema_version").insert({"version": 3})
    for migration in MIGRATIONS[:3]:
        migration(db)
    base: dict[str, Any] = {
        "team_id": "T1",
        "channel_id": "C1",
        "budget": "standard",
        "user_id": "U1",
    }
    rows: dict[str, dict[str, Any]] = {
        "new, no worker": {"kind": "new", "status": "starting"},
        "continue, sent": {"kind": "continue", "status": "starting", "messages_before": 2},
        "continue, queued": {"kind": "continue", "status": "queued"},
        "continue, done": {"kind": "continue", "status": "completed", "messages_before": 2},
    }
    for name, row in rows.items():
        db.table("runs").insert({**base, **row, "input": name, "created_at": 7.0})
    db.close()
    store = Store(path)
    assert await store.schema_version() == len(MIGRATIONS)
    found = {r["input"]: r for r in store.db.query("SELECT * FROM runs")}
    assert found["new, no worker"]["request_sent_at"] == 7.0
    assert found["continue, sent"]["request_sent_at"] == 7.0
    assert found["continue, queued"]["request_sent_at"] is None
    assert found["continue, done"]["request_sent_at"] is None
    assert all(r["ref"] is None for r in found.values())  # no key was ever sent for them
