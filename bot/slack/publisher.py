"""The Slack side of a run: post its message, edit it through the edit scheduler, finish it.

Implements the core's `RunSurface` with the Web API. Every call uses the bot token of the
run's own workspace (`TeamClients`). Slack errors a user or an admin can act on
(`not_in_channel`, `channel_not_found`, `is_archived`, `missing_scope`: see `refused`) are
explained to them here, ephemerally, and turned into `Undeliverable` so the core records the run
as failed, with that explanation, without calling Handinger.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from ..core.edits import EditScheduler, RateLimited
from ..core.files import LocalFile
from ..core.ports import Mark, Undeliverable
from ..core.views import RunView
from ..store import Run
from .clients import TeamClients
from .mrkdwn import escape
from .pacing import ChannelPacer
from .refused import error_code, explain
from .render import (
    FinalMessages,
    SlackMessage,
    render_final,
    render_notice,
    render_progress,
)
from .run_refs import find_run_message, run_metadata

log = logging.getLogger(__name__)

REACTIONS: dict[Mark, tuple[str | None, str]] = {
    "queued": (None, "hourglass_flowing_sand"),
    "started": ("hourglass_flowing_sand", "eyes"),
    "completed": ("eyes", "white_check_mark"),
    "failed": ("eyes", "x"),
}
"""For each mark: the reaction to take off the user's message and the one to put on."""


def retry_after(error: SlackApiError) -> float | None:
    """Seconds Slack asked us to wait, when the error is a 429."""
    if error.response is None or error.response.status_code != 429:
        return None
    headers = {k.lower(): v for k, v in (error.response.headers or {}).items()}
    value = headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return float(value) if value is not None else 1.0
    except ValueError:
        return 1.0


class SlackSurface:
    """Shows runs in Slack, in each run's workspace with that workspace's clients: the general
    one retries 429s itself; edits go through `edits` and posts through `pacer` instead."""

    def __init__(
        self,
        clients: TeamClients,
        *,
        edits: EditScheduler[SlackMessage] | None = None,
        pacer: ChannelPacer | None = None,
        max_post_attempts: int = 30,
    ) -> None:
        self.clients = clients
        self.edits: EditScheduler[SlackMessage] = edits or EditScheduler(self._send_edit)
        self.pacer = pacer or ChannelPacer()
        self.max_post_attempts = max_post_attempts

    async def aclose(self) -> None:
        await self.edits.aclose()

    def forget_workspace(self, team_id: str) -> None:
        """The app was uninstalled from a workspace: drop its pending edits and its clients."""
        dropped = self.edits.drop(team_id)
        if dropped:
            log.info("dropped %d pending edit(s) in %s", dropped, team_id)
        self.clients.forget(team_id)

    # ---- RunSurface -----------------------------------------------------------------------

    async def open(self, run: Run, view: RunView) -> str:
        message = render_progress(view)
        thread_ts = run.thread_ts  # None for a slash command: its card starts the thread
        metadata = run_metadata(run)  # so that `find` can recognise it after a restart
        try:
            return await self._post(run, message, thread_ts, metadata)
        except SlackApiError as error:
            code = error_code(error)
            if code == "not_in_channel" and await self._join(run):
                return await self._post(run, message, thread_ts, metadata)
            explanation = explain(error)
            if explanation is None:
                raise
            await self._tell_privately(run, explanation)
            raise Undeliverable(f"slack: {code}: {explanation}") from error

    async def find(self, run: Run) -> str | None:
        return await find_run_message(await self.clients.client_for(run.team_id), run)

    def progress(self, run: Run, view: RunView) -> None:
        if run.message_ts is None:
            return
        key = _key(run, run.message_ts)
        self.edits.update(run.team_id, key, render_progress(view), text_chars=len(view.text))

    async def finish(self, run: Run, view: RunView) -> None:
        if run.message_ts is None:
            raise Undeliverable("the run has no message to finish")
        final = render_final(view)
        key = _key(run, run.message_ts)
        try:
            await self.edits.finish(run.team_id, key, final.card)
        except SlackApiError as error:
            code = error_code(error)
            explanation = explain(error)
            if code in ("is_inactive", "missing_scope") and explanation is not None:
                await self._tell_privately(run, explanation)
                raise Undeliverable(f"slack: {code}: {explanation}") from error
            if code not in ("message_not_found", "cant_update_message"):
                raise
            log.info("run %d: its message is gone; posting the answer anew", run.id)
            await self._post(run, final.card, run.thread_ts)
        await self._post_overflow(run, final, run.thread_ts or run.message_ts)

    async def publish(self, run: Run, view: RunView) -> str:
        """A finished message posted at the top of the channel (a scheduled digest)."""
        final = render_final(view)
        try:
            ts = await self._post(run, final.card, None, run_metadata(run))
        except SlackApiError as error:
            explanation = explain(error)
            if explanation is None:
                raise
            raise Undeliverable(f"slack: {error_code(error)}: {explanation}") from error
        await self._post_overflow(run, final, ts)
        return ts

    async def tell(self, run: Run, text: str) -> None:
        await self._tell_privately(run, escape(text))

    async def _post_overflow(self, run: Run, final: FinalMessages, thread_ts: str) -> None:
        """What did not fit the card: continuation replies, then the whole answer as a file."""
        for part in final.continuations:
            await self._post(run, part, thread_ts)
        if final.attachment is not None:
            filename, content = final.attachment
            client = await self.clients.client_for(run.team_id)
            await client.files_upload_v2(
                channel=run.channel_id,
                thread_ts=thread_ts,
                filename=filename,
                title=filename,
                content=content,
                initial_comment="The full answer, too long for Slack messages.",
            )

    async def mark(self, run: Run, mark: Mark) -> None:
        if run.trigger_ts is None:
            return
        remove, add = REACTIONS[mark]
        if remove is not None:
            await self._reaction(run, "remove", run.trigger_ts, remove)
        await self._reaction(run, "add", run.trigger_ts, add)

    # ---- helpers --------------------------------------------------------------------------

    async def upload_files(
        self, run: Run, files: Sequence[LocalFile], comment: str
    ) -> list[str | None]:
        """One `files_upload_v2` call for all of a turn's files, into the run's thread."""
        uploads = [
            {"file": str(f.local_path), "filename": f.filename, "title": f.title} for f in files
        ]
        client = await self.clients.client_for(run.team_id)
        response = await client.files_upload_v2(
            file_uploads=uploads,
            channel=run.channel_id,
            thread_ts=run.thread_ts or run.message_ts,
            initial_comment=escape(comment),
        )
        uploaded = response.get("files") or []
        ids: list[str | None] = [f.get("id") if isinstance(f, dict) else None for f in uploaded]
        return ids + [None] * (len(files) - len(ids))

    async def notify(self, run: Run, text: str) -> None:
        """A one-line message in the run's thread (file problems and the like)."""
        message = render_notice(text)
        await self._post(run, message, run.thread_ts or run.message_ts)

    async def _post(
        self,
        run: Run,
        message: SlackMessage,
        thread_ts: str | None,
        metadata: dict[str, Any] | None = None,
    ) -> str:
        args: dict[str, Any] = {
            "channel": run.channel_id,
            "text": message.text,
            "blocks": message.blocks,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if thread_ts is not None:
            args["thread_ts"] = thread_ts
        if metadata is not None:
            args["metadata"] = metadata
        for attempt in range(1, self.max_post_attempts + 1):
            await self.pacer.wait(run.team_id, run.channel_id)
            client = await self.clients.edit_client_for(run.team_id)
            try:
                response = await client.chat_postMessage(**args)
            except SlackApiError as error:
                wait = retry_after(error)
                if wait is None or attempt == self.max_post_attempts:
                    raise
                log.info(
                    "chat.postMessage in %s rate limited; waiting %.0f s", run.channel_id, wait
                )
                self.pacer.penalize(run.team_id, run.channel_id, wait)
                continue
            return str(response["ts"])
        raise AssertionError("unreachable")

    async def _send_edit(self, key: Hashable, message: SlackMessage, final: bool) -> None:
        assert isinstance(key, tuple)
        team, channel, ts = key
        client = await self.clients.edit_client_for(team)
        try:
            await client.chat_update(
                channel=channel, ts=ts, text=message.text, blocks=message.blocks
            )
        except SlackApiError as error:
            wait = retry_after(error)
            if wait is not None:
                raise RateLimited(wait) from error
            if not final:
                log.info("progress edit of %s failed: %s", ts, error_code(error))
                return
            raise

    async def _join(self, run: Run) -> bool:
        client = await self.clients.client_for(run.team_id)
        try:
            await client.conversations_join(channel=run.channel_id)
        except SlackApiError as error:
            log.info("cannot join %s: %s", run.channel_id, error_code(error))
            return False
        return True

    async def _tell_privately(self, run: Run, text: str) -> None:
        message = render_notice(text, trusted=True)
        if run.response_url:
            webhook = AsyncWebhookClient(run.response_url)
            await webhook.send(text=message.text, blocks=message.blocks, response_type="ephemeral")
            return
        client = await self.clients.client_for(run.team_id)
        try:
            await client.chat_postEphemeral(
                channel=run.channel_id, user=run.user_id, text=message.text, blocks=message.blocks
            )
        except SlackApiError as error:
            log.info("cannot explain privately in %s: %s", run.channel_id, error_code(error))

    async def _reaction(self, run: Run, action: str, ts: str, name: str) -> None:
        client = await self.clients.client_for(run.team_id)
        channel = run.channel_id
        try:
            if action == "add":
                await client.reactions_add(channel=channel, timestamp=ts, name=name)
            else:
                await client.reactions_remove(channel=channel, timestamp=ts, name=name)
        except SlackApiError as error:
            code = error_code(error)
            if code in ("missing_scope", "is_archived"):
                log.warning("cannot mark %s with :%s: in %s: %s", ts, name, channel, explain(error))
            elif code not in ("already_reacted", "no_reaction"):
                raise


def _key(run: Run, ts: str) -> tuple[str, str, str]:
    """A message for the edit scheduler: its workspace (whose token edits it), channel, ts."""
    return (run.team_id, run.channel_id, ts)
