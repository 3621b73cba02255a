"""`handinger-slack doctor`: is this installation ready to run? One line per check.

Checks, in order: the configuration loads and is complete for its mode; Slack accepts the bot
token (`auth.test` on `SLACK_API_URL`) and granted the scopes the app needs (Slack reports them
in the `x-oauth-scopes` header; a server that does not is a warning, not a failure); in Socket
Mode, `apps.connections.open` accepts the app-level token (the websocket is not opened); the
Handinger key is accepted (a `GET` of a worker that cannot exist: 404 means the key was
accepted); the database file (read, never created or migrated: a check changes nothing) is of
a schema this release can migrate, in a place the app can write, or with `DATABASE_URL` the
PostgreSQL database answers (its server version) and is of a schema this release can migrate.
Any failure → exit status 1.

In OAuth mode (`SLACK_CLIENT_ID`/`SLACK_CLIENT_SECRET`) there is no one bot token: the Slack
checks run for every workspace in the installation store instead (`auth.test` with its token,
and its scopes: from the header, else as granted at install). No installation yet is a warning.

Nothing secret is printed: every line goes through the same redaction as the logs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from ..config import ConfigError, Settings, load_settings
from ..logs import configured_secrets
from ..redact import Redactor
from ..slack.installations import INSTALL_PATH, REDIRECT_PATH
from ..slack.scopes import required_scopes
from .check import Check, count
from .database import check_database
from .handinger import check_handinger
from .postgres import check_postgres
from .slack import check_installations, check_scopes, check_slack_auth, check_socket_mode


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
        emit(f"{count(failed, 'check')} failed.")
        return 1
    emit("All checks passed" + (f" ({count(warned, 'warning')})." if warned else "."))
    return 0


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
    if settings.postgres_url is not None:
        report(await check_postgres(settings.postgres_url))
    else:
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
            "installations in "
            + ("the database" if settings.postgres_url else str(settings.installations_db))
        )
        if settings.slack_bot_token is not None:
            extra += "; SLACK_BOT_TOKEN is ignored"
    return Check("configuration", "ok", f"{mode}, every required setting is present{extra}")
