"""How Slack's requests reach Bolt: authenticated, read and checked first, in both modes.

HTTP mode: anyone can POST to the request URL. Bolt's own handler parses the body before it
checks the signature and raises on malformed input (a 500 and a traceback per request, from
anyone), and it reads any form body containing the word "payload" as an interaction (so a
`/handinger` command whose text said "payload" reached no listener). So here, before Bolt sees
a request, it is authenticated (Slack's signature over the body, a timestamp within 5
minutes), read (UTF-8; JSON for events, a form for commands, a `payload=` JSON form for
interactions), its shape checked (`payloads`) and a replayed command or click dropped; Bolt
then gets the parsed body.

What the sender gets back:
    401  unsigned, forged, or stale (a clock more than 5 minutes off)
    413  a body over `MAX_BODY`
    400  signed, but not a request Slack sends, or a command or click the app cannot act on
         (Slack never retries those)
    200  and ignored: an event the app cannot act on (Slack retries an event on any other
         answer, and stops delivering events to an app that keeps failing), and a replay of a
         command or click already handled (an empty answer: the user sees nothing twice)
Each of these is counted in one rate-limited log line (`Refusals`), never logged one by one.

Socket Mode: envelopes arrive over the app's own authenticated connection, so only the shape
and replay checks apply; an envelope that fails them is acked and dropped.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from .payloads import Kind, Unusable, check
from .refusals import Refusals

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

Claim = Callable[[str], Awaitable[bool]]
"""`Store.claim_event`: False if the key was claimed before (durably, across restarts)."""


class Refused(Exception):
    """The answer to a request the listeners will not see, and why (for the log)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Gate:
    """The checks both modes share: the request's shape, and whether it is a replay."""

    def __init__(self, claim: Claim, where: str) -> None:
        self.claim = claim
        self.refusals = Refusals(log, where)

    async def admit(self, kind: Kind, body: dict[str, Any]) -> None:
        """Return if the listeners may act on this request; raise `Refused` if not."""
        try:
            replay_key = check(kind, body)
        except Unusable as unusable:
            raise Refused(200 if kind == "event" else 400, unusable.reason) from None
        if replay_key is not None and not await self.claim(replay_key):
            raise Refused(200, f"replayed {kind}")

    def count(self, refused: Refused) -> None:
        answer = "ignored" if refused.status == 200 else str(refused.status)
        self.refusals.refused(f"{refused.reason} ({answer})")


class SlackEndpoint:
    """The aiohttp handler of `/slack/events` in HTTP mode."""

    def __init__(self, app: AsyncApp, signing_secret: str, gate: Gate) -> None:
        self.app = app
        self.verifier = SignatureVerifier(signing_secret)
        self.gate = gate

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            text = self._authenticated(request.headers, await _read(request))
            kind, body = _parse(request.content_type, text)
            if kind is not None:
                await self.gate.admit(kind, body)
        except Refused as refused:
            self.gate.count(refused)
            if refused.status == 200:
                return web.Response(status=200)
            # The reasons are for the operator; an unauthenticated sender learns nothing.
            error = "invalid request" if refused.status == 401 else refused.reason
            return web.json_response({"error": error}, status=refused.status)
        bolt_request = AsyncBoltRequest(
            # The body is verified and parsed: Bolt takes a parsed body only under its Socket
            # Mode flag, whose only other effect is to skip Bolt's signature check (done above).
            body=body,
            headers=dict(request.headers),
            query=request.query_string,
            mode="socket_mode",
        )
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))

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
    """Bolt's Socket Mode handler, with the gate's shape and replay checks in front."""

    def __init__(self, app: AsyncApp, app_token: str, gate: Gate) -> None:
        super().__init__(app, app_token)
        self.gate = gate

    # The client type is narrowed as in Bolt's own handler (hence the ignore).
    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        kind = SOCKET_KINDS.get(req.type)
        if kind is not None:
            try:
                if not isinstance(req.payload, dict):
                    raise Refused(400, f"{kind} envelope without a payload object")
                await self.gate.admit(kind, req.payload)
            except Refused as refused:
                self.gate.count(refused)
                await client.send_socket_mode_response(
                    SocketModeResponse(envelope_id=req.envelope_id)
                )
                return
        await super().handle(client, req)
