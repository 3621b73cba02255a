"""The Slack side of a run: post its message, edit it through the edit scheduler, finish it.

Implements the core's port (`core.ports.Surface`) with the Web API. Every call uses the bot
token of the run's own workspace (`TeamClients`). Posting (`posting.py`), editing (`editing.py`)
and private replies (`privately.py`) have modules of their own. Slack errors a user or an admin
can act on (`not_in_channel`, `channel_not_found`, `is_archived`, `missing_scope`: see
`refused`) are explained to them here, ephemerally, and turned into `Undeliverable` so the core
records the run as failed, with that explanation, without calling Handinger. Slack's passing
failures (5xx, dropped connections) are tried through for `patience` seconds per call
(`transient`), then reported as `NotShown`: Slack failed, not the run. Secrets are masked in
every text from elsewhere that is shown (errors, notices), not only in the logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TypeVar

from slack_sdk.errors import SlackApiError

from ..core.ports import (
    FileProblem,
    LocalFile,
    Mark,
    Notice,
    NotShown,
    ScheduleStopped,
    Undeliverable,
)
from ..core.views import LiveView, RunView
from ..redact import Redactor
from ..store import Run
from .answer_file import AnswerFile
from .blocks import SlackMessage
from .clients import TeamClients
from .edit_lane import EditPolicy
from .edit_scheduler import EditScheduler
from .editing import Editor, MessageKey, fingerprint
from .mrkdwn import escape
from .pacing import ChannelPacer
from .posting import Poster
from .privately import PrivateReplies
from .reactions import Reactions
from .refused import explain, undeliverable
from .render import FinalMessages, render_final, render_progress
from .replies import render_notice
from .run_refs import (
    Marker,
    find_earlier,
    find_files,
    find_run_message,
    find_unrecorded_stream,
)
from .shared_rates import SharedRates
from .streaming import NativeStreams
from .thread_status import IsAssistant, ThreadStatuses
from .transient import Sleep, calmly, code_of, is_transient
from .wording import file_problem_text, notice_text, schedule_stopped_text, upload_comment

log = logging.getLogger(__name__)
T = TypeVar("T")

GONE_MESSAGE = ("message_not_found", "cant_update_message")
REFUSED_EDIT = ("is_inactive", "missing_scope")
"""The final edit was refused for good: the channel was archived, or the scope is gone."""
MAX_REMEMBERED = 1000
"""How many messages remember which continuations were posted under them. One forgotten (or
posted before a restart) has its thread looked up once before its continuations are posted."""


class SlackSurface:
    """Shows runs in Slack, in each run's workspace with that workspace's clients: the general
    one retries 429s itself; edits go through `edits` and posts through `pacer` instead.

    `patience`: seconds of waiting through Slack's passing failures per call before `NotShown`.
    `redactor` masks the configured secrets in errors and notices before they are shown.
    `rates`: the allowances shared with other processes on the database (`shared_rates.py`).
    """

    def __init__(
        self,
        clients: TeamClients,
        *,
        edits: EditScheduler[MessageKey, LiveView | SlackMessage] | None = None,
        pacer: ChannelPacer | None = None,
        max_post_attempts: int = 30,
        patience: float = 120.0,
        redactor: Redactor | None = None,
        sleep: Sleep = asyncio.sleep,
        streams: NativeStreams | None = None,
        finished: Callable[[Run], None] | None = None,
        reactions: Reactions | None = None,
        is_assistant: IsAssistant | None = None,
        rates: SharedRates | None = None,
    ) -> None:
        self.clients = clients
        self.editor = Editor(clients)
        self.edits: EditScheduler[MessageKey, LiveView | SlackMessage] = edits or EditScheduler(
            self.editor.send,
            retryable=is_transient,
            gate=rates.edits("chat.update", EditPolicy()) if rates is not None else None,
            pause=rates.pause("chat.update") if rates is not None else None,
        )
        self.pacer = pacer or ChannelPacer(shared=rates.post if rates is not None else None)
        self.poster = Poster(
            clients,
            self.pacer,
            max_attempts=max_post_attempts,
            patience=patience,
            sleep=sleep,
            rates=rates,
        )
        self.private = PrivateReplies(clients, patience=patience, sleep=sleep)
        self.patience = patience
        self.redactor = redactor or Redactor()
        self._sleep = sleep
        self.streams = streams
        self._finished = finished
        self.reactions = reactions or Reactions(clients, sleep=sleep)
        self.statuses = ThreadStatuses(clients, is_assistant, rates=rates)
        # What each message's overflow posted, for the messages this process posted or finished.
        self._posted: dict[MessageKey, set[str]] = {}

    async def aclose(self) -> None:
        if self.streams is not None:
            await self.streams.aclose()
        await self.edits.aclose()
        await self.reactions.aclose()
        await self.statuses.aclose()

    def forget_workspace(self, team_id: str) -> None:
        """The app was uninstalled from a workspace: drop its pending edits and its clients."""
        dropped = self.edits.drop(team_id)
        if dropped:
            log.info("dropped %d pending edit(s) in %s", dropped, team_id)
        if self.streams is not None:
            self.streams.forget_workspace(team_id)
        self.reactions.forget_workspace(team_id)
        self.clients.forget(team_id)

    # ---- the port: runs -----------------------------------------------------------------------

    async def open(self, run: Run, view: RunView) -> str:
        """A thread answer streams natively when it can; anything else (and any refusal to
        stream) posts a card that is edited."""
        assistant = await self.statuses.assistant(run)
        if self.streams is not None:
            streamed = await self.streams.open(run, self._masked(view), assistant=assistant)
            if streamed is not None:
                return streamed
        message = await asyncio.to_thread(render_progress, self._masked(view))
        thread_ts = run.thread_ts  # None for a slash command: its card starts the thread
        marker = Marker.of(run)  # so that `find` can recognise it after a restart
        try:
            ts = await self.poster.post(run, message, thread_ts, marker)
        except SlackApiError as error:
            code = code_of(error)
            if code == "not_in_channel" and await self._join(run):
                ts = await self.poster.post(run, message, thread_ts, marker)
            else:
                explanation = explain(error, run.channel_id)
                if explanation is None:
                    raise
                await self.private.tell(run, explanation)
                raise Undeliverable(f"slack: {code}: {explanation}") from error
        self.editor.posted(_key(run, ts), message)
        self._remembered(_key(run, ts))  # nothing is posted under it yet
        if assistant:
            self.statuses.begin(run, view)
        return ts

    async def find(self, run: Run) -> str | None:
        """The run's marked card, else (when its answer may have streamed) its stream."""
        client = await self.clients.client_for(run.team_id)
        found = await find_run_message(client, run)
        if found is None and self.streams is not None and self.streams.wants(run):
            found = await find_unrecorded_stream(client, run)
            if found is not None:
                # closed now, so that it is edited like a card from here on
                log.info("run %d: found the stream it started before the restart", run.id)
                with contextlib.suppress(Exception):
                    await client.chat_stopStream(channel=run.channel_id, ts=found)
        return found

    def progress(self, run: Run, live: LiveView) -> None:
        """Per stream event: O(1), nothing read from the answer. The view is built (and the
        card rendered) only if and when an edit or append is sent."""
        if run.message_ts is None:
            return
        build = live.build
        masked = LiveView(live.text_chars, lambda: self._masked(build()))
        if self.streams is not None and self.streams.progress(run, masked):
            return
        self.statuses.update(run, masked)
        key = _key(run, run.message_ts)
        self.edits.update(run.team_id, key, masked, text_chars=live.text_chars)

    async def finish(self, run: Run, view: RunView) -> None:
        """The final card, then what did not fit it. `NotShown` when Slack kept failing:
        calling again later finishes the job without posting any part twice."""
        if run.message_ts is None:
            raise Undeliverable("the run has no message to finish")
        if self.streams is not None:
            ending = await self.streams.finish(run, self._masked(view))
            if ending == "streamed":
                self._done(run)
                return
        try:
            await self._show_final(run, view)
        finally:  # the answer first: a cleared status may wait for room in its conversation
            await self.statuses.end(run)
        self._done(run)

    async def _show_final(self, run: Run, view: RunView) -> None:
        """The final card, edited into the run's message (posted anew if it is gone), then
        what did not fit it."""
        assert run.message_ts is not None
        final = await asyncio.to_thread(render_final, self._masked(view))
        key = _key(run, run.message_ts)
        try:
            await self._final_edit(run, key, final.card)
        except Exception as error:
            if is_transient(error):
                raise NotShown(f"Slack kept failing the final edit: {error!r}") from error
            if isinstance(error, SlackApiError) and code_of(error) in REFUSED_EDIT:
                explanation = explain(error, run.channel_id) or code_of(error)
                await self.private.tell(run, explanation)
                raise Undeliverable(f"slack: {code_of(error)}: {explanation}") from error
            if not isinstance(error, SlackApiError) or code_of(error) not in GONE_MESSAGE:
                raise
            log.info("run %d: its message is gone; posting the answer anew", run.id)
            await self.poster.post(run, final.card, run.thread_ts, Marker.of(run, part=1))
        await self._post_overflow(run, final, key, run.thread_ts or run.message_ts)

    async def _final_edit(self, run: Run, key: MessageKey, card: SlackMessage) -> None:
        """The final edit; a message still streaming (its stream was started by a process that
        stopped) is stopped first, as Slack edits no message while it streams."""
        try:
            await self.edits.finish(run.team_id, key, card)
        except SlackApiError as error:
            if code_of(error) != "streaming_state_conflict":
                raise
            log.info("run %d: its message still streams; stopping it to edit it", run.id)
            client = await self.clients.client_for(run.team_id)
            with contextlib.suppress(SlackApiError):
                await client.chat_stopStream(channel=key.channel, ts=key.ts)
            await self.edits.finish(run.team_id, key, card)

    def _done(self, run: Run) -> None:
        if self._finished is not None:
            self._finished(run)

    async def publish(self, run: Run, view: RunView) -> str:
        """A finished message posted at the top of the channel (a scheduled digest)."""
        final = await asyncio.to_thread(render_final, self._masked(view))
        try:
            ts = await self.poster.post(run, final.card, None, Marker.of(run))
        except SlackApiError as error:
            refused = undeliverable(error, run.channel_id)
            if refused is None:
                raise
            raise refused from error
        key = _key(run, ts)
        self.editor.posted(key, final.card)
        self._remembered(key)  # nothing is posted under it yet
        await self._post_overflow(run, final, key, ts)
        return ts

    async def tell(self, run: Run, notice: Notice) -> None:
        await self.private.tell(run, escape(self.redactor.text(notice_text(notice))))

    async def tell_creator(self, stopped: ScheduleStopped) -> None:
        schedule = stopped.schedule
        text = self.redactor.text(schedule_stopped_text(stopped))
        await self.private.direct(schedule.team_id, schedule.creator_id, text)

    async def mark(self, run: Run, mark: Mark) -> None:
        """Wanted on the trigger message; the workspace's reaction lane sends it, paced."""
        self.reactions.mark(run, mark)

    # ---- files and notices ----------------------------------------------------------------

    async def upload_files(self, run: Run, files: Sequence[LocalFile]) -> list[str | None]:
        """One `files_upload_v2` call for all of a turn's files, into the run's thread."""
        comment = upload_comment(run.input, len(files))
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

    async def find_uploads(self, run: Run, files: Sequence[LocalFile]) -> list[str | None]:
        thread_ts = run.thread_ts or run.message_ts
        if thread_ts is None:
            return [None] * len(files)
        client = await self.clients.client_for(run.team_id)
        wanted = [(f.filename, f.title, f.size) for f in files]
        return await find_files(client, run, thread_ts, wanted)

    async def notify(self, run: Run, problem: FileProblem) -> None:
        """A one-line message in the run's thread about files that did not arrive."""
        message = render_notice(self.redactor.text(file_problem_text(problem)))
        await self.poster.post(run, message, run.thread_ts or run.message_ts)

    # ---- helpers --------------------------------------------------------------------------

    async def _post_overflow(
        self, run: Run, final: FinalMessages, key: MessageKey, thread_ts: str
    ) -> None:
        """What did not fit the card: continuation replies, then the whole answer as a file.

        Each is remembered once it is in Slack, so finishing the same message again (after a
        `NotShown`, or a Refresh) posts only what is missing. Each continuation is marked with
        its part number, so one Slack posted despite failing is not posted twice, and the parts
        of a message this process does not remember (it was posted before a restart) are
        looked up in the thread, once, before any is posted, together with the attachment,
        which carries no metadata: it is looked for by name and size (`answer_file.py`).
        """
        if not final.continuations and final.attachment is None:
            return
        known = key in self._posted
        posted = self._remembered(key)
        client = await self.clients.client_for(run.team_id)
        answer = (
            AnswerFile(client, run, thread_ts, final.attachment)
            if final.attachment is not None
            else None
        )
        earlier = None
        if not known and (answer is not None or run.ref is not None):
            looked_for = [answer.looked_for] if answer is not None else []
            earlier = await find_earlier(client, run, thread_ts, looked_for)
        for number, part in enumerate(final.continuations, start=2):
            mark = fingerprint(part.text, repr(part.blocks))
            if earlier is not None and number in earlier.parts:
                posted.add(mark)
            elif mark not in posted:
                await self.poster.post(run, part, thread_ts, Marker.of(run, part=number))
                posted.add(mark)
        if answer is not None:
            there = None if earlier is None else earlier.files[0] is not None
            await answer.attach(posted, known=known, there=there, calm=self._calmly)

    def _remembered(self, key: MessageKey) -> set[str]:
        posted = self._posted.pop(key, set())
        self._posted[key] = posted  # most recently used last
        while len(self._posted) > MAX_REMEMBERED:
            del self._posted[next(iter(self._posted))]
        return posted

    def _masked(self, view: RunView) -> RunView:
        """The view with secrets masked in the texts that come from elsewhere than the
        worker's answer: its failure (Handinger's words, or what a server said)."""
        error, mask = view.error, self.redactor.text
        if error is None:
            return view
        masked = mask(error) if isinstance(error, str) else replace(error, said=mask(error.said))
        return replace(view, error=masked)

    async def _calmly(self, call: Callable[[], Awaitable[T]], what: str) -> T:
        return await calmly(call, what, budget=self.patience, sleep=self._sleep)

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


def _key(run: Run, ts: str) -> MessageKey:
    return MessageKey(run.team_id, run.channel_id, ts)
