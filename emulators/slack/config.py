"""Command-line flags of the Slack emulator, parsed into one mutable settings object.

The settings are mutable on purpose: `POST /_emulator/config` and `/_emulator/rate-limits`
change them at run time, and `POST /_emulator/reset` restores the values given at startup.
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from ..credentials import APP_TOKEN, BOT_TOKEN, CLIENT_ID, CLIENT_SECRET, SIGNING_SECRET

RateLimitMode = Literal["strict", "off"]
HistoryTier = Literal["internal", "limited"]
LongTextMode = Literal["truncate", "reject"]


@dataclass
class Settings:
    """Everything a test or the sandbox may tune; see the package docstring for each field."""

    host: str = "127.0.0.1"
    port: int = 0
    bot_token: str = BOT_TOKEN
    app_token: str = APP_TOKEN
    signing_secret: str = SIGNING_SECRET
    request_url: str | None = None
    rate_limits: RateLimitMode = "strict"
    time_scale: float = 1.0
    ack_timeout: float = 3.0
    long_text: LongTextMode = "truncate"
    bot_events: bool = True
    retry_delays: list[float] = field(default_factory=lambda: [0.0, 60.0, 300.0])
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    redirect_urls: list[str] = field(default_factory=list)
    manifest: str = "auto"
    history: HistoryTier = "internal"
    """`conversations.replies` and `.history` as an internal app has them (Tier 3), or as a
    commercially distributed app outside the Marketplace (`limited`: Tier 1, at most 15 messages
    a call), see the changelog of 2025-05-29."""
    handinger_url: str | None = None
    """The Handinger emulator the sandbox page's Handinger panel shows (none: no panel)."""

    def copy(self) -> Settings:
        """A deep copy, kept as the startup snapshot for `/_emulator/reset`."""
        return copy.deepcopy(self)


def _positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return number


def _parser() -> argparse.ArgumentParser:
    """The flags of `python -m emulators.slack`, each with its default."""
    parser = argparse.ArgumentParser(
        prog="python -m emulators.slack",
        description="Local Slack emulator: Web API, Socket Mode and signed HTTP delivery.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    parser.add_argument("--bot-token", default=BOT_TOKEN, help="bot token of workspace T0001")
    parser.add_argument("--app-token", default=APP_TOKEN, help="app-level token (Socket Mode)")
    parser.add_argument("--signing-secret", default=SIGNING_SECRET, help="HTTP-mode signing secret")
    parser.add_argument(
        "--request-url",
        default=None,
        help="deliver events/commands/actions by signed HTTP POST here; without it, Socket Mode",
    )
    parser.add_argument("--rate-limits", choices=["strict", "off"], default="strict")
    parser.add_argument(
        "--time-scale",
        type=_positive,
        default=1.0,
        help="emulated seconds per real second for rate-limit windows and retry delays",
    )
    parser.add_argument(
        "--ack-timeout",
        type=_positive,
        default=3.0,
        help="real seconds the app has to ack an envelope or HTTP request (default 3)",
    )
    parser.add_argument(
        "--long-text",
        choices=["truncate", "reject"],
        default="truncate",
        help="text over 40,000 chars: truncate with a warning (default) or msg_too_long",
    )
    parser.add_argument(
        "--bot-events",
        choices=["on", "off"],
        default="on",
        help="whether the app's own posts, edits and deletions produce events back (default on)",
    )
    _app_flags(parser)
    return parser


def _app_flags(parser: argparse.ArgumentParser) -> None:
    """What the emulated app is: its OAuth client, manifest, and the Handinger panel's URL."""
    parser.add_argument("--client-id", default=CLIENT_ID, help="OAuth client id")
    parser.add_argument("--client-secret", default=CLIENT_SECRET, help="OAuth client secret")
    parser.add_argument(
        "--redirect-url",
        action="append",
        default=[],
        help="an OAuth Redirect URL of the app (repeatable); see /_emulator/config",
    )
    parser.add_argument(
        "--manifest",
        default="auto",
        help="the app's manifest.yml: granted scopes, subscribed events and the sandbox page's "
        "slash-command hints (default: the repository's; `none`: every scope and event)",
    )
    parser.add_argument(
        "--handinger-url",
        default=None,
        help="the Handinger emulator's base URL, shown in the sandbox page's Handinger panel",
    )


def parse_args(argv: Sequence[str] | None = None) -> Settings:
    """Parse `python -m emulators.slack` flags."""
    args = _parser().parse_args(argv)
    return Settings(
        host=args.host,
        port=args.port,
        bot_token=args.bot_token,
        app_token=args.app_token,
        signing_secret=args.signing_secret,
        request_url=args.request_url,
        rate_limits=args.rate_limits,
        time_scale=args.time_scale,
        ack_timeout=args.ack_timeout,
        long_text=args.long_text,
        bot_events=args.bot_events == "on",
        client_id=args.client_id,
        client_secret=args.client_secret,
        redirect_urls=list(args.redirect_url),
        handinger_url=args.handinger_url,
        manifest=args.manifest,
    )
