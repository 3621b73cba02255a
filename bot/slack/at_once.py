"""What Slack gets back at once for a request: decided from the request alone.

Slack waits 3 seconds for an ack (ARCHITECTURE.md, rule 4). In HTTP mode the ingress answers
on a thread of its own, before the app's event loop sees the request, so a busy relay never
delays an ack (`slack/ingress_thread.py`); the listeners then ack with the same answer, which
Socket Mode sends and HTTP mode has already sent. So an answer here needs nothing but the
request and the settings: no database, no Slack call, no Handinger call.
"""

from __future__ import annotations

from typing import Any

from ..config import Settings
from ..core.service import Rules
from .blocks import ephemeral
from .commands import CommandError, Help, RunInstruction, Subcommand, parse_command
from .payloads import Kind
from .replies import render_help, render_notice
from .wording import WHICH_SCHEDULE, over_budget_text

COMMAND = "/handinger"
Answer = dict[str, Any]
"""The ack's arguments (Bolt's `ack(**answer)`); empty for a bare 200."""


def command_answer(text: str, settings: Settings, rules: Rules) -> Answer | None:
    """The whole answer to `/handinger text` when the ack is all there is to it (help, words
    the command cannot read, a budget over the cap, `unschedule` without an id); None when the
    ack is empty and the listener's work follows."""
    parsed = parse_command(text)
    if isinstance(parsed, Help):
        return ephemeral(render_help(COMMAND, settings.handinger_max_budget))
    if isinstance(parsed, CommandError):
        return ephemeral(render_notice(parsed.message, trusted=True))
    if isinstance(parsed, Subcommand):
        if parsed.name == "unschedule" and not parsed.args.strip():
            return ephemeral(render_notice(WHICH_SCHEDULE, trusted=True))
        return None
    if isinstance(parsed, RunInstruction):
        refused = rules.over_budget(parsed.budget)
        if refused is not None:
            return ephemeral(render_notice(over_budget_text(refused), trusted=True))
    return None


class AtOnce:
    """The ingress's answer to a checked request, or None when only the app can answer it."""

    def __init__(self, settings: Settings, rules: Rules) -> None:
        self.settings = settings
        self.rules = rules

    def __call__(self, kind: Kind, body: dict[str, Any]) -> Answer | None:
        if kind == "command":
            return command_answer(str(body.get("text", "")), self.settings, self.rules) or {}
        if kind == "interaction" and body.get("type") == "view_submission":
            # Its answer may be the form's errors, which need the user's time zone: a Slack call.
            return None
        return {}  # events and clicks: an empty 200; the work comes after
