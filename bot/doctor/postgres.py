"""The doctor's check of `DATABASE_URL`: can the app reach the PostgreSQL database, and is
it of a schema this release can use? Read only: nothing is created or migrated."""

from __future__ import annotations

import psycopg

from ..slack.installations import InstalledBot
from ..slack.installations_db import stored_bots
from ..store.pg_schema import PG_MIGRATIONS
from ..store.postgres import Connection, describe_url
from .check import Check, what

NAME = "database"
CONNECT_TIMEOUT = 5
CREATE_RIGHT = (
    "SELECT current_user, current_schema(), "
    "COALESCE(has_schema_privilege(current_schema(), 'CREATE'), false)"
)
"""Whether the user may create tables where the app makes them: since PostgreSQL 15 only
the database's owner may in schema public, unless granted."""


async def check_postgres(url: str) -> Check:
    """Connect, and say the server's version and the database's schema version."""
    where = describe_url(url)
    try:
        async with await psycopg.AsyncConnection.connect(
            url, connect_timeout=CONNECT_TIMEOUT, autocommit=True
        ) as conn:
            server = (await (await conn.execute("SHOW server_version")).fetchall())[0][0]
            present = await (await conn.execute("SELECT to_regclass('schema_version')")).fetchall()
            version = 0
            if present[0][0] is not None:
                rows = await (await conn.execute("SELECT version FROM schema_version")).fetchall()
                version = int(rows[0][0]) if rows else 0
            user, schema, may_create = (await (await conn.execute(CREATE_RIGHT)).fetchall())[0]
    except psycopg.Error as exc:
        return Check(
            NAME,
            "fail",
            f"cannot use the {where}: {what(exc)}",
            "check DATABASE_URL (user, password, host, port, database name), that the server "
            "runs and that it accepts connections from this host",
        )
    latest = len(PG_MIGRATIONS)
    if version > latest:
        return Check(
            NAME,
            "fail",
            f"{where} has schema version {version}, newer than this release knows ({latest})",
            "run the release that created it, or restore a backup from before the upgrade",
        )
    if version < latest and not may_create:
        return Check(
            NAME,
            "fail",
            f"{where} has {'no tables yet' if version == 0 else f'schema version {version}'}, "
            f"but user {user} may not create tables in schema {schema or 'public'}, so the app "
            f"cannot {'create' if version == 0 else 'migrate'} its tables when it starts",
            f"as the database's owner or a superuser: GRANT CREATE ON SCHEMA {schema or 'public'}"
            f" TO {user} (or make {user} the database's owner)",
        )
    if version == 0:
        state = "no tables yet; the app creates them when it first starts"
    elif version < latest:
        state = f"schema version {version}; the app migrates it to {latest} when it starts"
    else:
        state = f"schema version {version} (current)"
    return Check(NAME, "ok", f"{where} (PostgreSQL {server}): {state}")


async def postgres_bots(url: str, client_id: str) -> list[InstalledBot]:
    """The workspaces with an installation in the database (none before the first)."""
    async with await psycopg.AsyncConnection.connect(
        url, connect_timeout=CONNECT_TIMEOUT, autocommit=True
    ) as conn:
        present = await (await conn.execute("SELECT to_regclass('slack_bots')")).fetchall()
        if present[0][0] is None:
            return []
        return await stored_bots(Connection(conn), client_id)
