"""The app's PostgreSQL user need not own the database: a user that may only read and write
the tables (made by their owner) runs the app; one that may not create them where they are
still missing gets a message that says what to grant, not a traceback, from the app and
from `migrate-db`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from bot.slack.installations_db import create_tables
from bot.store import Store, open_store
from bot.store.postgres import DatabaseUnavailable
from tests.postgres import restricted_user


async def test_a_user_who_may_only_read_and_write_runs_the_app(
    tmp_path: Path, postgres_url: str
) -> None:
    owner = await open_store(postgres_url, tmp_path / "unused.db")
    await create_tables(owner.db)  # OAuth's tables too
    await owner.close()
    store = await open_store(restricted_user(postgres_url, may_create=False), tmp_path / "x.db")
    await create_tables(store.db)
    run = await store.add_run(
        team_id="T1",
        channel_id="C1",
        kind="new",
        input="hi",
        budget="low",
        user_id="U1",
        status="starting",
    )
    assert (await store.get_run(run.id)) == run
    await store.close()


async def test_a_user_who_may_not_create_the_tables_is_told_what_to_grant(
    tmp_path: Path, postgres_url: str
) -> None:
    url = restricted_user(postgres_url, may_create=False)
    with pytest.raises(DatabaseUnavailable) as refused:
        await open_store(url, tmp_path / "unused.db")
    told = str(refused.value)
    assert "may not create the app's tables" in told and "permission denied" in told
    assert "GRANT CREATE ON SCHEMA public TO app_" in told


def test_migrate_db_into_a_database_its_user_may_not_create_tables_in(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "app.db"
    asyncio.run(Store(source).close())
    url = restricted_user(postgres_url, may_create=False)
    assert main(["migrate-db", "--from", str(source), "--to", url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("migrate-db: nothing was copied: ")
    assert "GRANT CREATE ON SCHEMA public" in err
