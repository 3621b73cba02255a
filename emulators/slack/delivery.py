"""Getting envelopes to the app: picks the transport, waits for acks, retries events.

Events are retried like Slack does (up to 3 retries: right away, then after 1 and 5 emulated
minutes) with `retry_attempt`/`retry_reason` (Socket Mode) or `X-Slack-Retry-*` headers (HTTP).
Slash commands and interactions are delivered once; if the app misses the ack deadline the user
just sees an error, so there is nothing to retry.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import traceback

from .clock import Clock
from .config import Settings
from .events import event_callback
from .records import Records
from .state import Workspace
from .transport import JSON, AckResult, Transport


class Delivery:
    """Owns every in-flight delivery task so `reset` can cancel them all."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        records: Records,
        socket: Transport,
        http: Transport,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.records = records
        self.socket = socket
        self.http = http
        self._event_ids = itertools.count(1)
        self._tasks: dict[str, asyncio.Task[bool]] = {}
        self._all: set[asyncio.Task[bool]] = set()

    def transport(self) -> Transport:
        return self.http if self.settings.request_url else self.socket

    def reset(self) -> None:
        for task in self._all:
            task.cancel()
        self._all.clear()
        self._tasks.clear()

    # events ---------------------------------------------------------------------------------

    def emit(self, workspace: Workspace, event: JSON, *, authorized: bool = True) -> str:
        """Queue one event for the app; returns its `event_id` at once."""
        event_id = f"Ev{next(self._event_ids):010d}"
        wall = int(self.clock.wall())
        body = event_callback(workspace, event, event_id, wall, authorized=authorized)
        label = event["type"] + (f"/{event['subtype']}" if event.get("subtype") else "")
        task = asyncio.ensure_future(self._deliver_event(workspace.id, event_id, label, body))
        self._tasks[event_id] = task
        self._all.add(task)
        task.add_done_callback(self._finished)
        return event_id

    def _finished(self, task: asyncio.Task[bool]) -> None:
        """Drop a finished task; an emulator bug inside it is printed, never swallowed."""
        self._all.discard(task)
        if not task.cancelled() and task.exception() is not None:
            traceback.print_exception(task.exception())

    async def wait(self, event_ids: list[str], within: float) -> bool:
        """True once every listed event was acked (False on timeout or exhausted retries)."""
        tasks = [self._tasks[e] for e in event_ids if e in self._tasks]
        if not tasks:
            return True
        done, _ = await asyncio.wait(tasks, timeout=within)
        return len(done) == len(tasks) and all(
            not t.cancelled() and t.exception() is None and t.result() for t in done
        )

    async def _deliver_event(self, team: str, event_id: str, label: str, body: JSON) -> bool:
        records: list[JSON] = []
        reason = ""
        for attempt in range(len(self.settings.retry_delays) + 1):
            if attempt > 0:
                await self.clock.sleep(self.settings.retry_delays[attempt - 1])
                if any(r.get("late_ack_ms") is not None for r in records):
                    return True
            record = self._record("events_api", team, attempt, reason, event_id, label)
            records.append(record)
            result = await self._attempt("events_api", body, attempt, reason, record)
            if result.acked:
                return True
            if result.no_retry:
                return False
            reason = result.error or "unknown_error"
        return False

    # commands and interactions -------------------------------------------------------------

    async def request(self, kind: str, team: str, payload: JSON, label: str) -> AckResult:
        """Deliver a slash command or interaction once and report how the ack went."""
        record = self._record(kind, team, 0, "", None, label)
        return await self._attempt(kind, payload, 0, "", record)

    # shared ---------------------------------------------------------------------------------

    def _record(
        self,
        kind: str,
        team: str,
        attempt: int,
        reason: str,
        event_id: str | None,
        label: str,
    ) -> JSON:
        return self.records.add_ack(
            {
                "type": kind,
                "team": team,
                "event_id": event_id,
                "event_type": label,
                "attempt": attempt,
                "retry_reason": reason,
                "sent_at": self.clock.wall(),
                "acked": False,
                "ack_ms": None,
                "status": None,
                "error": None,
            }
        )

    async def _attempt(
        self, kind: str, payload: JSON, attempt: int, reason: str, record: JSON
    ) -> AckResult:
        started = time.monotonic()
        result = await self.transport().send(
            kind, payload, attempt=attempt, retry_reason=reason, record=record
        )
        record["acked"] = result.acked
        record["status"] = result.status
        record["error"] = result.error
        if result.ack_ms is None and result.acked:
            result.ack_ms = (time.monotonic() - started) * 1000
        record["ack_ms"] = round(result.ack_ms, 3) if result.ack_ms is not None else None
        return result
