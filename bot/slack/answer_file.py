"""A long answer's whole text as `answer.md` in its thread: shared once, across restarts.

A file carries no message metadata, so whether it is in the thread already is asked of the
thread itself (`run_refs.find_files`: the same name and size, shared since the run started). It
is asked when the upload may have landed without the app learning it: the message was posted
before a restart (the process that uploaded was killed between the completion and recording
it), a try of this process failed, or Slack refused a completion it had made (slack_sdk sends
a completion again after a dropped connection, and Slack answers `file_not_found` for a file it
already shared). Killed before the completion, nothing was shared: the lookup finds nothing and
the file is uploaded then.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ..store import Run
from .editing import fingerprint
from .run_refs import find_files

log = logging.getLogger(__name__)

COMMENT = "The full answer, too long for Slack messages."
Calm = Callable[[Callable[[], Awaitable[Any]], str], Awaitable[Any]]
"""How a Slack call is retried through passing failures (`transient.calmly`)."""


class AnswerFile:
    """One run's `answer.md` for one thread."""

    def __init__(
        self, client: AsyncWebClient, run: Run, thread_ts: str, attachment: tuple[str, str]
    ) -> None:
        self.client = client
        self.run = run
        self.thread_ts = thread_ts
        self.filename, self.content = attachment

    @property
    def looked_for(self) -> tuple[str, str, int]:
        """How it shows in the thread: name, title and size (`run_refs.find_files`)."""
        return (self.filename, self.filename, len(self.content.encode()))

    async def attach(
        self, posted: set[str], *, known: bool, calm: Calm, there: bool | None = None
    ) -> None:
        """Upload it unless `posted` (what this process put under the message) says it is
        there, or the thread shows it; `known`: this process posted the message, so nothing
        of an earlier process can be in the thread; `there`: what a lookup of the thread
        made just now found (None: not looked)."""
        mark = fingerprint(self.filename, self.content)
        if mark in posted:
            return
        tried = f"tried:{mark}"
        if tried not in posted and there is not None:
            landed = there
        else:
            landed = (not known or tried in posted) and await self._landed()
        if landed:
            log.info("run %d: its %s was shared before; not again", self.run.id, self.filename)
            posted.add(mark)
            return
        posted.add(tried)
        try:
            await calm(self._upload, "the upload of a long answer")
        except SlackApiError:
            if not await self._landed():
                raise
            log.info("run %d: %s shared although Slack refused it", self.run.id, self.filename)
        posted.add(mark)

    async def _upload(self) -> Any:
        return await self.client.files_upload_v2(
            channel=self.run.channel_id,
            thread_ts=self.thread_ts,
            filename=self.filename,
            title=self.filename,
            content=self.content,
            initial_comment=COMMENT,
        )

    async def _landed(self) -> bool:
        [found] = await find_files(self.client, self.run, self.thread_ts, [self.looked_for])
        return found is not None
