"""Socket Mode: `apps.connections.open` tickets, the `/link/` websocket, envelopes and acks.

aiohttp's server answers the SDK's `sdk-ping-pong:<ts>` PINGs with an echoing PONG
(`autoping=True`), which is all slack_sdk's keep-alive needs. Each envelope goes to one open
connection (round robin), as Slack does; the app acks with `{"envelope_id": ...}`, optionally
with a `payload` (slash-command and view-submission responses).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from .config import Settings
from .state import APP_ID
from .transport import JSON, AckResult

MAX_CONNECTIONS = 10


@dataclass
class Connection:
    id: str
    ws: web.WebSocketResponse
    opened: float
    transport: asyncio.BaseTransport | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, message: JSON) -> None:
        async with self.lock:
            await self.ws.send_str(json.dumps(message))


@dataclass
class _Pending:
    future: asyncio.Future[JSON | None]
    record: JSON
    started: float


class SocketHub:
    """Open app connections and the envelopes waiting for their ack."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tickets: set[str] = set()
        self.connections: list[Connection] = []
        self.history: list[JSON] = []
        self._pending: dict[str, _Pending] = {}
        self._ids = itertools.count(1)
        self._turn = 0
        self._changed = asyncio.Event()
        self._closing: set[asyncio.Future[bool]] = set()

    def issue_url(self, base_url: str) -> str:
        """A single-use `ws://` URL, as `apps.connections.open` returns a `wss://` one."""
        ticket = secrets.token_hex(8)
        self.tickets.add(ticket)
        ws_base = base_url.replace("http://", "ws://", 1)
        return f"{ws_base}/link/?ticket={ticket}&app_id={APP_ID}"

    def reset(self) -> None:
        """Forget pending acks and closed connections; open connections stay."""
        self.history = [h for h in self.history if h["closed"] is None]
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.cancel()
        self._pending.clear()

    # the websocket --------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self.tickets:
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        self.tickets.discard(ticket)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = Connection(f"ws{next(self._ids)}", ws, time.time(), request.transport)
        if len(self.connections) >= MAX_CONNECTIONS:
            await conn.send({"type": "disconnect", "reason": "too_many_websockets"})
            await ws.close()
            return ws
        entry: JSON = {"id": conn.id, "opened": conn.opened, "closed": None}
        self.history.append(entry)
        try:
            await conn.send(
                {
                    "type": "hello",
                    "num_connections": len(self.connections) + 1,
                    "debug_info": {
                        "host": "emulator",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": APP_ID},
                }
            )
            self.connections.append(conn)  # only after `hello`, so envelopes never precede it
            self._signal()
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._on_text(message.data)
        finally:
            if conn in self.connections:
                self.connections.remove(conn)
            entry["closed"] = time.time()
            self._signal()
        return ws

    def _on_text(self, data: str) -> None:
        try:
            message = json.loads(data)
        except json.JSONDecodeError:
            return
        if not isinstance(message, dict):
            return
        pending = self._pending.get(str(message.get("envelope_id")))
        if pending is None:
            return
        elapsed = (time.monotonic() - pending.started) * 1000
        payload = message.get("payload")
        if pending.future.done():
            # Acked after the deadline: Slack has already retried, but we keep the latency.
            pending.record["late_ack_ms"] = round(elapsed, 3)
            del self._pending[str(message["envelope_id"])]
            return
        pending.record["ack_ms"] = round(elapsed, 3)
        pending.future.set_result(payload if isinstance(payload, dict) else None)

    def _signal(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # sending --------------------------------------------------------------------------------

    async def wait_connected(self, minimum: int, within: float | None) -> int:
        """Wait until at least `minimum` connections are open (or the timeout passes)."""
        loop = asyncio.get_running_loop()
        deadline = None if within is None else loop.time() + within
        while len(self.connections) < minimum:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._changed.wait()
        return len(self.connections)

    def _pick(self) -> Connection | None:
        live = [c for c in self.connections if not c.ws.closed]
        if not live:
            return None
        self._turn += 1
        return live[self._turn % len(live)]

    async def send(
        self, kind: str, payload: JSON, *, attempt: int, retry_reason: str, record: JSON
    ) -> AckResult:
        """Send one envelope and wait up to the ack timeout for its ack.

        Events wait for a connection indefinitely (Slack keeps them until the app is back);
        commands and actions fail with `dispatch_failed` if no app connects in time.
        """
        wait = None if kind == "events_api" else self.settings.ack_timeout
        await self.wait_connected(1, wait)
        conn = self._pick()
        record["transport"] = "socket"
        if conn is None:
            return AckResult(False, error="dispatch_failed")
        envelope_id = f"{secrets.token_hex(4)}-{next(self._ids)}"
        envelope: JSON = {
            "envelope_id": envelope_id,
            "type": kind,
            "accepts_response_payload": kind == "slash_commands"
            or payload.get("type") in ("view_submission", "block_suggestion"),
            "payload": payload,
        }
        if kind == "events_api":
            envelope["retry_attempt"] = attempt
            envelope["retry_reason"] = retry_reason
        record["envelope_id"] = envelope_id
        record["connection"] = conn.id
        future: asyncio.Future[JSON | None] = asyncio.get_running_loop().create_future()
        self._pending[envelope_id] = _Pending(future, record, time.monotonic())
        try:
            await conn.send(envelope)
        except (ConnectionError, RuntimeError):
            self._pending.pop(envelope_id, None)
            return AckResult(False, error="timeout")
        try:
            ack = await asyncio.wait_for(asyncio.shield(future), self.settings.ack_timeout)
        except TimeoutError:
            future.cancel()
            return AckResult(False, error="timeout")
        self._pending.pop(envelope_id, None)
        return AckResult(True, record.get("ack_ms"), None, ack)

    async def disconnect(self, reason: str | None, drop: str | None, grace: float) -> int:
        """Ask every connection to go away, as Slack does before maintenance.

        `drop="close"` closes the websocket without a `disconnect` message; `drop="reset"`
        cuts the TCP connection with no close frame at all (the app notices via ping/pong).
        Otherwise a `disconnect` message is sent and the socket is closed `grace` real
        seconds later if the app has not replaced it by then.
        """
        targets = list(self.connections)
        for conn in targets:
            if drop == "reset":
                if isinstance(conn.transport, asyncio.Transport):
                    conn.transport.abort()
                continue
            if drop:
                await conn.ws.close(code=1001, message=b"dropped by emulator")
                continue
            with contextlib.suppress(ConnectionError, RuntimeError):
                await conn.send(
                    {
                        "type": "disconnect",
                        "reason": reason or "refresh_requested",
                        "debug_info": {"host": "emulator"},
                    }
                )
            asyncio.get_running_loop().call_later(grace, self._close_later, conn)
        return len(targets)

    def _close_later(self, conn: Connection) -> None:
        if conn in self.connections and not conn.ws.closed:
            task = asyncio.ensure_future(conn.ws.close(code=1001, message=b"refresh"))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
