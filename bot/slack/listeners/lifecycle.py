"""`tokens_revoked` and `app_uninstalled`: a workspace removed the app (or its bot token).

Slack sends both when the app is uninstalled, in no guaranteed order; each is enough. The
workspace's installation is deleted from the installation store (OAuth mode; as Bolt's own
revocation listeners do), then `gone(team_id)` stops the app's work there. A `tokens_revoked`
that names only user tokens leaves the bot alone: the app works with its bot token only.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncBoltContext

from .deps import deps_of

log = logging.getLogger(__name__)


async def forget(context: AsyncBoltContext, why: str) -> None:
    team_id = context.team_id
    if not team_id:
        log.warning("%s without a team_id; nothing to clean up", why)
        return
    log.info("workspace %s: %s", team_id, why)
    deps = deps_of(context)
    if deps.installations is not None:
        await deps.installations.async_delete_all(
            enterprise_id=context.enterprise_id, team_id=team_id
        )
    await deps.gone(team_id)


async def on_tokens_revoked(event: dict[str, Any], context: AsyncBoltContext) -> None:
    tokens = event.get("tokens") or {}
    installations = deps_of(context).installations
    if installations is not None:
        for user_id in [str(u) for u in tokens.get("oauth") or []]:
            await installations.async_delete_installation(
                enterprise_id=context.enterprise_id, team_id=context.team_id, user_id=user_id
            )
    if tokens.get("bot"):
        await forget(context, "the bot token was revoked")


async def on_app_uninstalled(context: AsyncBoltContext) -> None:
    await forget(context, "the app was uninstalled")
