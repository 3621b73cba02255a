"""`http`: forged and malformed requests to the bot's HTTP-mode endpoint (`/slack/events`).

Unsigned, badly signed or stale requests get 400/401; malformed bodies never get a 5xx or a
traceback, and write at most one log line each; signed requests with odd shapes are refused,
never run; a replayed signed request (command or event) starts at most one worker.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.faults.cases import Case, attempt, select
from tests.faults.harness import FaultStack

SECRET = "test-secret"
LOUD = (" WARNING ", " ERROR ", " CRITICAL ", "Traceback")
JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
UNAUTHENTICATED = (400, 401, 413)
"""What a request that proves nothing may get: bad request, unauthorized, or too large."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_mode(stack: FaultStack) -> None:
    port = free_port()
    stack.start_bot(SLACK_APP_TOKEN="", SLACK_SIGNING_SECRET=SECRET, PORT=str(port))
    url = f"http://127.0.0.1:{port}/slack/events"
    stack.slack.post("/_emulator/config", json={"request_url": url}).raise_for_status()
    stack.record.notes.update(url=url, statuses=[], log_from=len(stack.bot_output()))
    stack.record.actors.add("U0001")  # the user the forged requests speak for


def headers(
    body: bytes,
    *,
    secret: str | None = SECRET,
    timestamp: str | None = None,
    content_type: str = JSON_TYPE,
) -> dict[str, str]:
    """Slack's signature headers over `body` (none with `secret=None`)."""
    ts = timestamp if timestamp is not None else str(int(time.time()))
    found = {"Content-Type": content_type}
    if secret is not None:
        base = b"v0:" + ts.encode() + b":" + body
        digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
        found.update({"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"})
    return found


def send(stack: FaultStack, body: bytes, head: dict[str, str]) -> int:
    response = httpx.post(stack.record.notes["url"], content=body, headers=head, timeout=10)
    stack.record.notes["statuses"].append(response.status_code)
    return response.status_code


def event(**fields: Any) -> dict[str, Any]:
    return {
        "token": "x",
        "team_id": "T0001",
        "api_app_id": "A0001",
        "type": "event_callback",
        "event_id": f"Ev{secrets.token_hex(5)}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": "T0001", "user_id": "U0BOT", "is_bot": True}],
        "event": {
            "type": "app_mention",
            "channel": "C0001",
            "user": "U0001",
            "text": "<@U0BOT> look this up",
            "ts": f"{time.time():.6f}",
            **fields,
        },
    }


def command_form(text: str) -> bytes:
    return urlencode(
        {
            "token": "x",
            "team_id": "T0001",
            "team_domain": "emulator",
            "channel_id": "C0001",
            "channel_name": "general",
            "user_id": "U0001",
            "user_name": "alice",
            "command": "/handinger",
            "text": text,
            "api_app_id": "A0001",
            "response_url": "http://127.0.0.1:9/response",
            "trigger_id": f"{secrets.randbelow(10**9)}.1.{secrets.token_hex(8)}",
        }
    ).encode()


# ---- the tries -----------------------------------------------------------------------------------


def refused(
    signed: bool, body: bytes, content_type: str = JSON_TYPE, **head: str
) -> Callable[[FaultStack], None]:
    """Send one request; unauthenticated ones (unsigned, or with broken signature headers)
    must get 400/401, signed ones anything but a 5xx."""

    def drive(stack: FaultStack) -> None:
        http_mode(stack)
        found = headers(body, secret=SECRET if signed else None, content_type=content_type)
        found.update(head)
        send(stack, body, found)
        stack.record.notes["want"] = "not 5xx" if signed and not head else UNAUTHENTICATED

    return drive


def forged(secret: str | None, timestamp_shift: int = 0) -> Callable[[FaultStack], None]:
    def drive(stack: FaultStack) -> None:
        http_mode(stack)
        body = json.dumps(event()).encode()
        ts = str(int(time.time()) + timestamp_shift)
        send(stack, body, headers(body, secret=secret, timestamp=ts))
        form = command_form("forged command")
        send(stack, form, headers(form, secret=secret, timestamp=ts, content_type=FORM_TYPE))
        stack.record.notes["want"] = UNAUTHENTICATED

    return drive


def replayed_command(stack: FaultStack) -> None:
    """One signed slash command, captured and sent three times within the 5-minute window."""
    http_mode(stack)
    stack.record.new_runs.append("replayed once")
    stack.record.actors.add("U0001")
    form = command_form("replayed once")
    head = headers(form, content_type=FORM_TYPE)
    for _ in range(3):
        send(stack, form, head)
    stack.record.notes["want"] = "not 5xx"


def replayed_event(stack: FaultStack) -> None:
    http_mode(stack)
    stack.record.new_runs.append("look this up")
    stack.record.actors.add("U0001")
    body = json.dumps(event()).encode()
    head = headers(body)
    for _ in range(3):
        send(stack, body, head)
    stack.record.notes["want"] = "not 5xx"


def answered_right(stack: FaultStack) -> list[str]:
    """The status codes wanted, no traceback, and at most one loud log line per request."""
    notes = stack.record.notes
    problems = []
    for status in notes["statuses"]:
        if notes["want"] == "not 5xx" and status >= 500:
            problems.append(f"answered {status}")
        if isinstance(notes["want"], tuple) and status not in notes["want"]:
            problems.append(f"answered {status}, not one of {notes['want']}")
    lines = stack.bot_output()[notes["log_from"] :]
    loud = [line for line in lines if any(word in line for word in LOUD)]
    if any("Traceback" in line for line in lines):
        problems.append("a traceback was logged")
    if len(loud) > len(notes["statuses"]):
        problems.append(f"{len(loud)} loud log lines for {len(notes['statuses'])} request(s)")
    return problems


def nothing_ran(stack: FaultStack) -> list[str]:
    problems = answered_right(stack)
    if stack.workers():
        problems.append("a worker was started")
    return problems


def deep(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


MALFORMED: dict[str, tuple[bytes, str]] = {
    "bad_json": (b"{bad", JSON_TYPE),
    "empty": (b"", JSON_TYPE),
    "json_array": (b"[1, 2]", JSON_TYPE),
    "json_string": (b'"x"', JSON_TYPE),
    "json_null": (b"null", JSON_TYPE),
    "form_as_json": (b"token=x&team_id=T0001&command=%2Fhandinger&text=hi", JSON_TYPE),
    "json_as_form": (json.dumps(event()).encode(), FORM_TYPE),
    "payload_bad_json": (b"payload=%7Bbad", FORM_TYPE),
    "payload_array": (b"payload=%5B%5D", FORM_TYPE),
    "payload_no_actions": (
        ("payload=" + json.dumps({"type": "block_actions", "team": {"id": "T0001"}})).encode(),
        FORM_TYPE,
    ),
    "event_missing": (json.dumps({**event(), "event": None}).encode(), JSON_TYPE),
    "event_as_string": (json.dumps({**event(), "event": "message"}).encode(), JSON_TYPE),
    "text_as_object": (json.dumps(event(text={"evil": True})).encode(), JSON_TYPE),
    "ts_as_list": (json.dumps(event(ts=[1, 2])).encode(), JSON_TYPE),
    "unknown_type": (b'{"type": "whatever", "team_id": "T0001"}', JSON_TYPE),
    "challenge_missing": (b'{"type": "url_verification"}', JSON_TYPE),
    "no_authorizations": (
        json.dumps({**event(), "authorizations": None, "team_id": None}).encode(),
        JSON_TYPE,
    ),
    "command_missing_fields": (b"command=%2Fhandinger&text=hi", FORM_TYPE),
    "binary": (bytes(range(256)) * 4, "application/octet-stream"),
    "bad_utf8": (b'{"type": "event_callback", "x": "\xff\xfe"}', JSON_TYPE),
    "deep_nesting": (deep(100_000), JSON_TYPE),
    "huge": (b'{"type": "event_callback", "pad": "' + b"x" * 3_000_000 + b'"}', JSON_TYPE),
    "multipart_garbage": (b"--xyz\r\nnot a part\r\n", "multipart/form-data; boundary=xyz"),
}
HEADER_TRICKS = {
    "timestamp_not_a_number": {"X-Slack-Request-Timestamp": "abc"},
    "timestamp_huge": {"X-Slack-Request-Timestamp": "9" * 40},
    "signature_garbage": {"X-Slack-Signature": "v0=zz"},
    "signature_other_version": {"X-Slack-Signature": "v1=" + "0" * 64},
}


def cases() -> list[Case]:
    found = [
        Case("bad_signature", forged("wrong-secret"), nothing_ran, fast=True, start_bot=False),
        Case("unsigned", forged(None), nothing_ran, start_bot=False),
        Case("stale_timestamp", forged(SECRET, -600), nothing_ran, start_bot=False),
        Case("future_timestamp", forged(SECRET, 600), nothing_ran, start_bot=False),
        Case("replayed_command", replayed_command, answered_right, start_bot=False),
        Case("replayed_event", replayed_event, answered_right, start_bot=False),
    ]
    for name, (body, kind) in MALFORMED.items():
        for signed in (False, True):
            label = f"{name}-{'signed' if signed else 'unsigned'}"
            found.append(Case(label, refused(signed, body, kind), nothing_ran, start_bot=False))
    body = json.dumps(event()).encode()
    for name, head in HEADER_TRICKS.items():
        found.append(
            Case(name, refused(True, body, JSON_TYPE, **head), nothing_ran, start_bot=False)
        )
    return found


CASES = cases()


@pytest.mark.parametrize("case", select(CASES))
def test_http(stack: FaultStack, case: Case) -> None:
    attempt(stack, case)
