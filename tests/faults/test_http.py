"""`http`: forged and malformed requests to the bot's HTTP-mode endpoint (`/slack/events`).

Unsigned, badly signed or stale requests get 400/401; malformed bodies never get a 5xx or a
traceback, and write at most one log line each; signed requests with odd shapes are refused,
never run; a replayed signed request (command or event) starts at most one worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

import httpx
import pytest

from emulators.credentials import SIGNING_SECRET
from emulators.harness import free_port
from tests.faults.cases import Case, attempt, select
from tests.faults.harness import FaultStack
from tests.slack_requests import (
    FORM,
    JSON,
    block_actions,
    command_body,
    event_body,
    interaction_body,
    mention,
    signed,
)

LOUD = (" WARNING ", " ERROR ", " CRITICAL ", "Traceback")
UNAUTHENTICATED = (400, 401, 413)
"""What a request that proves nothing may get: bad request, unauthorized, or too large."""


def http_mode(stack: FaultStack) -> None:
    port = free_port()
    stack.start_bot(SLACK_APP_TOKEN="", SLACK_SIGNING_SECRET=SIGNING_SECRET, PORT=str(port))
    url = f"http://127.0.0.1:{port}/slack/events"
    stack.slack.post("/_emulator/config", json={"request_url": url}).raise_for_status()
    stack.record.notes.update(url=url, statuses=[], log_from=len(stack.bot_output()))
    stack.record.actors.add("U0001")  # the user the forged requests speak for


def headers(
    body: bytes, secret: str | None, content_type: str = JSON, **more: str
) -> dict[str, str]:
    """Slack's signature headers over `body` (only the content type with `secret=None`)."""
    found = (
        signed(body, secret, content_type=content_type)
        if secret
        else {"Content-Type": content_type}
    )
    return {**found, **more}


def send(stack: FaultStack, body: bytes, head: dict[str, str]) -> int:
    response = httpx.post(stack.record.notes["url"], content=body, headers=head, timeout=10)
    stack.record.notes["statuses"].append(response.status_code)
    return response.status_code


def event(text: object = "<@U0BOT> look this up", **fields: object) -> bytes:
    """A mention of the app, as a signed event callback would carry it."""
    return event_body(mention(text, **fields), event_id=f"Ev{time.time_ns()}")


# ---- the tries -----------------------------------------------------------------------------------


def refused(
    signed_by: str | None, body: bytes, content_type: str = JSON, **head: str
) -> Callable[[FaultStack], None]:
    """Send one request; unauthenticated ones (unsigned, or with broken signature headers)
    must get 400/401 (413 when too large), signed ones anything but a 5xx."""

    def drive(stack: FaultStack) -> None:
        http_mode(stack)
        send(stack, body, headers(body, signed_by, content_type, **head))
        genuine = signed_by == SIGNING_SECRET and not head
        stack.record.notes["want"] = "not 5xx" if genuine else UNAUTHENTICATED

    return drive


def forged(secret: str | None, shift: int = 0) -> Callable[[FaultStack], None]:
    """A mention and a command, unsigned or signed with `secret`, `shift` seconds off."""

    def drive(stack: FaultStack) -> None:
        http_mode(stack)
        for body, kind in ((event(), JSON), (command_body("forged command"), FORM)):
            stamp = int(time.time()) + shift
            if secret is None:
                head = {"Content-Type": kind, "X-Slack-Request-Timestamp": str(stamp)}
            else:
                head = signed(body, secret, timestamp=stamp, content_type=kind)
            send(stack, body, head)
        stack.record.notes["want"] = UNAUTHENTICATED

    return drive


def replayed(
    body: bytes, content_type: str, instruction: str, times: int = 3
) -> Callable[[FaultStack], None]:
    """One genuine signed request, captured and sent `times` times within Slack's 5 minutes."""

    def drive(stack: FaultStack) -> None:
        http_mode(stack)
        stack.record.new_runs.append(instruction)
        head = signed(body, content_type=content_type)
        for _ in range(times):
            send(stack, body, head)
        stack.record.notes["want"] = "not 5xx"

    return drive


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


def with_event(event: object = None, **envelope: object) -> bytes:
    """An event callback whose envelope (or `event` itself) has an odd shape."""
    return event_body(event, event_id=f"Ev{time.time_ns()}", **envelope)


MALFORMED: dict[str, tuple[bytes, str]] = {
    "bad_json": (b"{bad", JSON),
    "empty": (b"", JSON),
    "json_array": (b"[1, 2]", JSON),
    "json_string": (b'"x"', JSON),
    "json_null": (b"null", JSON),
    "form_as_json": (command_body("sent as json"), JSON),
    "json_as_form": (event(), FORM),
    "payload_bad_json": (b"payload=%7Bbad", FORM),
    "payload_array": (b"payload=%5B%5D", FORM),
    "payload_no_actions": (interaction_body(block_actions(actions=None)), FORM),
    "event_missing": (with_event(event=None), JSON),
    "event_as_string": (with_event(event="message"), JSON),
    "text_as_object": (event(text={"evil": True}), JSON),
    "ts_as_list": (event(ts=[1, 2]), JSON),
    "unknown_type": (b'{"type": "whatever", "team_id": "T0001"}', JSON),
    "challenge_missing": (b'{"type": "url_verification"}', JSON),
    "command_missing_fields": (urlencode({"command": "/handinger", "text": "hi"}).encode(), FORM),
    "binary": (bytes(range(256)) * 4, "application/octet-stream"),
    "bad_utf8": (b'{"type": "event_callback", "x": "\xff\xfe"}', JSON),
    "deep_nesting": (deep(100_000), JSON),
    "huge": (b'{"type": "event_callback", "pad": "' + b"x" * 3_000_000 + b'"}', JSON),
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
        Case(
            "bad_signature",
            forged("wrong-secret"),
            nothing_ran,
            fast=True,
            start_bot=False,
            grace=False,
        ),
        Case("unsigned", forged(None), nothing_ran, start_bot=False, grace=False),
        Case(
            "stale_timestamp",
            forged(SIGNING_SECRET, -600),
            nothing_ran,
            start_bot=False,
            grace=False,
        ),
        Case(
            "future_timestamp",
            forged(SIGNING_SECRET, 600),
            nothing_ran,
            start_bot=False,
            grace=False,
        ),
        Case(
            "replayed_command",
            replayed(command_body("replayed once"), FORM, "replayed once"),
            answered_right,
            start_bot=False,
            grace=False,
        ),
        Case(
            "replayed_event",
            replayed(event(), JSON, "look this up"),
            answered_right,
            start_bot=False,
            grace=False,
        ),
    ]
    lean = with_event(mention("<@U0BOT> no envelope"), authorizations=None, team_id=None)
    found += [
        # Slack always sends both; without them the event is still a well-formed mention that
        # the app may act on (one workspace) or refuse, but never with a 5xx.
        Case("no_authorizations-unsigned", refused(None, lean), nothing_ran, start_bot=False),
        Case(
            "no_authorizations-signed",
            replayed(lean, JSON, "no envelope", times=1),
            answered_right,
            start_bot=False,
            grace=False,
        ),
    ]
    for name, (body, kind) in MALFORMED.items():
        for secret in (None, SIGNING_SECRET):
            label = f"{name}-{'signed' if secret else 'unsigned'}"
            found.append(
                Case(label, refused(secret, body, kind), nothing_ran, start_bot=False, grace=False)
            )
    body = event()
    for name, head in HEADER_TRICKS.items():
        found.append(
            Case(
                name,
                refused(SIGNING_SECRET, body, JSON, **head),
                nothing_ran,
                start_bot=False,
                grace=False,
            )
        )
    return found


CASES = cases()


@pytest.mark.parametrize("case", select(CASES))
def test_http(stack: FaultStack, case: Case) -> None:
    attempt(stack, case)
