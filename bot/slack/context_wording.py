"""How context reads in Slack: files the agent could not read, thread history that could not be
fetched, who a worker answers (reply mode), and the "Ask Handinger" shortcut's modal."""

from __future__ import annotations

from ..core.files import safe_filename
from ..core.gathered import Gathered, ReplyMode, WhyUnread
from .mrkdwn import escape

WHY: dict[WhyUnread, str] = {
    "image": "an image",
    "audio": "audio",
    "video": "a video",
    "archive": "an archive",
    "binary": "not a text, PDF, Word or Excel file",
    "too_large": "over the size limit",
    "unreadable": "no text could be read from it",
    "elsewhere": "not stored on Slack",
    "failed": "the download failed",
}
GAPS = {
    "rate_limited": "Slack's rate limit let me read none or only part of this thread's history",
    "partial": "this thread is long: the agent got only its first messages",
    "no_access": "I cannot read this conversation's history (invite me to the channel)",
    "failed": "Slack did not give me this thread's history",
}


def context_notice(gathered: Gathered) -> str | None:
    """One short line for the thread (mrkdwn, escaped): what did not reach the agent; None
    when everything did."""
    parts = [f"`{escape(u.name)}` ({WHY[u.why]})" for u in gathered.unread]
    lines: list[str] = []
    if parts:
        lines.append(
            f":warning: The agent cannot read {', '.join(parts)}; it got the rest of the message."
        )
    if gathered.history_gap is not None:
        lines.append(f":warning: {GAPS[gathered.history_gap]}; the run goes on without it.")
    return " ".join(lines) or None


def attached_only(files: list[dict[str, object]]) -> str:
    """The instruction of a message that is only files (plain text; the card escapes it)."""
    names = [safe_filename(str(f.get("name") or f.get("title") or "file"), "") for f in files]
    return f"(attached: {', '.join(names)})"


MODE_LABEL: dict[ReplyMode, str] = {
    "auto": "answers every reply in this thread",
    "mention": "answers only replies that mention it",
}
"""How the card's footer says who the thread's worker answers."""

MODE_SWITCH: dict[ReplyMode, str] = {
    "auto": "Answer every reply",
    "mention": "Answer only @mentions",
}
"""The card menu's option that switches the thread to a mode."""

MODE_SET: dict[ReplyMode, str] = {
    "auto": "From now on the agent answers every reply in this thread.",
    "mention": (
        "From now on the agent answers only replies that mention it; the other replies reach "
        "it as context with the next one that does."
    ),
}

SHORTCUT_TITLE = "Ask Handinger"
SHORTCUT_SUBMIT = "Ask"
SHORTCUT_HINT = (
    "The agent gets the message (and its thread, if any) as context, and answers in that thread."
)
SHORTCUT_NO_ACCESS = (
    "I cannot read that conversation. Invite me to the channel (`/invite @Handinger`) and try "
    "the shortcut again."
)
SHORTCUT_EMPTY = "Say what the agent should do with the message."
