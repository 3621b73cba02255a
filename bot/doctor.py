"""`handinger-slack doctor`: is this installation ready to run? One line per check.

Checks, in order: the configuration loads and is complete for its mode; Slack accepts the bot
token (`auth.test` on `SLACK_API_URL`) and granted the scopes the app needs (Slack reports them
in the `x-oauth-scopes` header; a server that does not is a warning, not a failure); in Socket
Mode, `apps.connections.open` accepts the app-level token (the websocket is not opened); the
Handinger key is accepted (a `GET` of a worker that cannot exist: 404 means the key was
accepted); the database can be opened, migrated and written. Any failure → exit status 1.

In OAuth mode (`SLACK_CLIENT_ID`/`SLACK_CLIENT_SECRET`) there is no one bot token: the Slack
checks run for every workspace in the installation store instead (`auth.test` with its token,
and its scopes: from the header, else as granted at install). No installation yet is a warning.

Nothing secret is printed: every line goes through the same redaction as the logs.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from .config import ConfigError, Settings, load_settings
from .handinger import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    HandingerClient,
    HandingerError,
    NotFoundError,
    PermissionDeniedError,
)
from .logs import Redactor, configured_secrets
from .slack.installations import INSTALL_PATH, REDIRECT_PATH, InstalledBot, installed_bots
from .slack.scopes import required_scopes
from .store import MIGRATIONS, Store

Status = Literal["ok", "warn", "fail", "skip"]
MARKS: dict[Status, str] = {"ok": "✓", "warn": "!", "fail": "✗", "skip": "–"}
PROBE_WORKER_ID = "t_org_doctor_w_00000000000000000000000000"
"""Shaped like a real worker id (`t_org_<org>_w_<ULID>`) but never issued."""
TIMEOUT = 15.0

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


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str
    hint: str = ""

    def line(self) -> str:
        text = f"{MARKS[self.status]} {self.name}: {self.detail}"
        return f"{text} — {self.hint}" if self.hint else text


def doctor(env_file: str | Path | None = ".env", out: Callable[[str], None] | None = None) -> int:
    """Run every check, print one line each, return 0 when none failed, else 1."""
    emit = out or (lambda text: print(text, flush=True))
    try:
        settings = load_settings(env_file)
    except ConfigError as exc:
        emit(Check("configuration", "fail", "invalid", "; ".join(exc.problems)).line())
        emit("1 check failed; fix the configuration and run `handinger-slack doctor` again.")
        return 1
    redactor = Redactor(configured_secrets(settings))
    checks: list[Check] = []

    def report(check: Check) -> None:
        checks.append(check)
        emit(redactor.text(check.line()))

    asyncio.run(run_checks(settings, report))
    failed = sum(check.status == "fail" for check in checks)
    warned = sum(check.status == "warn" for check in checks)
    if failed:
        emit(f"{_count(failed, 'check')} failed.")
        return 1
    emit("All checks passed" + (f" ({_count(warned, 'warning')})." if warned else "."))
    return 0


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


async def run_checks(settings: Settings, report: Callable[[Check], None]) -> None:
    report(check_configuration(settings))
    if settings.oauth:
        for check in await check_installations(settings):
            report(check)
    else:
        slack = await check_slack_auth(settings)
        report(slack[0])
        if slack[1] is not None:
            report(check_scopes(slack[1].get("x-oauth-scopes"), required_scopes()))
    report(await check_socket_mode(settings))
    report(await check_handinger(settings))
    report(check_database(settings.handinger_db))


def check_configuration(settings: Settings) -> Check:
    mode = "Socket Mode" if settings.mode == "socket" else "HTTP mode"
    if not settings.has_any_credentials:
        return Check(
            "configuration",
            "fail",
            "no credentials are configured",
            "set SLACK_BOT_TOKEN, HANDINGER_API_KEY and SLACK_APP_TOKEN (Socket Mode) or "
            "SLACK_SIGNING_SECRET (HTTP mode) in the environment or .env; "
            "`handinger-slack sandbox` runs without any",
        )
    missing = settings.missing_for_run()
    if missing:
        return Check("configuration", "fail", f"{mode}; missing " + "; ".join(missing))
    extra = ""
    if settings.mode == "http":
        extra = f"; Slack must reach https://<this host>/slack/events (PORT {settings.port})"
    if settings.oauth:
        mode = "HTTP mode with OAuth installs"
        redirect = settings.slack_redirect_uri or f"https://<this host>{REDIRECT_PATH}"
        extra += (
            f"; Redirect URL {redirect}, install page https://<this host>{INSTALL_PATH}, "
            f"installations in {settings.installations_db}"
        )
        if settings.slack_bot_token is not None:
            extra += "; SLACK_BOT_TOKEN is ignored"
    return Check("configuration", "ok", f"{mode}, every required setting is present{extra}")


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
    path = settings.installations_db
    try:
        bots = installed_bots(path, settings.slack_client_id)
    except sqlite3.Error as exc:
        return [
            Check(
                "Slack installations",
                "fail",
                f"cannot read {path}: {_what(exc)}",
                "the installation store lives next to HANDINGER_DB; check the file",
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
            f"{_count(len(bots), 'workspace')}: "
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
            f"cannot reach {settings.slack_api_url}: {_what(exc)}",
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
        return Check(name, "fail", f"cannot reach {settings.slack_api_url}: {_what(exc)}")
    url = str(response.get("url") or "")
    if not url.startswith(("wss://", "ws://")):
        return Check(name, "fail", "apps.connections.open returned no websocket URL")
    host = urlsplit(url).hostname  # the URL itself carries a one-time ticket: not shown
    return Check(name, "ok", f"apps.connections.open returned a websocket URL on {host}")


async def check_handinger(settings: Settings) -> Check:
    name = "Handinger key"
    if settings.handinger_api_key is None:
        return Check(name, "skip", "skipped: HANDINGER_API_KEY is not set")
    base = settings.handinger_base_url
    client = HandingerClient(
        settings.handinger_api_key.get_secret_value(),
        base,
        timeout=TIMEOUT,
        connect_timeout=5.0,
        max_retries=0,
    )
    try:
        await client.get_worker(PROBE_WORKER_ID)
    except NotFoundError:
        return Check(name, "ok", f"accepted by {base}")
    except (AuthenticationError, PermissionDeniedError) as error:
        return Check(
            name,
            "fail",
            f"rejected by {base} (HTTP {error.status_code})",
            "check HANDINGER_API_KEY (and that HANDINGER_BASE_URL is the API it belongs to)",
        )
    except APIStatusError as error:
        return Check(name, "fail", f"{base} answered HTTP {error.status_code}: {error}")
    except APIConnectionError as error:
        return Check(name, "fail", f"cannot reach {base}: {error}", "check HANDINGER_BASE_URL")
    except HandingerError as error:
        return Check(name, "fail", f"unexpected answer from {base}: {error}")
    finally:
        await client.aclose()
    return Check(name, "ok", f"accepted by {base}")


def check_database(path: Path) -> Check:
    """Open (creating if needed), migrate, and prove the file writable with a no-op write."""
    name = "database"
    latest = len(MIGRATIONS)
    existed = path.exists()
    try:
        before = _schema_version(path) if existed else 0
        store = Store(path)
    except (OSError, sqlite3.Error) as exc:
        return Check(
            name,
            "fail",
            f"cannot open {path}: {_what(exc)}",
            "HANDINGER_DB must be a file in a writable directory (in Docker: the /data volume)",
        )
    try:
        version = store.schema_version
        if version > latest:
            return Check(
                name,
                "fail",
                f"{path} has schema version {version}, newer than this release knows ({latest})",
                "run the release that created it, or restore a backup from before the upgrade",
            )
        with store.transaction():
            store.db.execute("CREATE TABLE _doctor_probe (x INTEGER)")
            store.db.execute("DROP TABLE _doctor_probe")
    except sqlite3.Error as exc:
        return Check(
            name,
            "fail",
            f"{path} is not writable: {_what(exc)}",
            "give the app's user write access to the file and its directory",
        )
    finally:
        store.close()
    if not existed:
        state = f"created at schema version {version}"
    elif before < version:
        state = f"migrated from schema version {before} to {version}"
    else:
        state = f"schema version {version} (current)"
    return Check(name, "ok", f"{path} is writable, {state}")


def _schema_version(path: Path) -> int:
    """The version recorded in an existing database, read without changing it."""
    connection = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        row = connection.execute("SELECT version FROM schema_version").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return 0
        raise
    finally:
        connection.close()
    return int(row[0]) if row else 0


def _what(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
