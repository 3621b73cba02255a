"""`handinger-slack sandbox`: both emulators and the bot, wired together on loopback.

A newcomer with no Slack app and no Handinger key sees the whole product work: the bot runs
exactly as in production (Socket Mode, SQLite, the edit scheduler) against local emulators,
and the Slack emulator serves a web page that looks like a Slack client, on a fixed port. The
emulators are started by `emulators.harness` (as in the tests and the benchmark), imported
only here: a checkout has them, the production image does not.

The emulators keep their state in memory only, so each start is a fresh sandbox, and one line
of the banner says so: the bot's database from the previous run (in `.sandbox/`) is removed
rather than left to point at cards and workers that no longer exist. (So there is no `--fresh`:
every start is one.)
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import socket
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

from pydantic import SecretStr

from .config import Settings
from .main import serve
from .manifest import render_manifest

WEB_PORT = 8300
"""Where the sandbox page is served unless `--web-port` or SANDBOX_PORT say otherwise."""
SCHEDULE_CHECK_SECONDS = 2.0
"""How often the sandbox's bot looks for scheduled runs: digests appear right after the clock
is moved on in the page (production checks every 5 minutes and is woken by its own changes)."""
DB_NAME = "sandbox.db"


NO_EMULATORS = (
    "the Slack and Handinger emulators are not installed here: they live in the repository "
    "(emulators/), not in the released app or its Docker image. To try the sandbox, clone "
    "the handinger-slack repository and run `make run` in the checkout."
)


class SandboxError(Exception):
    """The sandbox cannot start; the message says why and what to do."""


def default_web_port() -> int:
    raw = os.environ.get("SANDBOX_PORT", "")
    try:
        return int(raw) if raw.strip() else WEB_PORT
    except ValueError:
        raise SandboxError(f"SANDBOX_PORT must be a port number, not {raw!r}.") from None


def check_port_free(port: int) -> None:
    """Fail early, and clearly, when another program (often an earlier sandbox) has the port."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise SandboxError(f"Cannot use port {port} for the sandbox page: {exc}.") from exc
            raise SandboxError(
                f"Port {port} is already in use (another sandbox still running?). Stop that "
                f"program, or serve the page on another port: `make run SANDBOX_PORT={port + 1}` "
                f"or `handinger-slack sandbox --web-port {port + 1}`."
            ) from None


@contextlib.asynccontextmanager
async def emulator(module: str, *args: str, port: int = 0) -> AsyncIterator[str]:
    """Run `python -m module` (in this directory, its errors on this terminal) and yield its
    base URL once it listens."""
    from emulators.harness import server  # a checkout's, never the production image's

    argv = ["--host", "127.0.0.1", "--port", str(port), *args]
    try:
        child = await asyncio.to_thread(server, module, argv, cwd=Path.cwd(), inherit_stderr=True)
    except RuntimeError:
        raise SandboxError(f"The {module} emulator did not start (see the error above).") from None
    try:
        yield child.url
    finally:
        await asyncio.to_thread(child.stop, 5)


def fresh_state(data_dir: Path) -> str:
    """Remove the previous run's bot database; returns the one line that says the sandbox
    starts fresh (printed on every start, so nobody looks for the last run's cards)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    old = [p for p in data_dir.glob(f"{DB_NAME}*") if p.is_file()]
    for path in old:
        path.unlink()
    cleared = f"; the previous run's database in {data_dir}/ was cleared" if old else ""
    return (
        "Fresh sandbox: nothing is kept between runs (the emulators hold their state in "
        f"memory){cleared}."
    )


def seed_page_users(slack_url: str) -> None:
    """Give bob (the member) his own DM with the app, as alice (the admin) has, so both can
    try direct messages in the page."""
    body = json.dumps({"type": "im", "members": ["U0002"]}).encode()
    request = urllib.request.Request(
        f"{slack_url}/_emulator/channels",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()


def banner(page: str, slack: str, handinger: str, bot: int, fresh: str) -> str:
    lines = [
        f"Sandbox: open {page} in your browser",
        "",
        "handinger-slack sandbox: the real bot, between local emulators of Slack and Handinger.",
        fresh,
        "",
        f"  Slack emulator      {slack}   (workspace T0001; control API under /_emulator/)",
        f"  Handinger emulator  {handinger}",
        f"  Bot health          http://127.0.0.1:{bot}/healthz",
        "",
        "In the page: type /handinger and an instruction in #general, open the card's thread and",
        "reply, try the card's ⋯ menu, switch between alice (admin) and bob (member), and open",
        "the Handinger panel for workers, schedules, the clock and the scripted agent's guide.",
        "Scripting it instead? README.md, section Sandbox, lists the control API.",
        "",
        "Press Ctrl+C to stop.",
    ]
    return "\n".join(lines)


def sandbox_settings(slack_url: str, handinger_url: str, data_dir: Path, port: int) -> Settings:
    """The sandbox bot's settings: the emulators' credentials and a SQLite file of its own.
    Where the app keeps its state, and how Slack authorizes it, are set here even when the
    environment says otherwise: an operator's DATABASE_URL (or OAuth client) left exported
    must not put the sandbox's runs into their real database, nor real runs into the sandbox."""
    from emulators.credentials import APP_TOKEN, BOT_TOKEN, HANDINGER_KEY

    return Settings(
        _env_file=None,
        slack_bot_token=SecretStr(BOT_TOKEN),
        slack_app_token=SecretStr(APP_TOKEN),
        slack_signing_secret=None,
        slack_client_id=None,
        slack_client_secret=None,
        slack_api_url=f"{slack_url}/api/",
        handinger_api_key=SecretStr(HANDINGER_KEY),
        handinger_base_url=handinger_url,
        handinger_db=data_dir / DB_NAME,
        database_url=None,
        handinger_schedule_check_seconds=SCHEDULE_CHECK_SECONDS,
        port=port,
    )


async def sandbox(
    port: int = 3000, web_port: int | None = None, data_dir: Path = Path(".sandbox")
) -> None:
    try:  # the emulators ship with a checkout (`make install`), never in the production image
        from emulators.harness import HANDINGER, SLACK
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] != "emulators":
            raise
        raise SandboxError(NO_EMULATORS) from None
    web_port = default_web_port() if web_port is None else web_port
    check_port_free(web_port)
    fresh = fresh_state(data_dir)
    manifest = data_dir / "manifest.yml"
    manifest.write_text(render_manifest(), encoding="utf-8")
    async with emulator(HANDINGER, "--turn-seconds", "4") as handinger_url:
        slack_args = ("--handinger-url", handinger_url, "--manifest", str(manifest))
        async with emulator(SLACK, *slack_args, port=web_port) as slack_url:
            await asyncio.to_thread(seed_page_users, slack_url)
            settings = sandbox_settings(slack_url, handinger_url, data_dir, port)
            page = f"{slack_url}/sandbox/"
            print(banner(page, slack_url, handinger_url, port, fresh), flush=True)
            await serve(settings, host="127.0.0.1")
