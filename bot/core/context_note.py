"""What the agent is told about the channel an assistant-pane user is looking at."""

from __future__ import annotations

import re

_CHANNEL = re.compile(r"[A-Z0-9]+")


def looking_at(channel_id: str | None) -> str | None:
    """The note after the instruction (the prompt; the run's `input` stays the user's words),
    or None when Slack did not say or said something that is not a channel id."""
    if not channel_id or not _CHANNEL.fullmatch(channel_id):
        return None
    return f"(Context: the user is looking at Slack channel {channel_id}.)"
