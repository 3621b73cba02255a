"""End to end, HTTP mode: what strangers and malformed requests get from `/slack/events`.

The real bot serves the request URL; each row of the table is one POST, signed or not. None
may get a 5xx, start a worker, post anything, or log a traceback; all the refusals together
give at most one log line per minute.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from emulators.credentials import SIGNING_SECRET
from emulators.harness import free_port
from tests.e2e import Stack, wait_until
from tests.slack_requests import (
    FORM,
    JSON,
    block_actions,
    command_body,
    command_fields,
    event_body,
    interaction_body,
    mention,
    signature,
    signed,
    view_submission,
)

Headers = Callable[[bytes], dict[str, str] | dict[bytes, bytes]]
HUGE = b'{"type": "event_callback", "padding": "' + b"x" * (2 * 1024 * 1024) + b'"}'
NESTED = b"[" * 100_000 + b"]" * 100_000
REFUSAL_WINDOW = 60.0


def good(content_type: str = JSON) -> Headers:
    return lambda body: dict(signed(body, content_type=content_type))


def unsigned(content_type: str = JSON) -> Headers:
    return lambda body: {"Content-Type": content_type}


def at(timestamp: str | int, secret: str = SIGNING_SECRET) -> Headers:
    """Signed with `secret` (the right one unless said), claiming to be from `timestamp`."""
    return lambda body: dict(signed(body, secret, timestamp=timestamp))


def only(*names: str) -> Headers:
    """Validly signed, then only the named headers kept (plus the content type)."""
    return lambda body: {k: v for k, v in signed(body).items() if k in names or k == "Content-Type"}


def raw_signature(value: bytes) -> Headers:
    return lambda body: {
        b"Content-Type": JSON.encode(),
        b"X-Slack-Request-Timestamp": str(int(time.time())).encode(),
        b"X-Slack-Signature": value,
    }


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    headers: Headers
    status: int


NOW = int(time.time())
EVENT = event_body(mention(), event_id="Ev_hostile_ok_shape")

CASES = [
    # --- not from Slack: unsigned, forged, stale, too big ---------------------------------------
    Case("command without signature headers", command_body(), unsigned(FORM), 401),
    Case("empty body without headers", b"", lambda body: {}, 401),
    Case("{bad as JSON, unsigned", b"{bad", unsigned(), 401),
    Case("timestamp not a number", EVENT, at("abc"), 401),
    Case("timestamp with a fraction", EVENT, at(f"{NOW}.5"), 401),
    Case(
        "timestamp in Arabic-Indic digits",
        EVENT,
        lambda b: {
            **{k.encode(): v.encode() for k, v in signed(b).items()},
            b"X-Slack-Request-Timestamp": "١٧٠٠٠٠٠٠٠٠".encode(),
        },
        401,
    ),
    Case("timestamp ten minutes old", EVENT, at(NOW - 600), 401),
    Case("signed with another secret", EVENT, at(NOW, "wrong-secret"), 401),
    Case(
        "signature without v0=",
        EVENT,
        lambda b: {**signed(b), "X-Slack-Signature": signature(b)[3:]},
        401,
    ),
    Case("signature with non-ASCII bytes", EVENT, raw_signature(b"v0=\xff\xfe" + b"0" * 62), 401),
    Case("timestamp header only", EVENT, only("X-Slack-Request-Timestamp"), 401),
    Case("signature header only", EVENT, only("X-Slack-Signature"), 401),
    Case("non-UTF-8 bytes, unsigned", b"\xff\xfe{\x00junk", unsigned(), 401),
    Case("2 MiB body, unsigned", HUGE, unsigned(), 413),
    Case("2 MiB body, signed", HUGE, good(), 413),
    # --- signed, but not a request Slack sends ----------------------------------------------
    Case("empty body", b"", good(), 400),
    Case("{bad as JSON", b"{bad", good(), 400),
    Case("JSON array", b"[1, 2, 3]", good(), 400),
    Case("JSON string", b'"hello"', good(), 400),
    Case("JSON null", b"null", good(), 400),
    Case("JSON nested 100,000 deep", NESTED, good(), 400),
    Case("non-UTF-8 bytes", b'{"type": "event_callback", "x": "\xff\xfe"}', good(), 400),
    Case("JSON of an unknown type", b'{"type": "nonsense"}', good(), 400),
    Case("payload= with broken JSON", b"payload=%7Bbad", good(FORM), 400),
    Case("payload= holding a list", interaction_body([1, 2]), good(FORM), 400),
    Case("JSON event sent as a form", EVENT, good(FORM), 400),
    Case("slash command sent as JSON", command_body(), good(JSON), 400),
    Case("event sent as text/plain", EVENT, good("text/plain"), 400),
    Case("form of nothing known", b"a=1&b=2", good(FORM), 400),
    # --- signed Slack shapes the app cannot act on: refused (events: acked and ignored) -------
    Case("mention whose text is an object", event_body(mention({"a": 1}), "Ev_h1"), good(), 200),
    Case(
        "DM whose fields have the wrong types",
        event_body(
            {
                "type": "message",
                "channel": "D0001",
                "channel_type": "im",
                "user": ["U0001"],
                "text": "hi",
                "ts": 12.5,
            },
            "Ev_h2",
        ),
        good(),
        200,
    ),
    Case("event that is a string", event_body("boom", "Ev_h3"), good(), 200),
    Case("event without a type", event_body({"text": "hi"}, "Ev_h4"), good(), 200),
    Case(
        "event of an unsubscribed type",
        event_body({"type": "reaction_added"}, "Ev_h5"),
        good(),
        200,
    ),
    Case(
        "mention carrying a slash command",
        event_body(mention(), "Ev_h6", command="/handinger", text="x"),
        good(),
        200,
    ),
    Case("event whose team is a list", event_body(mention(), "Ev_h7", team=[1]), good(), 200),
    Case(
        "slash command without a channel",
        urlencode({k: v for k, v in command_fields().items() if k != "channel_id"}).encode(),
        good(FORM),
        400,
    ),
    Case("slash command with a repeated field", command_body() + b"&text=again", good(FORM), 400),
    Case(
        "block_actions with no actions",
        interaction_body(block_actions(actions=[])),
        good(FORM),
        400,
    ),
    Case(
        "block_actions whose user is a string",
        interaction_body(block_actions(user="U0001")),
        good(FORM),
        400,
    ),
    Case(
        "view_submission without a view",
        interaction_body({**view_submission(), "view": None}),
        good(FORM),
        400,
    ),
    Case(
        "view_submission with foreign metadata",
        interaction_body(view_submission(private_metadata="{bad")),
        good(FORM),
        400,
    ),
    Case(
        "interaction of an unhandled type",
        interaction_body({"type": "shortcut", "callback_id": "x"}),
        good(FORM),
        400,
    ),
]


def refusal_lines(output: list[str]) -> list[str]:
    return [line for line in output if re.search(r"refused .*request", line)]


def test_malformed_and_forged_requests_are_refused_quietly(idle_stack: Stack) -> None:
    stack = idle_stack
    port = free_port()
    bot = stack.start_bot(SLACK_APP_TOKEN="", SLACK_SIGNING_SECRET=SIGNING_SECRET, PORT=str(port))
    url = f"http://127.0.0.1:{port}/slack/events"
    stack.slack.post("/_emulator/config", json={"request_url": url}).raise_for_status()
    started = time.monotonic()

    got = {}
    with httpx.Client(timeout=30) as client:
        for case in CASES:
            got[case.name] = client.post(url, content=case.body, headers=case.headers(case.body))
        challenge = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "x"})
        verified = client.post(url, content=challenge, headers=signed(challenge))
        ssl_check = b"ssl_check=1&token=x"
        checked = client.post(url, content=ssl_check, headers=signed(ssl_check, content_type=FORM))

    assert {name: r.status_code for name, r in got.items()} == {c.name: c.status for c in CASES}
    assert all(r.content == b"" for r in got.values() if r.status_code == 200)
    unauthenticated = [r.json() for r in got.values() if r.status_code == 401]
    assert unauthenticated == [{"error": "invalid request"}] * len(unauthenticated)
    assert verified.status_code == 200 and verified.json() == {"challenge": "c-123"}
    assert checked.status_code == 200

    # Slack's real requests still work, a command that says "payload" included (Bolt's own
    # parser took any form containing that word for an interaction).
    result = stack.slash("check the payload of this webhook")
    assert result["ok"] and result["acked"]
    [card] = stack.wait_final_card()
    [worker] = stack.workers()
    assert worker["inputs"] == ["check the payload of this webhook"]
    created = [
        r
        for r in stack.handinger.get("/_emulator/requests").json()
        if r["method"] == "POST" and r["path"] == "/api/workers"
    ]
    assert len(created) == 1
    assert [m["ts"] for m in stack.bot_messages()] == [card["ts"]]
    assert stack.calls("chat.postEphemeral") == []

    elapsed = time.monotonic() - started
    output = list(bot.output)
    assert not [line for line in output if "Traceback" in line or " ERROR " in line], output
    lines = refusal_lines(output)
    assert 1 <= len(lines) <= 1 + int(elapsed // REFUSAL_WINDOW), lines
    wait_until(lambda: bot.alive(), what="the bot still running")


def test_the_oauth_pages_ignore_a_body_sent_with_a_get(idle_stack: Stack) -> None:
    base = idle_stack.start_oauth_bot()
    junk = b"{bad"
    headers = {"Content-Type": JSON}
    page = httpx.request("GET", f"{base}/slack/install", content=junk, headers=headers)
    assert page.status_code == 200 and "/oauth/v2/authorize?" in page.text
    back = httpx.request(
        "GET", f"{base}/slack/oauth_redirect?code=x&state=y", content=junk, headers=headers
    )
    assert back.status_code == 400  # Bolt's page for an unknown OAuth state
    assert idle_stack.bot is not None
    assert not [line for line in idle_stack.bot.output if "Traceback" in line]
