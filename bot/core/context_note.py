"""What the agent is told about the channel an assistant-pane user is looking at, and the
instruction as the user wrote it (for lists that show what they asked)."""

from __future__ import annotations

import re

_NOTE = "\n\n(Context: the user is looking at Slack channel {channel}.)"
_NOTED = re.compile(r"\n\n\(Context: the user is looking at Slack channel [A-Z0-9]+\.\)\Z")


def with_context(instruction: str, channel_id: str | None) -> str:
    """The instruction for the agent, saying where the user is looking (if Slack said)."""
    if not channel_id or not re.fullmatch(r"[A-Z0-9]+", channel_id):
        return instruction
    return instruction + _NOTE.format(channel=channel_id)


def as_asked(instruction: str) -> str:
    """The instruction without the note `with_context` added."""
    return _NOTED.sub("", instruction)
