"""Opening the database, and what an operator is told: on PostgreSQL, the
server's own reason when it refuses the connection; what to grant when the user may not create
the tables still missing (not a traceback, from the app and from `migrate-db`). A user that may
only read and write the tables (made by their owner) runs the app. On both engines, a
schema newer than this release is named in the log."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.cli import main
from bot.slack.installations_db import create_tables
from bot.store import Store, open_store
from bot.store.postgres import RECONNECT_WINDOW, DatabaseUnavailable, open_postgres
from emulators.postgres import Cluster, restricted_user


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


async def test_a_refused_connection_is_reported_with_the_servers_reason(postgres_url: str) -> None:
    """psycopg's pool only says it timed out; the operator needs to know why (a wrong password,
    no such database), as its per-attempt warnings are not logged."""
    missing = postgres_url.rsplit("/", 1)[0] + "/no_such_database"
    with pytest.raises(DatabaseUnavailable) as refused:
        await open_postgres(missing, wait=0.5)
    told = str(refused.value)
    assert 'database "no_such_database" does not exist' in told, told
    assert "check DATABASE_URL" in told


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
async def test_a_database_a_newer_release_migrated_is_named_at_start(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    """A downgrade, or an old replica restarted during a rollout: it runs, and says so."""
    url = request.getfixturevalue("postgres_url") if engine == "postgresql" else None
    store = await open_store(url, tmp_path / "app.db")
    await store.db.execute("UPDATE schema_version SET version = 99")
    await store.close()
    with caplog.at_level(logging.WARNING, logger="bot.store"):
        store = await open_store(url, tmp_path / "app.db")
    await store.close()
    [told] = [r.getMessage() for r in caplog.records if r.name == "bot.store"]
    assert "has schema version 99, newer than this release knows" in told
    assert "restore the backup" in told


async def test_a_server_still_starting_is_waited_for() -> None:
    """Compose starts the app beside the database: a server that comes up within the wait is
    used, even after the pool would have given a lost connection up (`RECONNECT_WINDOW`)."""
    cluster = await asyncio.to_thread(Cluster)
    try:
        await asyncio.to_thread(cluster.halt)
        opening = asyncio.create_task(open_postgres(cluster.url(), migrate=False, wait=60))
        await asyncio.sleep(RECONNECT_WINDOW + 1)
        assert not opening.done()
        await asyncio.to_thread(cluster.start)
        database = await opening
        await database.ping()
        await database.close()
    finally:
        await asyncio.to_thread(cluster.stop)
