"""`handinger-slack`: the command-line entry point."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Coroutine, Sequence
from typing import Any

from .config import ConfigError, Settings, load_settings
from .logs import setup_from_settings

GUIDE = """\
handinger-slack puts Handinger agent workers into Slack.

No credentials are configured yet. Set these in the environment or in a .env file:

  HANDINGER_API_KEY     your Handinger API key
  SLACK_BOT_TOKEN       the bot token (xoxb-…) of your Slack app
  and one of:
  SLACK_APP_TOKEN       an app-level token (xapp-…): Socket Mode, no public URL needed
  SLACK_SIGNING_SECRET  the signing secret: HTTP mode, Slack posts to http://<host>:$PORT/slack/events

To install into many workspaces, set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (with
SLACK_SIGNING_SECRET) instead of SLACK_BOT_TOKEN: workspaces add the app at /slack/install.

Or try it locally without any of them: `handinger-slack sandbox` (what `make run` does).
See README.md ("Configuration") for every variable and its default.
"""


ABOUT = """\
Puts Handinger agent workers into Slack. `/handinger <instruction>` starts a remote agent and
streams its answer into the channel; replies in the card's thread steer the same agent; files it
publishes land in the thread; `/handinger schedule …` posts recurring digests.
"""

MORE = """\
Settings come from the environment or a .env file in the working directory; with none set,
`handinger-slack` says what to set, and `handinger-slack sandbox` runs without any.
`handinger-slack <command> --help` shows a command's options. The project's README.md
describes every setting, creating the Slack app, Socket Mode and HTTP mode, Docker and
operations.
"""


def build_parser() -> argparse.ArgumentParser:
    """The command line: `run` (the default), `sandbox`, `config`, `manifest` and `doctor`."""
    parser = argparse.ArgumentParser(
        prog="handinger-slack",
        description=ABOUT,
        epilog=MORE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", title="commands", metavar="<command>")
    run_parser = commands.add_parser(
        "run",
        help="run the app against Slack and Handinger (the default): Socket Mode when "
        "SLACK_APP_TOKEN is set, else HTTP mode on $PORT",
    )
    run_parser.add_argument(
        "--or-sandbox",
        action="store_true",
        help="run the local sandbox instead when no credentials are configured",
    )
    sandbox_parser = commands.add_parser(
        "sandbox",
        help="try it locally without credentials: the bot between emulators of Slack and "
        "Handinger (what `make run` does)",
    )
    sandbox_parser.add_argument("--port", type=int, default=3000, help="the bot's health port")
    sandbox_parser.add_argument(
        "--web-port",
        type=int,
        default=None,
        help="the sandbox page's port (default $SANDBOX_PORT, else 8300; 0 picks a free one)",
    )
    commands.add_parser(
        "config", help="print the effective configuration (environment and .env), secrets hidden"
    )
    manifest_parser = commands.add_parser(
        "manifest", help="print the Slack app manifest (YAML) to create the app from"
    )
    manifest_parser.add_argument(
        "--http-url",
        metavar="URL",
        help="HTTP mode: the app's public base URL (Slack posts to URL/slack/events)",
    )
    copy_parser = commands.add_parser(
        "migrate-db",
        help="copy the app's state (and OAuth installations) from its SQLite file into an "
        "empty PostgreSQL database; stop the app first",
    )
    copy_parser.add_argument(
        "--from",
        dest="source",
        metavar="SQLITE",
        help="the SQLite file, as sqlite:///path or a path (default: HANDINGER_DB)",
    )
    copy_parser.add_argument(
        "--to",
        dest="target",
        metavar="URL",
        help="the PostgreSQL database, postgresql://… (default: DATABASE_URL)",
    )
    commands.add_parser(
        "doctor",
        help="check an installation without starting it: configuration, Slack tokens and "
        "scopes, the Handinger key, the database",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "manifest":
        from .manifest import print_manifest

        return print_manifest(args.http_url)
    if args.command == "doctor":
        from .doctor import doctor

        return doctor()

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    setup_from_settings(settings)
    if args.command == "config":
        print(describe(settings))
        return 0
    if args.command == "migrate-db":
        return migrate_db(settings, args.source, args.target)
    if args.command == "sandbox" or (
        args.command == "run" and args.or_sandbox and not settings.has_any_credentials
    ):
        return run_sandbox(getattr(args, "port", 3000), getattr(args, "web_port", None))
    return run(settings)


def run_sandbox(port: int, web_port: int | None) -> int:
    """The bot between the emulators, for trying it without credentials."""
    from .launch import SandboxError, sandbox

    try:
        return _run_async(sandbox(port=port, web_port=web_port))
    except SandboxError as exc:
        print(f"handinger-slack sandbox cannot start: {exc}", file=sys.stderr)
        return 2


def run(settings: Settings) -> int:
    if not settings.has_any_credentials:
        print(GUIDE)
        return 0
    missing = settings.missing_for_run()
    if missing:
        print("handinger-slack cannot start; still missing:", file=sys.stderr)
        for item in missing:
            print(f"  - {item}", file=sys.stderr)
        return 2
    from .main import serve
    from .store.postgres import DatabaseUnavailable

    try:
        return _run_async(serve(settings))
    except DatabaseUnavailable as exc:
        print(f"handinger-slack cannot start: {exc}", file=sys.stderr)
        return 2


def migrate_db(settings: Settings, source: str | None, target: str | None) -> int:
    """`migrate-db`: copy the SQLite state into PostgreSQL; print what was copied."""
    from .migrate_db import CopyRefused, copy_database, sqlite_path
    from .store import is_postgres_url
    from .store.postgres import DatabaseUnavailable

    url = target or settings.postgres_url
    if url is None or not is_postgres_url(url):
        print("migrate-db needs --to postgresql://… (or DATABASE_URL)", file=sys.stderr)
        return 2
    path = sqlite_path(source) if source else settings.handinger_db
    try:
        copied = copy_database(path, url)
    except (CopyRefused, DatabaseUnavailable) as exc:
        print(f"migrate-db: nothing was copied: {exc}", file=sys.stderr)
        return 1
    for table, count in copied.rows.items():
        print(f"{table}: {count} row(s)")
    print(f"OAuth installations: {copied.installations}")
    print("Done. Set DATABASE_URL to this database and start the app.")
    return 0


def _run_async(coro: Coroutine[Any, Any, None]) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(coro)
    return 0


def describe(settings: Settings) -> str:
    """One `NAME=value` line per setting; secrets show only whether they are set."""
    lines = []
    for name, value in settings.model_dump().items():
        field = type(settings).model_fields[name]
        secret = field.annotation is not None and "SecretStr" in str(field.annotation)
        shown = ("(set)" if value is not None else "(unset)") if secret else value
        lines.append(f"{name.upper()}={shown}")
    lines.append(f"# mode: {settings.mode}" + (" with OAuth installs" if settings.oauth else ""))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
