"""The doctor's Slack checks: the bot token (or every installed workspace), scopes, Socket Mode.

Slack reports a token's scopes in the `x-oauth-scopes` header; a server that does not is a
warning, not a failure. In Socket Mode, `apps.connections.open` proves the app-level token; the
websocket is not opened.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from urllib.parse import urlsplit

import psycopg
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ..config import Settings
from ..slack.installations import INSTALL_PATH, InstalledBot, installed_bots
from ..slack.scopes import required_scopes
from .check import TIMEOUT, Check, count, what
from .postgres import postgres_bots

SLACK_HINTS: dict[str, str] = {
    "invalid_auth": "SLACK_BOT_TOKEN is wrong or was revoked: copy the Bot User OAuth Token "
    "(xoxb-…) from OAuth & Permissions; reinstall the app if it was regenerated",
    "not_authed": "SLACK_BOT_TOKEN is empty",
    "account_inactive": "the token belongs to a deleted user or a deactivated workspace",
    "token_revoked": "the app was uninstalled or the token revoked: reinstall the app and "
    "copy the new Bot User OAuth Token",
    "token_expired": "the token expired (token rotation is on): turn rotation off for this "
    "app or reinstall it",
    "not_allowed_token_type": "that is not a bot token: use the xoxb-… token from "
    "OAuth & Permissions",
    "ratelimited": "Slack is rate limiting this app; try again in a minute",
}
APP_TOKEN_HINTS: dict[str, str] = {
    "invalid_auth": "SLACK_APP_TOKEN is wrong or was revoked: create an app-level token with "
    "the connections:write scope (Basic Information → App-Level Tokens)",
    "not_allowed_token_type": "SLACK_APP_TOKEN must be an app-level token (xapp-…) with the "
    "connections:write scope, not a bot token",
    "missing_scope": "the app-level token lacks connections:write: create a new one with it",
    "not_authed": "SLACK_APP_TOKEN is empty",
}


def _slack_client(token: str | None, settings: Settings) -> AsyncWebClient:
    return AsyncWebClient(
        token=token, base_url=settings.slack_api_url, timeout=int(TIMEOUT), retry_handlers=[]
    )


def _slack_error(error: SlackApiError) -> tuple[str, int]:
    response = error.response
    data = response.data if response is not None else None
    code = str(data.get("error", "")) if isinstance(data, dict) else ""
    return code, response.status_code if response is not None else 0


async def check_slack_auth(settings: Settings) -> tuple[Check, Mapping[str, str] | None]:
    """`auth.test` with the bot token; on success also the response headers (lower-cased)."""
    name = "Slack bot token"
    if settings.slack_bot_token is None:
        return Check(name, "skip", "skipped: SLACK_BOT_TOKEN is not set"), None
    return await _auth_test(name, settings.slack_bot_token.get_secret_value(), settings)


INSTALL_HINTS: dict[str, str] = {
    "invalid_auth": "the stored token is not accepted: reinstall the app in this workspace "
    "(https://<this host>/slack/install)",
    "token_revoked": "the app was removed from this workspace, but the app missed the event: "
    "reinstall it there, or ignore this if the workspace left for good",
    "account_inactive": "the workspace was deleted or deactivated",
}


async def check_installations(settings: Settings) -> list[Check]:
    """OAuth mode: `auth.test` and the scopes of every workspace that installed the app."""
    assert settings.slack_client_id is not None
    url = settings.postgres_url
    path = "the database" if url else str(settings.installations_db)
    try:
        if url is not None:
            bots = await postgres_bots(url, settings.slack_client_id)
        else:
            bots = installed_bots(settings.installations_db, settings.slack_client_id)
    except (sqlite3.Error, psycopg.Error) as exc:
        hint = (
            "check DATABASE_URL"
            if url
            else "the installation store lives next to HANDINGER_DB; check the file"
        )
        return [
            Check(
                "Slack installations",
                "fail",
                f"cannot read {path}: {what(exc)}",
                hint,
            )
        ]
    if not bots:
        return [
            Check(
                "Slack installations",
                "warn",
                f"no workspace has installed the app yet ({path})",
                f"open https://<this host>{INSTALL_PATH} and add the app to a workspace",
            )
        ]
    checks = [
        Check(
            "Slack installations",
            "ok",
            f"{count(len(bots), 'workspace')}: "
            + ", ".join(f"{b.team_name or '?'} ({b.team_id})" for b in bots),
        )
    ]
    required = required_scopes()
    for bot in bots:
        check, headers = await _auth_test(
            f"Slack workspace {bot.team_id}", bot.bot_token, settings, INSTALL_HINTS
        )
        checks.append(check)
        if headers is not None:
            checks.append(_installed_scopes(bot, headers.get("x-oauth-scopes"), required))
    return checks


def _installed_scopes(bot: InstalledBot, header: str | None, required: tuple[str, ...]) -> Check:
    """The scopes Slack reports for the token, else those granted when it was installed."""
    granted = header if header is not None else ",".join(bot.bot_scopes)
    check = check_scopes(granted, required)
    name = f"Slack scopes {bot.team_id}"
    hint = check.hint
    if check.status == "fail":
        hint = (
            "update the app's scopes (manifest.yml) and reinstall it in this workspace "
            f"(https://<this host>{INSTALL_PATH})"
        )
    source = "" if header is not None else " (as granted at install)"
    return Check(name, check.status, check.detail + source, hint)


async def _auth_test(
    name: str, token: str, settings: Settings, hints: Mapping[str, str] = SLACK_HINTS
) -> tuple[Check, Mapping[str, str] | None]:
    client = _slack_client(token, settings)
    try:
        response = await client.auth_test()
    except SlackApiError as error:
        code, status = _slack_error(error)
        hint = hints.get(code) or SLACK_HINTS.get(
            code, f"see README, Troubleshooting ({code or status})"
        )
        return Check(name, "fail", f"auth.test failed: {code or f'HTTP {status}'}", hint), None
    except Exception as exc:
        return Check(
            name,
            "fail",
            f"cannot reach {settings.slack_api_url}: {what(exc)}",
            "check SLACK_API_URL and the network",
        ), None
    team, team_id = response.get("team"), response.get("team_id")
    user_id, bot_id = response.get("user_id"), response.get("bot_id")
    detail = f"auth.test ok: bot user {user_id} (bot {bot_id}) in {team} ({team_id})"
    if not bot_id:
        return Check(name, "fail", detail, "this is not a bot token; use the xoxb-… one"), None
    headers = {str(k).lower(): str(v) for k, v in dict(response.headers or {}).items()}
    return Check(name, "ok", detail), headers


def check_scopes(header: str | None, required: tuple[str, ...]) -> Check:
    """Compare the scopes Slack says the token has with the ones the code needs."""
    name = "Slack scopes"
    if header is None:
        return Check(
            name,
            "warn",
            f"scopes not reported (no x-oauth-scopes header); cannot compare with the "
            f"{len(required)} the app needs",
            "real Slack reports them; an emulator may not",
        )
    granted = {scope.strip() for scope in header.split(",") if scope.strip()}
    missing = [scope for scope in required if scope not in granted]
    if missing:
        return Check(
            name,
            "fail",
            "missing " + ", ".join(missing),
            "create the app from manifest.yml (`handinger-slack manifest`) or add these under "
            "OAuth & Permissions → Bot Token Scopes, then reinstall the app to the workspace",
        )
    extra = sorted(granted - set(required))
    note = f"; also granted, unused: {', '.join(extra)}" if extra else ""
    return Check(name, "ok", f"all {len(required)} required scopes granted{note}")


async def check_socket_mode(settings: Settings) -> Check:
    name = "Socket Mode"
    if settings.slack_app_token is None:
        return Check(name, "skip", "not used (HTTP mode: no SLACK_APP_TOKEN)")
    client = _slack_client(None, settings)
    try:
        response = await client.apps_connections_open(
            app_token=settings.slack_app_token.get_secret_value()
        )
    except SlackApiError as error:
        code, status = _slack_error(error)
        hint = APP_TOKEN_HINTS.get(
            code, "check that Socket Mode is enabled (Settings → Socket Mode)"
        )
        return Check(name, "fail", f"apps.connections.open failed: {code or status}", hint)
    except Exception as exc:
        return Check(name, "fail", f"cannot reach {settings.slack_api_url}: {what(exc)}")
    url = str(response.get("url") or "")
    if not url.startswith(("wss://", "ws://")):
        return Check(name, "fail", "apps.connections.open returned no websocket URL")
    host = urlsplit(url).hostname  # the URL itself carries a one-time ticket: not shown
    return Check(name, "ok", f"apps.connections.open returned a websocket URL on {host}")
