"""Slack requests written down before they are acknowledged, and handled until their work is
recorded: by this process, or by another once this one died (`store/inbox.py`).

Slack sends an acknowledged request once. The ack goes out before the work is recorded (rule
4): Bolt acks a slash command, a click or an event and only then runs the listener, which may
read the thread and download files (seconds) before its run is inserted. A process killed in
between would lose the request. So the request is inserted first, under its replay key, with
its body and this process as owner; the ack follows. A listener's run completes the request
in the same transaction (`Runner.start_new`, `Runner.follow_up`, through
`core.requests.current_request`); a request that needs no run is completed when its listener
is done, or at once when no listener acts on it. A request still pending when its owner's
lease expires (a SIGKILL; a clean stop releases it at once) is taken over by a live process
and dispatched to Bolt again, with the same key: the listener's own claims count as its own
(`Store.claim_event(request=…)`), and a run recorded meanwhile would have completed it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from ..core.requests import current_request
from ..store import RequestOwner, Store
from .payloads import HUMAN_SUBTYPES, Kind

log = logging.getLogger(__name__)

HANDLING = "handinger_request"
"""The Bolt context key under which a dispatched request's `Handling` rides to the listener
runner's start and completion handlers (`inflight.py`)."""

MAX_TAKEOVERS = 5
"""A request taken over this many times is given up: a process stopped before finishing it each
time, so it may be what kills them (one request must not take every replica down in turn)."""

Receive = Callable[[str, Kind, dict[str, Any]], Awaitable[bool]]
"""Write a request down under its key before the ack; False if the key was claimed before."""


def inbox_key(kind: Kind, body: dict[str, Any], replay_key: str | None) -> str | None:
    """The key a checked request is written down under (its replay key; `event:<id>` for an
    event), or None for a message no listener acts on (a bot's, an edit, a channel message
    outside any thread), which is not written down at all."""
    if kind != "event":
        return replay_key
    event = body.get("event") or {}
    if event.get("type") == "message" and not _may_be_work(event):
        return None
    return f"event:{body['event_id']}"


def _may_be_work(message: dict[str, Any]) -> bool:
    """A person's message in a thread or a DM: the messages `listeners.messages` acts on
    (a mention elsewhere comes again as `app_mention`)."""
    subtype = message.get("subtype")
    if message.get("bot_id") or (subtype is not None and subtype not in HUMAN_SUBTYPES):
        return False
    in_thread = bool(message.get("thread_ts")) and message.get("thread_ts") != message.get("ts")
    return in_thread or message.get("channel_type") == "im"


@dataclass(slots=True)
class Handling:
    """One dispatch of a written-down request: whether a listener took it."""

    key: str
    started: bool = False


class IngressWriter:
    """The inbox's writes from HTTP mode's ingress thread, on a connection of its own opened
    on that thread's loop (the app's store belongs to the app's loop, which may be busy), so
    an ack waits for one insert and nothing else. `open` and `close` are the ingress web
    app's startup and cleanup."""

    def __init__(
        self, open_store: Callable[[], Awaitable[Store]], owner: str, seconds: float
    ) -> None:
        self._open = open_store
        self.owner = owner
        self.seconds = seconds
        self.store: Store | None = None

    async def open(self, _: object = None) -> None:
        self.store = await self._open()

    async def close(self, _: object = None) -> None:
        if self.store is not None:
            await self.store.close()
            self.store = None

    async def __call__(self, key: str, kind: Kind, body: dict[str, Any]) -> bool:
        if self.store is None:
            raise RuntimeError("the ingress's database connection is not open")
        return await self.store.receive_request(key, kind, body, self.owner, self.seconds)


class Inbox:
    """This process's side of the inbox: writes requests down, dispatches them to Bolt so
    that their work completes them, and takes over those whose owner died."""

    def __init__(self, app: AsyncApp, store: Store, owner: str, seconds: float) -> None:
        self.app = app
        self.store = store
        self.owner = owner
        self.seconds = seconds
        self._tasks: set[asyncio.Task[BoltResponse]] = set()

    async def receive(self, key: str, kind: Kind, body: dict[str, Any]) -> bool:
        """Write a request down on the app's own store (Socket Mode; HTTP mode's fallback)."""
        return await self.store.receive_request(key, kind, body, self.owner, self.seconds)

    async def dispatch(
        self, key: str | None, body: dict[str, Any], headers: dict[str, Any] | None = None
    ) -> BoltResponse:
        """Bolt's answer to a checked request; with `key`, the request was written down and
        the run its listener records completes it."""
        handling = Handling(key) if key is not None else None
        request = AsyncBoltRequest(
            # Parsed and checked already: Bolt takes a parsed body under its Socket Mode flag,
            # whose only other effect is to skip its signature check (done by the ingress).
            body=body,
            headers=headers,
            mode="socket_mode",
            context={HANDLING: handling} if handling is not None else None,
        )
        owner = RequestOwner(key, self.owner) if key is not None else None
        token = current_request.set(owner)  # the listener's task inherits it
        try:
            response = await self.app.async_dispatch(request)
        finally:
            current_request.reset(token)
        if handling is not None:
            await asyncio.sleep(0)  # a listener Bolt has just scheduled starts first
            if not handling.started:  # no listener acts on it: nothing more will happen
                await self.complete(handling.key)
        return response

    def listener_started(self, request: AsyncBoltRequest) -> None:
        handling = request.context.get(HANDLING)
        if isinstance(handling, Handling):
            handling.started = True

    async def listener_finished(self, request: AsyncBoltRequest) -> None:
        """A listener is done: its request is complete (a run it recorded completed it
        already; one it failed to record is not tried again: its error was logged)."""
        handling = request.context.get(HANDLING)
        if isinstance(handling, Handling):
            await self.complete(handling.key)

    async def complete(self, key: str) -> None:
        try:
            await self.store.complete_request(RequestOwner(key, self.owner))
        except Exception as exc:  # it stays pending: handled again if this process dies
            log.warning("Slack request %s not marked done: %s", key, exc)

    async def take_over(self) -> int:
        """Dispatch again every request whose owner's lease expired or was released; return
        how many."""
        taken = await self.store.take_orphan_requests(self.owner, self.seconds)
        for pending in taken:
            if pending.takeovers > MAX_TAKEOVERS:
                log.error(
                    "a Slack %s (%s) is given up: %d processes stopped while handling it",
                    pending.kind,
                    pending.key,
                    pending.takeovers,
                )
                await self.complete(pending.key)
                continue
            log.info("taking over a Slack %s its process did not finish", pending.kind)
            task = asyncio.create_task(self.dispatch(pending.key, pending.body))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(taken)

    async def watch(self, every: float) -> None:
        """Forever: take over what dead processes left (see `take_over`)."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.take_over()
            except Exception as exc:  # the database is out: try again at the next beat
                log.warning("Slack requests of stopped processes not checked: %s", exc)
