"""`handinger-slack migrate-db`: a SQLite install's state and OAuth installations, copied into
PostgreSQL, read back the same through the store; a second copy is refused."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlite3 import SQLite3InstallationStore

from bot.cli import main
from bot.migrate_db import TABLES, sqlite_path
from bot.slack.installations_db import DatabaseInstallationStore, create_tables
from bot.store import PendingSchedule, Schedule, Store, open_store


async def fill(store: Store) -> None:
    """A little of everything the app keeps."""
    run = await store.add_run(
        team_id="T1",
        channel_id="C1",
        kind="new",
        input="hello",
        budget="high",
        user_id="U1",
        status="completed",
        worker_id="w1",
    )
    await store.update_run(run.id, message_ts="1.1", thread_ts="1.1", usage_json="{}")
    for _ in range(3):
        await store.add_run(
            team_id="T1",
            channel_id="C1",
            thread_ts="1.1",
            kind="continue",
            input="more",
            budget="high",
            user_id="U2",
            status="queued",
            worker_id="w1",
        )
    await store.link_thread("T1", "C1", "1.1", "w1", "U1")
    await store.claim_event("event:Ev1", "msg:C1:1.1")
    await store.record_upload(
        team_id="T1",
        channel_id="C1",
        thread_ts="1.1",
        path="report.pdf",
        sha256="ab",
        size=10,
        worker_id="w1",
        run_id=run.id,
        slack_file_id="F1",
    )
    await store.add_schedule(
        Schedule("s1", "T1", "C1", "w1", "U1", "news", "low", "recurring", "hourly", "active", 5.0)
    )
    await store.add_pending_schedule(PendingSchedule(run.id, "{}", "news", "low", "hourly", "s1"))
    await store.see_messages("w1", 4)
    await store.claim_digest(
        worker_id="w1", message_index=2, schedule_id="s1", run_id=run.id, late=True
    )


async def dump(store: Store) -> dict[str, list[dict[str, object]]]:
    return {
        table: sorted(
            (await store.db.fetch(f"SELECT * FROM {table}")),
            key=lambda row: sorted(map(str, row.values())),
        )
        for table in TABLES
    }


async def test_a_sqlite_install_moves_to_postgresql(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "data" / "app.db"
    sqlite = Store(path)
    await fill(sqlite)
    before = await dump(sqlite)
    await sqlite.close()
    legacy = SQLite3InstallationStore(
        database=str(tmp_path / "data" / "app-installations.db"), client_id="cid"
    )
    legacy.save(
        Installation(
            app_id="A",
            team_id="T1",
            team_name="One",
            bot_token="xoxb-1",
            bot_id="B",
            bot_user_id="UB",
            bot_scopes=["chat:write"],
            user_id="U1",
        )
    )

    assert (
        await asyncio.to_thread(
            main, ["migrate-db", "--from", f"sqlite:///{path}", "--to", postgres_url]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "runs: 4 row(s)" in out and "OAuth installations: 1" in out

    postgres = await open_store(postgres_url, tmp_path / "unused.db")
    assert await dump(postgres) == before
    later = await postgres.add_run(
        team_id="T1",
        channel_id="C1",
        kind="new",
        input="x",
        budget="low",
        user_id="U1",
        status="starting",
    )
    assert later.id == 5  # ids continue after the copied ones
    bot = await DatabaseInstallationStore(postgres.db, "cid").async_find_bot(
        enterprise_id=None, team_id="T1"
    )
    assert bot is not None and bot.bot_token == "xoxb-1" and bot.bot_scopes == ["chat:write"]
    await postgres.close()

    assert (
        await asyncio.to_thread(main, ["migrate-db", "--from", str(path), "--to", postgres_url])
        == 1
    )
    assert "already holds the app's data" in capsys.readouterr().err


def test_a_missing_source_or_target_copies_nothing(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate-db", "--from", str(tmp_path / "none.db"), "--to", postgres_url]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["migrate-db", "--from", str(tmp_path), "--to", postgres_url]) == 1
    assert f"{tmp_path} is not a file" in capsys.readouterr().err
    assert main(["migrate-db", "--from", str(tmp_path / "none.db"), "--to", "mysql://x"]) == 2
    assert "needs --to postgresql://" in capsys.readouterr().err


async def test_every_table_of_the_schema_is_copied(tmp_path: Path) -> None:
    store = Store(tmp_path / "app.db")
    names = {
        row["name"]
        for row in await store.db.fetch("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    assert names == {
        *TABLES,
        "schema_version",
        "leases",
        "rate_scopes",
        "rate_calls",
        "rate_reserves",
        "departures",
        "sqlite_sequence",  # AUTOINCREMENT's counters
    }
    await store.close()


def installation(token: str) -> Installation:
    return Installation(
        app_id="A", team_id="T1", bot_token=token, bot_id="B", bot_user_id="UB", user_id="U1"
    )


async def test_a_database_the_app_already_installed_into_is_refused(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The app ran on PostgreSQL before the copy (a workspace installed there, nothing else):
    the copy would replace that installation's token with the SQLite file's older one."""
    path = tmp_path / "app.db"
    await Store(path).close()
    legacy = SQLite3InstallationStore(
        database=str(tmp_path / "app-installations.db"), client_id="cid"
    )
    legacy.save(installation("xoxb-old"))
    target = await open_store(postgres_url, tmp_path / "unused.db")
    await create_tables(target.db)
    installations = DatabaseInstallationStore(target.db, "cid")
    await installations.async_save(installation("xoxb-new"))

    command = ["migrate-db", "--from", str(path), "--to", postgres_url]
    assert await asyncio.to_thread(main, command) == 1
    assert "table slack_bots has rows" in capsys.readouterr().err
    bot = await installations.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None and bot.bot_token == "xoxb-new"
    await target.close()


def test_sqlite_urls_name_the_file() -> None:
    assert sqlite_path("sqlite:///data/app.db") == Path("/data/app.db")
    assert sqlite_path("sqlite:////data/app.db") == Path("/data/app.db")  # SQLAlchemy's form
    assert sqlite_path("sqlite:data/app.db") == Path("data/app.db")
    assert sqlite_path("data/app.db") == Path("data/app.db")


async def test_a_file_an_app_still_runs_on_is_not_copied(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The app holds a run in flight: copied now, the run would go on in both places."""
    path = tmp_path / "app.db"
    store = Store(path)
    await fill(store)
    await store.take_lease("run:1", "host:1:live", 30)
    command = ["migrate-db", "--from", str(path), "--to", postgres_url]
    assert await asyncio.to_thread(main, command) == 1
    err = capsys.readouterr().err
    assert "is in use: a running app holds 1 lease(s)" in err and "Stop every process" in err
    postgres = await open_store(postgres_url, tmp_path / "unused.db")
    assert not await postgres.db.fetch("SELECT 1 FROM runs")
    await store.release_leases("host:1:live")  # the app stopped
    await store.close()
    assert await asyncio.to_thread(main, command) == 0
    assert len(await postgres.db.fetch("SELECT 1 FROM runs")) == 4
    await postgres.close()


async def test_a_file_of_a_newer_release_is_not_copied(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its tables may have columns this release's PostgreSQL schema lacks."""
    path = tmp_path / "app.db"
    store = Store(path)
    await store.db.execute("UPDATE schema_version SET version = 99")
    await store.close()
    command = ["migrate-db", "--from", str(path), "--to", postgres_url]
    assert await asyncio.to_thread(main, command) == 1
    assert "schema version 99, newer than this release knows" in capsys.readouterr().err


@pytest.mark.parametrize("content", [b"", b"not a database " * 100, "another program's"])
def test_a_file_that_is_not_the_apps_database_is_left_alone(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str], content: bytes | str
) -> None:
    """An empty file, junk, or another program's SQLite database: refused, and not migrated
    into an empty app database that would then be copied as if it were the app's."""
    path = tmp_path / "other.db"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        with sqlite3.connect(path) as other:
            other.execute("CREATE TABLE notes (text TEXT)")
        other.close()
    before = path.read_bytes()
    assert main(["migrate-db", "--from", str(path), "--to", postgres_url]) == 1
    err = capsys.readouterr().err
    assert "is not the app's SQLite database" in err and "Traceback" not in err
    assert path.read_bytes() == before
