"""`handinger-slack`: the command-line entry point."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .config import ConfigError, Settings, load_settings

GUIDE = """\
handinger-slack puts Handinger agent workers into Slack.

No credentials are configured yet. Set these in the environment or in a .env file:

  HANDINGER_API_KEY     your Handinger API key
  SLACK_BOT_TOKEN       the bot token (xoxb-…) of your Slack app
  and one of:
  SLACK_APP_TOKEN       an app-level token (xapp-…): Socket Mode, no public URL needed
  SLACK_SIGNING_SECRET  the signing secret: HTTP mode, Slack posts to http://<host>:$PORT/slack/events

See README.md ("Configuration") for every variable and its default.
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="handinger-slack", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the app (the default)")
    commands.add_parser("config", help="show the effective configuration, secrets hidden")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.command == "config":
        print(describe(settings))
        return 0
    return run(settings)


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
    print(f"Configuration is complete ({settings.mode} mode).")
    print("The Slack bot itself is not part of this release yet; see README.md.")
    return 0


def describe(settings: Settings) -> str:
    """One `NAME=value` line per setting; secrets show only whether they are set."""
    lines = []
    for name, value in settings.model_dump().items():
        field = type(settings).model_fields[name]
        secret = field.annotation is not None and "SecretStr" in str(field.annotation)
        shown = ("(set)" if value is not None else "(unset)") if secret else value
        lines.append(f"{name.upper()}={shown}")
    lines.append(f"# mode: {settings.mode}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
