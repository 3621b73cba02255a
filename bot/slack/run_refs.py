"""Finding a run's own messages again, through Slack message metadata.

A run's message is posted with metadata `{event_type: "handinger_run", event_payload: {run_id,
ref}}`, and each continuation of its answer with the part number added (`part`). Such a message
can be found when Slack may have posted it without the app learning its `ts`: the process
stopped after `chat.postMessage` reached Slack but before the `ts` was recorded, or Slack answered
a 5xx or dropped the connection after posting. The thread (`conversations.replies`) or, for a
message that starts a thread, the channel's recent history (`conversations.history`) is searched
for the marked message, which is then taken over instead of posting a second one; and when a
run's message is finished again after a restart, the thread is searched once for the parts of
its answer already posted (`find_parts`), so none is posted twice. Files carry no metadata:
an upload taken up again after a restart looks in the thread for the same file (name, title and
size) shared since the run started (`find_files`). Both methods
return metadata only with `include_all_metadata` (the app subscribes to no metadata events) and
need the `*:history` scopes the app already has for message events. A natively streamed
message carries no metadata until it is closed; one whose `ts` was never recorded is found by
elimination (`find_unrecorded_stream`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from ..store import Run

log = logging.getLogger(__name__)

EVENT_TYPE = "handinger_run"
NOTICE_TYPE = "handinger_notice"
HISTORY_MARGIN = 600.0
"""Seconds before the run was created that the channel's history is searched from (the
message cannot be older; the margin covers a clock skew between the app and Slack)."""
MAX_PAGES = 10


@dataclass(frozen=True, slots=True)
class Marker:
    """What identifies one message of a run: the run's `ref`, and `part` for a continuation
    (None for the run's own message)."""

    run_id: int
    ref: str
    part: int | None = None

    @staticmethod
    def of(run: Run, part: int | None = None) -> Marker | None:
        """The marker of a run's message (None for a run from before runs had a `ref`)."""
        return None if run.ref is None else Marker(run.id, run.ref, part)

    def metadata(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"run_id": self.run_id, "ref": self.ref}
        if self.part is not None:
            payload["part"] = self.part
        return {"event_type": EVENT_TYPE, "event_payload": payload}

    def marks(self, message: Any) -> bool:
        payload = _payload(message)
        return payload is not None and (payload.get("ref"), payload.get("part")) == (
            self.ref,
            self.part,
        )


def notice_metadata(kind: str) -> dict[str, Any]:
    """The metadata of the app's text-only thread messages (the greeting, a context notice), so
    that an unrecorded stream (`find_unrecorded_stream`) is never confused with one."""
    return {"event_type": NOTICE_TYPE, "event_payload": {"kind": kind}}


async def find_unrecorded_stream(client: AsyncWebClient, run: Run) -> str | None:
    """The newest natively streamed message a stopped process started for `run` without
    recording it, or None (as in `find_marked`, also when the lookup fails).

    `chat.startStream` takes no metadata, so such a message is recognised by what only it can
    be: the app's own message in the run's thread, after the message that asked for the run,
    with no metadata, no blocks and no files. Every other message of the app there has one of
    them: cards and parts carry a `Marker`, closed streams and finished cards have blocks,
    notices carry `notice_metadata`. A thread runs one turn at a time, so an older turn's
    message was closed (has blocks) before this run's turn began.
    """
    if run.thread_ts is None or run.trigger_ts is None:
        return None
    found: str | None = None
    try:
        async for message in _messages(client, run, run.thread_ts):
            ts = str(message.get("ts", ""))
            if (
                message.get("bot_id")
                and float(ts or 0) > float(run.trigger_ts)
                and not message.get("metadata")
                and not message.get("blocks")
                and not message.get("files")
                and (found is None or float(ts) > float(found))
            ):
                found = ts
    except Exception as error:  # best effort: any failure means "not found"
        log.warning("run %d: cannot look for its unrecorded stream: %r", run.id, error)
        return None
    return found


def _payload(message: Any) -> dict[str, Any] | None:
    """The `event_payload` of a message marked by this app, else None."""
    metadata = message.get("metadata") if isinstance(message, dict) else None
    if not isinstance(metadata, dict) or metadata.get("event_type") != EVENT_TYPE:
        return None
    payload = metadata.get("event_payload")
    return payload if isinstance(payload, dict) else None


def run_metadata(run: Run) -> dict[str, Any] | None:
    """The metadata that marks a run's message as this run's (None for a run without `ref`)."""
    marker = Marker.of(run)
    return None if marker is None else marker.metadata()


async def find_run_message(client: AsyncWebClient, run: Run) -> str | None:
    """The `ts` of the run's own message, or None (see `find_marked`)."""
    marker = Marker.of(run)
    return None if marker is None else await find_marked(client, run, run.thread_ts, marker)


async def find_marked(
    client: AsyncWebClient, run: Run, thread_ts: str | None, marker: Marker
) -> str | None:
    """The `ts` of the message carrying `marker` in thread `thread_ts` (in the channel's recent
    history when None), or None, also when the lookup fails in any way: the caller then posts
    anew, since a duplicate is better than no answer."""
    try:
        async for message in _messages(client, run, thread_ts):
            if marker.marks(message):
                return str(message["ts"])
    except Exception as error:  # best effort: any failure means "not found"
        log.warning("run %d: cannot look for its earlier message: %r", run.id, error)
    return None


@dataclass(frozen=True, slots=True)
class Earlier:
    """What of a long answer is already in its thread: continuation part numbers, and for each
    file looked for its id (None when not there)."""

    parts: set[int]
    files: list[str | None]


async def find_earlier(
    client: AsyncWebClient, run: Run, thread_ts: str, files: Sequence[tuple[str, str, int]] = ()
) -> Earlier:
    """The run's continuations and files (`(name, title, size)`, see `find_files`) already in
    thread `thread_ts`: one lookup for all of them, when the app may have posted some before
    it restarted. Nothing found when the lookup fails (everything is then posted, see
    `find_marked`)."""
    since = run.started_at or run.created_at
    parts: set[int] = set()
    found: list[str | None] = [None] * len(files)
    try:
        async for message in _messages(client, run, thread_ts):
            part = _part_of(message, run)
            if part is not None:
                parts.add(part)
            if float(message.get("ts") or 0) >= since:
                _match_files(message, files, found)
    except Exception as error:  # best effort, as in `find_marked`
        log.warning("run %d: cannot look for its earlier parts and uploads: %r", run.id, error)
        return Earlier(set(), [None] * len(files))
    return Earlier(parts, found)


def _part_of(message: Any, run: Run) -> int | None:
    payload = _payload(message)
    if run.ref is None or payload is None or payload.get("ref") != run.ref:
        return None
    part = payload.get("part")
    return part if isinstance(part, int) and not isinstance(part, bool) else None


def _match_files(
    message: Any, wanted: Sequence[tuple[str, str, int]], found: list[str | None]
) -> None:
    for file in message.get("files") or []:
        shown = (file.get("name"), file.get("title"), file.get("size"))
        for index, looked_for in enumerate(wanted):
            if found[index] is None and shown == looked_for and file["id"] not in found:
                found[index] = str(file["id"])
                break


async def find_files(
    client: AsyncWebClient, run: Run, thread_ts: str, wanted: Sequence[tuple[str, str, int]]
) -> list[str | None]:
    """For each `(name, title, size)`, the id of such a file shared in thread `thread_ts` since
    the run started (files of earlier turns are older), else None; all None when the lookup
    fails (every file is then uploaded, see `find_marked`)."""
    since = run.started_at or run.created_at
    found: list[str | None] = [None] * len(wanted)
    try:
        async for message in _messages(client, run, thread_ts):
            if float(message.get("ts") or 0) < since:
                continue
            _match_files(message, wanted, found)
    except Exception as error:  # best effort, as in `find_marked`
        log.warning("run %d: cannot look for its earlier uploads: %r", run.id, error)
        return [None] * len(wanted)
    return found


async def _messages(client: AsyncWebClient, run: Run, thread_ts: str | None) -> AsyncIterator[Any]:
    """The messages of thread `thread_ts` (of the channel's recent history when None), with
    their metadata, page by page up to `MAX_PAGES`."""
    args: dict[str, Any] = {"channel": run.channel_id, "include_all_metadata": True, "limit": 200}
    for _ in range(MAX_PAGES):
        if thread_ts is not None:
            page = await client.conversations_replies(ts=thread_ts, **args)
        else:
            oldest = f"{run.created_at - HISTORY_MARGIN:.6f}"
            page = await client.conversations_history(oldest=oldest, **args)
        for message in page.get("messages") or []:
            yield message
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return
        args["cursor"] = cursor
