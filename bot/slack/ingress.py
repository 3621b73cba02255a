"""How Slack's requests reach Bolt: authenticated, read and checked first, in both modes.

HTTP mode: anyone can POST to the request URL. Bolt's own handler parses the body before it
checks the signature and raises on malformed input (a 500 and a traceback per request, from
anyone), and it reads any form body containing the word "payload" as an interaction (so a
`/handinger` command whose text said "payload" reached no listener). So here, before Bolt sees
a request, it is authenticated (Slack's signature over the body, a timestamp within 5
minutes), read (UTF-8; JSON for events, a form for commands, a `payload=` JSON form for
interactions), its shape checked (`payloads`), written down (the inbox, `inbox.py`: one
insert on the thread's own connection, which is also the replay claim) and answered
(`at_once`), all on the server's own thread (`ingress_thread`), so the ack never waits for the
app's busy event loop. Then, on the app's loop, Bolt gets the parsed body.

The database slower than `INBOX_WAIT`, or out: an event is not acknowledged (503), so Slack
sends it again (at once, then after one and five minutes); it is still handled if its write
lands after all (the retry is then a replay). A command or click, which Slack never sends
again, is acknowledged and written down from the app's loop once the database answers.

What the sender gets back:
    401  unsigned, forged, or stale (a clock more than 5 minutes off)
    413  a body over `MAX_BODY`
    400  signed, but not a request Slack sends, or a command or click the app cannot act on
         (Slack never retries those)
    200  and ignored: an event the app cannot act on (Slack retries an event on any other
         answer, and stops delivering events to an app that keeps failing), and a replay of a
         command or click already handled: it gets the answer the first one got at once
         (empty, or a reply that needed nothing from the app, such as the help), and nothing
         more happens
Each of these is counted in one rate-limited log line (`Refusals`), never logged one by one.

Socket Mode: envelopes arrive over the app's own authenticated connection, so only the shape
and replay checks apply; an envelope that fails them is acked and dropped. One that passes is
written down on the app's loop before Bolt acks it; if that fails, it is not acked, and Slack
sends an event again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import re
import time
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import send_async_response
from slack_bolt.adapter.socket_mode.internals import build_headers
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from .clients import webhook_client
from .inbox import Inbox, Receive, inbox_key
from .ingress_thread import Core
from .payloads import Kind, Unusable, check
from .refusals import Refusals
from .wording import NOT_TAKEN

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
"""Largest body read, in bytes. Slack's requests are a few kilobytes; a modal's state rarely
reaches a hundred."""
MAX_AGE = 300
"""Seconds a signed request stays valid (Slack's rule), so a captured one cannot be replayed
later."""
TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: int() would read any script's
SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
FORM_FIELDS = 100
SOCKET_KINDS: dict[str, Kind] = {
    "events_api": "event",
    "slash_commands": "command",
    "interactive": "interaction",
}

INBOX_WAIT = 1.5
"""Seconds the HTTP ingress waits for a request to be written down before it answers Slack
anyway (Slack gives up after 3)."""
AnswerAtOnce = Callable[[Kind, dict[str, Any]], dict[str, Any] | None]
"""`at_once.AtOnce`: the ack's arguments for a checked request, or None if Bolt must answer."""


class Refused(Exception):
    """The answer to a request the listeners will not see, and why (for the log)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Checks:
    """The check of a request's shape, and the count of the requests refused."""

    def __init__(self, where: str) -> None:
        self.refusals = Refusals(log, where)

    def check(self, kind: Kind, body: dict[str, Any]) -> str | None:
        """The key that makes a second delivery of this request a replay (None for events);
        raise `Refused` if the listeners cannot act on it."""
        try:
            return check(kind, body)
        except Unusable as unusable:
            raise Refused(200 if kind == "event" else 400, unusable.reason) from None

    def count(self, refused: Refused) -> None:
        answer = "ignored" if refused.status == 200 else str(refused.status)
        self.refusals.refused(f"{refused.reason} ({answer})")


class Gate(Checks):
    """The checks both modes share: the request's shape, and writing it down (`inbox.py`),
    which is also its claim against replays and takes the database, so a gate stays on the
    app's loop."""

    def __init__(self, receive: Receive, where: str) -> None:
        super().__init__(where)
        self.receive = receive

    async def written(self, kind: Kind, key: str | None, body: dict[str, Any]) -> None:
        """Write the request down under `key`; raise `Refused` if it was handled before."""
        if key is not None and not await self.receive(key, kind, body):
            raise Refused(200, f"replayed {kind}")

    async def admit(self, kind: Kind, body: dict[str, Any]) -> str | None:
        """The request's inbox key (None: not written down) once it is written down, if the
        listeners may act on it; raise `Refused` if not."""
        key = inbox_key(kind, body, self.check(kind, body))
        await self.written(kind, key, body)
        return key


class SlackEndpoint:
    """The aiohttp handler of `/slack/events` in HTTP mode, on the ingress thread
    (`ingress_thread`): it checks each request (`checks`), writes it down on the thread's own
    connection (`writer`) and answers it there, with `at_once`'s answer, before the app's loop
    sees it; then, on the app's loop (`core`), Bolt routes it to the listeners (`inbox`). A
    request `at_once` cannot answer (a modal's submission) waits for Bolt's answer."""

    def __init__(
        self,
        inbox: Inbox,
        signing_secret: str,
        checks: Checks,
        *,
        writer: Receive,
        replays: Gate,
        at_once: AnswerAtOnce,
        core: Core,
    ) -> None:
        self.inbox = inbox
        self.verifier = SignatureVerifier(signing_secret)
        self.checks = checks
        self.writer = writer
        self.replays = replays
        self.at_once = at_once
        self.core = core

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            text = self._authenticated(request.headers, await _read(request))
            kind, body = _parse(request.content_type, text)
            replay_key = self.checks.check(kind, body) if kind is not None else None
        except Refused as refused:
            self.checks.count(refused)
            if refused.status == 200:
                return web.Response(status=200)
            # The reasons are for the operator; an unauthenticated sender learns nothing.
            error = "invalid request" if refused.status == 401 else refused.reason
            return web.json_response({"error": error}, status=refused.status)
        headers = dict(request.headers)
        if kind is None:  # Slack's own checks: Bolt answers them
            work = self.inbox.dispatch(None, body, headers)
            return await to_aiohttp_response(await self.core.run(work))
        answer = self.at_once(kind, body)
        key = inbox_key(kind, body, replay_key)
        written = await self._write(key, kind, body)
        if written.done() and written.exception() is None and not written.result():
            self.checks.count(Refused(200, f"replayed {kind}"))
            return await _ack(answer or {})  # the answer the first one got at once
        if kind == "event" and not (written.done() and written.exception() is None):
            # Not acknowledged: Slack sends it again. Handled now only if written after all.
            if not written.done():
                self.core.start(self._dispatch(kind, key, body, headers, written), "an event")
            return web.Response(status=503)
        work = self._dispatch(kind, key, body, headers, written, fallback=True)
        if answer is None:  # a modal's submission: Bolt's answer
            return await to_aiohttp_response(await self.core.run(work))
        self.core.start(self._after_ack(work, kind, body), f"a Slack {kind}")
        return await _ack(answer)

    async def _write(
        self, key: str | None, kind: Kind, body: dict[str, Any]
    ) -> concurrent.futures.Future[bool]:
        """Write the request down on this thread, waiting at most `INBOX_WAIT` seconds; the
        future settles with the write: True (written), False (a replay), or its error. A
        request not written down (`key` None) is settled as written."""
        settled: concurrent.futures.Future[bool] = concurrent.futures.Future()
        if key is None:
            settled.set_result(True)
            return settled
        task = asyncio.ensure_future(self.writer(key, kind, body))
        task.add_done_callback(lambda done: _settle(settled, done))
        await asyncio.wait({task}, timeout=INBOX_WAIT)
        return settled

    async def _after_ack(
        self, work: Coroutine[Any, Any, BoltResponse], kind: Kind, body: dict[str, Any]
    ) -> None:
        """`work` for a request Slack already has its answer to. Slack saw a 200 and shows
        nothing if the app then fails to take the request, so whoever asked is told, through
        the request's `response_url` (commands and clicks have one). (Bolt itself tells a
        workspace where the app is not installed, through the same `response_url`.)"""
        try:
            failed = (await work).status >= 500  # Bolt's answer when a middleware raised
        except Exception:
            log.exception("taking a Slack %s failed after it was acknowledged", kind)
            failed = True
        response_url = body.get("response_url")
        if failed and isinstance(response_url, str) and response_url:
            await tell_not_taken(response_url)

    async def _dispatch(
        self,
        kind: Kind,
        key: str | None,
        body: dict[str, Any],
        headers: dict[str, Any],
        written: concurrent.futures.Future[bool],
        *,
        fallback: bool = False,
    ) -> BoltResponse:
        """On the app's loop, once the ingress's write settled: let Bolt route the request if
        it was written down (with `fallback`, from this loop when the ingress's write failed);
        drop a replay."""
        try:
            new = await asyncio.wrap_future(written)
        except Exception as error:
            if not fallback:
                log.warning(
                    "a Slack %s was not written down (%s); Slack sends it again", kind, error
                )
                return BoltResponse(status=200, body="")
            log.warning("a Slack %s is written down from the app's loop: %s", kind, error)
            try:
                await self.replays.written(kind, key, body)
            except Refused as refused:
                self.replays.count(refused)
                return BoltResponse(status=200, body="")
            new = True
        if not new:
            self.replays.count(Refused(200, f"replayed {kind}"))
            return BoltResponse(status=200, body="")
        return await self.inbox.dispatch(key, body, headers)

    def _authenticated(self, headers: Any, raw: bytes) -> str:
        """The body as text, if Slack signed it within the last 5 minutes."""
        timestamp = headers.get("X-Slack-Request-Timestamp")
        signature = headers.get("X-Slack-Signature")
        if timestamp is None or signature is None:
            raise Refused(401, "unsigned")
        if not TIMESTAMP.fullmatch(timestamp) or not SIGNATURE.fullmatch(signature):
            raise Refused(401, "malformed signature headers")
        if abs(time.time() - int(timestamp)) > MAX_AGE:
            raise Refused(401, "stale timestamp (is this server's clock right?)")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(400, "body is not UTF-8") from None
        if not self.verifier.is_valid(text, timestamp, signature):
            raise Refused(401, "bad signature (is SLACK_SIGNING_SECRET this app's?)")
        return text


def _settle(settled: concurrent.futures.Future[bool], done: asyncio.Future[bool]) -> None:
    if done.cancelled():
        settled.set_exception(TimeoutError("the write was cancelled"))
    elif (error := done.exception()) is not None:
        settled.set_exception(error)
    else:
        settled.set_result(done.result())


async def _ack(answer: dict[str, Any]) -> web.StreamResponse:
    return await to_aiohttp_response(await AsyncAck()(**answer))  # type: ignore[no-untyped-call]


async def tell_not_taken(response_url: str) -> None:
    """Tell the requester privately that the app could not take their request."""
    reply = {"text": NOT_TAKEN, "response_type": "ephemeral", "replace_original": False}
    try:
        answer = await webhook_client(response_url).send_dict(reply)
    except Exception as error:  # any transport failure: the log is all that is left
        log.warning("could not tell a requester that their request failed: %s", error)
        return
    if answer.status_code != 200:
        log.warning("Slack refused the notice of a failed request (%d)", answer.status_code)


async def _read(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise Refused(413, "body too large")
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise Refused(413, "body too large") from None


def _parse(content_type: str, text: str) -> tuple[Kind | None, dict[str, Any]]:
    """The request's kind and parsed body, encoded as Slack encodes each kind. The kind is
    None for Slack's own checks (URL verification, SSL check), which Bolt answers."""
    if content_type == "application/json":
        body = _json_object(text, "JSON body")
        kind = body.get("type")
        if kind == "event_callback":
            return "event", body
        if kind == "url_verification" and isinstance(body.get("challenge"), str):
            return None, body
        if kind == "app_rate_limited":
            raise Refused(200, "Slack's notice that it dropped events over its hourly limit")
        raise Refused(400, "JSON body that is not an event")
    if content_type == "application/x-www-form-urlencoded":
        form = _form(text)
        if "payload" in form:
            return "interaction", _json_object(form["payload"], "interaction payload")
        if "command" in form:
            return "command", form
        if form.get("ssl_check") == "1":
            return None, form
        raise Refused(400, "form that is neither a command nor an interaction")
    raise Refused(400, "content type is neither JSON nor a form")


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise Refused(400, f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise Refused(400, f"{what} is not a JSON object")
    return value


def _form(text: str) -> dict[str, str]:
    try:
        fields = parse_qsl(text, keep_blank_values=True, max_num_fields=FORM_FIELDS)
    except ValueError:
        raise Refused(400, "form with too many fields") from None
    form = dict(fields)
    if len(form) != len(fields):
        raise Refused(400, "form with a repeated field")
    return form


class CheckedSocketModeHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler, with the gate's shape and replay checks in front and the
    request written down (`inbox`) before Bolt acks it."""

    def __init__(self, app: AsyncApp, app_token: str, gate: Gate, inbox: Inbox) -> None:
        super().__init__(app, app_token)
        self.gate = gate
        self.inbox = inbox

    # The client type is narrowed as in Bolt's own handler (hence the ignore).
    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        kind = SOCKET_KINDS.get(req.type)
        if kind is None:
            await super().handle(client, req)
            return
        start = time.time()
        try:
            if not isinstance(req.payload, dict):
                raise Refused(400, f"{kind} envelope without a payload object")
            key = await self.gate.admit(kind, req.payload)
        except Refused as refused:
            self.gate.count(refused)
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        response = await self.inbox.dispatch(key, req.payload, build_headers(req))
        await send_async_response(client, req, response, start)
