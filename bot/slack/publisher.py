"""The Slack side of a run: post its message, edit it through the edit scheduler, finish it.

Implements the core's `RunSurface` with the Web API. Every call uses the bot token of the
run's own workspace (`TeamClients`). Slack errors a user or an admin can act on
(`not_in_channel`, `channel_not_found`, `is_archived`, `missing_scope`: see `refused`) are
explained to them here, ephemerally, and turned into `Undeliverable` so the core records the run
as failed, with that explanation, without calling Handinger. Slack's passing failures (5xx,
dropped connections) are tried through for `patience` seconds per call (`transient`), then
reported as `NotShown`: Slack failed, not the run. Secrets are masked in every text from
elsewhere that is shown (errors, notices), not only in the logs.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from slack_sdk.errors import SlackApiError

from ..core.edits import EditScheduler, RateLimited
from ..core.files import LocalFile
from ..core.ports import Mark, NotShown, Undeliverable
from ..core.views import RunView
from ..redact import Redactor
from ..store import Run
from .clients import TeamClients, webhook_client
from .mrkdwn import escape
from .pacing import ChannelPacer
from .refused import explain
from .render import (
    FinalMessages,
    SlackMessage,
    render_final,
    render_notice,
    render_progress,
)
from .run_refs import find_run_message, run_metadata
from .transient import Patience, Sleep, calmly, code_of, is_transient

log = logging.getLogger(__name__)
T = TypeVar("T")

REACTIONS: dict[Mark, tuple[str | None, str]] = {
    "queued": (None, "hourglass_flowing_sand"),
    "started": ("hourglass_flowing_sand", "eyes"),
    "completed": ("eyes", "white_check_mark"),
    "failed": ("eyes", "x"),
    "recovered": ("x", "white_check_mark"),
}
"""For each mark: the reaction to take off the user's message and the one to put on."""

GONE_MESSAGE = ("message_not_found", "cant_update_message")
REFUSED_EDIT = ("is_inactive", "missing_scope")
"""The final edit was refused for good: the channel was archived, or the scope is gone."""
MAX_REMEMBERED = 1000
"""How many finished messages remember which continuations were posted under them."""


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
    one retries 429s itself; edits go through `edits` and posts through `pacer` instead.

    `patience`: seconds of waiting through Slack's passing failures per call before `NotShown`.
    `redactor` masks the configured secrets in errors and notices before they are shown.
    """

    def __init__(
        self,
        clients: TeamClients,
        *,
        edits: EditScheduler[RunView | SlackMessage] | None = None,
        pacer: ChannelPacer | None = None,
        max_post_attempts: int = 30,
        patience: float = 120.0,
        redactor: Redactor | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.clients = clients
        self.edits: EditScheduler[RunView | SlackMessage] = edits or EditScheduler(
            self._send_edit, retryable=is_transient
        )
        self.pacer = pacer or ChannelPacer()
        self.max_post_attempts = max_post_attempts
        self.patience = patience
        self.redactor = redactor or Redactor()
        self._sleep = sleep
        self._posted: dict[Hashable, set[str]] = {}  # what each message's overflow posted

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
        message = await asyncio.to_thread(render_progress, self._masked(view))
        thread_ts = run.thread_ts  # None for a slash command: its card starts the thread
        metadata = run_metadata(run)  # so that `find` can recognise it after a restart
        try:
            return await self._post(run, message, thread_ts, metadata)
        except SlackApiError as error:
            code = code_of(error)
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
        # The view, not its Block Kit: it is rendered only if and when this edit is sent.
        self.edits.update(run.team_id, key, self._masked(view), text_chars=len(view.text))

    async def finish(self, run: Run, view: RunView) -> None:
        """The final card, then what did not fit it. `NotShown` when Slack kept failing:
        calling again later finishes the job without posting any part twice."""
        if run.message_ts is None:
            raise Undeliverable("the run has no message to finish")
        final = await asyncio.to_thread(render_final, self._masked(view))
        key = _key(run, run.message_ts)
        try:
            await self.edits.finish(run.team_id, key, final.card)
        except Exception as error:
            if is_transient(error):
                raise NotShown(f"Slack kept failing the final edit: {error!r}") from error
            if isinstance(error, SlackApiError) and code_of(error) in REFUSED_EDIT:
                explanation = explain(error) or code_of(error)
                await self._tell_privately(run, explanation)
                raise Undeliverable(f"slack: {code_of(error)}: {explanation}") from error
            if not isinstance(error, SlackApiError) or code_of(error) not in GONE_MESSAGE:
                raise
            log.info("run %d: its message is gone; posting the answer anew", run.id)
            await self._post(run, final.card, run.thread_ts)
        await self._post_overflow(run, final, key, run.thread_ts or run.message_ts)

    async def publish(self, run: Run, view: RunView) -> str:
        """A finished message posted at the top of the channel (a scheduled digest)."""
        final = await asyncio.to_thread(render_final, self._masked(view))
        try:
            ts = await self._post(run, final.card, None, run_metadata(run))
        except SlackApiError as error:
            explanation = explain(error)
            if explanation is None:
                raise
            raise Undeliverable(f"slack: {code_of(error)}: {explanation}") from error
        await self._post_overflow(run, final, _key(run, ts), ts)
        return ts

    async def tell(self, run: Run, text: str) -> None:
        await self._tell_privately(run, escape(self.redactor.text(text)))

    async def _post_overflow(
        self, run: Run, final: FinalMessages, key: Hashable, thread_ts: str
    ) -> None:
        """What did not fit the card: continuation replies, then the whole answer as a file.

        Each is remembered once it is in Slack, so finishing the same message again (after a
        `NotShown`, or a Refresh) posts only what is missing.
        """
        if not final.continuations and final.attachment is None:
            return
        posted = self._remembered(key)
        for part in final.continuations:
            mark = _fingerprint(part.text, repr(part.blocks))
            if mark not in posted:
                await self._post(run, part, thread_ts)
                posted.add(mark)
        if final.attachment is not None:
            filename, content = final.attachment
            mark = _fingerprint(filename, content)
            if mark in posted:
                return
            client = await self.clients.client_for(run.team_id)
            await self._calmly(
                lambda: client.files_upload_v2(
                    channel=run.channel_id,
                    thread_ts=thread_ts,
                    filename=filename,
                    title=filename,
                    content=content,
                    initial_comment="The full answer, too long for Slack messages.",
                ),
                "the upload of a long answer",
            )
            posted.add(mark)

    def _remembered(self, key: Hashable) -> set[str]:
        posted = self._posted.pop(key, set())
        self._posted[key] = posted  # most recently used last
        while len(self._posted) > MAX_REMEMBERED:
            del self._posted[next(iter(self._posted))]
        return posted

    def _masked(self, view: RunView) -> RunView:
        """The view with secrets masked in the texts that come from elsewhere than the
        worker's answer: its error and notice (Handinger's or the app's words)."""
        if view.error is None and view.notice is None:
            return view
        mask = self.redactor.text
        return replace(
            view,
            error=None if view.error is None else mask(view.error),
            notice=None if view.notice is None else mask(view.notice),
        )

    async def _calmly(self, call: Callable[[], Awaitable[T]], what: str) -> T:
        return await calmly(call, what, budget=self.patience, sleep=self._sleep)

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
        response = await self._calmly(
            lambda: client.files_upload_v2(
                file_uploads=uploads,
                channel=run.channel_id,
                thread_ts=run.thread_ts or run.message_ts,
                initial_comment=escape(comment),
            ),
            "a file upload",
        )
        uploaded = response.get("files") or []
        ids: list[str | None] = [f.get("id") if isinstance(f, dict) else None for f in uploaded]
        return ids + [None] * (len(files) - len(ids))

    async def notify(self, run: Run, text: str) -> None:
        """A one-line message in the run's thread (file problems and the like)."""
        message = render_notice(self.redactor.text(text))
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
        patience = Patience(self.patience, sleep=self._sleep)
        limited = 0
        while True:
            await self.pacer.wait(run.team_id, run.channel_id)
            client = await self.clients.edit_client_for(run.team_id)
            try:
                response = await client.chat_postMessage(**args)
            except Exception as error:
                wait = retry_after(error) if isinstance(error, SlackApiError) else None
                if wait is not None:
                    limited += 1
                    if limited >= self.max_post_attempts:
                        raise
                    log.info(
                        "chat.postMessage in %s rate limited; waiting %.0f s", run.channel_id, wait
                    )
                    self.pacer.penalize(run.team_id, run.channel_id, wait)
                    continue
                if not is_transient(error):
                    raise
                await patience.pause(f"chat.postMessage in {run.channel_id}", error)
                continue
            return str(response["ts"])

    async def _send_edit(self, key: Hashable, content: RunView | SlackMessage, final: bool) -> None:
        """Send one edit; a progress view is rendered now, in a thread, so neither the stream's
        pace nor the answer's length costs the event loop anything (see `render_progress`)."""
        assert isinstance(key, tuple)
        team, channel, ts = key
        if isinstance(content, SlackMessage):
            message = content
        else:
            message = await asyncio.to_thread(render_progress, content)
        client = await self.clients.edit_client_for(team)
        try:
            await client.chat_update(
                channel=channel, ts=ts, text=message.text, blocks=message.blocks
            )
        except SlackApiError as error:
            wait = retry_after(error)
            if wait is not None:
                raise RateLimited(wait) from error
            if not final and not is_transient(error):  # a passing failure is sent again later
                log.info("progress edit of %s failed: %s", ts, code_of(error))
                return
            raise

    async def _join(self, run: Run) -> bool:
        client = await self.clients.client_for(run.team_id)
        try:
            await self._calmly(
                lambda: client.conversations_join(channel=run.channel_id), "conversations.join"
            )
        except SlackApiError as error:
            log.info("cannot join %s: %s", run.channel_id, code_of(error))
            return False
        return True

    async def _tell_privately(self, run: Run, text: str) -> None:
        """Through the command's `response_url` if there is one, else (or if that fails)
        with `chat.postEphemeral`."""
        message = render_notice(text, trusted=True)
        if run.response_url and await self._respond(run.response_url, message):
            return
        client = await self.clients.client_for(run.team_id)
        try:
            await self._calmly(
                lambda: client.chat_postEphemeral(
                    channel=run.channel_id,
                    user=run.user_id,
                    text=message.text,
                    blocks=message.blocks,
                ),
                "chat.postEphemeral",
            )
        except SlackApiError as error:
            log.info("cannot explain privately in %s: %s", run.channel_id, code_of(error))

    async def _respond(self, url: str, message: SlackMessage) -> bool:
        """Send an ephemeral reply to a `response_url`; False if Slack did not take it."""
        webhook = webhook_client(url)
        try:
            response = await webhook.send(
                text=message.text, blocks=message.blocks, response_type="ephemeral"
            )
        except Exception as error:
            if not is_transient(error):
                raise
            log.info("response_url failed (%r); sending the reply another way", error)
            return False
        if response.status_code != 200:
            log.info(
                "response_url answered %d; sending the reply another way", response.status_code
            )
            return False
        return True

    async def _reaction(self, run: Run, action: str, ts: str, name: str) -> None:
        client = await self.clients.client_for(run.team_id)
        channel = run.channel_id
        try:
            if action == "add":
                await self._calmly(
                    lambda: client.reactions_add(channel=channel, timestamp=ts, name=name),
                    "reactions.add",
                )
            else:
                await self._calmly(
                    lambda: client.reactions_remove(channel=channel, timestamp=ts, name=name),
                    "reactions.remove",
                )
        except SlackApiError as error:
            code = code_of(error)
            if code in ("missing_scope", "is_archived"):
                log.warning("cannot mark %s with :%s: in %s: %s", ts, name, channel, explain(error))
            elif code not in ("already_reacted", "no_reaction"):
                raise


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _key(run: Run, ts: str) -> tuple[str, str, str]:
    """A message for the edit scheduler: its workspace (whose token edits it), channel, ts."""
    return (run.team_id, run.channel_id, ts)
