"""What a turn may carry besides the user's own request: earlier messages of its thread and the
text of attached files, as the Slack adapter gathered them (`slack/gather.py`).

Plain values: the core composes them into the instruction (`prompt.py`) and never fetches
anything itself. Everything here is untrusted text from Slack users and their files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ReplyMode = Literal["auto", "mention"]
"""Who a worker answers in its thread: every human reply (`auto`) or only replies that mention
the app (`mention`; the others reach the agent as context with the next turn)."""
REPLY_MODES: tuple[ReplyMode, ...] = ("auto", "mention")


def as_reply_mode(value: str | None, default: ReplyMode) -> ReplyMode:
    """A stored or configured mode; `default` for none (or one this version does not know)."""
    return "mention" if value == "mention" else "auto" if value == "auto" else default


WhyUnread = Literal[
    "image", "audio", "video", "archive", "binary", "too_large", "unreadable", "elsewhere", "failed"
]
"""Why a file's text did not reach the agent: its kind (`image` … `binary`), over the size cap
(never downloaded), a document with no extractable text, a `url_private` not on Slack's file
host (never fetched), or a download that failed."""

HistoryGap = Literal["rate_limited", "partial", "no_access", "failed"]
"""Why the thread's history is missing or incomplete: Slack's rate limit (Tier 1 for
commercially distributed apps outside the Marketplace), one page only, the app cannot read the
conversation, or another error."""


@dataclass(frozen=True, slots=True)
class Said:
    """One earlier message of the thread: who wrote it (a display name) and what."""

    author: str
    text: str


@dataclass(frozen=True, slots=True)
class FileText:
    """An attached file's text, under its (sanitised) name."""

    name: str
    text: str


@dataclass(frozen=True, slots=True)
class Unread:
    """An attached file whose text does not reach the agent, and why."""

    name: str
    why: WhyUnread


@dataclass(frozen=True, slots=True)
class Gathered:
    """The context of one turn. `since_last_turn`: the messages are replies the worker did not
    answer (reply mode `mention`), not the history before a first call. `left_out`: earlier
    messages not included (over the message budget)."""

    messages: tuple[Said, ...] = ()
    left_out: int = 0
    since_last_turn: bool = False
    history_gap: HistoryGap | None = None
    files: tuple[FileText, ...] = ()
    unread: tuple[Unread, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.messages or self.files or self.unread or self.left_out)

    @property
    def worth_telling(self) -> bool:
        """Whether the thread should hear about it: files not read, or history missing."""
        return bool(self.unread) or self.history_gap is not None
