"""OAuth installations and install-link states in the app's own database (with
`DATABASE_URL`), so that every replica serves every workspace and an install link made by one
replica is redeemed by whichever receives Slack's redirect.

Bot-only, as the app asks for no user scopes: one row per workspace (or org install) and
client id, keyed by them, so installing again replaces the bot and an uninstall deletes it.
Nothing is cached: every lookup asks the database, so an uninstall or token revocation that
one replica handles is honoured by all on their next request. The tables belong to this
module (created if missing), not to the store's numbered migrations, as slack_sdk's own
stores keep theirs; the queries are the SQL both engines share.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from ..store.postgres import may_not_create
from ..store.sql import Database, Row, Sql, upsert
from .installations import InstalledBot

log = logging.getLogger(__name__)

Listener = Callable[[str | None], None]

TABLES = (
    "CREATE TABLE IF NOT EXISTS slack_bots (client_id TEXT NOT NULL, "
    "enterprise_id TEXT NOT NULL, team_id TEXT NOT NULL, is_enterprise_install INTEGER, "
    "app_id TEXT, enterprise_name TEXT, team_name TEXT, bot_token TEXT NOT NULL, "
    "bot_id TEXT, bot_user_id TEXT, bot_scopes TEXT, bot_refresh_token TEXT, "
    "bot_token_expires_at DOUBLE PRECISION, installed_at DOUBLE PRECISION, "
    "PRIMARY KEY (client_id, enterprise_id, team_id))",
    "CREATE TABLE IF NOT EXISTS slack_oauth_states (state TEXT PRIMARY KEY, "
    "expires_at DOUBLE PRECISION NOT NULL)",
)
SETUP_LOCK = 0x536C6B49  # "SlkI": replicas starting together create the tables once


async def create_tables(db: Database) -> None:
    """Create the tables where they are missing. On PostgreSQL nothing is sent when both
    exist, so a user that may only read and write them runs the app."""
    if db.dialect == "postgresql" and await _have_tables(db):
        return
    try:
        async with db.transaction() as tx:
            if db.dialect == "postgresql":
                await tx.execute("SELECT pg_advisory_xact_lock(?)", [SETUP_LOCK])
            for statement in TABLES:
                await tx.execute(statement)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise await may_not_create(db, db.describe(), exc) from exc


async def _have_tables(db: Database) -> bool:
    rows = await db.fetch(
        "SELECT to_regclass('slack_bots') IS NOT NULL "
        "AND to_regclass('slack_oauth_states') IS NOT NULL AS present"
    )
    return bool(rows[0]["present"])


def _epoch(value: float | datetime | None) -> float | None:
    return value.timestamp() if isinstance(value, datetime) else value


def _seconds(value: float | str) -> float:
    """Epoch seconds from this app's column (a number) or slack_sdk's SQLite one (a UTC
    timestamp as text, without a zone)."""
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    return float(value)


def bot_of(row: Row) -> Bot:
    """The bot of a `slack_bots` row, from this app's table or from slack_sdk's SQLite
    installations file (`migrate-db` reads those): the columns are the same."""
    expires = row["bot_token_expires_at"]
    return Bot(
        app_id=row["app_id"],
        enterprise_id=row["enterprise_id"] or None,
        enterprise_name=row["enterprise_name"],
        team_id=row["team_id"] or None,
        team_name=row["team_name"],
        bot_token=row["bot_token"],
        bot_id=row["bot_id"],
        bot_user_id=row["bot_user_id"],
        bot_scopes=row["bot_scopes"] or "",
        bot_refresh_token=row["bot_refresh_token"],
        bot_token_expires_at=int(expires) if expires is not None else None,
        is_enterprise_install=bool(row["is_enterprise_install"]),
        installed_at=_seconds(row["installed_at"]),
    )


class DatabaseInstallationStore(AsyncInstallationStore):
    """Bolt's installation store on the app's database; `listeners` hear which workspace
    changed, so the app drops the Web API clients it built from an old token."""

    def __init__(self, db: Sql, client_id: str) -> None:
        self.db = db  # the database, or one transaction (`migrate-db` copies in one)
        self.client_id = client_id
        self.listeners: list[Listener] = []

    @property
    def logger(self) -> logging.Logger:
        return log

    def _changed(self, team_id: str | None) -> None:
        for listener in self.listeners:
            listener(team_id)

    def _key(self, enterprise_id: str | None, team_id: str | None, org: bool) -> list[Any]:
        return [self.client_id, enterprise_id or "", "" if org else team_id or ""]

    async def async_save(self, installation: Installation) -> None:
        await self.async_save_bot(installation.to_bot())

    async def async_save_bot(self, bot: Bot) -> None:
        org = bool(bot.is_enterprise_install)
        client_id, enterprise_id, team_id = self._key(bot.enterprise_id, bot.team_id, org)
        record = {
            "client_id": client_id,
            "enterprise_id": enterprise_id,
            "team_id": team_id,
            "is_enterprise_install": int(org),
            "app_id": bot.app_id,
            "enterprise_name": bot.enterprise_name,
            "team_name": bot.team_name,
            "bot_token": bot.bot_token,
            "bot_id": bot.bot_id,
            "bot_user_id": bot.bot_user_id,
            "bot_scopes": ",".join(bot.bot_scopes),
            "bot_refresh_token": bot.bot_refresh_token,
            "bot_token_expires_at": _epoch(bot.bot_token_expires_at),
            "installed_at": _epoch(bot.installed_at) or time.time(),
        }
        await self.db.execute(*upsert("slack_bots", record, KEY))
        self._changed(bot.team_id)

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        rows = await self.db.fetch(
            "SELECT * FROM slack_bots WHERE client_id = ? AND enterprise_id = ? AND team_id = ?",
            self._key(enterprise_id, team_id, bool(is_enterprise_install)),
        )
        return bot_of(rows[0]) if rows else None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        return None  # bot-only: the app keeps no user installations

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.db.execute(
            "DELETE FROM slack_bots WHERE client_id = ? AND enterprise_id = ? AND team_id = ?",
            self._key(enterprise_id, team_id, False),
        )
        self._changed(team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        if user_id is None:  # the workspace's installation is its bot
            await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)


KEY = ("client_id", "enterprise_id", "team_id")


class DatabaseStateStore(AsyncOAuthStateStore):
    """Install-link `state` values, each redeemable once (deleted as it is consumed) before
    it expires."""

    def __init__(
        self, db: Database, expiration_seconds: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.expiration_seconds = expiration_seconds
        self._clock = clock

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(24)
        now = self._clock()
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM slack_oauth_states WHERE expires_at < ?", [now])
            await tx.execute(
                "INSERT INTO slack_oauth_states (state, expires_at) VALUES (?, ?)",
                [state, now + self.expiration_seconds],
            )
        return state

    async def async_consume(self, state: str) -> bool:
        rows = await self.db.fetch(
            "DELETE FROM slack_oauth_states WHERE state = ? RETURNING expires_at", [state]
        )
        return bool(rows) and float(rows[0]["expires_at"]) >= self._clock()


async def stored_bots(sql: Sql, client_id: str) -> list[InstalledBot]:
    """Every workspace with a bot installation of `client_id`, by team id."""
    rows = await sql.fetch(
        "SELECT team_id, team_name, bot_token, bot_user_id, bot_scopes, installed_at "
        "FROM slack_bots WHERE client_id = ? ORDER BY team_id",
        [client_id],
    )
    return [
        InstalledBot.from_row(
            row, datetime.fromtimestamp(float(row["installed_at"]), UTC).isoformat()
        )
        for row in rows
    ]
