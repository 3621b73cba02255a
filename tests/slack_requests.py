"""Requests to the bot's `/slack/events` as Slack (or someone else) would send them in HTTP mode.

Bodies are built here, byte for byte, so tests can sign them, forge them, break them and send
the very same request again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

from emulators.credentials import SIGNING_SECRET

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def signature(body: bytes, secret: str = SIGNING_SECRET, timestamp: str | None = None) -> str:
    ts = timestamp or str(int(time.time()))
    base = b"v0:" + ts.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed(
    body: str | bytes,
    secret: str = SIGNING_SECRET,
    *,
    timestamp: int | str | None = None,
    content_type: str = JSON,
) -> dict[str, str]:
    """Headers that sign `body` as Slack does (now, unless `timestamp` says otherwise)."""
    raw = body.encode() if isinstance(body, str) else body
    ts = str(timestamp if timestamp is not None else int(time.time()))
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature(raw, secret, ts),
        "Content-Type": content_type,
    }


def event_body(event: Any, event_id: str = "Ev_test_1", **envelope: Any) -> bytes:
    """An Events API `event_callback` for workspace T0001, with the bot's authorization."""
    body = {
        "token": "x",
        "team_id": "T0001",
        "api_app_id": "A0001",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [{"team_id": "T0001", "user_id": "U0BOT", "is_bot": True}],
        **envelope,
    }
    return json.dumps(body).encode()


def mention(text: Any = "<@U0BOT> hello", **fields: Any) -> dict[str, Any]:
    ts = f"{time.time():.6f}"
    return {
        "type": "app_mention",
        "channel": "C0001",
        "user": "U0001",
        "text": text,
        "ts": ts,
        "event_ts": ts,
        **fields,
    }


def command_fields(text: str = "hello", **fields: str) -> dict[str, str]:
    return {
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
        "is_enterprise_install": "false",
        "response_url": "http://127.0.0.1:9/commands/unused",
        "trigger_id": f"{time.time():.6f}.trigger",
        **fields,
    }


def command_body(text: str = "hello", **fields: str) -> bytes:
    """A `/handinger` slash command as Slack posts it: a form."""
    return urlencode(command_fields(text, **fields)).encode()


def interaction_body(payload: Any) -> bytes:
    """An interaction as Slack posts it: one `payload=` form field holding JSON."""
    return urlencode({"payload": json.dumps(payload)}).encode()


def block_actions(**fields: Any) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": "U0001", "team_id": "T0001"},
        "team": {"id": "T0001"},
        "api_app_id": "A0001",
        "trigger_id": "1.2.trigger",
        "channel": {"id": "C0001"},
        "container": {"type": "message", "channel_id": "C0001", "message_ts": "1.000001"},
        "actions": [
            {
                "action_id": "run_actions",
                "block_id": "b",
                "type": "overflow",
                "action_ts": "2.000001",
                "selected_option": {"value": "refresh:1"},
            }
        ],
        **fields,
    }


def view_submission(**view: Any) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "user": {"id": "U0001", "team_id": "T0001"},
        "team": {"id": "T0001"},
        "api_app_id": "A0001",
        "trigger_id": "3.4.trigger",
        "view": {
            "id": "V0001",
            "type": "modal",
            "callback_id": "schedule_modal",
            "private_metadata": json.dumps({"channel": "C0001", "run": None}),
            "state": {
                "values": {
                    "when": {"value": {"type": "plain_text_input", "value": "every 1d"}},
                    "instruction": {"value": {"type": "plain_text_input", "value": "report"}},
                }
            },
            **view,
        },
    }
