"""`tokens_revoked` and `app_uninstalled`: a workspace removed the app (or its bot token).

Slack sends both when the app is uninstalled, in no guaranteed order; each is enough. The
workspace's installation is deleted from the installation store (OAuth mode; as Bolt's own
revocation listeners do), then `gone(team_id)` stops the app's work there. A `tokens_revoked`
that names only user tokens leaves the bot alone: the app works with its bot token only.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

log = logging.getLogger(__name__)

Gone = Callable[[str], Awaitable[object]]


def register(app: AsyncApp, store: AsyncInstallationStore | None, gone: Gone) -> None:
    async def forget(context: AsyncBoltContext, body: dict[str, Any], why: str) -> None:
        team_id = context.team_id or str(body.get("team_id") or "")
        if not team_id:
            log.warning("%s without a team_id; nothing to clean up", why)
            return
        log.info("workspace %s: %s", team_id, why)
        if store is not None:
            await store.async_delete_all(enterprise_id=context.enterprise_id, team_id=team_id)
        await gone(team_id)

    @app.event("tokens_revoked")
    async def on_tokens_revoked(
        event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        tokens = event.get("tokens") or {}
        users = [str(u) for u in tokens.get("oauth") or []]
        if store is not None:
            for user_id in users:
                await store.async_delete_installation(
                    enterprise_id=context.enterprise_id, team_id=context.team_id, user_id=user_id
                )
        if tokens.get("bot"):
            await forget(context, body, "the bot token was revoked")

    @app.event("app_uninstalled")
    async def on_app_uninstalled(body: dict[str, Any], context: AsyncBoltContext) -> None:
        await forget(context, body, "the app was uninstalled")
