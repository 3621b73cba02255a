"""Native streaming of answers that live in a thread: `chat.startStream` → `appendStream` →
`stopStream`, the text as markdown and each agent step as a `task_update` chunk.

Which runs: those a message started (a mention, a DM, an assistant thread, a follow-up in a
thread: `run.trigger_ts` is set). The `/handinger` card and digests stay edited messages.

Pacing (ARCHITECTURE.md rule 3): `chat.appendStream` is Tier 4 (100 a minute per workspace),
so appends go through an `EditScheduler` of their own, paced by `APPEND_POLICY` (coalesced:
one append carries all that is new; fair across streams; first words first; a 429 pauses the
workspace). Starting a stream
is Tier 2 (20 a minute): a local bucket spends at most `starts_per_minute`, and a run that finds
it empty goes through the edit path instead.

Fallback, never a failure: a workspace that refuses streaming (`unknown_method`, `not_allowed`,
a plan without it, …) is not asked again for `refused_for` seconds, and its runs are edited
like the card. A stream Slack stops taking (expired, `stopped_by_user`, any refusal) takes no
more appends; its final content is then an edit of the same message by the caller (`finish`
answers "fallback"). The final content always comes from the finished view, that is from
`GET /api/workers/{id}` (rule 1). In assistant threads (DMs) the thread's status says what
the agent is doing (`status_line`), sent with the appends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from slack_sdk.errors import SlackApiError

from ..core.views import LiveView, RunView
from ..store import Run
from .clients import TeamClients
from .edit_lane import EditPolicy
from .edit_scheduler import EditScheduler, RateLimited, Unchanged
from .editing import MessageKey
from .posting import retry_after
from .render import render_stream_end
from .shared_rates import STATUS_PATIENCE, SharedRates
from .stream_chunks import StreamedState, status_line
from .transient import code_of, is_transient

log = logging.getLogger(__name__)

APPEND_POLICY = EditPolicy(
    interval=1.0,
    per_minute=75.0,
    burst=25.0,
    final_share=0.0,
    max_in_flight=8,
    reserves=(0.0, 0.0, 5.0, 10.0),
)
"""Tier 4 is 100 a minute per workspace: a burst of 25 and 75 a minute never pass 100 in any
minute. Appends that only update tasks or the status leave 10 tokens, and more words 5, so the
first words of answers starting together go out at once. No room is kept for final edits: a
stream ends with `chat.stopStream`, which is not an append."""
GONE = ("message_not_in_streaming_state", "stopped_by_user", "message_not_found")
"""The stream is over on Slack's side: nothing more can be appended or stopped."""

REFUSING = frozenset(
    {
        "unknown_method",
        "not_allowed",
        "not_allowed_token_type",
        "feature_not_enabled",
        "team_not_allowed",
        "paid_only",
        "missing_scope",
    }
)
"""What says this workspace (its plan, its token, the app's setup) does not stream at all."""

Ending = Literal["streamed", "fallback"]


@dataclass(slots=True)
class Stream:
    """One streamed message and what it shows."""

    run_id: int
    key: MessageKey
    thread_ts: str
    assistant: bool
    state: StreamedState = field(default_factory=StreamedState)
    status: str | None = None
    broken: str | None = None
    closed: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class StartBudget:
    """A token bucket per workspace for `chat.startStream` (Tier 2)."""

    def __init__(self, per_minute: float, clock: Callable[[], float]) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, team: str) -> bool:
        now = self._clock()
        tokens, updated = self._buckets.get(team, (self.per_minute, now))
        tokens = min(self.per_minute, tokens + (now - updated) * self.per_minute / 60)
        if tokens < 1:
            self._buckets[team] = (tokens, now)
            return False
        self._buckets[team] = (tokens - 1, now)
        return True

    def empty(self, team: str, for_seconds: float) -> None:
        """Slack said 429: no token until `for_seconds` have passed."""
        self._buckets[team] = (-for_seconds * self.per_minute / 60, self._clock())


class NativeStreams:
    """The streamed messages of thread answers, for `SlackSurface`."""

    def __init__(
        self,
        clients: TeamClients,
        *,
        starts_per_minute: float = 18.0,
        refused_for: float = 3600.0,
        policy: EditPolicy = APPEND_POLICY,
        clock: Callable[[], float] = time.monotonic,
        rates: SharedRates | None = None,
    ) -> None:
        self.clients = clients
        self.refused_for = refused_for
        self.appends: EditScheduler[MessageKey, LiveView] = EditScheduler(
            self._append,
            policy,
            retryable=is_transient,
            gate=rates.edits("chat.appendStream", policy) if rates is not None else None,
            pause=rates.pause("chat.appendStream") if rates is not None else None,
        )
        self._starts = StartBudget(starts_per_minute, clock)
        self._starts_per_minute = starts_per_minute
        self._rates = rates
        self._clock = clock
        self._streams: dict[MessageKey, Stream] = {}
        self._refused: dict[str, float] = {}

    async def aclose(self) -> None:
        await self.appends.aclose()

    def forget_workspace(self, team_id: str) -> None:
        self.appends.drop(team_id)
        for key in [k for k in self._streams if k.team == team_id]:
            del self._streams[key]

    def wants(self, run: Run) -> bool:
        """Whether this run's answer should stream natively."""
        if run.trigger_ts is None or run.thread_ts is None:
            return False
        return self._refused.get(run.team_id, 0.0) <= self._clock()

    # ---- the three moments of a stream ----------------------------------------------------

    async def open(self, run: Run, view: RunView, *, assistant: bool = False) -> str | None:
        """Start the run's stream; its ts, or None when the edit path must show this run.
        `assistant`: the thread is the assistant pane's, whose status the stream sets."""
        if not self.wants(run) or run.thread_ts is None:
            return None
        if not await self._may_start(run.team_id):
            log.info("run %d: stream budget spent in %s; editing instead", run.id, run.team_id)
            return None
        state = StreamedState()
        chunks, shown = state.delta(view)
        client = await self.clients.edit_client_for(run.team_id)
        first: dict[str, Any] = {"chunks": chunks} if chunks else {}
        try:
            response = await client.chat_startStream(
                channel=run.channel_id,
                thread_ts=run.thread_ts,
                recipient_user_id=run.user_id,
                recipient_team_id=run.team_id,
                task_display_mode="timeline",
                **first,
            )
        except SlackApiError as error:
            await self._refusal(run, error)
            return None
        except Exception as error:  # Slack unreachable: the edit path tries through it
            log.info("run %d: chat.startStream failed (%r); editing instead", run.id, error)
            return None
        ts = str(response["ts"])
        state.commit(view, shown)
        key = MessageKey(run.team_id, run.channel_id, ts)
        stream = Stream(run.id, key, run.thread_ts, assistant, state)
        self._streams[key] = stream
        if stream.assistant:
            await self._status(stream, status_line(view))
        log.info("run %d: streaming natively into %s", run.id, ts)
        return ts

    def progress(self, run: Run, live: LiveView) -> bool:
        """Queue an append for the run's stream (its view is built when the append is sent);
        False if it has none to append to."""
        if run.message_ts is None:
            return False
        key = MessageKey(run.team_id, run.channel_id, run.message_ts)
        stream = self._streams.get(key)
        if stream is None or stream.broken is not None:
            return False  # a stream Slack stopped taking is edited like a card
        if not stream.closed:
            self.appends.update(run.team_id, key, live, text_chars=live.text_chars)
        return True

    async def finish(self, run: Run, view: RunView) -> Ending | None:
        """Close the run's stream with the final view: "streamed" when the stream shows it all,
        "fallback" when the caller must edit the message; None if the run has no stream."""
        if run.message_ts is None:
            return None
        key = MessageKey(run.team_id, run.channel_id, run.message_ts)
        stream = self._streams.pop(key, None)
        if stream is None:
            return None
        self.appends.forget(run.team_id, key)
        async with stream.lock:
            stream.closed = True
            try:
                if stream.broken is None and view.state == "completed" and stream.state.fits(view):
                    chunks, _ = stream.state.delta(view, final=True)
                    if await self._stop(stream, chunks, render_stream_end(view)):
                        return "streamed"
                elif stream.broken is None:
                    chunks, _ = stream.state.delta(view, final=True)
                    await self._stop(stream, [c for c in chunks if c["type"] != "markdown_text"])
            finally:  # the answer first: clearing may wait for room in the conversation
                if stream.assistant and stream.status:
                    await self._status(stream, "", patience=STATUS_PATIENCE)
        log.info("run %d: finishing its streamed message with an edit", run.id)
        return "fallback"

    # ---- sending --------------------------------------------------------------------------

    async def _append(self, key: MessageKey, live: LiveView, final: bool) -> None:
        """The append scheduler's sender: what is new since the last append, in one call."""
        stream = self._streams.get(key)
        if stream is None or stream.closed or stream.broken is not None:
            raise Unchanged()
        async with stream.lock:
            if stream.closed or stream.broken is not None:
                raise Unchanged()
            view = live.build()
            chunks, shown = stream.state.delta(view)
            status = status_line(view) if stream.assistant else None
            if not chunks and status == stream.status:
                raise Unchanged()
            if chunks:
                client = await self.clients.edit_client_for(key.team)
                try:
                    await client.chat_appendStream(channel=key.channel, ts=key.ts, chunks=chunks)
                except SlackApiError as error:
                    wait = retry_after(error)
                    if wait is not None:
                        raise RateLimited(wait) from error
                    if is_transient(error):
                        raise
                    stream.broken = code_of(error)
                    log.info("stream %s: appends refused (%s)", key.ts, stream.broken)
                    return
                stream.state.commit(view, shown)
            if status is not None and status != stream.status:
                await self._status(stream, status)

    async def _stop(
        self,
        stream: Stream,
        chunks: list[dict[str, Any]],
        blocks: list[dict[str, Any]] | None = None,
    ) -> bool:
        """`chat.stopStream`; False when Slack would not take it (the caller edits instead)."""
        key = stream.key
        client = await self.clients.client_for(key.team)
        arguments: dict[str, Any] = {"chunks": chunks}
        if blocks:
            arguments["blocks"] = blocks
        try:
            await client.chat_stopStream(channel=key.channel, ts=key.ts, **arguments)
        except SlackApiError as error:
            stream.broken = code_of(error)
            log.info("stream %s: stop refused (%s)", key.ts, stream.broken)
            return False
        except Exception as error:
            log.info("stream %s: stop failed (%r)", key.ts, error)
            return False
        return True

    async def _status(self, stream: Stream, status: str, *, patience: float = 0.0) -> None:
        """The assistant thread's status line, when its conversation has room in every
        process's count (else the next append sets the newest; the clearing one waits up to
        `patience` s); a 429 pauses the conversation for all, any other refusal only stops
        further statuses."""
        key = stream.key
        if not await self._room_for_status(key, patience):
            return
        client = await self.clients.edit_client_for(key.team)
        try:
            await client.assistant_threads_setStatus(
                channel_id=key.channel, thread_ts=stream.thread_ts, status=status
            )
        except Exception as error:
            wait = retry_after(error) if isinstance(error, SlackApiError) else None
            if wait is not None and self._rates is not None:
                await self._paused("assistant.threads.setStatus", key.team, key.channel, wait)
                return
            log.info("stream %s: status not set (%r)", key.ts, error)
            stream.assistant = False
            return
        stream.status = status

    async def _room_for_status(self, key: MessageKey, patience: float) -> bool:
        if self._rates is None:
            return True
        try:
            return await self._rates.room_for_status(key.team, key.channel, patience)
        except Exception as exc:  # the database cannot say: Slack would refuse it
            log.warning("stream %s: shared status allowance unknown: %s", key.ts, exc)
            return True

    async def _paused(self, method: str, team: str, channel: str | None, seconds: float) -> None:
        """A 429 here pauses the scope for every process; if the database cannot be told,
        they find out from Slack."""
        if self._rates is None:
            return
        try:
            await self._rates.paused(method, team, channel, seconds)
        except Exception as exc:
            log.warning("other processes not told of the rate limit in %s: %s", team, exc)

    async def _may_start(self, team: str) -> bool:
        """A stream start fits this process's budget and the one all processes share."""
        if not self._starts.take(team):
            return False
        if self._rates is None:
            return True
        return await self._rates.start_stream(team, self._starts_per_minute) == 0.0

    async def _refusal(self, run: Run, error: SlackApiError) -> None:
        code = code_of(error)
        wait = retry_after(error)
        if wait is not None:
            self._starts.empty(run.team_id, wait)
            await self._paused("chat.startStream", run.team_id, None, wait)
        elif code in REFUSING:
            self._refused[run.team_id] = self._clock() + self.refused_for
        log.info("run %d: chat.startStream refused (%s); editing instead", run.id, code)
