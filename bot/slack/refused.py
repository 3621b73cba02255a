"""Slack refusals a user or an admin can act on, each explained in plain words.

`explain` turns the error Slack answered into the sentence shown privately to the person who
asked (and recorded as the run's failure); None means the error is not one of these and is
handled, or reported, as a fault.
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from ..core.ports import ChannelGone, ChannelTrouble, Undeliverable
from .transient import code_of

NOT_IN_PRIVATE = (
    "I'm not a member of this conversation, so I can't post the answer here. "
    "Invite me with `/invite @Handinger` and try again."
)
CANNOT_POST = (
    "I can't post here: this is a private channel I'm not a member of (Slack answers "
    "`channel_not_found` to me for it). Invite me with `/invite @Handinger` and try again."
)
DIRECT_MESSAGE = (
    "I can't post in a direct message between other people. Use `/handinger` in a channel "
    "I'm in, or send me a direct message."
)
ARCHIVED = (
    "This channel is archived, so I can't post the answer in it. Unarchive the channel, or ask "
    "me in another channel."
)
ARCHIVED_MEANWHILE = (
    "This channel was archived while I was working, so I can't update the answer in it. "
    "Unarchive the channel, or ask me again in another channel."
)


def missing_scope(error: SlackApiError) -> str:
    """Which scope a workspace admin must add: Slack names it in `needed` (alternatives
    comma-separated)."""
    data = error.response.data if error.response is not None else None
    needed = str(data.get("needed", "")) if isinstance(data, dict) else ""
    scopes = [f"`{s.strip()}`" for s in needed.split(",") if s.strip()] or ["(not named)"]
    which = scopes[0] if len(scopes) == 1 else "one of " + ", ".join(scopes)
    return (
        f"Slack refused: this workspace did not give the app the {which} permission "
        "(OAuth scope). A workspace admin must add it to the app and reinstall the app."
    )


def explain(error: SlackApiError, channel_id: str = "") -> str | None:
    """The explanation for an error a person can fix, or None.

    Slack answers `channel_not_found` for a conversation the app cannot see. Where someone just
    asked the app for something, the conversation exists: it is a private channel the app is
    not in (it can be invited), or a direct message between other people (ids starting with
    `D`), where no one can add it."""
    code = code_of(error)
    if code == "missing_scope":
        return missing_scope(error)
    if code == "channel_not_found" and channel_id.startswith("D"):
        return DIRECT_MESSAGE
    return {
        "not_in_channel": NOT_IN_PRIVATE,
        "channel_not_found": CANNOT_POST,
        "is_archived": ARCHIVED,
        "is_inactive": ARCHIVED_MEANWHILE,
    }.get(code)


CHANNEL_TROUBLE: dict[str, ChannelTrouble] = {
    "is_archived": "archived",
    "not_in_channel": "removed",
    "channel_not_found": "not-found",
}
"""Refusals of a post that last until someone acts on the channel: a schedule posting there is
stopped rather than failing at every run."""


def undeliverable(error: SlackApiError, channel_id: str) -> Undeliverable | None:
    """What the core is told of a post refused for a reason someone can fix (`ChannelGone`
    when the channel takes no more posts), or None (see `explain`)."""
    explanation = explain(error, channel_id)
    if explanation is None:
        return None
    said = f"slack: {code_of(error)}: {explanation}"
    trouble = CHANNEL_TROUBLE.get(code_of(error))
    return Undeliverable(said) if trouble is None else ChannelGone(said, trouble)
