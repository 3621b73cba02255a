"""Editing run messages (`chat.update`) for the edit scheduler, only when an edit changes them.

What each message shows, as last posted or edited, is remembered as a fingerprint (for the
`MAX_REMEMBERED` most recently touched messages). An edit with the same content is not sent but
reported `Unchanged`, so the scheduler spends no budget on it: the first progress edit right
after a post, and status ticks that change nothing, cost no `chat.update`. After a failed edit
that may have been applied (a 5xx, a dropped connection) the message's content is unknown, so
the next edit is always sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import NamedTuple

from slack_sdk.errors import SlackApiError

from ..core.views import LiveView
from .blocks import SlackMessage
from .clients import TeamClients
from .edit_scheduler import RateLimited, Unchanged
from .posting import retry_after
from .render import render_progress
from .transient import code_of, is_transient

log = logging.getLogger(__name__)

MAX_REMEMBERED = 1000


class MessageKey(NamedTuple):
    """A message for the edit scheduler: its workspace (whose token edits it), channel, ts."""

    team: str
    channel: str
    ts: str


def fingerprint(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def content_of(message: SlackMessage) -> str:
    """A fingerprint of everything an edit would set."""
    return fingerprint(message.text, json.dumps(message.blocks, sort_keys=True))


class Editor:
    """The edit scheduler's sender."""

    def __init__(self, clients: TeamClients) -> None:
        self.clients = clients
        self._shown: dict[MessageKey, str] = {}

    def posted(self, key: MessageKey, message: SlackMessage) -> None:
        """Message `key` was just posted with this content."""
        self._remember(key, content_of(message))

    async def send(self, key: MessageKey, content: LiveView | SlackMessage, final: bool) -> None:
        """Send one edit; a progress view is built now, on the event loop (the turn changes it
        there), and rendered in a thread, so neither the stream's pace nor the answer's length
        costs the event loop anything (see `render_progress`)."""
        team, channel, ts = key
        if isinstance(content, SlackMessage):
            message = content
        else:
            message = await asyncio.to_thread(render_progress, content.build())
        shown = content_of(message)
        if self._shown.get(key) == shown:
            raise Unchanged()
        client = await self.clients.edit_client_for(team)
        try:
            await client.chat_update(
                channel=channel, ts=ts, text=message.text, blocks=message.blocks
            )
        except Exception as error:
            if is_transient(error):  # Slack may have applied it: what it shows is unknown
                self._shown.pop(key, None)
            if not isinstance(error, SlackApiError):
                raise
            wait = retry_after(error)
            if wait is not None:
                raise RateLimited(wait) from error
            if not final and not is_transient(error):  # a passing failure is sent again later
                log.info("progress edit of %s failed: %s", ts, code_of(error))
                return
            raise
        self._remember(key, shown)

    def _remember(self, key: MessageKey, content: str) -> None:
        self._shown.pop(key, None)
        self._shown[key] = content  # most recently touched last
        while len(self._shown) > MAX_REMEMBERED:
            del self._shown[next(iter(self._shown))]
