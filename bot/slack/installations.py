"""OAuth installs into many workspaces: Bolt's OAuth settings and slack_sdk's SQLite stores.

Enabled by `SLACK_CLIENT_ID` + `SLACK_CLIENT_SECRET`. Installations (one bot token per
workspace) and the short-lived OAuth `state` values live in one SQLite file next to
`HANDINGER_DB` (`Settings.installations_db`), in slack_sdk's own tables (`slack_bots`,
`slack_installations`, `oauth_states`). The scopes asked for are exactly `required_scopes()`.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slack_bolt.async_app import AsyncBoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlite3 import SQLite3InstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlite3 import SQLite3OAuthStateStore

from ..config import Settings
from .scopes import required_scopes

AUTH_CHECK_TTL = 600.0
"""Seconds a token's `auth.test` answer is trusted before Bolt asks Slack again."""
STATE_EXPIRATION = 600
"""Seconds an install link stays valid (Bolt's default)."""
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
SLACK_AUTHORIZE = "https://slack.com/oauth/v2/authorize"

Listener = Callable[[str | None], None]


class InstallationStore(SQLite3InstallationStore):
    """slack_sdk's SQLite installation store that also says which workspace changed, so the
    app can drop the Web API clients it built from an old token.

    Bolt looks up the workspace's bot for every request Slack sends; those lookups are served
    from memory. This process is the only writer, and every write through the store empties it.
    """

    def __init__(self, database: Path, client_id: str) -> None:
        database.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(database=str(database), client_id=client_id)
        self.listeners: list[Listener] = []
        self._bots: dict[tuple[str | None, str | None, bool], Bot | None] = {}

    def _changed(self, team_id: str | None) -> None:
        for listener in self.listeners:
            listener(team_id)

    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        key = (enterprise_id, team_id, bool(is_enterprise_install))
        if key not in self._bots:
            self._bots[key] = super().find_bot(
                enterprise_id=enterprise_id,
                team_id=team_id,
                is_enterprise_install=is_enterprise_install,
            )
        return self._bots[key]

    def save_bot(self, bot: Bot) -> None:  # `save` ends here too
        super().save_bot(bot)
        self._bots.clear()

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        super().delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        self._bots.clear()

    def delete_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
    ) -> None:
        super().delete_installation(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id)
        self._bots.clear()

    async def async_save(self, installation: Installation) -> None:
        await super().async_save(installation)
        self._changed(installation.team_id)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await super().async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        self._changed(team_id)

    async def async_delete_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
    ) -> None:
        await super().async_delete_installation(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )
        self._changed(team_id)


class CachedAuthorize(AsyncInstallationStoreAuthorize):
    """Bolt's authorizer for OAuth installs, checking each token with `auth.test` once per
    `ttl` seconds instead of on every request Slack sends.

    The workspace's bot is still looked up first on every request, so an uninstall the app
    handled is seen at once; a token Slack stopped accepting without the app hearing of it
    (events missed while it was down) is noticed within `ttl`, and Bolt then answers with its
    "not installed" message.
    """

    def __init__(
        self,
        store: AsyncInstallationStore,
        client_id: str,
        client_secret: str,
        *,
        ttl: float = AUTH_CHECK_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            logger=logging.getLogger("slack_bolt.oauth"),
            client_id=client_id,
            client_secret=client_secret,
            installation_store=store,
            bot_only=True,
            cache_enabled=True,
        )
        self.ttl = ttl
        self._clock = clock
        self._checked_since = clock()

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        now = self._clock()
        if now - self._checked_since >= self.ttl:
            self.authorize_result_cache.clear()
            self._checked_since = now
        return await super().__call__(
            context=context,
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            actor_enterprise_id=actor_enterprise_id,
            actor_team_id=actor_team_id,
            actor_user_id=actor_user_id,
        )


def authorization_url(api_url: str) -> str:
    """Slack's authorize page beside its Web API: `https://slack.com/api/` →
    `https://slack.com/oauth/v2/authorize` (and the same on the emulator)."""
    if api_url.endswith("/api/"):
        return api_url.removesuffix("api/") + "oauth/v2/authorize"
    return SLACK_AUTHORIZE


def oauth_settings(
    settings: Settings,
    store: AsyncInstallationStore,
    states: AsyncOAuthStateStore | None = None,
) -> AsyncOAuthSettings:
    """Bolt's OAuth flow: `/slack/install` and `/slack/oauth_redirect`, bot scopes only.
    Install-link states live in `states`, by default beside the SQLite installations."""
    assert settings.slack_client_id is not None and settings.slack_client_secret is not None
    oauth = AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=list(required_scopes()),
        user_scopes=[],
        redirect_uri=settings.slack_redirect_uri,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        authorization_url=authorization_url(settings.slack_api_url),
        installation_store=store,
        installation_store_bot_only=True,
        state_store=states
        or SQLite3OAuthStateStore(
            database=str(settings.installations_db), expiration_seconds=STATE_EXPIRATION
        ),
        state_expiration_seconds=STATE_EXPIRATION,
    )
    oauth.authorize = CachedAuthorize(store, oauth.client_id, oauth.client_secret)
    return oauth


@dataclass(frozen=True, slots=True)
class InstalledBot:
    """The newest bot installation of one workspace, as `doctor` reports it."""

    team_id: str
    team_name: str
    bot_token: str
    bot_user_id: str
    bot_scopes: tuple[str, ...]
    installed_at: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any], installed_at: str) -> InstalledBot:
        """From a `slack_bots` row of either store (slack_sdk's SQLite file, or our
        database's table), whose `installed_at` each keeps in its own form."""
        return cls(
            team_id=str(row["team_id"]),
            team_name=str(row["team_name"] or ""),
            bot_token=str(row["bot_token"]),
            bot_user_id=str(row["bot_user_id"]),
            bot_scopes=tuple(s for s in str(row["bot_scopes"] or "").split(",") if s),
            installed_at=installed_at,
        )


def latest_bot_rows(database: Path, client_id: str | None = None) -> list[sqlite3.Row]:
    """The newest `slack_bots` row of each workspace in slack_sdk's SQLite installations file
    (of `client_id`'s app only, when given; else of each client id), by team, read without
    changing the file. Empty when the file or its tables do not exist yet (nobody has
    installed the app)."""
    if not database.exists():
        return []
    connection = sqlite3.connect(database.resolve().as_uri() + "?mode=ro", uri=True)
    connection.row_factory = sqlite3.Row
    only = "" if client_id is None else "WHERE client_id = ? "
    try:
        return connection.execute(
            f"SELECT * FROM slack_bots WHERE id IN (SELECT MAX(id) FROM slack_bots {only}"
            "GROUP BY client_id, enterprise_id, team_id) ORDER BY team_id",
            [] if client_id is None else [client_id],
        ).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise
    finally:
        connection.close()


def installed_bots(database: Path, client_id: str) -> list[InstalledBot]:
    """Every workspace with a bot installation of `client_id`'s app."""
    return [
        InstalledBot.from_row(dict(row), str(row["installed_at"]))
        for row in latest_bot_rows(database, client_id)
    ]
